"""One receipt applied to one message record: the only code that moves a record on a receipt.

The Genesys poller and the SendGrid webhook both call ``apply_receipt``; what it decides, in order:

1. **Suppression first.** A receipt with ``suppress`` adds the record's (channel, address) to the
   suppression table with source ``receipt:<provider>:<code>``, whatever becomes of the record:
   an opt-out or a spam report is the person's wish even when the receipt is late.
2. **Only sent messages take receipts.** A record that is not ``sent``, ``unknown``,
   ``delivered`` or ``read`` (still queued, being sent, waiting for a retry, failed, expired…)
   is left ``unchanged``; so is one whose ``message_id`` is not the receipt's (an earlier
   attempt's receipt, when the caller knows which message it is for: ``stale``).
3. **Never backwards.** delivered and read never move to a failure, to pending or to unknown
   (``stale``); a lower progress class never overrides a higher one.
4. **Time order.** A receipt older (``at``) than the one recorded never overrides it, unless it
   is final and the recorded one is not (``stale``). A delivery always refines ``unknown``.
5. **The move.** pending/sent keep (or make) the record ``sent``; delivered → ``delivered``;
   read → ``read``; a permanent failure → ``failed_permanent``; an unknown code → ``unknown``
   (kept in the awaiting index, so a later known receipt can still refine it); a temporary
   failure → ``failed_temporary`` with ``attempt`` + 1 (outcome ``retry``; queued again when an
   outbox is given), or ``failed_permanent`` (receipt class still ``failed_temporary``) with the
   reason when it will not be retried: ``retry_temporary`` off, the attempts used up, or too
   close to the request's deadline.
6. **The awaiting index.** A final receipt, or a status no receipt can change any more, removes
   ``awaiting``/``awaiting_since``.

Every write is conditional on the version read: of two workers applying receipts to one record,
the loser re-reads (the record comes back with the refusal) and decides again, so neither
receipt is lost. The provider's text goes onto the record and its history, never into a log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from gcnotify.core.errors import MessageStoreError
from gcnotify.core.values import instant
from gcnotify.receipts.classify import PROGRESS, RANK, DeliveryClass, Receipt

if TYPE_CHECKING:
    from gcnotify.aws.messages import FieldValue, MessageRecord, MessageStatus, MessageStore
    from gcnotify.aws.queue import Outbox
    from gcnotify.aws.suppression import SuppressionTable
    from gcnotify.receipts.settings import ReceiptSettings

__all__ = [
    "MAX_ATTEMPTS",
    "RECEIVING",
    "Applied",
    "ApplyOutcome",
    "apply_receipt",
    "retry_delay",
]

ApplyOutcome = Literal["moved", "updated", "stale", "retry", "unchanged"]

MAX_ATTEMPTS = 3  # sends of one request in all: the first and at most two receipt retries
RECEIVING: frozenset[str] = frozenset({"sent", "unknown", "delivered", "read"})
_WAITING: frozenset[str] = frozenset({"sent", "unknown", "delivered"})  # may still hear more
_RACE_TRIES = 3  # reads of a record two workers keep writing before giving up loudly
_CODE_LIMIT = 200

_AS_CLASS: Mapping[str, DeliveryClass] = {
    "delivered": "delivered",
    "read": "read",
    "unknown": "unknown",
}
_STATUS_OF: Mapping[DeliveryClass, MessageStatus] = {
    "pending": "sent",  # the provider has it: the record stays (or becomes) sent
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "failed_permanent": "failed_permanent",
    "failed_temporary": "failed_temporary",
    "unknown": "unknown",
}
_SUPPRESSION_TEXT: Mapping[str, str] = {
    "opt-out": "the recipient opted out",
    "invalid": "the address cannot receive messages",
    "hard-bounce": "the address bounced permanently",
    "dropped": "SendGrid dropped the email: the address is on its suppression list",
    "spam-report": "the recipient reported the email as spam",
    "unsubscribe": "the recipient unsubscribed",
}


@dataclass(frozen=True)
class Applied:
    """What one receipt did to one record."""

    key: str
    outcome: ApplyOutcome
    status: str | None  # the record's status after (None: no record)
    receipt: Receipt
    suppressed: str | None = None  # the suppression reason written, if any
    detail: str = ""  # why, in a sentence (no address in it)
    attempt: int = 1  # the record's send attempt after: the n to re-queue a "retry" with


@dataclass(frozen=True)
class _Plan:
    outcome: ApplyOutcome
    detail: str
    to: MessageStatus | None = None  # None: the status stays
    fields: dict[str, FieldValue] | None = None  # None: nothing to write
    attempt: int = 1
    delay: int = 0


@dataclass(frozen=True)
class _Context:
    """What every decision about one receipt reads besides the record."""

    receipt: Receipt
    settings: ReceiptSettings
    now: datetime
    source: str
    message_id: str | None


def retry_delay(attempt: int) -> int:
    """Seconds before attempt ``attempt`` (2, 3, …) goes: 60, 120, … up to SQS's 900."""
    return min(900, 60 * (1 << min(10, max(0, attempt - 2))))


