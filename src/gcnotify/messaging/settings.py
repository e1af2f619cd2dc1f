"""The ``messaging:`` config block, validated into a frozen ``MessagingSettings``.

Problems go to a callback ``add(path, message)``, the shape of the config checker's own ``add``,
so the block's problems are listed with the rest of the config's and one bad deploy shows them
all. Inline templates are compiled here: a Jinja syntax error fails the config at load time, not
the first request at night. Template files (``html_file``, ``text_file``, under ``templates/``)
are read only through the ``read_template`` callback the caller passes: this module does no I/O.

Defaults where nothing is configured, and why:

- ``send_window``: 08:00 to 21:00 in the recipient's zone (the US federal calling hours), so
  leaving the key out never means texting at night; ``send_window: always`` turns it off.
  ``us_state_rules`` is off unless asked for.
- ``default_timezone``: required unless ``send_window: always``: guessing a zone is how people
  get texted at 3 a.m.
- ``rate_per_minute``: 60 for sms, whatsapp and webmessaging and 300 for email (Genesys agentless
  email's own limit, which also caps email sent ``via: genesys``); at most 10,000 per minute, to
  catch a typo.
- ``expire_after``: PT24H; at most P14D (a notification later than that is no longer one).
- ``smart_encoding``: true. ``suppression.keywords``: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END,
  QUIT, kept upper-case; a keyword that means opt back in (START, UNSTOP, YES) is refused.
- ``senders.email.via``: sendgrid. ``templates``: at least one. WhatsApp templates may be inline
  text (inside a customer's 24-hour session) or a ``genesys_response``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Literal

import pytz

from gcnotify.core.errors import ConfigError, ConfigProblem, MessageTemplateError
from gcnotify.core.model import Config
from gcnotify.core.show import did_you_mean as _hint
from gcnotify.core.show import known_keys
from gcnotify.core.show import show as _show
from gcnotify.core.text import header_problem
from gcnotify.messaging.policy import (
    SendWindow,
    e164_problem,
    parse_duration,
    parse_send_window,
    timezone_problem,
)
from gcnotify.messaging.request import REQUEST_CHANNELS, RequestChannel
from gcnotify.messaging.templates import MessageTemplate, compile_template

__all__ = [
    "DEFAULT_KEYWORDS",
    "DEFAULT_RATES",
    "DEFAULT_SEND_WINDOW",
    "MAX_EXPIRE_AFTER",
    "MAX_RATE_PER_MINUTE",
    "MESSAGING_KEYS",
    "OPT_IN_KEYWORDS",
    "Add",
    "EmailSender",
    "IntakeSettings",
    "MessagingSettings",
    "RatePerMinute",
    "ReadTemplate",
    "Senders",
    "SuppressionSettings",
    "TemplateSettings",
    "load_messaging",
    "messaging_block",
    "messaging_of",
    "parse_messaging",
]

Add = Callable[[str, str], None]
# Reads a template file by its path under templates/; raises OSError when it cannot.
ReadTemplate = Callable[[str], str]

MESSAGING_KEYS = (
    "senders",
    "send_window",
    "default_timezone",
    "rate_per_minute",
    "expire_after",
    "smart_encoding",
    "suppression",
    "intake",
    "templates",
)
_SENDER_KEYS = REQUEST_CHANNELS
_WINDOW_KEYS = ("start", "end", "us_state_rules")
_SUPPRESSION_KEYS = ("keywords", "genesys_dnc_lists")
_TEMPLATE_KEYS = (
    "id",
    "channel",
    "text",
    "subject",
    "html",
    "text_file",
    "html_file",
    "genesys_response",
)
DEFAULT_SEND_WINDOW = SendWindow(time(8), time(21))
DEFAULT_KEYWORDS: tuple[str, ...] = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT")
OPT_IN_KEYWORDS = ("START", "UNSTOP", "YES")
DEFAULT_RATES: Mapping[RequestChannel, int] = {
    "sms": 60,
    "whatsapp": 60,
    "webmessaging": 60,
    "email": 300,
}
GENESYS_EMAIL_PER_MINUTE = 300
MAX_RATE_PER_MINUTE = 10_000
MAX_EXPIRE_AFTER = timedelta(days=14)

_TEMPLATE_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_EMAIL = re.compile(r"[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+")
_SECRET_KEY = re.compile(r"[A-Za-z0-9_.-]{1,128}")
_KEYWORD = re.compile(r"[A-Za-z0-9]{1,20}")
# Each segment starts with a letter, digit or _: no absolute path, no "..", no hidden file.
_FILE_PATH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_][A-Za-z0-9_.-]*)*")


@dataclass(frozen=True)
class EmailSender:
    """Who email is sent from, and through which provider."""

    via: Literal["sendgrid", "genesys"]
    email: str
    name: str | None = None


@dataclass(frozen=True)
class Senders:
    """The sender of each channel; a channel without one cannot have templates."""

    sms: str | None = None
    whatsapp: str | None = None
    webmessaging: str | None = None
    email: EmailSender | None = None

    def has(self, channel: RequestChannel) -> bool:
        """True when ``channel`` has a sender configured."""
        return getattr(self, channel) is not None


@dataclass(frozen=True)
class RatePerMinute:
    """Messages per minute per channel, summed over every concurrent sender."""

    sms: int = DEFAULT_RATES["sms"]
    whatsapp: int = DEFAULT_RATES["whatsapp"]
    webmessaging: int = DEFAULT_RATES["webmessaging"]
    email: int = DEFAULT_RATES["email"]

    def of(self, channel: RequestChannel) -> int:
        """The rate of one channel."""
        rate: int = getattr(self, channel)
        return rate


@dataclass(frozen=True)
class SuppressionSettings:
    """Inbound words that opt a sender out, and the Genesys DNC lists kept in step."""

    keywords: tuple[str, ...] = DEFAULT_KEYWORDS
    genesys_dnc_lists: tuple[str, ...] = ()


@dataclass(frozen=True)
class IntakeSettings:
    """The HTTPS intake for Genesys data actions: the secret's key holding the shared secret."""

    shared_secret_key: str


