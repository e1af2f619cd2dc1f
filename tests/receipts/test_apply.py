"""apply_receipt against moto: how each receipt moves a record, feeds suppression and retries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import time_machine
from moto import mock_aws

from gcnotify.aws.messages import (
    FieldValue,
    MessageRecord,
    MessageStatus,
    MessageStore,
    NewMessage,
    Transition,
    create_messages_table,
)
from gcnotify.aws.queue import Outbox
from gcnotify.aws.suppression import SuppressionTable, create_suppression_table
from gcnotify.core.errors import MessageStoreError, QueueError
from gcnotify.receipts import (
    Applied,
    Receipt,
    ReceiptSettings,
    apply_receipt,
    classify_genesys_status,
    classify_sendgrid,
    no_final_receipt,
)
from gcnotify.receipts.apply import MAX_ATTEMPTS, retry_delay

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
SENT_AT = NOW - timedelta(minutes=30)
PHONE = "+13175550100"
SETTINGS = ReceiptSettings()


@dataclass
class Stack:
    """The messages and suppression tables and the outbox queue, on one moto account."""

    store: MessageStore
    suppression: SuppressionTable
    outbox: Outbox
    sqs: Any

    def apply(
        self,
        record: MessageRecord,
        receipt: Receipt,
        *,
        settings: ReceiptSettings = SETTINGS,
        now: datetime = NOW,
        outbox: Outbox | None = None,
        **kwargs: Any,
    ) -> Applied:
        return apply_receipt(
            record,
            receipt,
            store=self.store,
            suppression=self.suppression,
            settings=settings,
            now=now,
            source="poll",
            outbox=outbox if outbox is not None else self.outbox,
            **kwargs,
        )

    def get(self, key: str) -> MessageRecord:
        found = self.store.get(key)
        assert found is not None
        return found

    def queue_counts(self) -> tuple[int, int]:
        """(visible, delayed) messages in the outbox."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"]
        got = self.sqs.get_queue_attributes(QueueUrl=self.outbox.queue_url, AttributeNames=names)
        attributes = got["Attributes"]
        return int(attributes[names[0]]), int(attributes[names[1]])


@pytest.fixture
def stack(aws_env: None) -> Iterator[Stack]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        create_messages_table(dynamodb, "messages")
        create_suppression_table(dynamodb, "suppression")
        url = sqs.create_queue(QueueName="outbox")["QueueUrl"]
        yield Stack(
            MessageStore(dynamodb, "messages"),
            SuppressionTable(dynamodb, "suppression"),
            Outbox(sqs, url),
            sqs,
        )


def sent(
    stack: Stack,
    key: str,
    *,
    channel: str = "sms",
    address: str = PHONE,
    provider: str = "genesys",
    status: MessageStatus = "sent",
    send_by: datetime | None = NOW + timedelta(hours=23),
    **extra: FieldValue,
) -> MessageRecord:
    """A record as the sender leaves it after a send: in the awaiting index."""
    store = stack.store
    store.accept(NewMessage(key, channel, "order-shipped", SENT_AT, address=address))
    store.transition(
        key,
        {"accepted"},
        "sending",
        SENT_AT,
        sent_day=SENT_AT.date().isoformat(),
        sent_at=SENT_AT.isoformat(),
        send_by=send_by.isoformat() if send_by is not None else None,
    )
    moved = store.transition(
        key,
        {"sending"},
        status,
        SENT_AT,
        message_id=f"m-{key}",
        provider=provider,
        awaiting=provider,
        awaiting_since=SENT_AT.isoformat(),
        detail="accepted by the provider",
        expected_version=None,
        **extra,
    )
    assert moved.record is not None
    return moved.record


def genesys(status: str, *reasons: str, at: datetime = NOW, final: bool | None = None) -> Receipt:
    return classify_genesys_status(status, [(r, f"{r} text") for r in reasons], at=at, final=final)


def awaited(stack: Stack, provider: str = "genesys") -> list[str]:
    return [r.key for r in stack.store.awaiting(provider).records]


# -- moving a record ---------------------------------------------------------------------------


