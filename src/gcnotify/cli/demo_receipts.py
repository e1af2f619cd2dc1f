"""``gcnotify demo receipts``: delivery receipts end to end on this machine.

The notification demo's stack (the Genesys and SendGrid stand-ins and moto on 127.0.0.1, the
messages, suppression and ledger tables, the outbox) with a ``receipts:`` block and the webhook's
public key in its config. A handful of notifications go through the real pipeline (intake →
outbox → sender, by a local event source mapping); the Genesys stand-in's receipt timelines are
planned per recipient (delivered, read, opted out, rate limited then delivered on attempt 2,
never final) and its clock is advanced instead of waited for; the receipts poller runs as the
scheduled function runs it, the SendGrid stand-in's signed event batches (repeated and out of
order) are POSTed to the webhook function behind a local function URL, and the day's records are
counted by the delivery summary. Nothing leaves the machine.

The demo's one shortcut besides the clock: a receipt's retry is queued with a 1 s delay instead
of 60 s (SQS's delay runs on real time, not on the stand-in's clock). It says so when it runs.
"""

from __future__ import annotations

import functools
import os
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from gcnotify.aws.queue import Outbox
from gcnotify.cli.demo_notify import NotifyStack, http_event, notify_stack, zone_at

if TYPE_CHECKING:
    from gcnotify.aws.messages import MessageRecord
    from gcnotify.devserver.messaging_endpoints import Timeline
    from gcnotify.devserver.sendgrid_events import Outcome, WebhookKey
    from gcnotify.devserver.sendgrid_server import StoredMessage
    from gcnotify.handlers.notify_state import NotifyState
    from gcnotify.receipts.poller import PollResult

__all__ = [
    "FINAL_AFTER",
    "POLL_ROUNDS",
    "RETRY_DELAY",
    "SUMMARY_REPORT",
    "Clock",
    "DemoMessage",
    "QuickRetries",
    "demo_messages",
    "receipts_stack",
    "run_receipts_demo",
    "summary_report",
]

FINAL_AFTER = timedelta(hours=1)  # the demo's receipts.final_after
RETRY_DELAY = 1  # seconds a receipt's retry waits in the outbox here (60 s in production)
# How far ahead of the wall clock each poll run sees the world (the stand-in's clock too). The
# last is past final_after, so what never got a final receipt ends unknown.
POLL_ROUNDS = (timedelta(minutes=3), timedelta(minutes=15), FINAL_AFTER + timedelta(minutes=10))
SUMMARY_REPORT = "delivery-today"
WEB_CONTACT = "3f1b6a52-9c1d-4e0f-8a7b-2c3d4e5f6a7b"
_SECOND = timedelta(seconds=1)
_FINAL_STATUSES = frozenset({"delivered", "read", "failed_permanent", "unknown"})


@dataclass(frozen=True)
class DemoMessage:
    """One notification the demo sends and what it expects of it in the end.

    ``timelines``: what the Genesys stand-in does with each attempt (planned for the recipient);
    ``events``: what SendGrid reports of an email (``processed`` alone: nothing final).
    """

    key: str
    label: str
    channel: str
    to: str
    template: str
    variables: Mapping[str, str]
    expect: str  # the record's final status
    attempts: int = 1
    timelines: tuple[Timeline, ...] = ()
    events: Outcome | None = None

    def request(self, zone: str) -> dict[str, Any]:
        """The notification request the intake takes (web messaging names its contact)."""
        recipient = "external_contact_id" if self.channel == "webmessaging" else "to"
        return {
            "template": self.template,
            "key": self.key,
            recipient: self.to,
            "variables": dict(self.variables),
            "timezone": zone,
        }


def _sms(key: str, label: str, to: str, expect: str, *timelines: Timeline) -> DemoMessage:
    variables = {"order_id": "ORD-998877", "tracking_link": "https://track.example.com/998877"}
    attempts = len(timelines)
    return DemoMessage(
        key, label, "sms", to, "order-shipped", variables, expect, attempts, timelines
    )


def _email(key: str, label: str, to: str, expect: str, events: Outcome | None) -> DemoMessage:
    variables = {"name": "Jo", "brand": "Example"}
    return DemoMessage(key, label, "email", to, "chat-followup", variables, expect, events=events)


