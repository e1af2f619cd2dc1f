"""Agentless sends: one message (SMS, WhatsApp, web messaging, Open) or one email per request.

``POST /api/v2/conversations/messages/agentless`` and ``POST …/conversations/emails/agentless``
(the SDK's ``SendAgentlessOutboundMessageRequest`` and ``AgentlessEmailSendRequestDto``). The
builders are pure and refuse, with a ValueError, every body Genesys would refuse for its shape,
so a bad request fails before a send is claimed. The sends go through ``GenesysClient.post_once``:
neither endpoint takes an idempotency key, so nothing that may have reached Genesys is repeated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from gcnotify.core.errors import GenesysOutcomeUnknownError
from gcnotify.core.text import header_problem

if TYPE_CHECKING:
    from gcnotify.genesys.client import GenesysClient

__all__ = [
    "EMAILS_PATH",
    "EMAIL_PERMISSION",
    "MESSAGES_PATH",
    "MESSAGE_PERMISSION",
    "AgentlessResult",
    "Channel",
    "TemplateCall",
    "agentless_email_body",
    "agentless_message_body",
    "send_agentless_email",
    "send_agentless_message",
]

MESSAGES_PATH = "/api/v2/conversations/messages/agentless"
EMAILS_PATH = "/api/v2/conversations/emails/agentless"
# From the SDK's ConversationsApi docs; the email endpoint accepts either permission.
MESSAGE_PERMISSION = "conversation:message:create"
EMAIL_PERMISSION = "conversation:agentlessEmail:send (or conversation:email:create)"

Channel = Literal["sms", "whatsapp", "webmessaging", "open"]
CHANNELS: tuple[Channel, ...] = ("sms", "whatsapp", "webmessaging", "open")

# The SDK's textBody limits: "SMS - 765 characters, other channels - 2000 characters".
SMS_MAX_CHARS = 765
TEXT_MAX_CHARS = 2000
# Genesys's agentless email limits (help: email rate limits): subject, friendly name, body.
SUBJECT_MAX_CHARS = 400
NAME_MAX_CHARS = 64
EMAIL_BODY_MAX_BYTES = 3_000_000  # "3 MB", read as the smaller decimal megabytes

_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_WHATSAPP_ID = re.compile(r"[1-9][0-9]{1,14}")
# One address: no second address (comma, semicolon), no display name, no spaces.
_EMAIL = re.compile(r"[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+")


@dataclass(frozen=True)
class TemplateCall:
    """A Response Management response to send, with a value per substitution id."""

    response_id: str
    body_parameters: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A read-only copy: the caller's dict changing later cannot change what is sent.
        object.__setattr__(self, "body_parameters", MappingProxyType(dict(self.body_parameters)))


@dataclass(frozen=True)
class AgentlessResult:
    """What Genesys answered to one send.

    ``status`` is the message's delivery status when Genesys gives one (``queued`` right after
    an agentless message; None for email); ``raw_status`` is the HTTP status of the answer.
    """

    message_id: str
    conversation_id: str | None
    status: str | None
    raw_status: int


# ------------------------------------------------------------------- messages


def agentless_message_body(
    *,
    channel: Channel,
    from_address: str,
    to_address: str | None,
    external_contact_id: str | None = None,
    text: str | None = None,
    template: TemplateCall | None = None,
) -> dict[str, Any]:
    """The body of one agentless message, or a ValueError naming what Genesys would refuse.

    ``from_address`` is the provisioned SMS number (E.164), the WhatsApp or Open integration
    id, or the web messaging deployment id. SMS and Open take ``text``; WhatsApp takes a
    ``template`` (an approved Response Management response) and its ``to_address`` goes out as
    the WhatsApp id, the number's digits without "+"; web messaging has no ``to_address`` and
    needs ``external_contact_id``.
    """
    if channel not in CHANNELS:
        raise ValueError(f"channel {channel!r} is not one of {', '.join(CHANNELS)}")
    if not from_address.strip():
        raise ValueError(f"the {channel} sender (from_address) is empty")
    body: dict[str, Any] = {"fromAddress": from_address, "toAddressMessengerType": channel}
    if channel == "webmessaging":
        if to_address is not None:
            raise ValueError(
                "web messaging cannot take a to_address; the recipient is its external_contact_id"
            )
        if not external_contact_id:
            raise ValueError("web messaging needs the recipient's external_contact_id")
    elif not to_address:
        raise ValueError(f"a {channel} message needs a to_address")
    if channel == "sms":
        if to_address is None or not _E164.fullmatch(to_address):
            raise ValueError(f"SMS to_address {to_address!r} is not E.164 (e.g. +13175555555)")
        body["toAddress"] = to_address
    elif channel == "whatsapp":
        digits = (to_address or "").removeprefix("+")
        if not _WHATSAPP_ID.fullmatch(digits):
            raise ValueError(
                f"WhatsApp to_address {to_address!r} is not a phone number (E.164, or its digits)"
            )
        body["toAddress"] = digits
    elif channel == "open":
        body["toAddress"] = to_address
    if external_contact_id is not None:
        if channel == "whatsapp":
            raise ValueError("WhatsApp cannot take an external_contact_id (SMS, web and Open can)")
        if not external_contact_id.strip():
            raise ValueError("external_contact_id is empty")
        body["externalContactId"] = external_contact_id
    if channel == "whatsapp":
        if template is None:
            raise ValueError("a WhatsApp message needs a template (a Response Management response)")
        if text is not None:
            raise ValueError("a WhatsApp message is its template; it cannot also take text")
        body["messagingTemplate"] = _template_body(template)
        return body
    if template is not None:
        raise ValueError(f"only WhatsApp takes a template; a {channel} message takes text")
    limit = SMS_MAX_CHARS if channel == "sms" else TEXT_MAX_CHARS
    if not text:
        raise ValueError(f"a {channel} message needs text")
    if len(text) > limit:
        raise ValueError(
            f"the {channel} text is {len(text)} characters, over Genesys's {limit} for {channel}"
        )
    body["textBody"] = text
    return body


def _template_body(template: TemplateCall) -> dict[str, Any]:
    if not template.response_id.strip():
        raise ValueError("the template's response_id is empty")
    for name, value in template.body_parameters.items():
        if not name:
            raise ValueError("a template parameter has an empty substitution id")
        if not isinstance(value, str):
            raise ValueError(f"template parameter {name!r} is not text")
    return {
        "responseId": template.response_id,
        "bodyParameters": [{"id": k, "value": v} for k, v in template.body_parameters.items()],
    }


def send_agentless_message(client: GenesysClient, body: Mapping[str, Any]) -> AgentlessResult:
    """Send one agentless message, never twice (``GenesysClient.post_once``)."""
    status, answer = client.post_once_answer(MESSAGES_PATH, body, permission=MESSAGE_PERMISSION)
    message = answer.get("message")
    delivery = message.get("status") if isinstance(message, Mapping) else None
    return _result(MESSAGES_PATH, status, answer, delivery if isinstance(delivery, str) else None)


# ---------------------------------------------------------------------- email


def agentless_email_body(
    *,
    from_email: str,
    from_name: str,
    to_email: str,
    to_name: str | None = None,
    subject: str,
    text: str,
    html: str | None = None,
    reply_to: str | None = None,
) -> dict[str, Any]:
    """The body of one agentless email (one recipient, ``senderType`` Outbound), or a
    ValueError naming what Genesys would refuse. ``from_email`` must be on an outbound email
    domain of the org."""
    body: dict[str, Any] = {
        "senderType": "Outbound",
        "fromAddress": _address(from_email, from_name, "from"),
        "toAddresses": [_address(to_email, to_name, "to")],
    }
    if reply_to is not None:
        body["replyToAddress"] = _address(reply_to, None, "reply_to")
    if not subject.strip():
        raise ValueError("the email subject is empty")
    problem = header_problem(subject)
    if problem is not None:
        raise ValueError(f"the email subject {problem}")
    if len(subject) > SUBJECT_MAX_CHARS:
        raise ValueError(
            f"the email subject is {len(subject)} characters, over Genesys's {SUBJECT_MAX_CHARS}"
        )
    body["subject"] = subject
    if not text.strip():
        raise ValueError("the email needs a text body")
    body["textBody"] = text
    if html is not None:
        body["htmlBody"] = html
    size = len(text.encode("utf-8")) + len((html or "").encode("utf-8"))
    if size > EMAIL_BODY_MAX_BYTES:
        raise ValueError(
            f"the email body is {size:,} bytes, over Genesys's {EMAIL_BODY_MAX_BYTES:,} for an "
            "agentless email"
        )
    return body


def _address(email: str, name: str | None, what: str) -> dict[str, str]:
    if not _EMAIL.fullmatch(email):
        raise ValueError(
            f"{what} address {email!r} is not one email address (Genesys takes one recipient "
            "per agentless email, without a display name)"
        )
    address = {"email": email}
    if name:
        problem = header_problem(name)
        if problem is not None:
            raise ValueError(f"the {what} name {problem}")
        if len(name) > NAME_MAX_CHARS:
            raise ValueError(
                f"the {what} name is {len(name)} characters, over Genesys's {NAME_MAX_CHARS}"
            )
        address["name"] = name
    return address


def send_agentless_email(client: GenesysClient, body: Mapping[str, Any]) -> AgentlessResult:
    """Send one agentless email, never twice (``GenesysClient.post_once``)."""
    status, answer = client.post_once_answer(EMAILS_PATH, body, permission=EMAIL_PERMISSION)
    return _result(EMAILS_PATH, status, answer, None)


def _result(
    path: str, status: int, answer: Mapping[str, Any], delivery: str | None
) -> AgentlessResult:
    message_id = answer.get("id")
    if not isinstance(message_id, str) or not message_id:
        raise GenesysOutcomeUnknownError(
            f"Genesys Cloud answered {status} to POST {path} without a message id, so it may "
            "have been sent but cannot be traced. It was not retried, to avoid a duplicate; "
            "check the recipient's conversations in Genesys Cloud before sending it again.",
            status=status,
        )
    conversation_id = answer.get("conversationId")
    return AgentlessResult(
        message_id=message_id,
        conversation_id=conversation_id if isinstance(conversation_id, str) else None,
        status=delivery,
        raw_status=status,
    )
