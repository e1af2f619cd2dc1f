"""The Genesys receipts poll against the real local stand-in (over a socket) and moto: what one
run reads, applies, retries, gives up on, and how it stays inside its budget and breaker."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests
import responses
import time_machine
from jsonschema import Draft202012Validator
from moto import mock_aws

from gcnotify.aws.audit import AuditLog
from gcnotify.aws.ledger import Ledger, create_ledger_table
from gcnotify.aws.messages import MessageRecord, MessageStore, NewMessage, create_messages_table
from gcnotify.aws.queue import Outbox, parse_queued
from gcnotify.aws.suppression import SuppressionTable, create_suppression_table
from gcnotify.core.model import Queue
from gcnotify.core.retry import RetryPolicy
from gcnotify.devserver.genesys_server import GenesysStandIn
from gcnotify.devserver.messaging_endpoints import READS_PREFIX, Timeline
from gcnotify.genesys.client import GenesysClient
from gcnotify.genesys.messaging import agentless_message_body, send_agentless_message
from gcnotify.genesys.receipts import SCREEN_PATH, ReceiptReader, details_path
from gcnotify.receipts.apply import retry_delay
from gcnotify.receipts.poller import PollResult, audit_key, poll
from gcnotify.receipts.settings import ReceiptSettings
from tests.support import FakeClock, schema_errors

pytestmark = pytest.mark.e2e
QUEUES = [Queue("c6fc6f57-4c1e-4812-980a-5154f500b5c6", "Support")]
START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
SMS_FROM = "+13178723000"
WHATSAPP_FROM = "0b7c5e2a-1f3d-4c6b-9a8e-7d6c5b4a3f2e"
SECRET = "poller-client-secret-value"
BULK_BODY = Draft202012Validator(
    {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1, "maxItems": 1000}
)
DELIVERED = Timeline(timedelta(seconds=2), "delivered", timedelta(minutes=3))


class Now:
    """One present for the stand-in, the tables and the poller; tests move it."""

    def __init__(self) -> None:
        self.value = START

    def __call__(self) -> datetime:
        return self.value

    def advance(self, **kwargs: float) -> None:
        self.value += timedelta(**kwargs)


@dataclass
class World:
    stand_in: GenesysStandIn
    genesys: GenesysClient
    store: MessageStore
    suppression: SuppressionTable
    outbox: Outbox
    ledger: Ledger
    audit: AuditLog
    sqs: Any
    now: Now
    clock: FakeClock
    keys: list[str] = field(default_factory=list)

    def poll(self, **overrides: Any) -> PollResult:
        settings = ReceiptSettings(**overrides)
        return poll(
            store=self.store,
            reader=ReceiptReader(self.genesys, clock=self.clock),
            settings=settings,
            suppression=self.suppression,
            outbox=self.outbox,
            audit=self.audit,
            now=self.now,
            sleep=self.clock.sleep,
            clock=self.clock,
            rand=lambda: 0.5,
            workers=1,  # one call at a time: the order of calls is the test's to assert
        )

    def send(
        self,
        to: str = "+15557655942",
        timeline: Timeline | None = DELIVERED,
        *,
        channel: str = "sms",
        reuse: bool = False,
        lost: bool = False,
    ) -> MessageRecord:
        """A message sent through the stand-in and recorded as the sender records it."""
        if timeline is not None:
            self.stand_in.messaging.plan(to.removeprefix("+") if channel == "whatsapp" else to,
                                         timeline)  # fmt: skip
        if channel == "whatsapp":
            from gcnotify.genesys.messaging import TemplateCall

            body = agentless_message_body(
                channel="whatsapp",
                from_address=WHATSAPP_FROM,
                to_address=to,
                template=TemplateCall("4e2f6a8c-0b1d-4e3f-9a5b-7c9d1e3f5a7b", {"o": "1"}),
            )
        else:
            body = agentless_message_body(
                channel="sms", from_address=SMS_FROM, to_address=to, text="Shipped."
            )
        if reuse:
            body["useExistingActiveConversation"] = True
        key = f"order:{len(self.keys) + 1}"
        self.keys.append(key)
        when = self.now()
        self.store.accept(
            NewMessage(
                key=key,
                channel=channel,
                template="order-shipped",
                received_at=when,
                address=to,
                fields={
                    "request": json.dumps({"to": to, "template": "order-shipped"}),
                    "send_by": (when + timedelta(days=1)).isoformat(),
                },
            )
        )
        self.store.transition(key, ("accepted",), "sending", when)
        awaiting = {"awaiting": "genesys", "awaiting_since": when.isoformat()}
        if lost:
            self.stand_in.messaging.lose_next()
            with pytest.raises(Exception, match="unknown"):
                send_agentless_message(self.genesys, body)
            moved = self.store.transition(
                key, ("sending",), "unknown", when, detail="answer lost", **awaiting
            )
        else:
            sent = send_agentless_message(self.genesys, body)
            moved = self.store.transition(
                key,
                ("sending",),
                "sent",
                when,
                message_id=sent.message_id,
                conversation_id=sent.conversation_id,
                provider="genesys",
                **awaiting,
            )
        assert moved.record is not None
        return moved.record

    def record(self, key: str) -> MessageRecord:
        found = self.store.get(key)
        assert found is not None
        return found

    def queued(self) -> list[tuple[str, int]]:
        answer = self.sqs.receive_message(
            QueueUrl=self.outbox.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0
        )
        out = []
        for message in answer.get("Messages", []):
            parsed = parse_queued(message["Body"])
            assert parsed is not None
            out.append((parsed.key, parsed.attempt))
        return out

    def reads(self) -> int:
        return sum(1 for r in self.stand_in.requests if r.path.startswith(READS_PREFIX)
                   and not r.path.endswith("/agentless"))  # fmt: skip


@pytest.fixture
def world(aws_env: None) -> Iterator[World]:
    with (
        mock_aws(),
        GenesysStandIn(QUEUES, client_id="cid", client_secret=SECRET) as stand_in,
    ):
        now = Now()
        clock = FakeClock(start=1000.0)
        stand_in.now = now
        stand_in.messaging.rate_clock = clock
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_messages_table(dynamodb, "messages")
        create_suppression_table(dynamodb, "suppression")
        create_ledger_table(dynamodb, "ledger")
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="outbox")["QueueUrl"]
        genesys = GenesysClient(
            login_url=stand_in.url,
            api_url=stand_in.url,
            client_id="cid",
            client_secret=SECRET,
            sleep=clock.sleep,
            clock=clock,
            rand=lambda: 0.5,
        )
        yield World(
            stand_in,
            genesys,
            MessageStore(dynamodb, "messages"),
            SuppressionTable(dynamodb, "suppression"),
            Outbox(sqs, url),
            Ledger(dynamodb, "ledger"),
            AuditLog(dynamodb, "ledger"),
            sqs,
            now,
            clock,
        )
        assert [] == stand_in.errors


def audit_item(world: World, result: PollResult) -> dict[str, Any]:
    item = world.ledger._client.get_item(
        TableName="ledger", Key={"pk": {"S": audit_key(result.started_at)}}
    ).get("Item")
    assert item is not None
    return item


# ---------------------------------------------------------------- one run


def test_a_run_moves_each_message_on_its_receipt(world: World) -> None:
    """Delivered, opted out (suppressed), still on its way: one token, one analytics screen of
    the three conversations, one details read for the failure's reason code; the delivered and
    failed ones leave the awaiting index, the pending one stays."""
    delivered = world.send("+15557650001", DELIVERED)
    opted_out = world.send(
        "+15557650002",
        Timeline(timedelta(seconds=1), "failed", timedelta(minutes=1), code="RecipientOptedOut"),
    )
    pending = world.send("+15557650003", Timeline(timedelta(seconds=1), "pending"))
    world.now.advance(minutes=5)
    world.genesys.invalidate_token()
    calls_before = world.genesys.calls
    result = world.poll()
    assert (
        3,
        {"delivered": 1, "failed_permanent": 1, "sent": 1},
        3,  # the token, the screen, the failure's details read
        497,
        None,
    ) == (
        result.asked,
        {k: v for k, v in result.answered.items() if v},
        result.calls,
        result.budget_left,
        result.stopped,
    )
    assert 3 == world.genesys.calls - calls_before
    screen = [r for r in world.stand_in.requests if r.path == SCREEN_PATH]
    assert 1 == len(screen)
    assert {str(r.fields["conversation_id"]) for r in (delivered, opted_out, pending)} == set(
        screen[0].query_values("id")[0].split(",")
    )
    assert {"screened": 3, "applied": 1, "waiting": 1, "details": 1} == {
        k: v for k, v in result.screen.items() if v
    }
    after = {r.key: world.record(r.key) for r in (delivered, opted_out, pending)}
    assert ("delivered", "failed_permanent", "sent") == tuple(
        after[r.key].status for r in (delivered, opted_out, pending)
    )
    assert "awaiting" not in after[delivered.key].fields
    assert "awaiting" not in after[opted_out.key].fields
    assert "genesys" == after[pending.key].fields["awaiting"]
    assert "RecipientOptedOut" == after[opted_out.key].fields["receipt_code"]
    assert "DeliverySuccess" == after[delivered.key].fields["receipt_code"]
    hit = world.suppression.check("sms", "+15557650002")
    assert hit is not None
    assert [182_000] == result.delivery_ms  # sent at 14:00:00, delivered 2 s + 3 min later
    item = audit_item(world, result)
    assert ("3", "3", "3", "1", "1", {"BOOL": False}) == (
        item["asked"]["N"],
        item["calls"]["N"],
        item["screened"]["N"],
        item["answered_delivered"]["N"],
        item["answered_failed_permanent"]["N"],
        item["breaker_tripped"],
    )
    assert int(item["expires_at"]["N"]) > int((START + timedelta(days=399)).timestamp())


def test_a_conversation_holding_several_is_read_in_bulk(world: World) -> None:
    """Three sends into one conversation and one alone (screen off): one bulk read and one
    details read."""
    world.send("+15557650001", reuse=True)
    world.send("+15557650001", reuse=True)
    world.send("+15557650001", reuse=True)
    alone = world.send("+15557650009")
    world.now.advance(minutes=10)
    world.stand_in.clear_requests()
    result = world.poll(analytics_screen=False)
    assert (4, 4) == (result.asked, result.answered["delivered"])
    reads = [r for r in world.stand_in.requests if r.path.startswith(READS_PREFIX)]
    assert [("POST", "bulk"), ("GET", "details")] == [
        (r.method, r.path.rsplit("/", 1)[-1]) for r in reads
    ]
    [bulk] = [r.json for r in reads if r.method == "POST"]
    assert 3 == len(bulk)
    assert [] == [e.message for e in BULK_BODY.iter_errors(bulk)]
    assert reads[1].path == details_path(str(alone.fields["message_id"]))


def test_a_run_with_nothing_waiting_makes_no_call(world: World) -> None:
    result = world.poll()
    assert (0, 0, 500, None) == (result.asked, result.calls, result.budget_left, result.stopped)
    assert 0 == world.stand_in.count("/")


# ---------------------------------------------------------------- 429, breaker, budget


def test_a_429_storm_is_backed_off_and_the_run_finishes(world: World) -> None:
    """Four 429s with Retry-After 2: the client waits them out (Retry-After plus jitter), every
    message is read, and the retries count toward the budget."""
    for n in range(3):
        world.send(f"+1555765000{n}")
    world.now.advance(minutes=5)
    world.genesys.token()  # fetched ahead of the storm, which hits the reads only
    world.stand_in.messaging.storm(4, retry_after=2)
    world.clock.sleeps.clear()
    result = world.poll(analytics_screen=False)
    assert (3, 3, None, 0) == (
        result.asked,
        result.answered["delivered"],
        result.stopped,
        result.failed_calls,
    )
    assert 7 == result.calls  # three reads and four 429s
    assert all(wait >= 2.0 for wait in world.clock.sleeps)
    assert 4 == len(world.clock.sleeps)


def test_a_storm_that_outlasts_the_budget_stops_within_it(world: World) -> None:
    """Every read answers 429: the run never makes more calls than its budget, retries
    included, and what was not read waits for the next run."""
    for n in range(6):
        world.send(f"+1555765000{n}")
    world.now.advance(minutes=5)
    world.stand_in.messaging.storm(1000, retry_after=1)
    before = world.genesys.calls
    result = world.poll(max_calls_per_run=9, breaker_failures=9, analytics_screen=False)
    assert result.calls <= 9
    assert world.genesys.calls - before <= 9
    assert ("budget", 0) == (result.stopped, result.budget_left)
    assert 0 == sum(result.answered.values())
    assert all(world.record(k).status == "sent" for k in world.keys)


def test_the_breaker_trips_and_the_next_run_starts_fresh(world: World) -> None:
    """503s past the client's retries: two failed calls in a row stop the run (breaker), the
    wait between them is the backoff; the next run, Genesys healthy again, reads them all."""
    for n in range(5):
        world.send(f"+1555765000{n}")
    world.now.advance(minutes=5)
    world.stand_in.fail_next(READS_PREFIX, 503, times=1000)
    policy = RetryPolicy()
    first = world.poll(breaker_failures=2, analytics_screen=False)
    assert ("breaker", True, 2) == (first.stopped, first.breaker_tripped, first.failed_calls)
    assert first.calls == 2 * policy.max_attempts  # two calls of five tries (the token cached)
    assert 0 == sum(first.answered.values())
    assert {"sent"} == {world.record(k).status for k in world.keys}
    assert {"BOOL": True} == audit_item(world, first)["breaker_tripped"]
    world.stand_in.clear_faults()
    world.now.advance(minutes=5)
    second = world.poll(breaker_failures=2, analytics_screen=False)
    assert (None, False, 5) == (
        second.stopped,
        second.breaker_tripped,
        second.answered["delivered"],
    )


def test_a_missing_permission_stops_the_run_at_once(world: World) -> None:
    world.send()
    world.send("+15557650001")
    world.now.advance(minutes=5)
    world.stand_in.forbid(READS_PREFIX)
    result = world.poll(analytics_screen=False)
    assert ("error", 1) == (result.stopped, result.failed_calls)
    assert result.error is not None
    assert "conversation:message:view" in result.error


def test_the_deadline_stops_the_run_before_any_call(world: World) -> None:
    world.send()
    world.now.advance(minutes=5)
    result = poll(
        store=world.store,
        reader=ReceiptReader(world.genesys),
        settings=ReceiptSettings(),
        suppression=world.suppression,
        outbox=world.outbox,
        audit=None,
        now=world.now,
        time_left=lambda: 5.0,
        sleep=world.clock.sleep,
    )
    assert ("deadline", 0, 0) == (result.stopped, result.calls, world.reads())


# ---------------------------------------------------------------- classes and ages


def test_a_temporary_failure_is_sent_again(world: World) -> None:
    """RateLimited: failed_temporary, attempt 2, the key queued again on the outbox."""
    record = world.send(
        "+15557650001",
        Timeline(timedelta(seconds=1), "failed", timedelta(seconds=20), code="RateLimited"),
    )
    world.now.advance(minutes=1)
    result = world.poll()
    after = world.record(record.key)
    assert (1, "failed_temporary", 2) == (result.retried, after.status, after.fields["attempt"])
    assert [] == world.queued()  # held back for the retry's delay
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=retry_delay(2) + 1)):
        assert [(record.key, 2)] == world.queued()


def test_an_unknown_code_is_unknown_and_counted(world: World) -> None:
    """A failure code the table does not know: class unknown, counted, never delivered or
    suppressed or retried."""
    record = world.send(
        "+15557650001",
        Timeline(timedelta(seconds=1), "failed", timedelta(seconds=5), code="CarrierViolation"),
    )
    world.now.advance(minutes=1)
    result = world.poll()
    after = world.record(record.key)
    assert (1, 1, 0) == (result.unknown_codes, result.answered["unknown"], result.retried)
    assert ("unknown", "CarrierViolation") == (after.status, after.fields["receipt_code"])
    assert world.suppression.check("sms", "+15557650001") is None
    assert [] == world.queued()


def test_a_message_genesys_no_longer_holds_is_counted_then_ages_out(world: World) -> None:
    record = world.send("+15557650001")
    world.stand_in.messaging.forget(str(record.fields["message_id"]))
    world.now.advance(minutes=5)
    first = world.poll()
    assert (1, "sent") == (first.not_found, world.record(record.key).status)
    world.now.advance(hours=73)
    second = world.poll()
    after = world.record(record.key)
    assert (1, "unknown", "NoFinalReceipt") == (
        second.unknown_after_final_after,
        after.status,
        after.fields["receipt_code"],
    )
    assert "awaiting" not in after.fields


def test_no_final_receipt_after_final_after_is_unknown(world: World) -> None:
    """Still only Sent at final_after: unknown. A WhatsApp message delivered but never read
    (Delivered is not final there) stays delivered and stops waiting."""
    pending = world.send("+15557650001", Timeline(timedelta(seconds=1), "pending"))
    unread = world.send(
        "+15557650002",
        Timeline(timedelta(seconds=1), "delivered", timedelta(minutes=1)),
        channel="whatsapp",
    )
    world.now.advance(minutes=5)
    first = world.poll(final_after=timedelta(hours=1))
    assert ("sent", "delivered") == (
        world.record(pending.key).status,
        world.record(unread.key).status,
    )
    assert "genesys" == world.record(unread.key).fields["awaiting"]  # a Read may still come
    world.now.advance(hours=2)
    second = world.poll(final_after=timedelta(hours=1))
    assert (0, 1, 1) == (
        first.unknown_after_final_after,
        second.unknown_after_final_after,
        second.final_after_kept,
    )
    assert ("unknown", "delivered") == (
        world.record(pending.key).status,
        world.record(unread.key).status,
    )
    assert all("awaiting" not in world.record(k).fields for k in (pending.key, unread.key))


def test_sendgrid_messages_are_swept_at_final_after_without_a_call(world: World) -> None:
    """A SendGrid email with no event by final_after: unknown, and Genesys hears nothing."""
    when = world.now()
    world.store.accept(
        NewMessage("mail:1", "email", "chat-followup", when, address="jo@example.org")
    )
    world.store.transition("mail:1", ("accepted",), "sending", when)
    world.store.transition(
        "mail:1", ("sending",), "sent", when, provider="sendgrid", message_id="sg-1",
        awaiting="sendgrid", awaiting_since=when.isoformat(),
    )  # fmt: skip
    world.now.advance(hours=71)
    assert 0 == world.poll().sendgrid_swept
    world.now.advance(hours=2)
    result = world.poll()
    assert (1, 1, 0, 0) == (
        result.sendgrid_swept,
        result.unknown_after_final_after,
        result.calls,
        world.stand_in.count("/"),
    )
    assert "unknown" == world.record("mail:1").status


# ---------------------------------------------------------------- lost responses


def test_a_lost_response_send_is_found_by_its_recipient(world: World) -> None:
    """The sender never learnt the message id; once analytics shows the conversation, the run
    finds the message, records its ids and applies its receipt."""
    record = world.send("+15557650001", DELIVERED, lost=True)
    assert "message_id" not in record.fields
    world.now.advance(seconds=30)
    early = world.poll()  # analytics has not caught up with the send yet
    assert (1, 1, 0, "unknown") == (
        early.lost["searched"],
        early.lost["none"],
        early.lost["found"],
        world.record(record.key).status,
    )
    world.now.advance(minutes=5)
    result = world.poll()
    after = world.record(record.key)
    [sent] = world.stand_in.messaging.sent
    assert (1, "delivered", sent["id"], sent["conversation_id"]) == (
        result.lost["found"],
        after.status,
        after.fields["message_id"],
        after.fields["conversation_id"],
    )
    [query] = [r.json for r in world.stand_in.requests if r.path.endswith("/details/query")][-1:]
    assert [] == schema_errors("genesys-conversation-details-query", query)


# ---------------------------------------------------------------- the analytics screen

QUICK = Timeline(timedelta(seconds=1), "delivered", timedelta(seconds=10))


def screens(world: World) -> list[list[str]]:
    """The conversation ids of each screen request, in order."""
    return [
        r.query_values("id")[0].split(",")
        for r in world.stand_in.requests
        if r.path == SCREEN_PATH and r.method == "GET"
    ]


def test_a_conversation_analytics_does_not_show_yet_is_read_by_its_details(world: World) -> None:
    """30 s after the send analytics (90 s behind) shows nothing: the details read decides."""
    record = world.send("+15557650001", QUICK)
    world.now.advance(seconds=30)
    world.stand_in.clear_requests()
    result = world.poll()
    assert ({"screened": 1, "not_shown": 1}, 1, "delivered") == (
        {k: v for k, v in result.screen.items() if v},
        result.asked,
        world.record(record.key).status,
    )
    reads = [r.path for r in world.stand_in.requests if r.path.startswith(READS_PREFIX)]
    assert [details_path(str(record.fields["message_id"]))] == reads


def test_grouped_conversations_are_read_in_bulk_and_the_rest_screened(world: World) -> None:
    """Three sends into one conversation are read in bulk (analytics would show one status for
    all three); the lone one is screened."""
    for _ in range(3):
        world.send("+15557650001", reuse=True)
    alone = world.send("+15557650009")
    world.now.advance(minutes=10)
    world.stand_in.clear_requests()
    result = world.poll()
    assert (4, 4) == (result.asked, result.answered["delivered"])
    assert [[str(alone.fields["conversation_id"])]] == screens(world)
    reads = [r for r in world.stand_in.requests if r.path.startswith(READS_PREFIX)]
    assert ["POST"] == [r.method for r in reads]


def test_a_conversation_the_send_did_not_open_is_read_by_its_details(world: World) -> None:
    """A send into a conversation opened ten minutes earlier by another message: analytics
    shows the conversation's status, maybe the other message's, so the details decide."""
    first = world.send("+15557650001", QUICK, reuse=True)
    world.now.advance(minutes=5)
    world.poll()
    assert "awaiting" not in world.record(first.key).fields
    world.now.advance(minutes=5)
    later = world.send(
        "+15557650001",
        Timeline(timedelta(seconds=1), "failed", timedelta(seconds=5), code="InvalidDestination"),
        reuse=True,
    )
    assert later.fields["conversation_id"] == first.fields["conversation_id"]
    world.now.advance(minutes=5)
    result = world.poll()
    assert 1 == result.screen["not_opened"]
    assert ("failed_permanent", "InvalidDestination") == (
        world.record(later.key).status,
        world.record(later.key).fields["receipt_code"],
    )


def test_a_whatsapp_delivery_keeps_waiting_for_its_read(world: World) -> None:
    """Screened delivered on a channel with read receipts: delivered, still awaiting; the next
    run writes nothing; once read, read and done."""
    record = world.send(
        "+15557650001",
        Timeline(timedelta(seconds=1), "delivered", timedelta(minutes=1), timedelta(hours=1)),
        channel="whatsapp",
    )
    world.now.advance(minutes=5)
    world.poll()
    delivered = world.record(record.key)
    assert ("delivered", "genesys") == (delivered.status, delivered.fields["awaiting"])
    world.now.advance(minutes=5)
    again = world.poll()
    assert (1, delivered.version) == (again.screen["waiting"], world.record(record.key).version)
    world.now.advance(hours=1)
    world.poll()
    done = world.record(record.key)
    assert ("read", "Read") == (done.status, done.fields["receipt_code"])
    assert "awaiting" not in done.fields


def test_still_sent_at_final_after_gets_one_last_details_read(world: World) -> None:
    """A message analytics shows as Sent waits without a read; at final_after its details are
    read once before it becomes unknown."""
    record = world.send("+15557650001", Timeline(timedelta(seconds=1), "pending"))
    world.now.advance(minutes=5)
    world.stand_in.clear_requests()
    first = world.poll(final_after=timedelta(hours=1))
    assert (1, 0) == (first.screen["waiting"], world.reads())
    world.now.advance(hours=2)
    world.stand_in.clear_requests()
    second = world.poll(final_after=timedelta(hours=1))
    assert (1, 1, 1) == (second.screen["details"], world.reads(), second.unknown_after_final_after)
    assert "unknown" == world.record(record.key).status


def test_a_refused_screen_leaves_every_message_to_its_details(world: World) -> None:
    """No analytics permission: the run goes on by details reads, and says why in its error."""
    for n in range(3):
        world.send(f"+1555765000{n}")
    world.now.advance(minutes=5)
    world.genesys.token()
    world.stand_in.forbid(SCREEN_PATH)
    result = world.poll()
    assert (None, 3, 3, 1, 3) == (
        result.stopped,
        result.asked,
        result.answered["delivered"],
        result.failed_calls,
        result.screen["refused"],
    )
    assert result.error is not None
    assert "analytics:conversationDetail:view" in result.error
    assert 4 == result.calls  # the refused screen, three details reads
    assert 3 == world.reads()


def test_a_429_storm_on_the_screen_is_waited_out(world: World) -> None:
    """Two 429s with Retry-After 2 on the screen: retried after the wait, then all applied."""
    for n in range(3):
        world.send(f"+1555765000{n}")
    world.now.advance(minutes=5)
    world.genesys.token()
    world.stand_in.fail_next(SCREEN_PATH, 429, headers={"Retry-After": "2"}, times=2)
    world.clock.sleeps.clear()
    result = world.poll()
    assert (3, 3, 0) == (result.answered["delivered"], result.calls, world.reads())
    assert [True, True] == [wait >= 2.0 for wait in world.clock.sleeps]


def test_a_screen_size_genesys_refuses_is_halved(world: World) -> None:
    """Genesys takes one id a call here: the screen halves down to single ids and every
    message is still answered by analytics, each request counted in the run's calls."""
    for n in range(3):
        world.send(f"+1555765000{n}")
    world.now.advance(minutes=5)
    world.genesys.token()
    world.stand_in.details.multiget_max = 1
    world.stand_in.clear_requests()
    result = world.poll()
    assert [3, 1, 2, 1, 1] == [len(ids) for ids in screens(world)]
    assert (3, 5, 0) == (result.screen["applied"], result.calls, world.reads())


