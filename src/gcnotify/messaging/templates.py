"""Message templates: compiled once in a Jinja2 sandbox, rendered per request, never half-filled.

Template text comes from the config, but the variables come from the applications that ask for a
notification, so rendering runs in ``ImmutableSandboxedEnvironment``: no ``__class__`` or
``__globals__`` walk to Python internals, no mutating a list or dict passed in. ``StrictUndefined``
plus a check of the variables a template uses means a missing variable rejects the request
instead of sending ``{{ x }}`` or an empty gap. HTML email parts are autoescaped (a variable
cannot inject markup); SMS, WhatsApp and web-messaging text and email subjects and plain-text
parts are not, since escaping would show ``&amp;`` to the customer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

import jinja2
from jinja2 import meta
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from gcnotify.core.errors import MessageTemplateError
from gcnotify.core.text import one_line
from gcnotify.messaging.segments import SmartEncoded, check_sms, measure, smart_encode

__all__ = [
    "CHANNELS",
    "MAX_TEXT_CHARACTERS",
    "Channel",
    "MessageTemplate",
    "RenderedMessage",
    "compile_template",
]

Channel = Literal["sms", "whatsapp", "webmessaging", "open", "email"]
CHANNELS: tuple[Channel, ...] = ("sms", "whatsapp", "webmessaging", "open", "email")
# Agentless textBody: "SMS - 765 characters, other channels - 2000 characters" (Genesys SDK).
MAX_TEXT_CHARACTERS = 2000

Part = Literal["text", "subject", "html"]


@cache
def _environment(autoescape: bool) -> ImmutableSandboxedEnvironment:
    """One sandbox per escaping mode, shared by every template (Jinja caches per environment)."""
    return ImmutableSandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        keep_trailing_newline=False,
    )


@dataclass(frozen=True)
class RenderedMessage:
    """A template filled in for one request: what will be sent, part by part.

    ``sms`` is set for the SMS channel: the text after smart encoding and its segments before and
    after, which the message record keeps.
    """

    template_id: str
    channel: Channel
    text: str | None
    subject: str | None = None
    html: str | None = None
    sms: SmartEncoded | None = None


@dataclass(frozen=True)
class MessageTemplate:
    """A compiled template: render it for each request; compiling happens once, at config load."""

    id: str
    channel: Channel
    variables: frozenset[str]
    _parts: Mapping[Part, jinja2.Template] = field(repr=False)

    def render(
        self, variables: Mapping[str, object], *, smart_encoding: bool = True
    ) -> RenderedMessage:
        """Fill the template in; any problem is a ``MessageTemplateError`` and nothing is sent.

        Every missing and every unexpected variable is named at once, so the calling application
        can fix its request in one go. An SMS is smart-encoded (when asked) and then checked
        against the 765-character limit; other text channels against 2000.
        """
        missing = sorted(self.variables - variables.keys())
        extra = sorted(variables.keys() - self.variables)
        problems = []
        if missing:
            problems.append(f"missing variable(s) {', '.join(missing)}")
        if extra:
            problems.append(f"unexpected variable(s) {', '.join(extra)}")
        if problems:
            raise MessageTemplateError(
                f"template {self.id!r}: {'; '.join(problems)}: the request must give exactly the "
                f"variables the template uses ({', '.join(sorted(self.variables)) or 'none'})"
            )
        out = {name: self._render_part(name, tpl, variables) for name, tpl in self._parts.items()}
        subject = None if out.get("subject") is None else one_line(out["subject"])
        text = out.get("text")
        sms = None
        if self.channel == "sms" and text is not None:  # compile_template requires the text
            sms = smart_encode(text) if smart_encoding else _unchanged(text)
            try:
                check_sms(sms.text)
            except MessageTemplateError as exc:
                raise MessageTemplateError(f"template {self.id!r}: {exc}") from None
            text = sms.text
        elif text is not None and len(text) > MAX_TEXT_CHARACTERS and self.channel != "email":
            raise MessageTemplateError(
                f"template {self.id!r}: the {self.channel} text is {len(text)} characters, over "
                f"the {MAX_TEXT_CHARACTERS} Genesys accepts: shorten the template or its variables"
            )
        return RenderedMessage(self.id, self.channel, text, subject, out.get("html"), sms)

    def _render_part(
        self, part: Part, template: jinja2.Template, variables: Mapping[str, object]
    ) -> str:
        try:
            return template.render(variables)
        except SecurityError as exc:
            raise MessageTemplateError(
                f"template {self.id!r} ({part}): refused by the sandbox: {exc}; templates may "
                "only read the variables they are given"
            ) from None
        except UndefinedError as exc:
            raise MessageTemplateError(
                f"template {self.id!r} ({part}): {exc}: give that value in the request's variables"
            ) from None
        except TemplateError as exc:
            raise MessageTemplateError(f"template {self.id!r} ({part}): {exc}") from None
        except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
            # A filter or an operation on a variable of the wrong type (``{{ n + 1 }}`` with text).
            raise MessageTemplateError(
                f"template {self.id!r} ({part}): {type(exc).__name__}: {exc}: check the types of "
                "the variables given"
            ) from None


def _unchanged(text: str) -> SmartEncoded:
    length = measure(text)
    return SmartEncoded(text, False, length, length)


def compile_template(
    template_id: str,
    channel: Channel,
    *,
    text: str | None = None,
    subject: str | None = None,
    html: str | None = None,
) -> MessageTemplate:
    """Compile a template's parts once; a syntax error names the template, part and line.

    SMS and the other text channels need ``text`` only; email needs a ``subject`` and at least
    one of ``html`` and ``text``. Only ``html`` is autoescaped.
    """
    sources: dict[Part, str] = {}
    if channel == "email":
        if subject is None or (html is None and text is None):
            raise MessageTemplateError(
                f"template {template_id!r}: an email template needs a subject and an html or a "
                "text part"
            )
        sources["subject"] = subject
        if html is not None:
            sources["html"] = html
        if text is not None:
            sources["text"] = text
    else:
        if text is None or subject is not None or html is not None:
            raise MessageTemplateError(
                f"template {template_id!r}: a {channel} template has a text part and nothing else"
            )
        sources["text"] = text
    parts: dict[Part, jinja2.Template] = {}
    used: set[str] = set()
    for part, source in sources.items():
        env = _environment(part == "html")
        try:
            used |= meta.find_undeclared_variables(env.parse(source))
            parts[part] = env.from_string(source)
        except jinja2.TemplateSyntaxError as exc:
            raise MessageTemplateError(
                f"template {template_id!r} ({part}), line {exc.lineno}: {exc.message}: fix the "
                "template's Jinja syntax"
            ) from None
    return MessageTemplate(template_id, channel, frozenset(used), parts)