def test_delivered_after_sent_moves_it_and_ends_the_wait(stack: Stack) -> None:
    """sent → delivered with the receipt's fields; a final receipt leaves the awaiting index."""
    record = sent(stack, "k1")
    applied = stack.apply(record, genesys("Delivered", final=True))
    after = stack.get("k1")
    assert ("moved", "delivered", None) == (applied.outcome, applied.status, applied.suppressed)
    assert {
        "receipt_class": "delivered",
        "receipt_code": "Delivered",
        "receipt_at": NOW.isoformat(),
        "receipt_provider": "genesys",
        "receipt_final": True,
        "receipt_source": "poll",
        "delivered_at": NOW.isoformat(),
    }.items() <= dict(after.fields).items()
    assert ("awaiting" not in after.fields, []) == (True, awaited(stack))
    assert "poll: genesys Delivered (delivered) moved it to delivered" == after.history[-1].detail


def test_a_non_final_receipt_keeps_the_wait(stack: Stack) -> None:
    """Delivered, another receipt to come (a read): delivered and still awaited."""
    record = sent(stack, "k2")
    applied = stack.apply(record, genesys("Delivered", final=False))
    assert ("moved", "delivered", ["k2"]) == (applied.outcome, applied.status, awaited(stack))


def test_read_after_delivered(stack: Stack) -> None:
    """delivered → read; delivered_at stays the first delivery's time."""
    record = sent(stack, "k3")
    stack.apply(record, genesys("Delivered", final=False, at=NOW - timedelta(minutes=5)))
    applied = stack.apply(stack.get("k3"), genesys("Read", at=NOW))
    after = stack.get("k3")
    assert ("moved", "read", (NOW - timedelta(minutes=5)).isoformat(), []) == (
        applied.outcome,
        after.status,
        after.fields["delivered_at"],
        awaited(stack),
    )


def test_a_failure_after_delivered_is_stale(stack: Stack) -> None:
    """A bounce after delivery never undoes it: stale, nothing written."""
    record = sent(stack, "k4", channel="email", address="a@example.com", provider="sendgrid")
    stack.apply(record, genesys("Delivered", final=True))
    before = stack.get("k4")
    bounce = classify_sendgrid({"event": "bounce", "type": "blocked", "timestamp": 1})
    assert bounce is not None
    applied = stack.apply(before, bounce)
    assert ("stale", "delivered", before.version) == (
        applied.outcome,
        stack.get("k4").status,
        stack.get("k4").version,
    )


def test_pending_keeps_a_record_sent(stack: Stack) -> None:
    """SendGrid processed: the record stays sent, its receipt class pending; then delivered."""
    record = sent(stack, "k5", channel="email", address="a@example.com", provider="sendgrid")
    processed = classify_sendgrid({"event": "processed", "timestamp": int(NOW.timestamp())})
    assert processed is not None
    applied = stack.apply(record, processed)
    after = stack.get("k5")
    assert ("updated", "sent", "pending", ["k5"]) == (
        applied.outcome,
        after.status,
        after.fields["receipt_class"],
        awaited(stack, "sendgrid"),
    )
    assert "sent" == after.history[-1].status


def test_the_same_receipt_twice_changes_nothing(stack: Stack) -> None:
    """A poll that sees the same status again writes nothing."""
    record = sent(stack, "k6")
    stack.apply(record, genesys("Sent"))
    again = stack.get("k6")
    applied = stack.apply(again, genesys("Sent"))
    assert ("unchanged", again.version) == (applied.outcome, stack.get("k6").version)


# -- time order ---------------------------------------------------------------------------------


def test_an_older_receipt_never_overrides_a_newer_one(stack: Stack) -> None:
    """unknown code at t2, then Sent at t1: stale; a delivery at t0 still refines the unknown."""
    record = sent(stack, "k7")
    t0, t1, t2 = NOW - timedelta(minutes=3), NOW - timedelta(minutes=2), NOW - timedelta(minutes=1)
    first = stack.apply(record, genesys("delivery-pushed", at=t2))
    old_sent = stack.apply(stack.get("k7"), genesys("Sent", at=t1))
    delivered = stack.apply(stack.get("k7"), genesys("Delivered", at=t0, final=True))
    assert (
        ("moved", "unknown"),
        ("stale", "unknown"),
        ("moved", "delivered"),
    ) == (
        (first.outcome, first.status),
        (old_sent.outcome, old_sent.status),
        (delivered.outcome, delivered.status),
    )