def test_halving_a_refused_screen_stays_within_the_budget(world: World) -> None:
    """Two calls: the refused screen takes one, its halves would take two, so none is made; the
    last call reads one message's details, the other two wait for the next run."""
    for n in range(3):
        world.send(f"+1555765000{n}")
    world.now.advance(minutes=5)
    world.genesys.token()
    world.stand_in.details.multiget_max = 1
    before = world.genesys.calls
    result = world.poll(max_calls_per_run=2, breaker_failures=2)
    assert ([3], 2) == ([len(ids) for ids in screens(world)][-1:], world.genesys.calls - before)
    assert (2, "budget", 3) == (result.calls, result.stopped, result.screen["not_shown"])
    assert ["delivered", "sent", "sent"] == sorted(world.record(k).status for k in world.keys)
    assert 1 == world.reads()


def send_email(world: World, to: str, timeline: Timeline) -> MessageRecord:
    """A Genesys agentless email sent through the stand-in and recorded as the sender does."""
    from gcnotify.genesys.messaging import agentless_email_body, send_agentless_email

    world.stand_in.messaging.plan(to, timeline)
    key = f"mail:{len(world.keys) + 1}"
    world.keys.append(key)
    when = world.now()
    world.store.accept(NewMessage(key, "email", "case-update", when, address=to))
    world.store.transition(key, ("accepted",), "sending", when)
    body = agentless_email_body(
        from_email="care@example.com", from_name="Care", to_email=to, subject="Case", text="Hi"
    )
    sent = send_agentless_email(world.genesys, body)
    moved = world.store.transition(
        key, ("sending",), "sent", when, message_id=sent.message_id,
        conversation_id=sent.conversation_id, provider="genesys", awaiting="genesys",
        awaiting_since=when.isoformat(),
    )  # fmt: skip
    assert moved.record is not None
    return moved.record


