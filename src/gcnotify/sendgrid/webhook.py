"""The signed SendGrid Event Webhook: is a POST really from SendGrid, and what events it holds.

SendGrid signs each POST with ECDSA P-256 / SHA-256 over the bytes of the
``X-Twilio-Email-Event-Webhook-Timestamp`` header immediately followed by the raw body, and sends
the Base64 DER signature in ``X-Twilio-Email-Event-Webhook-Signature``. The signature is checked
on the exact bytes received, before anything is parsed: re-serialised JSON (or a body without its
trailing ``\\r\\n``) no longer verifies. A timestamp more than ``MAX_SKEW`` from now is refused
too, so a captured POST cannot be replayed later (SendGrid documents no window of its own; its
own retries are signed afresh).

Only ``cryptography`` verifies: the ``sendgrid`` library is not a dependency (its helper is this
same call, wrapped). Nothing AWS here; the receipts pipeline decides what the events mean.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from gcnotify.core.errors import ConfigError, ConfigProblem

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_SKEW",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "EventBatch",
    "Refusal",
    "SendGridEvent",
    "SignatureVerifier",
    "parse_events",
    "x_message_id",
]

SIGNATURE_HEADER = "x-twilio-email-event-webhook-signature"
TIMESTAMP_HEADER = "x-twilio-email-event-webhook-timestamp"
# SendGrid posts when a batch reaches 768 kB (or every 30 s): 1 MiB leaves room for a batch's
# last event and JSON framing, and bounds what an unsigned caller can make us hash.
MAX_BODY_BYTES = 1024 * 1024
MAX_SKEW = timedelta(seconds=300)
# A DER ECDSA P-256 signature is at most 72 bytes, 96 Base64 characters; beyond this is not one.
_MAX_SIGNATURE_CHARS = 200
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_MAX_EVENT_ID = 100  # SendGrid's own bound on sg_event_id
_KEY_PATH = "sendgrid.webhook_public_key"


@dataclass(frozen=True)
class Refusal:
    """Why a POST is refused: the HTTP status and a short reason that is safe to log and answer
    (never the body, the signature or an address)."""

    status: Literal[400, 401, 413]
    reason: str


def _load_key(public_key_b64: str) -> EllipticCurvePublicKey:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    def refuse(why: str) -> ConfigError:
        return ConfigError(
            [
                ConfigProblem(
                    _KEY_PATH,
                    f"{why}; paste the Verification Key shown in SendGrid (Settings > Mail "
                    "Settings > Signed Event Webhook), the Base64 text only",
                )
            ],
            _KEY_PATH,
            note="no webhook POST can be verified",
        )

    try:
        der = base64.b64decode(public_key_b64.strip(), validate=True)
        key = load_der_public_key(der)
    except (binascii.Error, ValueError, TypeError):
        raise refuse("is not a Base64 DER public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise refuse("is not a P-256 (secp256r1) key")
    return key


class SignatureVerifier:
    """The configured public key, loaded once per container; ``check`` per POST.

    ``check`` answers None for a genuine, fresh POST and a ``Refusal`` for anything else: it
    never raises on what a caller sends, so no bad header can turn into a 500 that SendGrid (or
    an attacker) could use to tell checks apart.
    """

    def __init__(self, public_key_b64: str) -> None:
        self._key = _load_key(public_key_b64)

    def check(self, headers: Mapping[str, str], body: bytes, *, now: datetime) -> Refusal | None:
        if len(body) > MAX_BODY_BYTES:
            return Refusal(413, f"body over {MAX_BODY_BYTES:,} bytes")
        lower = {name.lower(): value for name, value in headers.items()}
        signature_text = lower.get(SIGNATURE_HEADER, "").strip()
        timestamp = lower.get(TIMESTAMP_HEADER, "").strip()
        if not signature_text or not timestamp:
            return Refusal(401, "signature or timestamp header missing")
        if not _TIMESTAMP.fullmatch(timestamp):
            return Refusal(401, "timestamp header is not Unix seconds")
        skew = abs(now.timestamp() - int(timestamp))
        if skew > MAX_SKEW.total_seconds():
            return Refusal(401, f"timestamp is {skew:.0f} s from now (at most 300 s)")
        if len(signature_text) > _MAX_SIGNATURE_CHARS:
            return Refusal(401, "signature header is not a signature")
        try:
            signature = base64.b64decode(signature_text, validate=True)
        except (binascii.Error, ValueError):
            return Refusal(401, "signature header is not Base64")
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        try:
            self._key.verify(signature, timestamp.encode("ascii") + body, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            return Refusal(401, "signature does not verify")
        return None


def x_message_id(sg_message_id: str | None) -> str | None:
    """The ``X-Message-Id`` mail/send answered, from an event's ``sg_message_id``: the part
    before the first dot (``LRzXl_NHStOGhQ4kofSm_A.filterdrecv-…`` → ``LRzXl_NHStOGhQ4kofSm_A``)."""
    if not sg_message_id:
        return None
    head = sg_message_id.split(".", 1)[0].strip()
    return head or None


@dataclass(frozen=True)
class SendGridEvent:
    """One well-formed event: its id and type, and the raw fields (custom args are top-level)."""

    event_id: str
    event: str
    email: str | None
    at: datetime | None
    x_message_id: str | None
    data: Mapping[str, Any] = field(repr=False)

    def text(self, name: str) -> str | None:
        """A top-level string field (a custom arg), None when absent, empty or not a string."""
        value = self.data.get(name)
        return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class EventBatch:
    """A POST's events in their order, and how many entries were not events at all."""

    events: tuple[SendGridEvent, ...]
    malformed: int = 0


def _at(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def parse_events(body: bytes) -> EventBatch | Refusal:
    """The batch of a verified POST; an entry that is not an object or lacks ``sg_event_id`` or
    ``event`` is counted as malformed and skipped, so one bad entry never loses the others.

    A body that is not a JSON array is refused with 400: SendGrid then retries it for 24 hours,
    time enough to look at a format change before its events are gone.
    """
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return Refusal(400, "body is not JSON")
    if not isinstance(data, list):
        return Refusal(400, "body is not a JSON array of events")
    events: list[SendGridEvent] = []
    malformed = 0
    for entry in data:
        if not isinstance(entry, dict):
            malformed += 1
            continue
        event_id, kind = entry.get("sg_event_id"), entry.get("event")
        if (
            not isinstance(event_id, str)
            or not event_id.strip()
            or len(event_id) > _MAX_EVENT_ID
            or not isinstance(kind, str)
            or not kind.strip()
        ):
            malformed += 1
            continue
        email = entry.get("email")
        sg_message_id = entry.get("sg_message_id")
        events.append(
            SendGridEvent(
                event_id=event_id,
                event=kind,
                email=email.strip() if isinstance(email, str) and email.strip() else None,
                at=_at(entry.get("timestamp")),
                x_message_id=x_message_id(
                    sg_message_id if isinstance(sg_message_id, str) else None
                ),
                data=entry,
            )
        )
    return EventBatch(tuple(events), malformed)
