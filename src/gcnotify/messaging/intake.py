"""Taking a notification request: validate it whole, record it once by its key, queue its key.

Every way a request arrives (the intake queue, the IAM function URL, the Genesys data action,
``gcnotify send``) ends here, so each answers the same way:

- ``rejected``: the request is invalid; every problem is listed, nothing is queued. With a
  valid key the rejection is recorded under it (a final status), so a later fixed request
  under the same key is a duplicate: an application fixes its request under a new key.
- ``duplicate``: the key was taken before; nothing new is recorded or sent.
- ``accepted``: recorded and queued for the sender, which applies the policy right before the
  send.

The template is rendered here as well as in the sender: a missing variable or an over-long SMS
is the caller's mistake and is answered at once, and the segment count is recorded before any
send. If queuing fails after the record was written, the caller's retry meets its own record
still ``accepted`` and queues it again; a second queued copy is harmless, since the sender's
guard sends a key once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from gcnotify.aws.messages import FieldValue, NewMessage
from gcnotify.core.errors import MessageTemplateError, RequestError
from gcnotify.messaging.request import NotificationRequest, parse_request, parse_request_json

if TYPE_CHECKING:
    from gcnotify.aws.messages import MessageStore
    from gcnotify.aws.queue import Outbox
    from gcnotify.messaging.settings import MessagingSettings

__all__ = ["IntakeOutcome", "request_fields", "take"]

IntakeStatus = Literal["accepted", "duplicate", "rejected"]


@dataclass(frozen=True)
class IntakeOutcome:
    """What the caller is told; ``problems`` lists every fix a rejected request needs."""

    status: IntakeStatus
    key: str | None
    problems: tuple[str, ...] = ()
    recorded: bool = False

    def answer(self) -> dict[str, object]:
        """The JSON answer of the HTTPS intakes."""
        return {"status": self.status, "key": self.key, "problems": list(self.problems)}


def _isoformat(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def request_fields(request: NotificationRequest) -> dict[str, FieldValue]:
    """What the record keeps of a request, so the sender can rebuild it from the record alone."""
    return {
        "request": json.dumps(
            {
                "key": request.key,
                "template": request.template,
                "channel": request.channel,
                "to": request.to,
                "external_contact_id": request.external_contact_id,
                "variables": dict(request.variables),
                "timezone": request.timezone,
                "not_before": _isoformat(request.not_before),
                "expires_at": _isoformat(request.expires_at),
            },
            separators=(",", ":"),
            ensure_ascii=False,
        ),
        "not_before": _isoformat(request.not_before),
        "request_expires_at": _isoformat(request.expires_at),
    }


def _segments(request: NotificationRequest, settings: MessagingSettings) -> dict[str, FieldValue]:
    """Render once to fail fast on template problems; for SMS, the segments before and after."""
    template = settings.template(request.template)
    if template is None or template.compiled is None:
        return {}  # a Genesys response template: checked against Genesys before each batch
    rendered = template.compiled.render(request.variables, smart_encoding=settings.smart_encoding)
    if rendered.sms is None:
        return {}
    return {
        "encoding": rendered.sms.after.encoding,
        "segments": rendered.sms.after.segments,
        "segments_before": rendered.sms.before.segments,
        "encoding_before": rendered.sms.before.encoding,
        "smart_encoded": rendered.sms.replaced,
    }


def take(
    body: str | bytes | Mapping[str, object],
    *,
    settings: MessagingSettings,
    store: MessageStore,
    outbox: Outbox,
    now: datetime,
    source: str,
) -> IntakeOutcome:
    """Validate, record and queue one request; storage failures raise (the caller retries)."""
    templates = settings.template_channels
    key: str | None = None
    try:
        if isinstance(body, Mapping):
            request = parse_request(body, templates=templates)
        else:
            request = parse_request_json(body, templates=templates)
        key = request.key
        extra = _segments(request, settings)
    except RequestError as exc:
        return _reject(store, exc.key, exc.messages, now=now, source=source, body=body)
    except MessageTemplateError as exc:
        return _reject(
            store, key, (f"variables: {exc}",), now=now, source=source, body=body, request=request
        )
    fields = request_fields(request) | extra | {"source": source}
    accepted = store.accept(
        NewMessage(
            key=request.key,
            channel=request.channel,
            template=request.template,
            received_at=now,
            address=request.to or request.external_contact_id,
            detail=f"from {source}",
            fields=fields,
        )
    )
    if accepted.duplicate and accepted.record.status != "accepted":
        return IntakeOutcome("duplicate", request.key, recorded=False)
    delay = 0
    if request.not_before is not None:
        delay = max(0, int((request.not_before - now).total_seconds()))
    outbox.enqueue(request.key, delay_seconds=delay)
    if accepted.duplicate:  # recorded before, never queued (a failed earlier call): now it is
        return IntakeOutcome("duplicate", request.key, recorded=False)
    return IntakeOutcome("accepted", request.key, recorded=True)


def _reject(
    store: MessageStore,
    key: str | None,
    problems: tuple[str, ...],
    *,
    now: datetime,
    source: str,
    body: object,
    request: NotificationRequest | None = None,
) -> IntakeOutcome:
    """Record a rejection under its key when it has one; a repeat key stays a duplicate."""
    if key is None:
        return IntakeOutcome("rejected", None, problems)
    template = request.template if request is not None else _field(body, "template")
    channel = request.channel if request is not None else _field(body, "channel")
    accepted = store.accept(
        NewMessage(
            key=key,
            channel=channel or "unknown",
            template=template or "unknown",
            received_at=now,
            status="rejected",
            detail="; ".join(problems),
            fields={"source": source},
        )
    )
    if accepted.duplicate:
        return IntakeOutcome("duplicate", key, problems)
    return IntakeOutcome("rejected", key, problems, recorded=True)


def _field(body: object, name: str) -> str | None:
    """A string field of a request that failed validation, for its record (bounded)."""
    data: object = body
    if isinstance(body, str | bytes):
        try:
            data = json.loads(body)
        except ValueError:
            return None
    value = data.get(name) if isinstance(data, Mapping) else None
    return value[:64] if isinstance(value, str) else None