@dataclass(frozen=True)
class TemplateSettings:
    """One configured template: its sources, and the compiled template once they are all known.

    ``compiled`` is None for a ``genesys_response`` (checked against Genesys before each batch)
    and for file templates when no reader was given (compiled when the files are read).
    """

    id: str
    channel: RequestChannel
    compiled: MessageTemplate | None = None
    text: str | None = None
    subject: str | None = None
    html: str | None = None
    text_file: str | None = None
    html_file: str | None = None
    genesys_response: str | None = None


@dataclass(frozen=True)
class MessagingSettings:
    """The whole ``messaging:`` block, validated."""

    senders: Senders
    templates: tuple[TemplateSettings, ...]
    send_window: SendWindow | None = DEFAULT_SEND_WINDOW
    us_state_rules: bool = False
    default_timezone: str | None = None
    rate_per_minute: RatePerMinute = RatePerMinute()
    expire_after: timedelta = timedelta(hours=24)
    smart_encoding: bool = True
    suppression: SuppressionSettings = SuppressionSettings()
    intake: IntakeSettings | None = None

    def template(self, template_id: str) -> TemplateSettings | None:
        """The template with this id, or None."""
        return next((t for t in self.templates if t.id == template_id), None)

    def secret_keys(self) -> tuple[str, ...]:
        """The key the credentials secret holds the data-action shared secret under."""
        return (self.intake.shared_secret_key,) if self.intake is not None else ()

    @property
    def template_channels(self) -> dict[str, RequestChannel]:
        """Each template id's channel, as ``parse_request`` takes them."""
        return {t.id: t.channel for t in self.templates}


def load_messaging(
    value: object, *, source: str = "config", read_template: ReadTemplate | None = None
) -> MessagingSettings:
    """Validate the block on its own; raise ``ConfigError`` listing every problem."""
    problems: list[ConfigProblem] = []
    settings = parse_messaging(
        value, lambda p, m: problems.append(ConfigProblem(p, m)), read_template=read_template
    )
    if settings is None:
        raise ConfigError(problems, source)
    return settings


def messaging_block(read_template: ReadTemplate | None) -> Callable[[object, Add], object | None]:
    """This block's parser as ``load_config(..., blocks={"messaging": ...})`` takes it."""

    def parse(value: object, add: Add) -> MessagingSettings | None:
        return parse_messaging(value, add, read_template=read_template)

    return parse


