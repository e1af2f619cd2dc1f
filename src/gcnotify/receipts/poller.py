"""The Genesys receipts poll: one run reads the messages still waiting for a final receipt and
moves each on what Genesys says of it.

One run (one scheduled invocation, one cycle), in order:

1. the messages table's ``awaiting`` index for provider ``genesys``, oldest first, a page at a
   time, a few calls in flight at once;
2. the analytics screen (``analytics_screen``, on by default): the messages that are alone in
   their conversation are screened 100 conversations a call by the sessions' ``deliveryStatus``.
   A delivery or read is applied from it; a failure, a status the table does not know, a
   conversation analytics does not show yet, or one the send did not open (it may show another
   message's status) is read by its details; a message still on its way waits for the next run,
   unless ``final_after`` has passed (then its details get one last read). Refused for want of
   permission, the screen is off for the rest of the run and every message is read by details;
3. the rest (and the screen's follow-ups) read by ``genesys.receipts`` (``plan_calls``: in bulk
   where one conversation holds several, by its details otherwise); each answer classified
   (``classify_genesys``) and applied (``apply_receipt``, the only place that moves a record on
   a receipt: suppression, retries re-queued on the outbox, stale and older receipts left
   alone); an entity nobody asked for is ignored and counted;
4. a lost-response send (``unknown`` without a message id: the sender never learnt it) is looked
   for by its recipient around the send (``ReceiptReader.find_sent``); one match is adopted,
   several are left for a person (counted ``ambiguous``);
5. a message still without a final receipt ``final_after`` after its send becomes ``unknown``
   (``no_final_receipt``; a delivered one stays delivered and stops waiting). SendGrid messages
   get this sweep too, without any call: their receipts come by the webhook;
6. one audit record (``receipts-audit#<run start>``) in the ledger table, and the result.

Bounds: at most ``max_calls_per_run`` Genesys calls (each request takes a slot before it goes
out, a retry too; the first token request as well), ``breaker_failures`` consecutive failed calls
(a call's retries, with ``Retry-After``, are the client's, ``runtime.http``) stop the run and the
next run starts fresh; after a failed call the next waits ``RetryPolicy.backoff`` (the failed
call's ``Retry-After`` as its floor, full jitter otherwise); the run stops calling
``DEADLINE_RESERVE`` seconds before the invocation's deadline. A message not read this run (a
stop, a failed call) stays in the index for the next, oldest first.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from gcnotify.core.errors import GenesysAuthError, GenesysError, GenesysPermissionError
from gcnotify.core.retry import RetryPolicy
from gcnotify.core.values import instant, text_or_none
from gcnotify.genesys.receipts import (
    CallResult,
    MessageRef,
    ReceiptCall,
    Screened,
    plan_calls,
    screen_calls,
)
from gcnotify.receipts.apply import Applied, apply_receipt
from gcnotify.receipts.classify import (
    CLASSES,
    DeliveryClass,
    Provider,
    Receipt,
    classify_genesys,
    classify_genesys_analytics,
    no_final_receipt,
)
from gcnotify.runtime.redact import REDACTOR

if TYPE_CHECKING:
    from gcnotify.aws.audit import AuditLog
    from gcnotify.aws.messages import MessageRecord, MessageStore
    from gcnotify.aws.queue import Outbox
    from gcnotify.aws.suppression import SuppressionTable
    from gcnotify.genesys.receipts import ReceiptReader
    from gcnotify.receipts.settings import ReceiptSettings

__all__ = [
    "AUDIT_PREFIX",
    "DEADLINE_RESERVE",
    "PAGE_SIZE",
    "SOURCE",
    "WORKERS",
    "PollResult",
    "audit_key",
    "poll",
]

AUDIT_PREFIX = "receipts-audit#"
SOURCE = "poll"  # what apply records as the receipt's source
PAGE_SIZE = 500  # records per index page: one conversation's messages usually share a page
WORKERS = 4  # calls in flight at once, well inside Genesys's per-client rate limits
DEADLINE_RESERVE = 15.0  # seconds kept back to apply answers, sweep, audit and log
# Genesys agentless email has no per-message receipt read: it only ages out (final_after).
_NOT_POLLED = frozenset({"email"})
# A lost send is looked for from shortly before it was recorded unknown to just after.
_LOST_BEFORE = timedelta(minutes=5)
_LOST_AFTER = timedelta(minutes=1)
_LOST_CALLS = 3  # the fewest calls one search takes: the query, a conversation, a message
_DELIVERED: frozenset[DeliveryClass] = frozenset({"delivered", "read"})
# Channels whose recipients send read receipts: a delivery there is not the last receipt, so a
# screened delivery keeps the message waiting for its read (or final_after).
_READ_MAY_FOLLOW = frozenset({"whatsapp", "webmessaging", "open"})
# A conversation the send opened started at the send: one that started this long before the
# message was recorded sent holds other messages, and analytics may show one of theirs.
_OPENED_BY_SEND = timedelta(minutes=5)
SCREEN_COUNTS = ("screened", "applied", "waiting", "details", "not_shown", "not_opened", "refused")


def audit_key(started_at: datetime) -> str:
    """The ledger key of a run's audit record."""
    return AUDIT_PREFIX + started_at.astimezone(UTC).isoformat()