def test_a_genesys_email_is_answered_by_the_screen_alone(world: World) -> None:
    """An agentless email has no message details to read: the screen delivers one, and one
    that failed ends unknown (Genesys keeps no reason for it), neither asked of the reads."""
    delivered = send_email(world, "jo@example.org", QUICK)
    failed = send_email(
        world,
        "al@example.org",
        Timeline(timedelta(seconds=1), "failed", timedelta(seconds=5), code="GeneralError"),
    )
    world.now.advance(minutes=5)
    world.stand_in.clear_requests()
    result = world.poll()
    assert (0, 2, 0, 0) == (world.reads(), result.screen["applied"], result.not_polled,
                            result.unknown_codes)  # fmt: skip
    first, second = world.record(delivered.key), world.record(failed.key)
    assert ("delivered", "DeliverySuccess") == (first.status, first.fields["receipt_code"])
    assert ("unknown", "DeliveryFailed") == (second.status, second.fields["receipt_code"])
    assert "awaiting" not in first.fields
    assert "awaiting" not in second.fields


def test_a_genesys_email_analytics_does_not_show_ages_out(world: World) -> None:
    """Not shown by analytics (or the screen off): no read is made; at final_after, unknown."""
    record = send_email(world, "jo@example.org", Timeline(timedelta(seconds=1), "pending"))
    world.stand_in.messaging.analytics_lag = timedelta(days=30)
    world.now.advance(minutes=5)
    first = world.poll(final_after=timedelta(hours=1))
    assert (1, 1, "sent") == (first.screen["not_shown"], first.not_polled,
                              world.record(record.key).status)  # fmt: skip
    world.now.advance(hours=2)
    world.stand_in.clear_requests()
    second = world.poll(final_after=timedelta(hours=1), analytics_screen=False)
    assert (1, 1, 0) == (second.not_polled, second.unknown_after_final_after, world.reads())
    assert 0 == world.stand_in.count(SCREEN_PATH)
    assert "unknown" == world.record(record.key).status


