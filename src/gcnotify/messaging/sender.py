"""The sender: one outbox message at a time, the policy gate right before the send, then the send
exactly once.

For each key taken from the outbox queue, in this order:

1. the record: none (not ours, or gone by TTL) or already final → done, nothing sent;
2. suppressed (the suppression table, one consistent read) → ``suppressed`` with who/why;
3. expired (the request's ``expires_at`` or ``expire_after``) → ``expired``;
4. ``not_before`` or quiet hours in the recipient's zone → ``deferred``, re-queued with a delay
   (hop by hop, at most 15 minutes each) until the window opens: never dropped, never a sleep;
5. a Genesys template whose pre-flight failed → held (re-queued) and counted for the alarm;
6. the channel's global pace → a short wait for a reserved slot, or re-queued when the next
   free slot is further away;
7. ``sending``, then the send through the exactly-once guard (key ``msg#<key>``, or
   ``msg#<key>#<n>`` for attempt n ≥ 2, a re-send a receipt's temporary failure asked for):
   sent → ``sent`` with the provider's ids; an answer lost after the request went out →
   ``unknown`` (never re-sent automatically; alarmed); 429 → re-queued after ``Retry-After``;
   a permanent refusal → ``failed_permanent`` with the provider's code; anything else
   → ``failed_temporary`` and redelivered by SQS with a backoff, until the last allowed
   receive, when it is recorded ``failed_permanent`` and SQS moves it to the dead-letter queue.

The statuses and their moves are the messages table's (``gcnotify.aws.messages``). For the
receipts, the first ``sending`` records the UTC day and time of the first attempt (``sent_day``,
``sent_at``: the ``by_day`` index) and every ``sending`` the request's deadline (``send_by``); a
``sent`` or ``unknown`` after a send puts the record in the ``awaiting`` index (``awaiting``: the
provider, ``awaiting_since``: now) until a final receipt takes it out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from gcnotify.aws.once import Blocked, Sent
from gcnotify.core.errors import ApiError, GcnotifyError, MessageTemplateError
from gcnotify.core.values import instant, text_or_none
from gcnotify.messaging.policy import (
    DeferUntil,
    Expired,
    deadline,
    decide,
    recipient_zone,
)
from gcnotify.messaging.state_rules import DEFAULT_STATE_WINDOWS
from gcnotify.messaging.transport import Delivery, Outgoing

if TYPE_CHECKING:
    from gcnotify.aws.messages import FieldValue, MessageRecord, MessageStatus, MessageStore
    from gcnotify.aws.once import Once
    from gcnotify.aws.queue import Outbox, QueuedKey
    from gcnotify.aws.suppression import SuppressionTable
    from gcnotify.messaging.settings import MessagingSettings, TemplateSettings
    from gcnotify.messaging.transport import Transport

__all__ = [
    "GUARD_PREFIX",
    "SUPPRESSING_CODES",
    "Pacer",
    "Sender",
    "Step",
    "attempt_of",
    "guard_key",
]

GUARD_PREFIX = "msg#"
_MAX_PACE_WAIT_MS = 1000  # the longest a sender waits for its slot before re-queuing instead
_IN_PROGRESS_RETRY = 60  # seconds before looking again at a send another worker holds
_PREFLIGHT_RETRY = 300  # seconds a message of a template that failed pre-flight is held
_PHONE_CHANNELS = frozenset({"sms", "whatsapp"})
# Provider codes that mean "never send to this address again" (the receipts' feedback too).
SUPPRESSING_CODES = frozenset({"RecipientOptedOut", "InvalidDestination"})
# What a new attempt clears: the receipt of the attempt before it (kept in the history).
_RECEIPT_FIELDS = (
    "receipt_class",
    "receipt_code",
    "receipt_text",
    "receipt_at",
    "receipt_provider",
    "receipt_final",
)
# Provider answers that mean "this request can never succeed as it is".
_PERMANENT_STATUSES = frozenset({400, 404, 409, 410, 413, 422})

StepKind = Literal[
    "sent",
    "suppressed",
    "expired",
    "deferred",
    "paced",
    "held",
    "retrying",
    "failed_temporary",
    "failed_permanent",
    "unknown",
    "in_progress",
    "done",
    "missing",
]


def guard_key(key: str, attempt: int = 1) -> str:
    """The exactly-once guard's key for a message: its own namespace in the send ledger.

    Attempt 1 is ``msg#<key>``; a re-send a receipt asked for (attempt n ≥ 2) is
    ``msg#<key>#<n>``, a send of its own that never repeats an earlier attempt's.
    """
    return GUARD_PREFIX + key if attempt <= 1 else f"{GUARD_PREFIX}{key}#{attempt}"


def attempt_of(record: MessageRecord) -> int:
    """The record's send attempt (its ``attempt`` field; 1 when absent or unreadable)."""
    value = record.fields.get("attempt")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 1 else 1