def _s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


@functools.cache
def demo_messages() -> tuple[DemoMessage, ...]:
    """The demo's messages and the receipt timeline planned for each (built on first use: the
    stand-ins are not part of the Lambda artifact, which ships this module too)."""
    from gcnotify.devserver.messaging_endpoints import Timeline

    return (
        _sms(
            "demo-sms-delivered",
            "SMS, delivered",
            "+13175550121",
            "delivered",
            Timeline(_s(2), "delivered", _s(40)),
        ),
        DemoMessage(
            "demo-wa-read",
            "WhatsApp template, delivered then read",
            "whatsapp",
            "+13175550122",
            "shipping-whatsapp",
            {"order_id": "ORD-998877"},
            "read",
            timelines=(Timeline(_s(2), "delivered", _s(30), read_after=timedelta(minutes=4)),),
        ),
        _sms(
            "demo-sms-optout",
            "SMS, the recipient opted out at the carrier",
            "+13175550123",
            "failed_permanent",
            Timeline(_s(2), "failed", _s(20), code="RecipientOptedOut"),
        ),
        _sms(
            "demo-sms-retry",
            "SMS, rate limited, then delivered on attempt 2",
            "+13175550124",
            "delivered",
            Timeline(_s(2), "failed", _s(30), code="RateLimited"),
            Timeline(_s(2), "delivered", _s(45)),
        ),
        DemoMessage(
            "demo-web-silent",
            "web messaging, never a final receipt",
            "webmessaging",
            WEB_CONTACT,
            "case-update",
            {"case": "C-42"},
            "unknown",
            timelines=(Timeline(_s(3), "pending"),),
        ),
        _email(
            "demo-email-opened", "email, delivered and opened", "jane@example.com", "read", "opened"
        ),
        _email(
            "demo-email-deferred",
            "email, deferred twice, then delivered",
            "sam@example.com",
            "delivered",
            "deferred",
        ),
        _email(
            "demo-email-bounce",
            "email, hard bounce",
            "gone@example.com",
            "failed_permanent",
            "bounce",
        ),
        _email(
            "demo-email-silent",
            "email, processed and nothing more",
            "quiet@example.com",
            "unknown",
            None,
        ),
    )


class Clock:
    """The demo's present: the wall clock plus how far the demo has moved it on."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.ahead


class QuickRetries(Outbox):
    """The outbox as the poller uses it, with a receipt's retry delay cut to ``RETRY_DELAY``:
    SQS holds a delayed message for real seconds, which the demo's clock cannot skip."""

    def enqueue(self, key: str, *, delay_seconds: int = 0, attempt: int = 1) -> None:
        super().enqueue(key, delay_seconds=min(delay_seconds, RETRY_DELAY), attempt=attempt)


def summary_report() -> dict[str, Any]:
    """The delivery summary report the demo runs over the day so far (UTC, partial)."""
    return {
        "id": SUMMARY_REPORT,
        "kind": "delivery_summary",
        "title": "Message delivery (demo)",
        "timezone": "UTC",
        "window": "yesterday",
        "send_on_non_business_days": True,
        "recipients": {"to": ["cc-ops@example.com"]},
    }


@contextmanager
def receipts_stack(
    workdir: Path, key: WebhookKey, *, latency_ms: float = 0.0
) -> Iterator[NotifyStack]:
    """The notification stack with a receipts block, the webhook's public key and a delivery
    summary report in its config; the default zone is one where it is day now (web messages
    carry no number to derive a zone from)."""
    with notify_stack(workdir, latency_ms=latency_ms, visibility=5) as stack:
        path = Path(stack.environ["GCNOTIFY_CONFIG"])
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        config["sendgrid"]["webhook_public_key"] = key.public_key_b64
        config["messaging"]["default_timezone"] = zone_at(datetime.now(UTC), range(10, 19))
        config["receipts"] = {
            "poll_every": "PT5M",
            "final_after": f"PT{int(FINAL_AFTER.total_seconds() // 60)}M",
            "retry_temporary": True,
            "max_calls_per_run": 100,
            "breaker_failures": 5,
        }
        config["reports"] = [summary_report()]
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        yield stack