# ---------------------------------------------------------------- receipts nobody asked for


API = "https://api.mypurecloud.test"


def responses_run(
    rsps: responses.RequestsMock, entities: list[dict[str, Any]]
) -> tuple[PollResult, MessageStore]:
    """Two records sent in conversation c1, the bulk read answering ``entities``, one run."""
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    create_messages_table(dynamodb, "messages")
    store = MessageStore(dynamodb, "messages")
    for key, message_id in (("k1", "m1"), ("k2", "m2")):
        store.accept(NewMessage(key, "sms", "t", START, address="+15557650001"))
        store.transition(key, ("accepted",), "sending", START)
        store.transition(
            key, ("sending",), "sent", START, message_id=message_id, conversation_id="c1",
            awaiting="genesys", awaiting_since=START.isoformat(),
        )  # fmt: skip
    rsps.post(
        "https://login.mypurecloud.test/oauth/token",
        json={"access_token": "tok", "token_type": "bearer", "expires_in": 86400},
    )
    rsps.post(f"{API}/api/v2/conversations/messages/c1/messages/bulk", json={"entities": entities})
    client = GenesysClient(
        login_url="https://login.mypurecloud.test",
        api_url=API,
        client_id="cid",
        client_secret=SECRET,
        session=requests.Session(),
    )
    result = poll(
        store=store,
        reader=ReceiptReader(client),
        settings=ReceiptSettings(),
        suppression=None,
        outbox=None,
        audit=None,
        now=lambda: START + timedelta(minutes=5),
    )
    return result, store


