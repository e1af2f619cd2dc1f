"""The events of a verified SendGrid Event Webhook POST, each mapped back to what gcnotify sent
and applied once.

An event maps back through the custom args every send carries as top-level fields:
``gcnotify_key`` names a notification's record in the messages table;
``gcnotify_report_id`` + ``gcnotify_business_date`` name a report send, found in the send ledger.
An event with neither falls back to its ``sg_message_id``, whose part before the first dot is the
``X-Message-Id`` the sender recorded (looked up among the SendGrid messages still awaiting a final
receipt). An event for nothing gcnotify sent is ``unmatched`` and changes nothing.

Each matched event's ``sg_event_id`` is claimed once in the ledger table before it acts
(``aws/event_ids.py``), so SendGrid's retries and repeats count as ``duplicates``. An event whose
action fails is released again, so the POST answered 5xx applies it on SendGrid's retry while
the events that did apply come back as duplicates. Events of one message are applied one after
another in their own time order (SendGrid promises no order); ``apply_receipt``'s rules decide
what an older event may still change.

A notification's event goes through ``apply_receipt`` (which also writes its suppression). A
report recipient that hard-bounces, is dropped as a bounced, unsubscribed or spam-reporting
address, reports spam or unsubscribes is added to the suppression table (channel ``email``,
source ``report:<id>``), and the owner is told once per address and day through the report
alerts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from gcnotify.core.errors import GcnotifyError, SuppressionError
from gcnotify.receipts.classify import Receipt, classify_sendgrid

if TYPE_CHECKING:
    from gcnotify.aws.event_ids import EventIds
    from gcnotify.aws.ledger import Ledger
    from gcnotify.aws.messages import MessageStore
    from gcnotify.aws.queue import Outbox
    from gcnotify.aws.suppression import SuppressionTable
    from gcnotify.receipts.settings import ReceiptSettings
    from gcnotify.sendgrid.webhook import EventBatch, SendGridEvent

__all__ = [
    "ALERT_ARG",
    "DATE_ARG",
    "KEY_ARG",
    "REPORT_ARG",
    "SOURCE",
    "RecipientSuppressed",
    "SentMessageIds",
    "WebhookCounts",
    "WebhookTargets",
    "receive",
]

logger = logging.getLogger("gcnotify")

# The custom args gcnotify's sends carry (messaging/transport.py, reports/runner.py, alerts.py).
KEY_ARG = "gcnotify_key"
REPORT_ARG = "gcnotify_report_id"
DATE_ARG = "gcnotify_business_date"
ALERT_ARG = "gcnotify_alert"
SOURCE = "webhook"  # the receipt's source on a record's history
_PROVIDER = "sendgrid"
# Within one message, events of one second apply in the order SendGrid produces them.
_ORDER = {"processed": 0, "deferred": 1, "bounce": 2, "dropped": 2, "delivered": 3, "open": 4}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class WebhookCounts:
    """What one POST held and what became of it; the handler answers it as JSON."""

    received: int = 0  # entries in the POST, malformed ones included
    recorded: int = 0  # events applied to a message record or a report send
    duplicates: int = 0  # events already applied (SendGrid's retries, repeats)
    ignored: int = 0  # events that change no delivery (unknown types, click, resubscribe, alerts)
    malformed: int = 0  # entries that are not events (no object, no sg_event_id, no event)
    unmatched: int = 0  # events for nothing gcnotify sent
    suppressed: int = 0  # addresses added to the suppression table
    alerted: int = 0  # owner alerts about suppressed report recipients that went out now
    retried: int = 0  # temporary failures queued for another attempt
    failed: int = 0  # events not applied (a table failed): the POST is answered 5xx
    # Of the events recorded on notification records, those that moved one to a class (the
    # poller's metrics have the same names, so the failure-rate alarm counts email too).
    delivered: int = 0
    read: int = 0
    failures: int = 0  # failed_permanent or failed_temporary

    def add(self, other: WebhookCounts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def to_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class RecipientSuppressed:
    """A report recipient now suppressed, for the owner's alert (the address in full: the owner
    has to find it in ``reports[].recipients``)."""

    report_id: str
    business_date: date | None
    address: str
    reason: str  # the suppression reason: hard-bounce, dropped, spam-report, unsubscribe
    code: str  # SendGrid's event code, e.g. bounce:bounce
    text: str  # SendGrid's reason or response text
    at: datetime | None


# True when an alert went out now, False when it had gone out before; never raises.
Alerter = Callable[[RecipientSuppressed], bool]


class SentMessageIds:
    """``X-Message-Id`` → message key, for events that lost their custom args.

    Read from the messages table's ``awaiting`` index (SendGrid sends without a final receipt
    yet), at most ``limit`` records and at most once per ``refresh`` per container: foreign mail
    on a shared SendGrid account (which has no custom args either) then costs a handful of
    queries a minute, not a query per event. A message no longer awaiting is not found this way.
    """

    def __init__(
        self,
        store: MessageStore,
        *,
        clock: Callable[[], float] = time.monotonic,
        refresh: timedelta = timedelta(seconds=60),
        limit: int = 1000,
    ) -> None:
        self._store = store
        self._clock = clock
        self._refresh = refresh.total_seconds()
        self._limit = limit
        self._keys: dict[str, str] = {}
        self._read_at: float | None = None
        self._lock = threading.Lock()

    def key_of(self, x_message_id: str) -> str | None:
        with self._lock:
            found = self._keys.get(x_message_id)
            stale = self._read_at is None or self._clock() - self._read_at >= self._refresh
            if found is None and stale:
                self._keys = self._read()
                self._read_at = self._clock()
                found = self._keys.get(x_message_id)
            return found

    def _read(self) -> dict[str, str]:
        keys: dict[str, str] = {}
        start = None
        seen = 0
        while seen < self._limit:
            page = self._store.awaiting(_PROVIDER, limit=min(100, self._limit - seen), start=start)
            for record in page.records:
                message_id = record.fields.get("message_id")
                if isinstance(message_id, str) and message_id:
                    keys[message_id] = record.key
            seen += len(page.records)
            start = page.next_start
            if start is None or not page.records:
                break
        return keys


@dataclass
class WebhookTargets:
    """Where events land; built once per container by the handler.

    ``store`` None: a deployment without notifications (report mail only). ``alert`` None:
    ``alerts.to`` is not set, so a suppressed report recipient is only logged.
    """

    events: EventIds
    suppression: SuppressionTable
    settings: ReceiptSettings
    ledger: Ledger | None = None
    store: MessageStore | None = None
    outbox: Outbox | None = None
    alert: Alerter | None = None
    message_ids: SentMessageIds | None = None
    workers: int = 8  # messages applied in parallel (each message's events in order)


# A group of events with one target: ("message", key), ("report", id, date), ("unmatched",).
_Target = tuple[str, ...]


def _target(event: SendGridEvent, targets: WebhookTargets) -> _Target:
    key = event.text(KEY_ARG)
    if key is not None:
        return ("message", key)
    report_id, day = event.text(REPORT_ARG), event.text(DATE_ARG)
    if report_id is not None and day is not None:
        return ("report", report_id, day)
    if event.x_message_id is not None and targets.message_ids is not None:
        found = targets.message_ids.key_of(event.x_message_id)
        if found is not None:
            return ("message", found)
    return ("unmatched",)


def _order(item: tuple[SendGridEvent, Receipt]) -> tuple[datetime, int]:
    event, _ = item
    return (event.at or _EPOCH, _ORDER.get(event.event, 5))


def receive(batch: EventBatch, targets: WebhookTargets, *, now: datetime) -> WebhookCounts:
    """Apply one verified POST's events; ``failed`` > 0 means the POST must be answered 5xx."""
    counts = WebhookCounts(received=len(batch.events) + batch.malformed, malformed=batch.malformed)
    groups: dict[_Target, list[tuple[SendGridEvent, Receipt]]] = {}
    seen: set[str] = set()
    for event in batch.events:
        if event.event_id in seen:  # the same event twice in one POST
            counts.duplicates += 1
            continue
        seen.add(event.event_id)
        receipt = classify_sendgrid(event.data)
        if receipt is None or event.text(ALERT_ARG) is not None:
            # No delivery meaning (click, resubscribe, a type we do not know), or one of our
            # own failure alerts: nothing to record, and no claim to write.
            counts.ignored += 1
            continue
        target = _target(event, targets)
        if target[0] == "unmatched" or (target[0] == "message" and targets.store is None):
            counts.unmatched += 1
            continue
        groups.setdefault(target, []).append((event, receipt))
    jobs = [(target, sorted(items, key=_order)) for target, items in groups.items()]
    if len(jobs) <= 1 or targets.workers <= 1:
        results = [_apply_group(target, items, targets, now) for target, items in jobs]
    else:
        with ThreadPoolExecutor(max_workers=min(targets.workers, len(jobs))) as pool:
            results = list(pool.map(lambda job: _apply_group(job[0], job[1], targets, now), jobs))
    for result in results:
        counts.add(result)
    return counts