@dataclass
class _Demo:
    """What the steps share: the stack, the clock, the seams, and what was seen."""

    stack: NotifyStack
    clock: Clock
    key: WebhookKey
    out: Path
    sent_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    webhook: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return self.stack.environ

    @property
    def state(self) -> NotifyState:
        from gcnotify.handlers import notify_state

        return notify_state.state(self.env)


def _masked(address: str | None) -> str:
    from gcnotify.campaigns import mask

    return mask(address) if address else ""


def _ahead(delta: timedelta) -> str:
    minutes = round(delta.total_seconds() / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def _drain(demo: _Demo) -> int:
    """The outbox into the sender handler, as Lambda's event source mapping delivers it (the
    sender on the demo's clock); waits for delayed messages too. Returns the batches."""
    from gcnotify.devserver.esm import EventSourceMapping
    from gcnotify.handlers import notify_state, sender

    env, clock = demo.env, demo.clock

    def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
        deadline = notify_state.deadline_of(context)  # on the wall clock: moved on with ours
        if deadline is not None:
            deadline += clock.ahead
        return sender.handle_batch(event, environ=env, deadline=deadline, now=clock.now)

    mapping = EventSourceMapping(
        demo.stack.sqs,
        demo.stack.outbox_url,
        handler,
        batch_size=10,
        function_timeout=5,
        poll_interval=0.2,  # fewer receives competing with the sender for moto
    )
    return mapping.drain(idle_for=0.3, timeout=20).batches


def _send(demo: _Demo) -> None:
    """Plan each recipient's timelines, take the requests through the intake, drain the outbox."""
    from gcnotify.handlers import intake

    messaging = demo.stack.genesys.messaging
    for message in demo_messages():
        if message.timelines:
            messaging.plan(message.to, *message.timelines)
    zone = zone_at(datetime.now(UTC), range(10, 19))
    demo.sent_at = datetime.now(UTC)
    print("Sent through the pipeline (intake function URL → outbox → sender):")
    for message in demo_messages():
        answer = intake.handle(http_event("/", message.request(zone)), environ=demo.env)
        if answer["statusCode"] != 202:
            demo.problems.append(f"{message.key}: the intake answered {answer['statusCode']}")
    batches = _drain(demo)
    store = demo.state.store
    for message in demo_messages():
        record = store.get(message.key)
        status = record.status if record is not None else "no record"
        via = "SendGrid" if message.channel == "email" else "Genesys agentless"
        print(
            f"  {message.key:<20} {message.channel:<12} {_masked(message.to):<18} {status:<6} "
            f"via {via:<17} ({message.label})"
        )
    print(f"  ({batches} sender invocation(s) by the local event source mapping)")


def _poll(demo: _Demo) -> PollResult:
    """One poll run as the scheduled function makes it (``handlers.receipts_poll``): the
    container's seams and its validated ``receipts:`` block, on the demo's clock; retries go
    through ``QuickRetries``."""
    from gcnotify.aws.audit import AuditLog
    from gcnotify.core.errors import LedgerError, QueueError
    from gcnotify.genesys.receipts import ReceiptReader
    from gcnotify.handlers import receipts_poll
    from gcnotify.receipts.poller import poll

    state = demo.state
    genesys, _ = state.providers()
    return poll(
        store=state.store,
        reader=ReceiptReader(genesys),
        settings=receipts_poll.receipt_settings(state),
        suppression=state.suppression,
        outbox=QuickRetries(state.client("sqs", QueueError), state.outbox.queue_url),
        audit=AuditLog(state.client("dynamodb", LedgerError), state.ledger.table),
        now=demo.clock.now,
    )


def _audit_line(demo: _Demo, result: PollResult) -> str:
    """The run's audit record, read back from the ledger table, in one line."""
    from gcnotify.core.errors import LedgerError
    from gcnotify.receipts.classify import CLASSES
    from gcnotify.receipts.poller import audit_key

    state = demo.state
    pk = audit_key(result.started_at)
    item = state.client("dynamodb", LedgerError).get_item(
        TableName=state.ledger.table, Key={"pk": {"S": pk}}, ConsistentRead=True
    )
    found = item.get("Item")
    if not found:
        demo.problems.append(f"no audit record {pk}")
        return f"no audit record {pk}"

    def n(name: str) -> int:
        return int(found.get(name, {}).get("N", "0"))

    answered = ", ".join(f"{c} {n('answered_' + c)}" for c in CLASSES if n("answered_" + c))
    extras = [
        f"{label} {n(name)}"
        for name, label in (
            ("retried", "retried"),
            ("unknown_after_final_after", "unknown after final_after"),
            ("sendgrid_swept", "SendGrid swept"),
        )
        if n(name)
    ]
    if result.suppressed:
        extras.insert(1, f"suppressed {result.suppressed}")
    tripped = found.get("breaker_tripped", {}).get("BOOL", False)
    screen = result.screen
    if n("screened"):
        to_details = sum(screen[k] for k in ("details", "not_shown", "not_opened", "refused"))
        extras.insert(
            0,
            f"analytics screen {n('screened')} (applied {n('screen_applied')}, waiting "
            f"{screen['waiting']}, to their details {to_details})",
        )
    return (
        f"asked {n('asked')}, Genesys calls {n('calls')} (p50 {n('latency_ms_p50')} ms, max "
        f"{n('latency_ms_max')} ms), answered: {answered or 'none'}"
        + (f"; {', '.join(extras)}" if extras else "")
        + f"; breaker {'tripped' if tripped else 'not tripped'}, budget left {n('budget_left')}"
        + f"\n    audit record {pk}"
    )


def _sendgrid_events(demo: _Demo) -> list[dict[str, Any]]:
    """What SendGrid reports of the demo's emails, from a few seconds after they were sent."""
    from gcnotify.devserver.sendgrid_events import events_for

    emails = {m.to: m for m in demo_messages() if m.channel == "email"}
    stored: list[StoredMessage] = [
        m for m in demo.stack.sendgrid.messages if m.custom_args.get("gcnotify_key")
    ]
    outcomes = {to: m.events for to, m in emails.items() if m.events is not None}
    silent = {to for to, m in emails.items() if m.events is None}
    start = int((demo.sent_at + 5 * _SECOND).timestamp())
    return [
        e
        for e in events_for(stored, start=start, outcomes=outcomes)
        if e["email"] not in silent or e["event"] == "processed"
    ]


def _late(posted: Sequence[Mapping[str, Any]]) -> int:
    """Events that arrived after a later event of the same email (SendGrid promises no order)."""
    latest: dict[str, int] = {}
    late = 0
    for event in posted:
        email, at = str(event["email"]), int(event["timestamp"])
        if at < latest.get(email, at):
            late += 1
        latest[email] = max(at, latest.get(email, at))
    return late


def _webhook(demo: _Demo) -> None:
    """SendGrid's signed batches, shuffled and with repeats, POSTed to the webhook function."""
    from gcnotify.devserver.sendgrid_events import FunctionUrl, batches, post_batch
    from gcnotify.handlers import sendgrid_webhook

    events = _sendgrid_events(demo)
    cut = batches(events, size=5, duplicates=4, shuffle=True, seed=11)
    posted = [e for batch in cut for e in batch]
    env, clock = demo.env, demo.clock
    with FunctionUrl(
        lambda event: sendgrid_webhook.handle(event, environ=env, now=clock.now)
    ) as url:
        statuses: Counter[int] = Counter()
        for batch in cut:
            answer = post_batch(
                url.url, batch, key=demo.key, timestamp=int(clock.now().timestamp())
            )
            statuses[answer.status] += 1
            if isinstance(answer.body, dict):
                demo.webhook.update({k: v for k, v in answer.body.items() if isinstance(v, int)})
        where = url.url
    meaningful = [e for e in posted if e["event"] != "click"]  # a click changes nothing
    distinct = len({e["sg_event_id"] for e in meaningful})
    repeats = len(posted) - len({e["sg_event_id"] for e in posted})
    kinds = Counter(e["event"] for e in events)
    shown = ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items()))
    counts = demo.webhook
    print(
        f"SendGrid Event Webhook: {len(events)} events ({shown}) in {len(cut)} signed POSTs to "
        f"the function URL {where}; {repeats} posted again, {_late(posted)} after a later "
        "event of their email:"
    )
    answered = ", ".join(f"{status} × {count}" for status, count in sorted(statuses.items()))
    print(
        f"  answered HTTP {answered}; received {counts['received']}, recorded "
        f"{counts['recorded']}, duplicates {counts['duplicates']}, ignored {counts['ignored']} "
        f"(clicks), unmatched {counts['unmatched']}, suppressed {counts['suppressed']}, "
        f"retried {counts['retried']}, failed {counts['failed']}"
    )
    if (counts["recorded"], counts["duplicates"]) != (distinct, len(meaningful) - distinct):
        demo.problems.append(
            f"the webhook recorded {counts['recorded']} and counted {counts['duplicates']} "
            f"duplicates of {distinct} distinct events posted {len(meaningful)} times"
        )
    if set(statuses) != {200}:
        demo.problems.append(f"the webhook answered {dict(statuses)}")