@dataclass
class PollResult:
    """What one run did; ``to_dict`` is the handler's answer and log line."""

    started_at: datetime
    asked: int = 0  # messages whose receipts were asked for (failed calls included)
    answered: Counter[str] = field(default_factory=Counter)  # receipts per class
    outcomes: Counter[str] = field(default_factory=Counter)  # apply's outcome per receipt
    calls: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds per call
    failed_calls: int = 0
    breaker_tripped: bool = False
    budget_left: int = 0
    unknown_after_final_after: int = 0
    final_after_kept: int = 0  # delivered or read, no final receipt: stopped waiting
    not_found: int = 0  # asked, Genesys does not hold it
    ignored: int = 0  # receipts of messages we never sent (not asked for)
    unknown_codes: int = 0  # receipts the table does not know (class unknown)
    retried: int = 0
    suppressed: int = 0
    not_polled: int = 0  # Genesys email: no receipts to read
    lost: Counter[str] = field(default_factory=Counter)  # searched, found, ambiguous, none, refused
    screen: Counter[str] = field(default_factory=Counter)  # SCREEN_COUNTS, per message
    sendgrid_swept: int = 0
    delivery_ms: list[int] = field(default_factory=list)  # send to delivered, per message
    stopped: str | None = None  # budget, breaker, deadline, error
    error: str | None = None
    finished_at: datetime | None = None

    def latency_ms(self) -> tuple[int, int]:
        """The median and the longest call, in milliseconds (nearest rank)."""
        if not self.latencies:
            return 0, 0
        ordered = sorted(self.latencies)
        median = ordered[(len(ordered) - 1) // 2]
        return round(median * 1000), round(ordered[-1] * 1000)

    def to_dict(self) -> dict[str, Any]:
        p50, longest = self.latency_ms()
        return {
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "asked": self.asked,
            "answered": {cls: self.answered.get(cls, 0) for cls in CLASSES},
            "outcomes": dict(sorted(self.outcomes.items())),
            "calls": self.calls,
            "failed_calls": self.failed_calls,
            "latency_ms": {"p50": p50, "max": longest},
            "breaker": {"tripped": self.breaker_tripped},
            "budget_left": self.budget_left,
            "unknown_after_final_after": self.unknown_after_final_after,
            "final_after_kept": self.final_after_kept,
            "not_found": self.not_found,
            "ignored": self.ignored,
            "unknown_codes": self.unknown_codes,
            "retried": self.retried,
            "suppressed": self.suppressed,
            "not_polled": self.not_polled,
            "lost": {
                k: self.lost.get(k, 0)
                for k in ("searched", "found", "ambiguous", "none", "refused")
            },
            "screen": {k: self.screen.get(k, 0) for k in SCREEN_COUNTS},
            "sendgrid_swept": self.sendgrid_swept,
            "stopped": self.stopped,
            "error": self.error,
        }

    def audit_attributes(self) -> dict[str, str | int | bool]:
        """The audit record's attributes: the result, flat."""
        p50, longest = self.latency_ms()
        attributes: dict[str, str | int | bool] = {
            "kind": "receipts-audit",
            "started_at": self.started_at.isoformat(),
            "asked": self.asked,
            "calls": self.calls,
            "failed_calls": self.failed_calls,
            "latency_ms_p50": p50,
            "latency_ms_max": longest,
            "breaker_tripped": self.breaker_tripped,
            "budget_left": self.budget_left,
            "unknown_after_final_after": self.unknown_after_final_after,
            "not_found": self.not_found,
            "ignored": self.ignored,
            "unknown_codes": self.unknown_codes,
            "retried": self.retried,
            "lost_found": self.lost.get("found", 0),
            "screened": self.screen.get("screened", 0),
            "screen_applied": self.screen.get("applied", 0),
            "sendgrid_swept": self.sendgrid_swept,
        }
        attributes |= {f"answered_{cls}": self.answered.get(cls, 0) for cls in CLASSES}
        if self.finished_at is not None:
            attributes["finished_at"] = self.finished_at.isoformat()
        if self.stopped is not None:
            attributes["stopped"] = self.stopped
        if self.error is not None:
            attributes["error"] = REDACTOR.mask(self.error)[:1000]
        return attributes


class _Budget:
    """The run's Genesys calls: a slot is taken before each request goes out (thread-safe)."""

    def __init__(self, limit: int, calls: Callable[[], int]) -> None:
        self.limit = limit
        self._calls = calls
        self._base = calls()
        self._taken = 0
        self._lock = threading.Lock()

    def take(self, n: int = 1) -> bool:
        with self._lock:
            if self._taken + n > self.limit:
                return False
            self._taken += n
            return True

    def sync(self) -> None:
        """Count the calls made beyond the slots taken (a search's, a token refresh's)."""
        with self._lock:
            self._taken = max(self._taken, self._calls() - self._base)

    @property
    def used(self) -> int:
        with self._lock:
            return max(self._taken, self._calls() - self._base)

    @property
    def left(self) -> int:
        return self.limit - self.used


def poll(
    *,
    store: MessageStore,
    reader: ReceiptReader,
    settings: ReceiptSettings,
    suppression: SuppressionTable | None,
    outbox: Outbox | None,
    audit: AuditLog | None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    time_left: Callable[[], float | None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rand: Callable[[], float] = random.random,
    policy: RetryPolicy | None = None,
    workers: int = WORKERS,
    page_size: int = PAGE_SIZE,
) -> PollResult:
    """One poll run; never raises for Genesys (a failure is counted, a fatal one ends the run
    with ``error``), raises the AWS seams' errors (the handler fails the invocation)."""
    run = _Run(
        store=store,
        reader=reader,
        settings=settings,
        suppression=suppression,
        outbox=outbox,
        now=now,
        time_left=time_left,
        sleep=sleep,
        clock=clock,
        rand=rand,
        policy=policy or RetryPolicy(),
        workers=max(1, workers),
        page_size=page_size,
    )
    result = run.run()
    if audit is not None:
        audit.write(audit_key(result.started_at), result.audit_attributes(), now=now())
    return result


class _Run:
    """The state of one run: its budget, breaker, backoff and counts."""

    def __init__(
        self,
        *,
        store: MessageStore,
        reader: ReceiptReader,
        settings: ReceiptSettings,
        suppression: SuppressionTable | None,
        outbox: Outbox | None,
        now: Callable[[], datetime],
        time_left: Callable[[], float | None] | None,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        rand: Callable[[], float],
        policy: RetryPolicy,
        workers: int,
        page_size: int,
    ) -> None:
        self.store = store
        self.reader = reader
        self.client = reader.client
        self.settings = settings
        self.suppression = suppression
        self.outbox = outbox
        self.now = now
        self._time_left = time_left
        self.sleep = sleep
        self.clock = clock
        self.rand = rand
        self.policy = policy
        self.workers = workers
        self.page_size = page_size
        self.result = PollResult(started_at=now())
        self.cutoff = self.result.started_at - settings.final_after
        self.budget = _Budget(settings.max_calls_per_run, lambda: self.client.calls)
        self.consecutive_failures = 0
        self.resume_at = 0.0  # clock time before which no new call starts (backoff)
        self._token_ready = False
        # Set when the lost-send search was refused (no analytics permission): receipts are
        # still read, lost sends are left to final_after for the rest of the run.
        self.lost_refused: str | None = None
        # Set when the analytics screen was refused: every message is read by its details.
        self.screen_refused: str | None = None
        self._follow_up: list[MessageRef] = []  # screened messages their details must decide

    # ------------------------------------------------------------------ the run

    def run(self) -> PollResult:
        saved, saved_split = self.client.time_left, self.reader.may_split
        self.client.time_left = self._retry_allowance
        self.reader.may_split = self.budget.take  # each half a refused screen adds is a call
        try:
            self._genesys()
        finally:
            self.client.time_left, self.reader.may_split = saved, saved_split
        self._sweep("sendgrid")
        result = self.result
        result.calls = self.budget.used
        result.budget_left = max(0, self.budget.left)
        result.finished_at = self.now()
        return result

    def _left(self) -> float | None:
        return self._time_left() if self._time_left is not None else None

    def _retry_allowance(self) -> float | None:
        """The client's ``time_left`` during the run: a retry needs a slot of the budget too."""
        left = self._left()
        if left is not None and left <= DEADLINE_RESERVE:
            return left - DEADLINE_RESERVE
        if not self.budget.take():
            return -1.0  # no retry starts: the run's calls are spent
        return None if left is None else left - DEADLINE_RESERVE

    def _stop(self, why: str, error: str | None = None) -> None:
        if self.result.stopped is None:
            self.result.stopped = why
        if error is not None and self.result.error is None:
            self.result.error = error

    def _near_deadline(self) -> bool:
        left = self._left()
        if left is not None and left <= DEADLINE_RESERVE:
            self._stop("deadline")
            return True
        return False

    def _genesys(self) -> None:
        start: dict[str, Any] | None = None
        while self.result.stopped is None and not self._near_deadline():
            page = self.store.awaiting("genesys", limit=self.page_size, start=start)
            self._page(page.records)
            start = page.next_start
            if start is None:
                return

    def _page(self, records: Sequence[MessageRecord]) -> None:
        by_id: dict[str, MessageRecord] = {}
        lost: list[MessageRecord] = []
        screening = self.settings.analytics_screen and self.screen_refused is None
        for record in records:
            message_id = text_or_none(record.fields.get("message_id"))
            if record.channel in _NOT_POLLED and not (
                screening and message_id and record.fields.get("conversation_id")
            ):
                self._not_polled(record)
            elif message_id is None:
                lost.append(record)
            else:
                by_id.setdefault(message_id, record)
        refs = [
            MessageRef(m, text_or_none(r.fields.get("conversation_id"))) for m, r in by_id.items()
        ]
        if screening:
            held = Counter(ref.conversation_id for ref in refs)
            alone, refs = _split(
                refs, lambda r: bool(r.conversation_id) and held[r.conversation_id] == 1
            )
            self._read(screen_calls(alone), by_id)
            refs += self._follow_up
            self._follow_up = []
        # A Genesys email has no details to read: what the screen did not answer only ages.
        unread, refs = _split(refs, lambda r: by_id[r.message_id].channel in _NOT_POLLED)
        for ref in unread:
            self._not_polled(by_id[ref.message_id])
        self._read(plan_calls(refs), by_id)
        for record in lost:
            if self.result.stopped is not None or self._near_deadline():
                return
            self._find_lost(record, known=by_id)

    # ------------------------------------------------------------------ calls

    def _may_start(self) -> bool:
        """Whether one more call may go out now: not stopped, not near the deadline, a slot
        left (taken here); a backoff after a failure is slept first."""
        if self.result.stopped is not None or self._near_deadline():
            return False
        wait_for = self.resume_at - self.clock()
        if wait_for > 0:
            left = self._left()
            if left is not None and wait_for > left - DEADLINE_RESERVE:
                self._stop("deadline")
                return False
            self.sleep(wait_for)
        if not self._token_ready and not self._ready_token():
            return False
        if not self.budget.take():
            self._stop("budget")
            return False
        return True

    def _ready_token(self) -> bool:
        """The OAuth token before the first call, alone (so its request, if one is needed,
        is counted exactly); a warm container's cached token costs nothing."""
        if self.budget.left < 2:  # the token and one call
            self._stop("budget")
            return False
        try:
            self.client.token()
        except GenesysError as exc:
            self._failed(exc)
            return False
        finally:
            self.budget.sync()
        self._token_ready = True
        return True

    def _read(self, calls: Iterable[ReceiptCall], by_id: Mapping[str, MessageRecord]) -> None:
        pending = deque(calls)
        if not pending:
            return
        with ThreadPoolExecutor(
            max_workers=self.workers, thread_name_prefix="gcnotify-receipts"
        ) as pool:
            running: set[Future[CallResult]] = set()
            while pending or running:
                while pending and len(running) < self.workers and self._may_start():
                    call = pending.popleft()
                    self.result.asked += len(call.message_ids)
                    running.add(pool.submit(self.reader.read, call))
                if not running:
                    return
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    self._answer(future.result(), by_id)

    def _failed(self, error: GenesysError) -> None:
        """A call that failed after the client's retries: the breaker and the backoff."""
        self.result.failed_calls += 1
        if isinstance(error, GenesysAuthError | GenesysPermissionError):
            self._stop("error", str(error))  # every further call would fail the same way
            return
        self.consecutive_failures += 1
        if self.consecutive_failures >= self.settings.breaker_failures:
            self.result.breaker_tripped = True
            self._stop("breaker", str(error))
            return
        delay = self.policy.backoff(self.consecutive_failures, error.retry_after, self.rand)
        self.resume_at = max(self.resume_at, self.clock() + delay)

    def _answer(self, answer: CallResult, by_id: Mapping[str, MessageRecord]) -> None:
        self.result.latencies.append(answer.seconds)
        if answer.call.kind == "screen":
            self._screened(answer, by_id)
            return
        if answer.error is not None:
            self._failed(answer.error)
            return
        self.consecutive_failures = 0
        self.result.ignored += len(answer.unasked)
        for message_id in answer.missing:
            self.result.not_found += 1
            record = by_id[message_id]
            if self._past(record):
                self._final_after(record, "genesys")
        for message_id, data in answer.messages.items():
            self._receipt(by_id[message_id], classify_genesys(data), message_id)

    # ------------------------------------------------------------------ the screen

    def _screened(self, answer: CallResult, by_id: Mapping[str, MessageRecord]) -> None:
        call, counts = answer.call, self.result.screen
        if answer.error is not None:
            if isinstance(answer.error, GenesysPermissionError):
                # Only the screen needs analytics:conversationDetail:view: its messages are read
                # by their details, and so is every message for the rest of the run.
                self.result.failed_calls += 1
                self.screen_refused = str(answer.error)
                self.result.error = self.result.error or str(answer.error)
                counts["refused"] += len(call.message_ids)
                self.result.asked -= len(call.message_ids)  # asked again by details
                self._follow(call.message_ids, call.conversation_ids)
                return
            self._failed(answer.error)
            return
        self.consecutive_failures = 0
        counts["screened"] += len(call.message_ids)
        conversations = dict(zip(call.message_ids, call.conversation_ids, strict=True))
        for message_id in answer.missing:
            counts["not_shown"] += 1
            self.result.asked -= 1  # asked again by details
            self._follow((message_id,), (conversations[message_id],))
        for message_id, shown in answer.screened.items():
            verdict = self._screen_one(by_id[message_id], message_id, shown)
            counts[verdict] += 1
            if verdict in ("details", "not_opened"):
                self.result.asked -= 1  # asked again by details
                self._follow((message_id,), (shown.conversation_id,))

    def _follow(self, message_ids: Sequence[str], conversation_ids: Sequence[str]) -> None:
        """To the details reads after the screen (a Genesys email has none: ``_page`` ages it
        out at ``final_after`` instead)."""
        for message_id, conversation_id in zip(message_ids, conversation_ids, strict=True):
            self._follow_up.append(MessageRef(message_id, conversation_id))

    def _not_polled(self, record: MessageRecord) -> None:
        """A Genesys email the screen did not answer: no receipt read exists, only the age."""
        self.result.not_polled += 1
        if self._past(record):
            self._final_after(record, "genesys")

    def _screen_one(self, record: MessageRecord, message_id: str, shown: Screened) -> str:
        """What the screen does with one message: applied, waiting, or to details."""
        since = instant(record.fields.get("awaiting_since"))
        if shown.started is None or since is None or shown.started < since - _OPENED_BY_SEND:
            return "not_opened"
        readable = record.channel not in _NOT_POLLED  # a Genesys email has no details to read
        receipt = classify_genesys_analytics(shown.status, shown.changed, details=readable)
        if receipt is None:
            return "details"  # a failure (its code is in the details) or a status not known
        if receipt.final and receipt.cls == "delivered" and record.channel in _READ_MAY_FOLLOW:
            receipt = replace(receipt, final=False)
        if not receipt.final:
            if self._past(record) and readable:
                return "details"  # one last read before final_after makes it unknown
            if (
                not self._past(record)
                and receipt.known
                and (record.status == receipt.cls or receipt.cls not in _DELIVERED)
            ):
                self.result.answered[receipt.cls] += 1  # answered, nothing to write
                return "waiting"
        self._receipt(record, receipt, message_id)
        return "applied"

    # ------------------------------------------------------------------ applying

    def _apply(
        self, record: MessageRecord, receipt: Receipt, message_id: str | None = None
    ) -> Applied:
        return apply_receipt(
            record,
            receipt,
            store=self.store,
            suppression=self.suppression,
            settings=self.settings,
            now=self.now(),
            source=SOURCE,
            outbox=self.outbox,
            message_id=message_id,
        )

    def _receipt(self, record: MessageRecord, receipt: Receipt, message_id: str) -> None:
        applied = self._apply(record, receipt, message_id)
        result = self.result
        result.answered[receipt.cls] += 1
        result.outcomes[applied.outcome] += 1
        if not receipt.known:
            result.unknown_codes += 1
        if applied.outcome == "retry":
            result.retried += 1
        if applied.suppressed is not None:
            result.suppressed += 1
        if (
            receipt.cls in _DELIVERED
            and applied.outcome == "moved"
            and record.status not in _DELIVERED
        ):
            sent = instant(record.fields.get("awaiting_since"))
            if sent is not None and receipt.at is not None and receipt.at >= sent:
                result.delivery_ms.append(round((receipt.at - sent).total_seconds() * 1000))
        if self._past(record) and (not receipt.final or applied.outcome == "stale"):
            current = self.store.get(record.key)
            if current is not None:
                self._final_after(current, "genesys")

    def _past(self, record: MessageRecord) -> bool:
        since = instant(record.fields.get("awaiting_since"))
        return since is not None and since < self.cutoff

    def _final_after(self, record: MessageRecord, provider: Provider) -> None:
        """No final receipt ``final_after`` after the send: unknown (a delivery stays)."""
        if "awaiting" not in record.fields:
            return
        receipt = no_final_receipt(provider, self.settings.final_after, self.now())
        applied = self._apply(record, receipt)
        if applied.status == "unknown":
            self.result.unknown_after_final_after += 1
        else:
            self.result.final_after_kept += 1

    def _sweep(self, provider: Provider) -> None:
        """Messages of a provider whose receipts are pushed (SendGrid): only the age limit."""
        start: dict[str, Any] | None = None
        while True:
            left = self._left()
            if left is not None and left <= DEADLINE_RESERVE / 3:
                self._stop("deadline")
                return
            page = self.store.awaiting(
                provider, sent_before=self.cutoff, limit=self.page_size, start=start
            )
            for record in page.records:
                self._final_after(record, provider)
                if provider == "sendgrid":
                    self.result.sendgrid_swept += 1
            start = page.next_start
            if start is None:
                return

    # ------------------------------------------------------------------ lost responses

    def _find_lost(self, record: MessageRecord, *, known: Mapping[str, MessageRecord]) -> None:
        """A send whose answer was lost: found by its recipient, adopted when it is the one."""
        request = record.request() or {}
        since = instant(record.fields.get("awaiting_since"))
        to, contact = _recipient(record.channel, request)
        if since is None or (to is None and contact is None):
            self.result.lost["none"] += 1
            self._final_after_if_past(record)
            return
        if self.lost_refused is not None:
            self.result.lost["refused"] += 1
            self._final_after_if_past(record)
            return
        if self.budget.left < _LOST_CALLS:
            self._stop("budget")
            return
        if not self._may_start():
            return
        self.result.lost["searched"] += 1
        try:
            found = self.reader.find_sent(
                channel=record.channel,
                to_address=to,
                external_contact_id=contact,
                start=since - _LOST_BEFORE,
                end=since + _LOST_AFTER,
                known=known,
            )
        except GenesysPermissionError as exc:
            # Only the search needs analytics:conversationDetail:view: the receipts themselves
            # are still read, this send waits for final_after, and the error is in the result.
            self.budget.sync()
            self.result.failed_calls += 1
            self.result.lost["refused"] += 1
            self.lost_refused = str(exc)
            self.result.error = self.result.error or str(exc)
            self._final_after_if_past(record)
            return
        except GenesysError as exc:
            self.budget.sync()
            self._failed(exc)
            return
        self.budget.sync()
        self.consecutive_failures = 0
        if len(found) > 1:
            self.result.lost["ambiguous"] += 1
            self._final_after_if_past(record)
            return
        if not found:
            self.result.lost["none"] += 1
            self._final_after_if_past(record)
            return
        match = found[0]
        written = self.store.update_fields(
            record.key,
            record.version,
            self.now(),
            "found in Genesys after the send's answer was lost",
            message_id=match.message_id,
            conversation_id=match.conversation_id,
        )
        current = written.record if written.moved else self.store.get(record.key)
        if current is None or text_or_none(current.fields.get("message_id")) != match.message_id:
            return  # written meanwhile by someone else: the next run reads it as it is
        self.result.lost["found"] += 1
        self._receipt(current, classify_genesys(match.message), match.message_id)

    def _final_after_if_past(self, record: MessageRecord) -> None:
        if self._past(record):
            self._final_after(record, "genesys")


def _split(
    refs: Iterable[MessageRef], keep: Callable[[MessageRef], bool]
) -> tuple[list[MessageRef], list[MessageRef]]:
    """``refs`` as (those ``keep`` holds for, the rest), each in order."""
    kept: list[MessageRef] = []
    rest: list[MessageRef] = []
    for ref in refs:
        (kept if keep(ref) else rest).append(ref)
    return kept, rest


def _recipient(channel: str, request: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The address Genesys shows for the recipient (WhatsApp: the number's digits), or the
    external contact of a web messaging send."""
    to = text_or_none(request.get("to"))
    contact = text_or_none(request.get("external_contact_id"))
    if channel == "webmessaging":
        return None, contact
    if channel == "whatsapp" and to is not None:
        return to.removeprefix("+"), None
    return to, None