def messaging_of(config: Config) -> MessagingSettings:
    """The validated block of a config loaded with ``messaging_block``; a clear error without."""
    block = config.blocks.get("messaging")
    if isinstance(block, MessagingSettings):
        return block
    if block is None:
        raise ConfigError(
            [
                ConfigProblem(
                    "messaging",
                    "is missing: notifications need a messaging: block with senders and "
                    "templates (docs/CONFIG.md, Notifications)",
                )
            ]
        )
    raise TypeError("the config was loaded without the messaging block's parser")


def parse_messaging(
    value: object,
    add: Add,
    *,
    path: str = "messaging",
    read_template: ReadTemplate | None = None,
) -> MessagingSettings | None:
    """Validate the block, reporting each problem through ``add``; None when any was reported."""
    count = [0]

    def report(where: str, message: str) -> None:
        count[0] += 1
        add(where, message)

    check = _Check(report, read_template)
    raw = check.mapping(path, value, MESSAGING_KEYS)
    if raw is None:
        return None
    senders = check.senders(f"{path}.senders", raw.get("senders"))
    window, state_rules = check.window(f"{path}.send_window", raw.get("send_window"))
    zone = check.zone(f"{path}.default_timezone", raw.get("default_timezone"), window is not None)
    rates = check.rates(f"{path}.rate_per_minute", raw.get("rate_per_minute"), senders)
    expire = check.expire_after(f"{path}.expire_after", raw.get("expire_after"))
    smart = raw.get("smart_encoding", True)
    if not isinstance(smart, bool):
        report(f"{path}.smart_encoding", f"must be true or false, got {_show(smart)}")
        smart = True
    suppression = check.suppression(f"{path}.suppression", raw.get("suppression"))
    intake = check.intake(f"{path}.intake", raw.get("intake"))
    templates = check.templates(f"{path}.templates", raw.get("templates"))
    if count[0]:
        return None
    return MessagingSettings(
        senders=senders,
        templates=templates,
        send_window=window,
        us_state_rules=state_rules,
        default_timezone=zone,
        rate_per_minute=rates,
        expire_after=expire,
        smart_encoding=smart,
        suppression=suppression,
        intake=intake,
    )