def _awaiting(demo: _Demo) -> int:
    store = demo.state.store
    return sum(len(store.awaiting(p, limit=100).records) for p in ("genesys", "sendgrid"))


def _resend(demo: _Demo) -> None:
    """The retries the receipts queued, through the sender again; each attempt's guard key."""
    from gcnotify.messaging.sender import guard_key

    _drain(demo)
    state = demo.state
    for message in demo_messages():
        record = state.store.get(message.key)
        attempt = record.fields.get("attempt") if record is not None else None
        if record is None or not isinstance(attempt, int) or attempt < 2:
            continue
        guards = [guard_key(message.key, n) for n in range(1, attempt + 1)]
        claims = [state.ledger.lookup(guard) for guard in guards]
        shown = ", ".join(
            f"{guard} {claim.status if claim is not None else 'missing'}"
            for guard, claim in zip(guards, claims, strict=True)
        )
        print(
            f"Outbox drained into the sender again: {message.key} re-sent as attempt "
            f"{attempt}, {record.status} (send ledger: {shown})"
        )


def _receipts(demo: _Demo) -> None:
    """Poll runs with the clock moved on; the webhook's POSTs after the first; retries sent."""
    print(
        f"The stand-in's clock is moved on instead of waited for; a receipt's retry waits "
        f"{RETRY_DELAY} s in the outbox here (60 s in production); final_after is "
        f"{_ahead(FINAL_AFTER)}."
    )
    for n, ahead in enumerate(POLL_ROUNDS, 1):
        demo.clock.ahead = ahead
        result = _poll(demo)
        print(f"Poll run {n}, {_ahead(ahead)} after the sends (receipts poller):")
        print(f"  {_audit_line(demo, result)}")
        if n == 1:  # SendGrid's events arrive meanwhile
            _webhook(demo)
        if result.retried or demo.webhook["retried"]:
            _resend(demo)
        if not _awaiting(demo):
            break