def _apply_group(
    target: _Target,
    items: list[tuple[SendGridEvent, Receipt]],
    targets: WebhookTargets,
    now: datetime,
) -> WebhookCounts:
    counts = WebhookCounts()
    try:
        if target[0] == "message":
            _apply_message(target[1], items, targets, now, counts)
        else:
            _apply_report(target, items, targets, now, counts)
    except GcnotifyError as exc:
        # A lookup failed before any claim: SendGrid's retry of the POST tries the group again.
        logger.error(
            "webhook events not applied", extra={"kind": target[0], "error": str(exc)[:500]}
        )
        done = counts.recorded + counts.duplicates + counts.unmatched + counts.failed
        counts.failed += len(items) - done
    return counts


def _claimed(
    event: SendGridEvent, targets: WebhookTargets, now: datetime, counts: WebhookCounts
) -> bool:
    if targets.events.claim(event.event_id, now=now):
        return True
    counts.duplicates += 1
    return False


def _release(event: SendGridEvent, targets: WebhookTargets, exc: GcnotifyError) -> None:
    logger.error("webhook event not applied; SendGrid will retry it", extra={"error": str(exc)})
    try:
        targets.events.release(event.event_id)
    except GcnotifyError as again:
        # The claim stays: SendGrid's retry will count this event as a duplicate.
        logger.error(
            "webhook event lost: its claim could not be released", extra={"error": str(again)}
        )