def test_an_older_final_receipt_overrides_a_newer_non_final_one(stack: Stack) -> None:
    """Sent at t2 (not final), Failed at t1 (final): the failure stands."""
    record = sent(stack, "k8")
    stack.apply(record, genesys("Sent", at=NOW))
    applied = stack.apply(
        stack.get("k8"), genesys("Failed", "DataFiltered", at=NOW - timedelta(minutes=1))
    )
    assert ("moved", "failed_permanent") == (applied.outcome, applied.status)


def test_a_lower_progress_receipt_is_stale_whatever_its_time(stack: Stack) -> None:
    """pending after sent is stale even when its time is later."""
    record = sent(stack, "k9")
    stack.apply(record, genesys("Sent", at=NOW - timedelta(minutes=1)))
    applied = stack.apply(stack.get("k9"), genesys("queued", at=NOW))
    assert "stale" == applied.outcome


# -- unknown codes --------------------------------------------------------------------------


def test_an_unknown_code_is_unknown_then_a_later_delivery_refines_it(stack: Stack) -> None:
    """A reason the table lacks: unknown, still awaited; a later Delivered: delivered, done."""
    record = sent(stack, "k10")
    unknown = genesys("Failed", "CarrierSaidNo", at=NOW - timedelta(minutes=1), final=False)
    first = stack.apply(record, unknown)
    waiting = awaited(stack)
    then = stack.apply(stack.get("k10"), genesys("Delivered", final=True))
    after = stack.get("k10")
    assert ("moved", "unknown", ["k10"]) == (first.outcome, first.status, waiting)
    assert ("moved", "delivered", "Delivered", []) == (
        then.outcome,
        after.status,
        after.fields["receipt_code"],
        awaited(stack),
    )


def test_a_second_unknown_updates_the_record_in_place(stack: Stack) -> None:
    """unknown → unknown is no move: the fields and history change, the status stays."""
    record = sent(stack, "k11")
    stack.apply(record, genesys("delivery-pushed", at=NOW - timedelta(minutes=1)))
    applied = stack.apply(stack.get("k11"), genesys("Failed", "Mystery", at=NOW, final=False))
    after = stack.get("k11")
    assert ("updated", "unknown", "Mystery", "unknown") == (
        applied.outcome,
        after.status,
        after.fields["receipt_code"],
        after.history[-1].status,
    )


def test_no_final_receipt_in_time_makes_a_sent_record_unknown(stack: Stack) -> None:
    """The poller's final_after receipt: sent → unknown, out of the awaiting index."""
    record = sent(stack, "k12")
    applied = stack.apply(record, no_final_receipt("genesys", timedelta(hours=72), NOW))
    assert ("moved", "unknown", []) == (applied.outcome, applied.status, awaited(stack))


def test_no_final_receipt_in_time_leaves_a_delivery_delivered(stack: Stack) -> None:
    """A delivered record still awaiting a read is not made unknown: it stops waiting."""
    record = sent(stack, "k13")
    stack.apply(record, genesys("Delivered", final=False))
    applied = stack.apply(stack.get("k13"), no_final_receipt("genesys", timedelta(hours=72), NOW))
    assert ("updated", "delivered", []) == (applied.outcome, applied.status, awaited(stack))


# -- suppression ----------------------------------------------------------------------------


def test_recipient_opted_out_suppresses_the_address(stack: Stack) -> None:
    """failed_permanent, and (sms, number) suppressed with the receipt as its source."""
    record = sent(stack, "k14")
    applied = stack.apply(record, genesys("Failed", "RecipientOptedOut"))
    hit = stack.suppression.check("sms", PHONE)
    assert hit is not None
    assert ("moved", "failed_permanent", "opt-out") == (
        applied.outcome,
        applied.status,
        applied.suppressed,
    )
    assert ("receipt:genesys:RecipientOptedOut", True) == (
        hit.source,
        "opted out" in hit.reason,
    )


def test_a_late_spam_report_still_suppresses(stack: Stack) -> None:
    """A spam report after the open: the record stays read, the address is suppressed."""
    record = sent(stack, "k15", channel="email", address="Pat@Example.com", provider="sendgrid")
    opened = classify_sendgrid({"event": "open", "timestamp": int(NOW.timestamp())})
    spam = classify_sendgrid({"event": "spamreport", "timestamp": int(NOW.timestamp()) + 60})
    assert opened is not None
    assert spam is not None
    stack.apply(record, opened)
    applied = stack.apply(stack.get("k15"), spam)
    hit = stack.suppression.check("email", "pat@example.com")
    assert ("stale", "read", "spam-report") == (applied.outcome, applied.status, applied.suppressed)
    assert hit is not None
    assert "receipt:sendgrid:spamreport" == hit.source