def apply_receipt(
    record: MessageRecord,
    receipt: Receipt,
    *,
    store: MessageStore,
    suppression: SuppressionTable | None,
    settings: ReceiptSettings,
    now: datetime,
    source: str,
    outbox: Outbox | None = None,
    message_id: str | None = None,
) -> Applied:
    """Apply ``receipt`` to ``record`` (as read, from the table or an index) and say what it did.

    ``source`` names who applied it (``poll``, ``webhook``) in the history. ``message_id``, when
    given, is the provider message the receipt is about: a receipt of another attempt is stale.
    With ``outbox``, a retry is queued here; without, the caller queues ``Applied.attempt``.
    """
    suppressed = _suppress(record, receipt, suppression, now)
    context = _Context(receipt, settings, now, source, message_id)
    current = record
    for _ in range(_RACE_TRIES):
        plan = _plan(current, context)
        if plan.fields is None:
            return Applied(
                current.key,
                plan.outcome,
                current.status,
                receipt,
                suppressed,
                plan.detail,
                _attempt(current),
            )
        if plan.to is None:
            written = store.update_fields(
                current.key,
                current.version,
                now,
                plan.detail,
                status=current.status,
                **plan.fields,
            )
        else:
            written = store.transition(
                current.key,
                (current.status,),
                plan.to,
                now,
                detail=plan.detail,
                expected_version=current.version,
                **plan.fields,
            )
        if written.moved:
            after = written.record
            status = after.status if after is not None else plan.to or current.status
            if plan.outcome == "retry" and outbox is not None:
                _requeue(store, outbox, plan, now=now, key=current.key, after=after)
            return Applied(
                current.key, plan.outcome, status, receipt, suppressed, plan.detail, plan.attempt
            )
        if written.record is None:
            return Applied(
                current.key, "unchanged", None, receipt, suppressed, "the record is gone"
            )
        current = written.record  # someone wrote it since it was read: decide again
    raise MessageStoreError(
        f"message {record.key!r} changed {_RACE_TRIES} times while a receipt was applied to it; "
        "the receipt was not recorded: apply it again (the poller's next run or SendGrid's "
        "retry does)"
    )


def _requeue(
    store: MessageStore,
    outbox: Outbox,
    plan: _Plan,
    *,
    now: datetime,
    key: str,
    after: MessageRecord | None,
) -> None:
    """Queue the retry; if that fails, say so on the record (never a silent wait) and raise."""
    try:
        outbox.enqueue(key, delay_seconds=plan.delay, attempt=plan.attempt)
    except Exception as exc:
        waiting: tuple[MessageStatus, ...] = ("failed_temporary",)
        store.transition(
            key,
            waiting,
            "failed_permanent",
            now,
            detail=f"the retry (attempt {plan.attempt}) could not be queued: {exc}",
            expected_version=after.version if after is not None else None,
        )
        raise


def _suppress(
    record: MessageRecord,
    receipt: Receipt,
    suppression: SuppressionTable | None,
    now: datetime,
) -> str | None:
    if receipt.suppress is None or suppression is None or not record.address:
        return None
    reason = f"{_SUPPRESSION_TEXT[receipt.suppress]} ({receipt.provider} {receipt.code})"
    source = f"receipt:{receipt.provider}:{receipt.code}"[:_CODE_LIMIT]
    suppression.add(record.channel, record.address, reason, source, now)
    return receipt.suppress


def _attempt(record: MessageRecord) -> int:
    value = record.fields.get("attempt")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 1 else 1


def _current(record: MessageRecord) -> DeliveryClass:
    """The class the record stands at: its status, or while sent the last receipt's class."""
    if record.status in _AS_CLASS:
        return _AS_CLASS[record.status]
    # A sent record without a receipt yet stands at pending: whatever the provider says next
    # (even SendGrid's processed) is news, never older progress.
    return "sent" if record.fields.get("receipt_class") == "sent" else "pending"


def _deadline(record: MessageRecord) -> datetime | None:
    """The request's deadline as the sender recorded it (or the request's own expires_at)."""
    found = [instant(record.fields.get(name)) for name in ("send_by", "request_expires_at")]
    present = [when for when in found if when is not None]
    return min(present) if present else None


def _receipt_fields(record: MessageRecord, context: _Context) -> dict[str, FieldValue]:
    receipt, source = context.receipt, context.source
    fields: dict[str, FieldValue] = {
        "receipt_class": receipt.cls,
        "receipt_code": receipt.code[:_CODE_LIMIT] or None,
        "receipt_text": receipt.text or None,
        "receipt_at": receipt.at.isoformat() if receipt.at is not None else None,
        "receipt_provider": receipt.provider,
        "receipt_final": receipt.final,
        "receipt_source": source[:_CODE_LIMIT],
    }
    if receipt.cls in ("delivered", "read") and "delivered_at" not in record.fields:
        fields["delivered_at"] = (receipt.at or context.now).isoformat()
    return fields