def _apply_message(
    key: str,
    items: Iterable[tuple[SendGridEvent, Receipt]],
    targets: WebhookTargets,
    now: datetime,
    counts: WebhookCounts,
) -> None:
    store = targets.store
    if store is None:  # grouped as unmatched before; kept for the type checker
        return
    for event, receipt in items:
        record = store.get(key)
        if record is None or record.channel != "email":
            counts.unmatched += 1
            continue
        if not _claimed(event, targets, now, counts):
            continue
        from gcnotify.receipts.apply import apply_receipt

        try:
            applied = apply_receipt(
                record,
                receipt,
                store=store,
                suppression=targets.suppression,
                settings=targets.settings,
                now=now,
                source=SOURCE,
                outbox=targets.outbox,
                # An event of an earlier attempt's message is stale for this attempt's record.
                message_id=event.x_message_id,
            )
        except GcnotifyError as exc:
            _release(event, targets, exc)
            counts.failed += 1
            continue
        counts.recorded += 1
        if applied.suppressed is not None:
            counts.suppressed += 1
        if applied.outcome == "retry":
            counts.retried += 1
        if applied.outcome in ("moved", "retry"):
            if receipt.cls == "delivered":
                counts.delivered += 1
            elif receipt.cls == "read":
                counts.read += 1
            elif receipt.cls in ("failed_permanent", "failed_temporary"):
                counts.failures += 1


def _business_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _apply_report(
    target: _Target,
    items: Iterable[tuple[SendGridEvent, Receipt]],
    targets: WebhookTargets,
    now: datetime,
    counts: WebhookCounts,
) -> None:
    _, report_id, day_text = target
    day = _business_date(day_text)
    # The report's send record (the runner's key, <report id>#<business date>).
    sent = (
        day is not None
        and targets.ledger is not None
        and targets.ledger.lookup(f"{report_id}#{day.isoformat()}") is not None
    )
    for event, receipt in items:
        if not sent:
            counts.unmatched += 1
            continue
        if not _claimed(event, targets, now, counts):
            continue
        counts.recorded += 1
        if receipt.suppress is None or event.email is None:
            continue
        try:
            added = _suppress_recipient(report_id, event, receipt, targets, now)
        except GcnotifyError as exc:
            counts.recorded -= 1
            _release(event, targets, exc)
            counts.failed += 1
            continue
        if added is None:
            continue
        counts.suppressed += 1
        if _alert(added, targets):
            counts.alerted += 1


def _suppress_recipient(
    report_id: str,
    event: SendGridEvent,
    receipt: Receipt,
    targets: WebhookTargets,
    now: datetime,
) -> RecipientSuppressed | None:
    from gcnotify.aws.suppression import normalise_address

    address = event.email or ""
    try:
        normalise_address("email", address)
    except SuppressionError:
        return None  # an address SendGrid itself calls invalid: nothing to look up later
    reason = receipt.suppress or ""
    targets.suppression.add("email", address, reason, f"report:{report_id}", now)
    return RecipientSuppressed(
        report_id=report_id,
        business_date=_business_date(event.text(DATE_ARG) or ""),
        address=address,
        reason=reason,
        code=receipt.code,
        text=receipt.text,
        at=receipt.at,
    )


def _alert(suppressed: RecipientSuppressed, targets: WebhookTargets) -> bool:
    from gcnotify.campaigns import mask

    if targets.alert is None:
        logger.warning(
            "report recipient suppressed; set alerts.to in gcnotify.yaml to be mailed about it",
            extra={
                "report": suppressed.report_id,
                "address": mask(suppressed.address),
                "reason": suppressed.reason,
            },
        )
        return False
    return targets.alert(suppressed)