def test_without_a_suppression_table_nothing_is_suppressed(stack: Stack) -> None:
    """suppression=None (a caller that only records): the move still happens."""
    record = sent(stack, "k16")
    applied = apply_receipt(
        record,
        genesys("Failed", "InvalidDestination"),
        store=stack.store,
        suppression=None,
        settings=SETTINGS,
        now=NOW,
        source="poll",
    )
    assert ("moved", None, None) == (
        applied.outcome,
        applied.suppressed,
        stack.suppression.check("sms", PHONE),
    )


# -- temporary failures -----------------------------------------------------------------------


def test_a_temporary_failure_is_retried_as_attempt_two(stack: Stack) -> None:
    """RateLimited: failed_temporary, attempt 2, out of the index, queued with its delay."""
    record = sent(stack, "k17")
    applied = stack.apply(record, genesys("Failed", "RateLimited"))
    after = stack.get("k17")
    assert ("retry", "failed_temporary", 2, 2) == (
        applied.outcome,
        after.status,
        after.fields["attempt"],
        applied.attempt,
    )
    assert ("failed_temporary", "RateLimited", []) == (
        after.fields["receipt_class"],
        after.fields["receipt_code"],
        awaited(stack),
    )
    assert (0, 1) == stack.queue_counts()  # delayed, not yet visible
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=retry_delay(2) + 1)):
        got = stack.sqs.receive_message(QueueUrl=stack.outbox.queue_url, WaitTimeSeconds=0)
    (message,) = got["Messages"]
    assert {"key": "k17", "attempt": 2} == json.loads(message["Body"])


def test_without_an_outbox_the_caller_queues_the_retry(stack: Stack) -> None:
    """outbox=None: outcome retry with the attempt to queue; nothing queued here."""
    record = sent(stack, "k18")
    applied = apply_receipt(
        record,
        genesys("Failed", "ServerError"),
        store=stack.store,
        suppression=stack.suppression,
        settings=SETTINGS,
        now=NOW,
        source="webhook",
    )
    assert ("retry", 2, (0, 0)) == (applied.outcome, applied.attempt, stack.queue_counts())


def test_a_temporary_failure_past_the_deadline_ends_permanent(stack: Stack) -> None:
    """Too close to send_by: failed_permanent, the class still failed_temporary, and why."""
    record = sent(stack, "k19", send_by=NOW + timedelta(seconds=30))
    applied = stack.apply(record, genesys("Failed", "GeneralError"))
    after = stack.get("k19")
    assert ("moved", "failed_permanent", "failed_temporary", (0, 0)) == (
        applied.outcome,
        after.status,
        after.fields["receipt_class"],
        stack.queue_counts(),
    )
    assert "not retried: its deadline" in after.history[-1].detail


def test_a_request_expires_at_bounds_the_retry_too(stack: Stack) -> None:
    """Without send_by, the request's own expires_at decides."""
    record = sent(stack, "k20", send_by=None, request_expires_at=(NOW - timedelta(1)).isoformat())
    applied = stack.apply(record, genesys("Failed", "RateLimited"))
    assert ("moved", "failed_permanent") == (applied.outcome, applied.status)


def test_a_record_without_any_deadline_is_not_retried(stack: Stack) -> None:
    """No deadline recorded at all: never re-sent on a guess."""
    record = sent(stack, "k21", send_by=None)
    applied = stack.apply(record, genesys("Failed", "RateLimited"))
    assert "no recorded deadline" in stack.get("k21").history[-1].detail
    assert "failed_permanent" == applied.status


def test_retry_temporary_off_ends_permanent(stack: Stack) -> None:
    """retry_temporary: false: a blocked email is failed_permanent, saying so."""
    record = sent(stack, "k22", channel="email", address="a@example.com", provider="sendgrid")
    blocked = classify_sendgrid({"event": "bounce", "type": "blocked", "timestamp": 1})
    assert blocked is not None
    applied = stack.apply(record, blocked, settings=replace(SETTINGS, retry_temporary=False))
    assert ("moved", "failed_permanent") == (applied.outcome, applied.status)
    assert "retry_temporary is off" in stack.get("k22").history[-1].detail