def _records(demo: _Demo) -> dict[str, MessageRecord]:
    store = demo.state.store
    found = {m.key: store.get(m.key) for m in demo_messages()}
    return {k: r for k, r in found.items() if r is not None}


def _outcomes(demo: _Demo, records: Mapping[str, MessageRecord]) -> None:
    print("Messages (the messages table):")
    print(
        f"  {'KEY':<20} {'CHANNEL':<12} {'TO':<18} {'STATUS':<16} {'RECEIPT':<16} "
        f"{'CODE':<18} ATTEMPT"
    )
    for message in demo_messages():
        record = records.get(message.key)
        if record is None:
            demo.problems.append(f"{message.key}: no record")
            continue
        fields = record.fields
        attempt = fields.get("attempt") or 1
        print(
            f"  {message.key:<20} {record.channel:<12} {_masked(record.address):<18} "
            f"{record.status:<16} {fields.get('receipt_class') or ''!s:<16} "
            f"{str(fields.get('receipt_code') or '')[:18]:<18} {attempt}"
        )
        if record.status != message.expect or attempt != message.attempts:
            demo.problems.append(
                f"{message.key}: {record.status} on attempt {attempt}, expected "
                f"{message.expect} on attempt {message.attempts}"
            )
        elif record.status not in _FINAL_STATUSES or "awaiting" in fields:
            demo.problems.append(f"{message.key}: still waiting for a final receipt")