def test_a_receipt_for_a_message_we_never_sent_is_ignored(aws_env: None) -> None:
    """A bulk answer that holds an entity nobody asked for: ignored and counted; the asked
    ones applied."""
    entity = {"status": "delivery-success", "timestamp": "2026-03-02T14:01:00.000Z"}
    with mock_aws(), responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        result, _ = responses_run(rsps, [entity | {"id": i} for i in ("m1", "m2", "not-ours")])
    assert (1, 2, 2) == (result.ignored, result.answered["delivered"], result.calls)


def test_a_status_genesys_adds_later_is_unknown_and_counted(aws_env: None) -> None:
    """A MessageData status the table does not hold, no receipts: unknown, counted, kept out
    of every delivered figure; the other message is applied as usual."""
    with mock_aws(), responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        result, store = responses_run(
            rsps,
            [
                {"id": "m1", "status": "carrier-accepted", "timestamp": "2026-03-02T14:01:00Z"},
                {"id": "m2", "status": "delivery-success", "timestamp": "2026-03-02T14:01:00Z"},
            ],
        )
        first, second = store.get("k1"), store.get("k2")
    assert (1, 1, 1) == (
        result.unknown_codes,
        result.answered["unknown"],
        result.answered["delivered"],
    )
    assert first is not None
    assert second is not None
    assert ("unknown", "carrier-accepted", "delivered") == (
        first.status,
        first.fields["receipt_code"],
        second.status,
    )


def test_a_refused_lost_send_search_leaves_the_other_receipts_to_be_read(world: World) -> None:
    """Without the analytics permission the lost sends cannot be looked for: the run goes on
    reading the other receipts, says why in its error, and the lost sends age out at
    final_after instead of stopping every later run."""
    first_lost = world.send("+15557650001", DELIVERED, lost=True)
    second_lost = world.send("+15557650002", DELIVERED, lost=True)
    normal = world.send("+15557650003", DELIVERED)
    world.now.advance(minutes=5)
    world.stand_in.forbid("/api/v2/analytics/conversations/details/query")
    result = world.poll(final_after=timedelta(hours=1))
    assert (None, 2, 1) == (result.stopped, result.lost["refused"], result.failed_calls)
    assert result.error is not None
    assert "analytics:conversationDetail:view" in result.error
    assert "delivered" == world.record(normal.key).status
    assert ("unknown", "unknown") == (
        world.record(first_lost.key).status,
        world.record(second_lost.key).status,
    )
    world.now.advance(hours=2)
    later = world.poll(final_after=timedelta(hours=1))
    assert (None, 2) == (later.stopped, later.unknown_after_final_after)
    assert all("awaiting" not in world.record(r.key).fields for r in (first_lost, second_lost))