@dataclass(frozen=True)
class Step:
    """What became of one outbox message; ``retry_in`` set: report it failed so SQS redelivers
    it after that many seconds."""

    key: str
    kind: StepKind
    detail: str = ""
    retry_in: int | None = None
    channel: str = ""


class Pacer(Protocol):
    """The global pace per channel (``gcnotify.aws.pace.Pace``)."""

    def reserve(
        self, channel: str, rate_per_minute: int, *, now_ms: int, max_wait_ms: int = ...
    ) -> Any: ...


class Preflight(Protocol):
    """Checks a Genesys response template once per batch; None when it may be used."""

    def problem(self, template: TemplateSettings, variables: Mapping[str, object]) -> str | None:
        """Why the template must not be sent now, or None."""


@dataclass
class Sender:
    """The gate and the send for one batch's messages; every dependency is passed in."""

    settings: MessagingSettings
    store: MessageStore
    suppression: SuppressionTable
    once: Once
    pace: Pacer
    outbox: Outbox
    transport: Transport
    now: Callable[[], datetime]
    sleep: Callable[[float], None]
    max_receives: int = 5
    deadline: Callable[[], datetime | None] = lambda: None
    preflight: Preflight | None = None
    unknown: list[str] = field(default_factory=list)  # keys whose outcome is unknown (alarmed)

    # -- the steps ---------------------------------------------------------------------------

    def process(self, queued: QueuedKey, *, receive_count: int = 1) -> Step:
        """Take one outbox message as far as it can go now."""
        key = queued.key
        record = self.store.get(key)
        if record is None:
            return Step(key, "missing", "no record under this key (not ours, or past its TTL)")
        if record.final:
            return Step(key, "done", f"already {record.status}", channel=record.channel)
        request = record.request()
        if request is None:
            moved = self._move(record, "failed_permanent", "the record holds no readable request")
            return Step(key, "failed_permanent", moved, channel=record.channel)
        if record.status == "sending":
            resumed = self._resume(record)
            if resumed is not None:
                return resumed
            record = self.store.get(key) or record
        return self._gate(record, request, queued, receive_count)

    def _resume(self, record: MessageRecord) -> Step | None:
        """A record left ``sending`` (a crash, or a worker still at it): the guard says which."""
        blocked = self.once.check(guard_key(record.key, attempt_of(record)))
        if blocked is None:  # no claim, or a claim recorded as failed: nothing went out
            self._move(record, "failed_temporary", "the earlier attempt ended before sending")
            return None
        return self._blocked(record, blocked)

    def _blocked(self, record: MessageRecord, blocked: Blocked) -> Step:
        key = record.key
        if blocked.status == "already_sent":
            self._move(
                record,
                "sent",
                "the guard holds a completed send",
                message_id=blocked.message_id,
                conversation_id=text_or_none(blocked.record.attributes.get("conversation_id")),
                **self._awaiting(self._provider(record.channel)),
            )
            return Step(key, "sent", "recorded from the guard", channel=record.channel)
        if blocked.status == "in_progress":
            return Step(
                key,
                "in_progress",
                blocked.note,
                retry_in=_IN_PROGRESS_RETRY,
                channel=record.channel,
            )
        self._move(
            record, "unknown", blocked.note, **self._awaiting(self._provider(record.channel))
        )
        self.unknown.append(key)
        return Step(key, "unknown", blocked.note, channel=record.channel)

    def _gate(
        self, record: MessageRecord, request: Mapping[str, Any], queued: QueuedKey, receives: int
    ) -> Step:
        key, channel = record.key, record.channel
        address = request.get("to") or request.get("external_contact_id")
        now = self.now()
        if isinstance(address, str):
            hit = self.suppression.check(channel, address)
            if hit is not None:
                since = hit.since.isoformat() if hit.since else "an unknown time"
                detail = f"suppressed since {since}: {hit.reason} (source {hit.source})"
                self._move(record, "suppressed", detail)
                return Step(key, "suppressed", detail, channel=channel)
        expires = deadline(
            record.created_at or now,
            expire_after=self.settings.expire_after,
            expires_at=instant(request.get("expires_at")),
        )
        not_before = instant(request.get("not_before"))
        if not_before is not None and now < not_before:
            if expires is not None and not_before >= expires:
                self._move(record, "expired", f"not_before {not_before} is after expiry")
                return Step(key, "expired", channel=channel)
            return self._defer(record, queued, not_before, f"not before {not_before.isoformat()}")
        decision = decide(
            now,
            zone=self._zone(request, channel),
            window=self.settings.send_window,
            default_zone=self.settings.default_timezone or "UTC",
            expires=expires,
            state_windows=DEFAULT_STATE_WINDOWS if self.settings.us_state_rules else None,
        )
        if isinstance(decision, Expired):
            self._move(record, "expired", decision.reason)
            return Step(key, "expired", decision.reason, channel=channel)
        if isinstance(decision, DeferUntil):
            return self._defer(record, queued, decision.until, decision.reason)
        template = self.settings.template(record.template)
        if template is None:
            self._move(record, "failed_permanent", f"template {record.template!r} is gone")
            return Step(key, "failed_permanent", channel=channel)
        variables = request.get("variables") or {}
        if self.preflight is not None and template.genesys_response is not None:
            problem = self.preflight.problem(template, variables)
            if problem is not None:
                self.outbox.enqueue(key, delay_seconds=_PREFLIGHT_RETRY, attempt=queued.attempt + 1)
                return Step(key, "held", problem, channel=channel)
        return self._paced_send(record, request, template, queued, receives, expires=expires)

    def _zone(self, request: Mapping[str, Any], channel: str) -> Any:
        phone = request.get("to") if channel in _PHONE_CHANNELS else None
        timezone = request.get("timezone")
        return recipient_zone(
            timezone=timezone if isinstance(timezone, str) else None,
            address=phone if isinstance(phone, str) else None,
            default=self.settings.default_timezone or "UTC",
        )

    def _defer(self, record: MessageRecord, queued: QueuedKey, until: datetime, why: str) -> Step:
        wait = max(1, int((until - self.now()).total_seconds() + 0.999))
        self.outbox.enqueue(record.key, delay_seconds=wait, attempt=queued.attempt + 1)
        if record.status != "deferred":  # one history entry per deferral, not one per hop
            self._move(record, "deferred", why, deferred_until=until.isoformat())
        return Step(record.key, "deferred", why, channel=record.channel)

    def _paced_send(
        self,
        record: MessageRecord,
        request: Mapping[str, Any],
        template: TemplateSettings,
        queued: QueuedKey,
        receives: int,
        *,
        expires: datetime | None,
    ) -> Step:
        key, channel = record.key, record.channel
        variables: Mapping[str, object] = request.get("variables") or {}
        rate = self.settings.rate_per_minute.of(channel)  # type: ignore[arg-type]
        now_ms = int(self.now().timestamp() * 1000)
        slot = self.pace.reserve(channel, rate, now_ms=now_ms, max_wait_ms=_MAX_PACE_WAIT_MS)
        retry_in = getattr(slot, "retry_in_seconds", None)
        if retry_in is not None:
            self.outbox.enqueue(key, delay_seconds=int(retry_in), attempt=queued.attempt + 1)
            return Step(key, "paced", f"over {rate}/min; back in {retry_in} s", channel=channel)
        wait_ms = getattr(slot, "wait_ms", 0)
        if wait_ms > 0:
            self.sleep(wait_ms / 1000)
        try:
            rendered = (
                template.compiled.render(variables, smart_encoding=self.settings.smart_encoding)
                if template.compiled is not None
                else None
            )
        except MessageTemplateError as exc:  # the template changed since intake
            self._move(record, "failed_permanent", str(exc))
            return Step(key, "failed_permanent", str(exc), channel=channel)
        now = self.now()
        attempt = attempt_of(record)
        marks: dict[str, FieldValue] = {"send_by": _iso(expires) if expires else None}
        if "sent_day" not in record.fields:  # the first attempt: the by_day index's day
            marks |= {"sent_day": _utc(now).date().isoformat(), "sent_at": _iso(now)}
        if attempt > 1:  # a new attempt: the last one's receipt is history now
            marks |= dict.fromkeys(_RECEIPT_FIELDS)
        moved = self.store.transition(
            key,
            ("accepted", "deferred", "failed_temporary"),
            "sending",
            now,
            detail=f"send attempt {attempt}, hop {queued.attempt}, receive {receives}",
            expected_version=None,
            **marks,
        )
        if not moved.moved:
            current = moved.record.status if moved.record is not None else "gone"
            return Step(key, "done", f"moved by another worker to {current}", channel=channel)
        outgoing = Outgoing(
            key=key,
            channel=channel,
            to=request.get("to"),
            external_contact_id=request.get("external_contact_id"),
            template=template,
            rendered=rendered,
            variables=variables,
        )
        return self._send(moved.record or record, outgoing, queued, receives)

    def _send(
        self, record: MessageRecord, outgoing: Outgoing, queued: QueuedKey, receives: int
    ) -> Step:
        key, channel = record.key, record.channel
        delivered: list[Delivery] = []

        def send() -> str | None:
            delivery = self.transport.send(outgoing)
            delivered.append(delivery)
            return delivery.message_id

        try:
            outcome = self.once.send(
                guard_key(key, attempt_of(record)),
                send,
                deadline=self.deadline(),
                attributes={"channel": channel},
            )
        except GcnotifyError as exc:
            return self._failed(record, exc, queued, receives)
        except ValueError as exc:  # a body the provider would refuse: never sendable as it is
            text = f"not sendable: {exc}"
            self._move(record, "failed_permanent", text)
            return Step(key, "failed_permanent", text, channel=channel)
        if not isinstance(outcome, Sent):
            return self._blocked(record, outcome)
        delivery = delivered[0] if delivered else Delivery(outcome.message_id, None, "unknown")
        self._move(
            record,
            "sent",
            outcome.note or f"accepted by {delivery.provider}",
            message_id=delivery.message_id,
            conversation_id=delivery.conversation_id,
            provider=delivery.provider,
            **self._awaiting(delivery.provider),
        )
        return Step(key, "sent", delivery.message_id or "", channel=channel)

    def _failed(
        self, record: MessageRecord, exc: GcnotifyError, queued: QueuedKey, receives: int
    ) -> Step:
        key, channel = record.key, record.channel
        text = str(exc)[:1000]
        if exc.maybe_sent:
            self._move(record, "unknown", text, **self._awaiting(self._provider(channel)))
            self.unknown.append(key)
            return Step(key, "unknown", text, channel=channel)
        status = exc.status if isinstance(exc, ApiError) else None
        code = exc.code if isinstance(exc, ApiError) else None
        if status in _PERMANENT_STATUSES:
            self._move(record, "failed_permanent", text, error_code=code, error_status=status)
            if code in SUPPRESSING_CODES and record.address is not None:
                self.suppression.add(
                    channel,
                    record.address,
                    f"Genesys refused a send with {code}",
                    f"send:{key}"[:200],
                    self.now(),
                )
            return Step(key, "failed_permanent", text, channel=channel)
        self._move(record, "failed_temporary", text, error_code=code, error_status=status)
        retry_after = exc.retry_after if isinstance(exc, ApiError) else None
        if status == 429 or retry_after is not None:  # throttled: never counts toward giving up
            wait = max(1, int((retry_after or 1) + 0.999))
            self.outbox.enqueue(key, delay_seconds=wait, attempt=queued.attempt + 1)
            return Step(key, "retrying", f"throttled; back in {wait} s", channel=channel)
        if receives >= self.max_receives:
            detail = f"gave up after {receives} attempts: {text}"
            current = self.store.get(key) or record
            self._move(current, "failed_permanent", detail)
            # Reported failed once more, so SQS moves it to the dead-letter queue.
            return Step(key, "failed_permanent", detail, retry_in=0, channel=channel)
        backoff = min(900, 2 ** min(receives, 10) * 5)
        return Step(key, "failed_temporary", text, retry_in=backoff, channel=channel)

    def _provider(self, channel: str) -> str:
        """Who took (or may have taken) a message of this channel: whose receipts to await."""
        email = self.settings.senders.email
        if channel == "email" and email is not None and email.via == "sendgrid":
            return "sendgrid"
        return "genesys"

    def _awaiting(self, provider: str) -> dict[str, FieldValue]:
        """The awaiting index's keys: a final receipt from ``provider`` is owed since now."""
        if provider not in ("genesys", "sendgrid"):
            return {}
        return {"awaiting": provider, "awaiting_since": _iso(self.now())}

    def _move(
        self, record: MessageRecord, to: MessageStatus, detail: str, **fields: FieldValue
    ) -> str:
        """Move the record from where it is; a record someone else moved first is left as is."""
        result = self.store.transition(
            record.key,
            (record.status,),
            to,
            self.now(),
            detail=detail,
            expected_version=None,
            **fields,
        )
        if result.moved or result.record is None:
            return detail
        # It moved under us (a parallel delivery of the same key): re-read and try once more.
        current = result.record
        if current.final or current.status == to:
            return detail
        from gcnotify.aws.messages import TRANSITIONS

        if to in TRANSITIONS.get(current.status, frozenset()):
            self.store.transition(
                record.key,
                (current.status,),
                to,
                self.now(),
                detail=detail,
                expected_version=None,
                **fields,
            )
        return detail


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _iso(when: datetime) -> str:
    """UTC ISO 8601, the form the messages table's index keys sort by."""
    return _utc(when).isoformat()