def _history(context: _Context, what: str) -> str:
    receipt = context.receipt
    text = f": {receipt.text}" if receipt.text else ""
    code = receipt.code or "(no code)"
    return f"{context.source}: {receipt.provider} {code} ({receipt.cls}) {what}{text}"


def _done() -> dict[str, FieldValue]:
    """The fields that take a record out of the awaiting index."""
    return {"awaiting": None, "awaiting_since": None}


def _plan(record: MessageRecord, context: _Context) -> _Plan:
    receipt = context.receipt
    status = record.status
    if status not in RECEIVING:
        return _Plan("unchanged", f"the record is {status}: receipts apply to sent messages")
    recorded_id = record.fields.get("message_id")
    wanted = context.message_id
    if wanted is not None and isinstance(recorded_id, str) and recorded_id != wanted:
        return _Plan("stale", "the receipt is for another attempt's message")
    current = _current(record)
    if status in ("delivered", "read"):
        return _plan_after_delivery(record, context, current)
    if receipt.cls in PROGRESS and current in PROGRESS and RANK[receipt.cls] < RANK[current]:
        return _Plan("stale", f"a {receipt.cls} receipt after {current}")
    recorded_at = instant(record.fields.get("receipt_at"))
    refines = current == "unknown" and receipt.cls in ("delivered", "read")
    ahead = receipt.cls in PROGRESS and current in PROGRESS and RANK[receipt.cls] > RANK[current]
    overrides = receipt.final and record.fields.get("receipt_final") is not True
    if (
        receipt.at is not None
        and recorded_at is not None
        and receipt.at < recorded_at
        and not (refines or ahead or overrides)
    ):
        return _Plan("stale", f"older than the receipt recorded at {recorded_at.isoformat()}")
    fields = _receipt_fields(record, context)
    if _same(record, fields):
        return _Plan("unchanged", "the receipt is the one recorded")
    if receipt.cls == "failed_temporary":
        return _plan_temporary(record, context, fields | _done())
    target = _STATUS_OF[receipt.cls]
    if receipt.final or target not in _WAITING:
        fields |= _done()
    if target == status:
        return _Plan("updated", _history(context, "recorded"), None, fields)
    return _Plan("moved", _history(context, f"moved it to {target}"), target, fields)


def _plan_after_delivery(record: MessageRecord, context: _Context, current: DeliveryClass) -> _Plan:
    """delivered and read only ever move up (delivered → read); a final receipt still ends
    the wait for more."""
    receipt = context.receipt
    waiting = "awaiting" in record.fields
    if receipt.cls == "read" and current == "delivered":
        fields = _receipt_fields(record, context) | _done()
        return _Plan("moved", _history(context, "moved it to read"), "read", fields)
    same = receipt.cls == current
    if same and receipt.final and waiting:
        fields = _receipt_fields(record, context) | _done()
        return _Plan("updated", _history(context, "recorded, final"), None, fields)
    if receipt.final and waiting:  # e.g. no final receipt within final_after: kept delivered
        outcome: ApplyOutcome = "updated" if receipt.cls == "unknown" else "stale"
        return _Plan(outcome, _history(context, f"kept {current}"), None, _done())
    if same or receipt.cls == "unknown":
        return _Plan("unchanged", f"the record is {current} already")
    return _Plan("stale", f"a {receipt.cls} receipt after {current}: kept {current}")


def _plan_temporary(
    record: MessageRecord, context: _Context, fields: dict[str, FieldValue]
) -> _Plan:
    """Retry within the request's deadline, or end it failed_permanent saying why not."""
    attempt = _attempt(record)
    following = attempt + 1
    delay = retry_delay(following)
    deadline = _deadline(record)
    why = None
    if not context.settings.retry_temporary:
        why = "retry_temporary is off"
    elif attempt >= MAX_ATTEMPTS:
        why = f"{attempt} attempts made, the most there are"
    elif deadline is None:
        why = "the request has no recorded deadline"
    elif context.now + timedelta(seconds=delay) >= deadline:
        why = f"its deadline {deadline.isoformat()} is too close for another attempt"
    if why is not None:
        detail = _history(context, f"not retried: {why}")
        return _Plan("moved", detail, "failed_permanent", fields, attempt)
    return _Plan(
        "retry",
        _history(context, f"attempt {following} in {delay} s"),
        "failed_temporary",
        fields | {"attempt": following},
        following,
        delay,
    )


def _same(record: MessageRecord, fields: Mapping[str, FieldValue]) -> bool:
    """The receipt recorded already: same class, code, text, time and finality."""
    names = ("receipt_class", "receipt_code", "receipt_text", "receipt_at", "receipt_final")
    return all(record.fields.get(name) == fields[name] for name in names)