def test_the_last_attempt_is_not_retried(stack: Stack) -> None:
    """attempt MAX_ATTEMPTS failing again: failed_permanent."""
    record = sent(stack, "k23", attempt=MAX_ATTEMPTS)
    applied = stack.apply(record, genesys("Failed", "RateLimited"))
    assert ("moved", "failed_permanent", MAX_ATTEMPTS) == (
        applied.outcome,
        applied.status,
        applied.attempt,
    )


def test_a_retry_that_cannot_be_queued_is_recorded_and_raised(stack: Stack) -> None:
    """The queue refuses: the record says so (failed_permanent), the error reaches the caller."""
    record = sent(stack, "k24")
    broken = Outbox(stack.sqs, stack.outbox.queue_url + "-gone")
    with pytest.raises(QueueError):
        stack.apply(record, genesys("Failed", "RateLimited"), outbox=broken)
    after = stack.get("k24")
    assert ("failed_permanent", True) == (
        after.status,
        "could not be queued" in after.history[-1].detail,
    )


def test_receipts_for_a_record_waiting_to_retry_change_nothing(stack: Stack) -> None:
    """failed_temporary (a retry queued): the first attempt's later receipts are unchanged."""
    record = sent(stack, "k25")
    stack.apply(record, genesys("Failed", "RateLimited"))
    applied = stack.apply(stack.get("k25"), genesys("Delivered", final=True))
    assert ("unchanged", "failed_temporary") == (applied.outcome, stack.get("k25").status)


# -- which records take receipts -------------------------------------------------------------


def test_a_record_not_sent_yet_takes_no_receipt(stack: Stack) -> None:
    """accepted or sending: unchanged, nothing written."""
    stack.store.accept(NewMessage("k26", "sms", "t", SENT_AT, address=PHONE))
    record = stack.get("k26")
    applied = stack.apply(record, genesys("Delivered"))
    assert ("unchanged", 1) == (applied.outcome, stack.get("k26").version)


def test_a_receipt_for_another_attempts_message_is_stale(stack: Stack) -> None:
    """message_id given and not the record's: stale."""
    record = sent(stack, "k27")
    applied = stack.apply(record, genesys("Delivered"), message_id="m-earlier")
    matching = stack.apply(record, genesys("Delivered"), message_id="m-k27")
    assert ("stale", "moved") == (applied.outcome, matching.outcome)


# -- two workers ------------------------------------------------------------------------------


def test_two_applies_from_one_read_both_land(stack: Stack) -> None:
    """Both workers read version v; the second's write is refused, re-read and applied."""
    record = sent(stack, "k28")
    first = stack.apply(record, genesys("Sent", at=NOW - timedelta(minutes=1)))
    second = stack.apply(record, genesys("Delivered", final=True))  # the stale snapshot
    after = stack.get("k28")
    details = [h.detail for h in after.history[-2:]]
    assert ("updated", "moved", "delivered", record.version + 2) == (
        first.outcome,
        second.outcome,
        after.status,
        after.version,
    )
    assert ["Sent (sent) recorded", "Delivered (delivered) moved it to delivered"] == [
        d.partition(" genesys ")[2] for d in details
    ]


def test_two_failures_from_one_read_suppress_once_and_move_once(stack: Stack) -> None:
    """The same opt-out applied twice from one read: one move, the second unchanged."""
    record = sent(stack, "k29")
    receipt = genesys("Failed", "RecipientOptedOut")
    outcomes = [stack.apply(record, receipt).outcome for _ in range(2)]
    assert (["moved", "unchanged"], "failed_permanent") == (outcomes, stack.get("k29").status)


class BusyStore(MessageStore):
    """The real store, with another writer touching the record before each of our writes."""

    def transition(self, key: str, *args: Any, **kwargs: Any) -> Transition:
        MessageStore.update_fields(self, key, None, NOW, "someone else")
        return super().transition(key, *args, **kwargs)


def test_a_record_that_keeps_changing_is_a_loud_error(stack: Stack) -> None:
    """Three lost races in a row: MessageStoreError saying how the receipt gets applied."""
    record = sent(stack, "k30")
    busy = BusyStore(stack.store._client, stack.store.table)
    with pytest.raises(MessageStoreError, match="changed 3 times"):
        apply_receipt(
            record,
            genesys("Delivered"),
            store=busy,
            suppression=None,
            settings=SETTINGS,
            now=NOW,
            source="poll",
        )
    assert "sent" == stack.get("k30").status