def _suppressions(demo: _Demo) -> None:
    entries = [
        e for e in demo.state.suppression.list(limit=100).items if e.source.startswith("receipt:")
    ]
    print(f"Suppressions added by receipts: {len(entries)}")
    for entry in sorted(entries, key=lambda e: e.key):
        print(f"  {entry.channel} {_masked(entry.address)}: {entry.reason} (source {entry.source})")


def _day_records(demo: _Demo, days: Sequence[date]) -> Iterator[MessageRecord]:
    store = demo.state.store
    for day in days:
        start: dict[str, Any] | None = None
        while True:
            page = store.sent_on(day, start=start)
            yield from page.records
            start = page.next_start
            if start is None:
                break


def _summary(demo: _Demo) -> None:
    """The delivery summary's figures over the day's records, and its email through the report
    function (written to ``out``)."""
    from gcnotify.handlers import report
    from gcnotify.reports.delivery_summary import (
        format_duration,
        format_percent,
        summarize,
        utc_days,
    )

    start = demo.sent_at.replace(hour=0, minute=0, second=0, microsecond=0)
    end = start + timedelta(days=1)
    summary = summarize(_day_records(demo, utc_days(start, end)), start, end)
    total = summary.total
    failures = "; ".join(f"{f.cls} {f.code} {f.count}" for f in total.failures) or "none"
    print(f"Delivery summary of {start.date()} (UTC), reports.delivery_summary.summarize:")
    print(
        f"  sent {total.sent}, delivered {total.delivered} "
        f"({format_percent(total.delivered_percent)}), read {total.read}, failed "
        f"{total.failed} ({failures}), pending {total.pending}, unknown {total.unknown}; "
        f"time to delivery p50 {format_duration(total.p50)}, p90 {format_duration(total.p90)}"
    )
    for group in summary.groups:
        print(
            f"  {group.label}: sent {group.sent}, delivered {group.delivered}, read "
            f"{group.read}, failed {group.failed}, unknown {group.unknown}"
        )
    report.reset_cold_start()
    try:
        result = report.handle(
            {
                "report_date": start.date().isoformat(),
                "allow_partial": True,
                "reports": [SUMMARY_REPORT],
            },
            environ=demo.env,
            out_dir=demo.out,
        )
    finally:
        report.reset_cold_start()
    (entry,) = result["reports"]
    print(
        f"Report {SUMMARY_REPORT} (the report function, partial day): {entry['status']}, "
        f"{entry.get('messages')} messages counted; the email written to:"
    )
    for path in entry.get("outputs") or ():
        print(f"  {path}")
    if entry.get("messages") != total.sent:
        demo.problems.append(
            f"the report counted {entry.get('messages')} messages, summarize {total.sent}"
        )


def run_receipts_demo(*, out: Path, latency_ms: float = 0.0) -> int:
    """Send, poll, post the webhook's events, print what became of each message; 1 when a
    message did not end as planned."""
    from gcnotify.devserver.sendgrid_events import WebhookKey
    from gcnotify.handlers import notify_state, receipts_poll, sendgrid_webhook

    key = WebhookKey()
    clock = Clock()
    with receipts_stack(out, key, latency_ms=latency_ms) as stack:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
            os.environ[name] = stack.environ[name]
        stack.genesys.now = clock.now
        receipts_poll.reset()
        sendgrid_webhook.reset()
        demo = _Demo(stack, clock, key, out)
        try:
            print(
                "Delivery receipts on local stand-ins (Genesys, SendGrid, moto on 127.0.0.1); "
                "each Genesys recipient's receipt timeline is planned."
            )
            _send(demo)
            _receipts(demo)
            records = _records(demo)
            _outcomes(demo, records)
            _suppressions(demo)
            _summary(demo)
        finally:
            receipts_poll.reset()
            sendgrid_webhook.reset()
            notify_state.reset()
    if demo.problems:
        print("Not as planned:")
        for problem in demo.problems:
            print(f"  {problem}")
        return 1
    print(f"All {len(demo_messages())} messages ended in their final class as planned.")
    return 0