class _Check:
    """The block's checks, each reporting through ``add`` with its key path."""

    def __init__(self, add: Add, read_template: ReadTemplate | None) -> None:
        self.add = add
        self.read_template = read_template
        # Channels given a sender, valid or not: a bad sender is reported once, at the sender,
        # not again at every template of its channel.
        self.configured: set[str] = set()

    def mapping(self, path: str, value: object, allowed: Sequence[str]) -> dict[str, object] | None:
        return known_keys(path, value, allowed, self.add)

    def uuid(self, path: str, value: object, what: str) -> str | None:
        if isinstance(value, str) and _UUID.fullmatch(value):
            return value.lower()
        self.add(path, f"{_show(value)} is not {what} (a Genesys id, a UUID)")
        return None

    def senders(self, path: str, value: object) -> Senders:
        if value is None:
            self.add(path, "is required: the sender of each channel used, e.g. sms: '+13175550100'")
            return Senders()
        raw = self.mapping(path, value, _SENDER_KEYS)
        if raw is None:
            return Senders()
        if not raw:
            self.add(path, f"must name at least one channel's sender: {', '.join(_SENDER_KEYS)}")
        self.configured = {k for k, v in raw.items() if v is not None}
        sms = raw.get("sms")
        if sms is not None:
            problem = e164_problem(sms) if isinstance(sms, str) else f"{_show(sms)} is not a string"
            if problem is not None:
                self.add(f"{path}.sms", f"{problem}: give the provisioned Genesys SMS number")
                sms = None
        whatsapp = raw.get("whatsapp")
        if whatsapp is not None:
            whatsapp = self.uuid(f"{path}.whatsapp", whatsapp, "a WhatsApp integration id")
        web = raw.get("webmessaging")
        if web is not None:
            web = self.uuid(f"{path}.webmessaging", web, "a web messaging deployment id")
        email = raw.get("email")
        return Senders(
            sms=sms if isinstance(sms, str) else None,
            whatsapp=whatsapp if isinstance(whatsapp, str) else None,
            webmessaging=web if isinstance(web, str) else None,
            email=None if email is None else self.email_sender(f"{path}.email", email),
        )

    def email_sender(self, path: str, value: object) -> EmailSender | None:
        raw = self.mapping(path, value, ("via", "from"))
        if raw is None:
            return None
        via = raw.get("via", "sendgrid")
        if via not in ("sendgrid", "genesys"):
            hint = _hint(via, ("sendgrid", "genesys")) if isinstance(via, str) else ""
            self.add(f"{path}.via", f"{_show(via)} is not one of sendgrid, genesys{hint}")
            via = None
        sender = raw.get("from")
        if isinstance(sender, str):
            sender = {"email": sender}
        if sender is None:
            self.add(f"{path}.from", "is required, e.g. {email: notify@example.com, name: Support}")
            return None
        address = self.mapping(f"{path}.from", sender, ("email", "name"))
        if address is None:
            return None
        email, name = address.get("email"), address.get("name")
        ok = True
        if not isinstance(email, str) or header_problem(email) or not _EMAIL.fullmatch(email):
            self.add(f"{path}.from.email", f"{_show(email)} is not an email address")
            ok = False
        if name is not None and (
            not isinstance(name, str) or not name.strip() or header_problem(name)
        ):
            self.add(f"{path}.from.name", f"{_show(name)} must be one line of text")
            ok = False
        if via is None or not ok:
            return None
        return EmailSender(via=via, email=str(email), name=None if name is None else str(name))

    def window(self, path: str, value: object) -> tuple[SendWindow | None, bool]:
        if value is None:
            return DEFAULT_SEND_WINDOW, False
        if isinstance(value, Mapping):
            raw = self.mapping(path, value, _WINDOW_KEYS) or {}
            rules = raw.get("us_state_rules", False)
            if not isinstance(rules, bool):
                self.add(f"{path}.us_state_rules", f"must be true or false, got {_show(rules)}")
                rules = False
            value = {"start": raw.get("start"), "end": raw.get("end")}
        else:
            rules = False
        try:
            return parse_send_window(value), rules
        except ValueError as exc:
            self.add(path, str(exc))
            return DEFAULT_SEND_WINDOW, rules

    def zone(self, path: str, value: object, needed: bool) -> str | None:
        if value is None:
            if needed:
                self.add(
                    path,
                    "is required with a send window: the zone used when a recipient's cannot be "
                    "derived, e.g. America/New_York",
                )
            return None
        if not isinstance(value, str) or not 0 < len(value) <= 64:
            self.add(path, f"{_show(value)} must be an IANA time zone name")
            return None
        if (problem := timezone_problem(value)) is not None:
            self.add(path, problem + _hint(value, pytz.common_timezones))
            return None
        return value

    def rates(self, path: str, value: object, senders: Senders) -> RatePerMinute:
        if value is None:
            value = {}
        raw = self.mapping(path, value, REQUEST_CHANNELS) or {}
        rates = dict(DEFAULT_RATES)
        for channel in REQUEST_CHANNELS:
            rate = raw.get(channel)
            if rate is None:
                continue
            if (
                isinstance(rate, bool)
                or not isinstance(rate, int)
                or not 1 <= rate <= MAX_RATE_PER_MINUTE
            ):
                self.add(
                    f"{path}.{channel}",
                    f"{_show(rate)} must be a whole number of messages per minute from 1 to "
                    f"{MAX_RATE_PER_MINUTE}",
                )
                continue
            rates[channel] = rate
        if (
            senders.email is not None
            and senders.email.via == "genesys"
            and rates["email"] > GENESYS_EMAIL_PER_MINUTE
        ):
            self.add(
                f"{path}.email",
                f"{rates['email']} is over the {GENESYS_EMAIL_PER_MINUTE} per minute Genesys "
                "agentless email allows: lower it, or send email via: sendgrid",
            )
        return RatePerMinute(**rates)

    def expire_after(self, path: str, value: object) -> timedelta:
        default = timedelta(hours=24)
        if value is None:
            return default
        if not isinstance(value, str):
            self.add(path, f"{_show(value)} must be an ISO-8601 duration such as PT24H")
            return default
        try:
            duration = parse_duration(value)
        except ValueError as exc:
            self.add(path, str(exc))
            return default
        except OverflowError:  # more days than a timedelta holds
            self.add(path, f"{_show(value)} is far too long: give at most P14D")
            return default
        if duration > MAX_EXPIRE_AFTER:
            self.add(path, f"{value!r} is longer than P14D: a notification that late is stale")
            return default
        return duration

    def suppression(self, path: str, value: object) -> SuppressionSettings:
        if value is None:
            return SuppressionSettings()
        raw = self.mapping(path, value, _SUPPRESSION_KEYS)
        if raw is None:
            return SuppressionSettings()
        keywords = DEFAULT_KEYWORDS
        if "keywords" in raw:
            keywords = self.keywords(f"{path}.keywords", raw["keywords"])
        lists: list[str] = []
        dnc = raw.get("genesys_dnc_lists")
        if dnc is not None and not isinstance(dnc, list):
            self.add(f"{path}.genesys_dnc_lists", f"must be a list of ids, got {_show(dnc)}")
        for i, entry in enumerate(dnc if isinstance(dnc, list) else []):
            list_id = self.uuid(f"{path}.genesys_dnc_lists[{i}]", entry, "a DNC list id")
            if list_id is None:
                continue
            if list_id in lists:
                self.add(f"{path}.genesys_dnc_lists[{i}]", "is listed twice; remove the duplicate")
                continue
            lists.append(list_id)
        return SuppressionSettings(keywords=keywords, genesys_dnc_lists=tuple(lists))

    def keywords(self, path: str, value: object) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            self.add(path, f"must list at least one keyword such as STOP, got {_show(value)}")
            return DEFAULT_KEYWORDS
        out: list[str] = []
        for i, entry in enumerate(value):
            where = f"{path}[{i}]"
            if not isinstance(entry, str) or not _KEYWORD.fullmatch(entry):
                self.add(where, f"{_show(entry)} must be one word of letters and digits")
                continue
            word = entry.upper()
            if word in OPT_IN_KEYWORDS:
                self.add(where, f"{word} means opt back in, not out; remove it from keywords")
            elif word in out:
                self.add(where, f"{word} is listed twice (keywords ignore case); remove one")
            else:
                out.append(word)
        return tuple(out)

    def intake(self, path: str, value: object) -> IntakeSettings | None:
        if value is None:
            return None
        raw = self.mapping(path, value, ("shared_secret_key",))
        if raw is None:
            return None
        key = raw.get("shared_secret_key")
        if not isinstance(key, str) or not _SECRET_KEY.fullmatch(key):
            self.add(
                f"{path}.shared_secret_key",
                f"{_show(key)} must be the name of a key in the credentials secret (letters, "
                "digits, _ . -), e.g. genesys_data_action_secret; never the secret itself",
            )
            return None
        return IntakeSettings(shared_secret_key=key)

    def templates(self, path: str, value: object) -> tuple[TemplateSettings, ...]:
        if value is None:
            self.add(path, "is required: list at least one template")
            return ()
        if not isinstance(value, list) or not value:
            self.add(path, f"must list at least one template, got {_show(value)}")
            return ()
        out: list[TemplateSettings] = []
        seen: set[str] = set()
        for i, entry in enumerate(value):
            template = self.template(f"{path}[{i}]", entry, seen)
            if template is not None:
                out.append(template)
        return tuple(out)

    def template(self, path: str, value: object, seen: set[str]) -> TemplateSettings | None:
        raw = self.mapping(path, value, _TEMPLATE_KEYS)
        if raw is None:
            return None
        ok = True
        template_id = raw.get("id")
        if not isinstance(template_id, str) or not _TEMPLATE_ID.fullmatch(template_id):
            self.add(
                f"{path}.id",
                f"{_show(template_id)} must be lowercase words joined by -, e.g. order-shipped",
            )
            ok = False
        elif template_id in seen:
            self.add(f"{path}.id", f"{template_id!r} is used by another template; ids are unique")
            ok = False
        else:
            seen.add(template_id)
        channel = raw.get("channel")
        if channel not in REQUEST_CHANNELS:
            hint = _hint(channel, REQUEST_CHANNELS) if isinstance(channel, str) else ""
            self.add(
                f"{path}.channel",
                f"{_show(channel)} is not one of {', '.join(REQUEST_CHANNELS)}{hint}",
            )
            return None
        if channel not in self.configured:
            self.add(
                f"{path}.channel",
                f"{channel} has no sender: add messaging.senders.{channel}",
            )
            ok = False
        sources: dict[str, str] = {}
        for key in ("text", "subject", "html", "text_file", "html_file", "genesys_response"):
            item = raw.get(key)
            if item is None:
                continue
            if not isinstance(item, str) or not item.strip():
                self.add(f"{path}.{key}", f"must be a non-empty string, got {_show(item)}")
                ok = False
                continue
            sources[key] = item
        ok = self.template_shape(path, channel, raw) and ok
        for key in ("text_file", "html_file"):
            if key in sources and not self.file_path(f"{path}.{key}", sources[key]):
                ok = False
        response = sources.get("genesys_response")
        if response is not None:
            response = self.uuid(f"{path}.genesys_response", response, "a Response Management id")
            ok = ok and response is not None
        if not ok or not isinstance(template_id, str):
            return None
        compiled = None
        if response is None:
            compiled = self.compile(path, template_id, channel, sources)
        return TemplateSettings(
            id=template_id,
            channel=channel,
            compiled=compiled,
            text=sources.get("text"),
            subject=sources.get("subject"),
            html=sources.get("html"),
            text_file=sources.get("text_file"),
            html_file=sources.get("html_file"),
            genesys_response=response,
        )

    def template_shape(self, path: str, channel: str, raw: Mapping[str, object]) -> bool:
        """Which parts a channel's template has: reported by key, before compiling."""
        ok = True
        for inline, file in (("text", "text_file"), ("html", "html_file")):
            if inline in raw and file in raw:
                self.add(f"{path}.{file}", f"give {inline} or {file}, not both")
                ok = False
        if "genesys_response" in raw:
            if channel != "whatsapp":
                self.add(
                    f"{path}.genesys_response",
                    "is only for whatsapp templates (approved WhatsApp templates live in "
                    "Response Management)",
                )
                return False
            extra = [k for k in ("text", "subject", "html", "text_file", "html_file") if k in raw]
            if extra:
                self.add(
                    f"{path}.genesys_response",
                    f"comes with no other parts: remove {', '.join(extra)}",
                )
                return False
            return ok
        if channel == "email":
            if "subject" not in raw:
                self.add(f"{path}.subject", "is required for an email template")
                ok = False
            if not any(k in raw for k in ("text", "text_file")):
                # The plain-text part is what text-only clients, screen readers and spam
                # filters read, and what goes first in the message.
                self.add(
                    f"{path}.text",
                    "is required for an email template: give text or "
                    "text_file (html or html_file is optional beside it)",
                )
                ok = False
            return ok
        if channel == "whatsapp":
            # Agentless WhatsApp sends only an approved template; free text is refused.
            self.add(
                f"{path}.genesys_response",
                "is required for a whatsapp template: Genesys sends agentless WhatsApp messages "
                "only as an approved template; give the Response Management response id",
            )
            return False
        for key in ("subject", "html", "html_file"):
            if key in raw:
                self.add(f"{path}.{key}", f"is only for email; a {channel} template has text only")
                ok = False
        if "text" not in raw and "text_file" not in raw:
            what = "text, text_file or genesys_response" if channel == "whatsapp" else "text"
            self.add(f"{path}.text", f"is required for a {channel} template: give {what}")
            ok = False
        return ok

    def file_path(self, path: str, value: str) -> bool:
        """A relative path under templates/: no absolute path, no .. and no backslash."""
        if not _FILE_PATH.fullmatch(value):
            self.add(
                path,
                f"{_show(value)} must be a relative path under templates/, such as "
                "messages/chat-followup.html (no leading /, no .., no backslashes)",
            )
            return False
        return True

    def compile(
        self, path: str, template_id: str, channel: RequestChannel, sources: Mapping[str, str]
    ) -> MessageTemplate | None:
        """Compile once every part is known; None (without a problem) while files are unread."""
        parts: dict[str, str] = {}
        for part in ("text", "subject", "html"):
            if part in sources:
                parts[part] = sources[part]
            elif f"{part}_file" in sources:
                if self.read_template is None:
                    return None
                file = sources[f"{part}_file"]
                try:
                    parts[part] = self.read_template(file)
                except OSError as exc:
                    self.add(
                        f"{path}.{part}_file",
                        f"cannot read templates/{file}: {exc.strerror or exc}; check the path",
                    )
                    return None
        try:
            return compile_template(
                template_id,
                channel,
                text=parts.get("text"),
                subject=parts.get("subject"),
                html=parts.get("html"),
            )
        except MessageTemplateError as exc:
            self.add(path, str(exc))
            return None
