"""One rendered message to one recipient, through the provider its channel uses.

- sms, whatsapp, webmessaging: Genesys Cloud agentless messaging (one recipient per call);
  WhatsApp sends an approved Response Management template with its body parameters.
- email: SendGrid (``via: sendgrid``, the message key in ``custom_args`` so its events map back)
  or Genesys agentless email (``via: genesys``, one recipient per call).

Errors are the providers' own (``GenesysError``/``SendGridError``); the sender classifies them
by status, ``retry_after`` and ``maybe_sent``.
"""

from __future__ import annotations

import html as html_lib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gcnotify.core.errors import ConfigError, ConfigProblem
from gcnotify.core.mail import RenderedEmail
from gcnotify.core.model import Address, Recipients, SendGridSettings

if TYPE_CHECKING:
    from collections.abc import Mapping

    from gcnotify.genesys.client import GenesysClient
    from gcnotify.messaging.settings import MessagingSettings, TemplateSettings
    from gcnotify.messaging.templates import RenderedMessage
    from gcnotify.sendgrid.client import SendGridClient

__all__ = ["KEY_ARG", "Delivery", "Outgoing", "Transport"]

KEY_ARG = "gcnotify_key"  # the SendGrid custom arg carrying the message key


@dataclass(frozen=True)
class Outgoing:
    """What to send: the request's recipient, its template and the text rendered for it."""

    key: str
    channel: str
    to: str | None
    external_contact_id: str | None
    template: TemplateSettings
    rendered: RenderedMessage | None  # None for a Genesys response template (WhatsApp)
    variables: Mapping[str, object]


@dataclass(frozen=True)
class Delivery:
    """The provider's ids for the message (receipts poll them) and who took it."""

    message_id: str | None
    conversation_id: str | None
    provider: str


def _missing(what: str) -> ConfigError:
    return ConfigError([ConfigProblem("messaging.senders", what)])


class Transport:
    """Sends through the clients a deployment has; a channel without its client is refused."""

    def __init__(
        self,
        settings: MessagingSettings,
        *,
        genesys: GenesysClient | None,
        sendgrid: SendGridClient | None,
    ) -> None:
        self._settings = settings
        self._genesys = genesys
        self._sendgrid = sendgrid

    def send(self, out: Outgoing) -> Delivery:
        if out.channel == "email":
            return self._email(out)
        return self._message(out)

    def _client(self) -> GenesysClient:
        if self._genesys is None:
            raise _missing("Genesys Cloud credentials are needed to send this channel")
        return self._genesys

    def _message(self, out: Outgoing) -> Delivery:
        from gcnotify.genesys.messaging import (
            TemplateCall,
            agentless_message_body,
            send_agentless_message,
        )

        sender = getattr(self._settings.senders, out.channel, None)
        if not isinstance(sender, str):
            raise _missing(f"no sender is configured for {out.channel}")
        call = None
        text = out.rendered.text if out.rendered is not None else None
        if out.template.genesys_response is not None:
            call = TemplateCall(
                out.template.genesys_response,
                {name: str(value) for name, value in out.variables.items()},
            )
            text = None
        body = agentless_message_body(
            channel=out.channel,  # type: ignore[arg-type]
            from_address=sender,
            to_address=out.to,
            external_contact_id=out.external_contact_id,
            text=text,
            template=call,
        )
        result = send_agentless_message(self._client(), body)
        return Delivery(result.message_id, result.conversation_id, "genesys")

    def _email(self, out: Outgoing) -> Delivery:
        sender = self._settings.senders.email
        if sender is None:
            raise _missing("no email sender is configured")
        rendered = out.rendered
        if rendered is None or rendered.subject is None or rendered.text is None or out.to is None:
            raise ValueError(f"template {out.template.id!r} did not render a whole email")
        html = rendered.html or (
            "<p>" + html_lib.escape(rendered.text).replace("\n", "<br>\n") + "</p>"
        )
        if sender.via == "genesys":
            from gcnotify.genesys.messaging import agentless_email_body, send_agentless_email

            body = agentless_email_body(
                from_email=sender.email,
                from_name=sender.name or sender.email,
                to_email=out.to,
                subject=rendered.subject,
                text=rendered.text,
                html=html,
            )
            result = send_agentless_email(self._client(), body)
            return Delivery(result.message_id, result.conversation_id, "genesys")
        if self._sendgrid is None:
            raise _missing("SendGrid credentials are needed for email with via: sendgrid")
        from gcnotify.sendgrid.client import build_mail_body

        mail = build_mail_body(
            RenderedEmail(subject=rendered.subject, html=html, text=rendered.text),
            sender=SendGridSettings(from_=Address(sender.email, sender.name)),
            recipients=Recipients(to=(out.to,)),
            custom_args={KEY_ARG: out.key, "gcnotify_template": out.template.id},
            categories=("gcnotify-notification",),
        )
        sent = self._sendgrid.send(mail)
        return Delivery(sent.message_id, None, "sendgrid")
