"""The sender's gate and send, step by step, against the local stack (one stack for the module;
every test uses its own keys and numbers)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gcnotify.aws.once import Once
from gcnotify.aws.queue import QueuedKey
from gcnotify.cli.demo_notify import RESPONSE_ID, NotifyStack, notify_stack, zone_at
from gcnotify.handlers import notify_state
from gcnotify.messaging.intake import take
from gcnotify.messaging.preflight import Preflight
from gcnotify.messaging.sender import Sender, guard_key
from gcnotify.messaging.settings import MessagingSettings
from gcnotify.messaging.transport import Transport

SMS = {"order_id": "ORD-1", "tracking_link": "https://t.example.com/1"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NotifyStack]:
    notify_state.reset()
    saved = dict(os.environ)
    with notify_stack(tmp_path_factory.mktemp("sender")) as running:
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
            os.environ[key] = running.environ[key]
        yield running
    os.environ.clear()
    os.environ.update(saved)
    notify_state.reset()


def make_sender(
    stack: NotifyStack,
    *,
    now: datetime | None = None,
    settings: MessagingSettings | None = None,
    pace: Any = None,
) -> Sender:
    state = notify_state.state(stack.environ)
    genesys, sendgrid = state.providers()
    clock = (lambda: now) if now is not None else (lambda: datetime.now(UTC))
    return Sender(
        settings=settings or state.messaging,
        store=state.store,
        suppression=state.suppression,
        once=Once(state.ledger, now=clock),
        pace=pace or state.pace,
        outbox=state.outbox,
        transport=Transport(settings or state.messaging, genesys=genesys, sendgrid=sendgrid),
        now=clock,
        sleep=lambda seconds: None,
        preflight=Preflight(genesys),
    )


def accept(stack: NotifyStack, request: dict[str, Any]) -> None:
    state = notify_state.state(stack.environ)
    outcome = take(
        request,
        settings=state.messaging,
        store=state.store,
        outbox=state.outbox,
        now=datetime.now(UTC),
        source="test",
    )
    assert outcome.status == "accepted", outcome.problems


def sms(key: str, to: str, **changes: Any) -> dict[str, Any]:
    day = zone_at(datetime.now(UTC), range(10, 19))
    base = {"template": "order-shipped", "to": to, "key": key, "variables": SMS, "timezone": day}
    return base | changes


def status(stack: NotifyStack, key: str) -> str:
    record = notify_state.state(stack.environ).store.get(key)
    assert record is not None
    return record.status


def test_a_key_without_a_record_or_already_final_sends_nothing(stack: NotifyStack) -> None:
    sender = make_sender(stack)
    assert sender.process(QueuedKey("never-taken")).kind == "missing"
    accept(stack, sms("final-1", "+13175550301"))
    assert sender.process(QueuedKey("final-1")).kind == "sent"
    again = sender.process(QueuedKey("final-1"))
    assert (again.kind, again.detail) == ("done", "already sent")


def test_a_request_past_its_expiry_is_expired(stack: NotifyStack) -> None:
    soon = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    accept(stack, sms("exp-1", "+13175550302", expires_at=soon))
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert make_sender(stack, now=later).process(QueuedKey("exp-1")).kind == "expired"
    assert status(stack, "exp-1") == "expired"


def test_not_before_defers_and_a_not_before_past_expiry_expires(stack: NotifyStack) -> None:
    now = datetime.now(UTC)
    accept(stack, sms("nb-1", "+13175550303", not_before=(now + timedelta(hours=1)).isoformat()))
    step = make_sender(stack).process(QueuedKey("nb-1"))
    assert (step.kind, status(stack, "nb-1")) == ("deferred", "deferred")
    # Past expire_after (24 h) by the time not_before comes: expired, never sent.
    late = now + timedelta(hours=30)
    accept(stack, sms("nb-2", "+13175550304", not_before=late.isoformat()))
    assert make_sender(stack).process(QueuedKey("nb-2")).kind == "expired"


def test_a_record_left_sending_without_a_claim_is_sent(stack: NotifyStack) -> None:
    accept(stack, sms("resume-1", "+13175550305"))
    state = notify_state.state(stack.environ)
    state.store.transition("resume-1", ("accepted",), "sending", datetime.now(UTC))
    assert make_sender(stack).process(QueuedKey("resume-1")).kind == "sent"
    history = [entry.status for entry in state.store.get("resume-1").history]  # type: ignore[union-attr]
    assert history == ["accepted", "sending", "failed_temporary", "sending", "sent"]


def test_a_send_the_guard_already_holds_is_recorded_not_repeated(stack: NotifyStack) -> None:
    accept(stack, sms("guarded-1", "+13175550306"))
    state = notify_state.state(stack.environ)
    now = datetime.now(UTC)
    state.store.transition("guarded-1", ("accepted",), "sending", now)
    claim = state.ledger.claim(guard_key("guarded-1"), owner="w", now=now, lease_until=now)
    assert claim.won
    state.ledger.mark_sent(guard_key("guarded-1"), owner="w", now=now, message_id="m-1")
    before = len(stack.genesys.messaging.sent)
    assert make_sender(stack).process(QueuedKey("guarded-1")).kind == "sent"
    assert len(stack.genesys.messaging.sent) == before
    assert notify_state.state(stack.environ).store.get("guarded-1").fields["message_id"] == "m-1"  # type: ignore[union-attr]


def test_a_full_pace_requeues_with_the_delay_it_gives(stack: NotifyStack) -> None:
    class Full:
        retry_in_seconds = 7

    class Busy:
        def reserve(self, channel: str, rate: int, **kwargs: Any) -> Full:
            return Full()

    accept(stack, sms("paced-1", "+13175550307"))
    step = make_sender(stack, pace=Busy()).process(QueuedKey("paced-1"))
    assert (step.kind, status(stack, "paced-1")) == ("paced", "accepted")
    assert "back in 7 s" in step.detail


def test_a_failed_preflight_holds_the_template(stack: NotifyStack) -> None:
    stack.genesys.messaging.add_response(
        RESPONSE_ID, name="shipping_update", substitutions={"order_id": None, "eta": None}
    )
    try:
        request = {
            "template": "shipping-whatsapp",
            "to": "+13175550308",
            "key": "pre-1",
            "variables": {"order_id": "1"},
            "timezone": zone_at(datetime.now(UTC), range(10, 19)),
        }
        accept(stack, request)
        sender = make_sender(stack)
        step = sender.process(QueuedKey("pre-1"))
        assert step.kind == "held"
        assert "eta" in step.detail
        assert status(stack, "pre-1") == "accepted"
        assert sender.preflight is not None
    finally:
        stack.genesys.messaging.add_response(
            RESPONSE_ID, name="shipping_update", substitutions={"order_id": None}
        )


def test_a_long_retry_after_requeues_as_retrying(stack: NotifyStack) -> None:
    accept(stack, sms("throttled-1", "+13175550309"))
    stack.genesys.messaging.throttle(3, retry_after=120)
    step = make_sender(stack).process(QueuedKey("throttled-1"))
    assert (step.kind, step.retry_in) == ("retrying", None)
    assert "back in 120 s" in step.detail
    assert status(stack, "throttled-1") == "failed_temporary"
    stack.genesys.clear_faults()


def test_a_server_error_before_the_last_receive_backs_off(stack: NotifyStack) -> None:
    accept(stack, sms("busy-1", "+13175550310"))
    stack.genesys.fail_next("/api/v2/conversations/messages/agentless", 503, times=20)
    sender = make_sender(stack)
    step = sender.process(QueuedKey("busy-1"), receive_count=2)
    stack.genesys.clear_faults()
    assert (step.kind, step.retry_in) == ("failed_temporary", 20)
    assert sender.process(QueuedKey("busy-1"), receive_count=3).kind == "sent"


def test_email_through_genesys_agentless_email(stack: NotifyStack) -> None:
    state = notify_state.state(stack.environ)
    from dataclasses import replace

    from gcnotify.messaging.settings import EmailSender

    senders = replace(state.messaging.senders, email=EmailSender("genesys", "n@example.com"))
    settings = replace(state.messaging, senders=senders)
    request = {
        "template": "chat-followup",
        "to": "sam@example.com",
        "key": "gmail-1",
        "variables": {"name": "Sam", "brand": "Example"},
        "timezone": zone_at(datetime.now(UTC), range(10, 19)),
    }
    accept(stack, request)
    assert make_sender(stack, settings=settings).process(QueuedKey("gmail-1")).kind == "sent"
    (mail,) = [m for m in stack.genesys.messaging.sent if m["to"] == "sam@example.com"]
    assert mail["body"]["toAddresses"] == [{"email": "sam@example.com"}]
    assert mail["body"]["fromAddress"]["name"] == "n@example.com"


def test_a_record_without_its_request_fails_permanently(stack: NotifyStack) -> None:
    state = notify_state.state(stack.environ)
    accept(stack, sms("broken-1", "+13175550311"))
    state.store.transition("broken-1", ("accepted",), "deferred", datetime.now(UTC), request="{")
    assert make_sender(stack).process(QueuedKey("broken-1")).kind == "failed_permanent"


def test_a_deferral_records_when_the_message_may_go(stack: NotifyStack) -> None:
    now = datetime.now(UTC)
    until = now + timedelta(hours=2)
    accept(stack, sms("hop-1", "+13175550312", not_before=until.isoformat()))
    step = make_sender(stack).process(QueuedKey("hop-1", attempt=3))
    assert step.kind == "deferred"
    record = notify_state.state(stack.environ).store.get("hop-1")
    assert record is not None
    assert record.fields["deferred_until"] == until.isoformat()


# -- what the receipts read ----------------------------------------------------------------------


def record_of(stack: NotifyStack, key: str) -> Any:
    found = notify_state.state(stack.environ).store.get(key)
    assert found is not None
    return found


def test_a_send_records_its_day_deadline_and_awaited_provider(stack: NotifyStack) -> None:
    """sending sets sent_day/sent_at/send_by; sent puts the record in the awaiting index."""
    before = datetime.now(UTC)
    accept(stack, sms("await-1", "+13175550313"))
    assert make_sender(stack).process(QueuedKey("await-1")).kind == "sent"
    found = record_of(stack, "await-1")
    sent_at = datetime.fromisoformat(found.fields["sent_at"])
    send_by = datetime.fromisoformat(found.fields["send_by"])
    since = datetime.fromisoformat(found.fields["awaiting_since"])
    assert (sent_at.date().isoformat(), "genesys", "genesys") == (
        found.fields["sent_day"],
        found.fields["awaiting"],
        found.fields["provider"],
    )
    assert before <= sent_at <= since <= datetime.now(UTC)
    assert timedelta(hours=23) < send_by - sent_at <= timedelta(hours=24)  # expire_after PT24H
    state = notify_state.state(stack.environ)
    waiting = state.store.awaiting("genesys", sent_before=datetime.now(UTC) + timedelta(1))
    assert "await-1" in [r.key for r in waiting.records]
    assert "await-1" in [r.key for r in state.store.sent_on(sent_at.date()).records]


def test_an_email_through_sendgrid_awaits_sendgrid(stack: NotifyStack) -> None:
    """The SendGrid webhook's receipts are owed for notification emails."""
    request = {
        "template": "chat-followup",
        "to": "await@example.com",
        "key": "await-mail-1",
        "variables": {"name": "Sam", "brand": "Example"},
        "timezone": zone_at(datetime.now(UTC), range(10, 19)),
    }
    accept(stack, request)
    assert make_sender(stack).process(QueuedKey("await-mail-1")).kind == "sent"
    assert "sendgrid" == record_of(stack, "await-mail-1").fields["awaiting"]


def test_an_unknown_outcome_awaits_its_provider(stack: NotifyStack) -> None:
    """A lost answer is unknown, and still in the awaiting index: a receipt may resolve it."""
    accept(stack, sms("await-lost-1", "+13175550314"))
    stack.genesys.messaging.lose_next(1)
    try:
        step = make_sender(stack).process(QueuedKey("await-lost-1"))
    finally:
        stack.genesys.clear_faults()
    found = record_of(stack, "await-lost-1")
    assert ("unknown", "unknown", "genesys") == (step.kind, found.status, found.fields["awaiting"])


def test_a_second_attempt_sends_under_its_own_guard_key(stack: NotifyStack) -> None:
    """attempt 2 (a receipt's retry) is msg#<key>#2: sent though msg#<key> holds a send; the
    first attempt's day stays, its receipt is cleared."""
    state = notify_state.state(stack.environ)
    accept(stack, sms("retry-1", "+13175550315"))
    assert make_sender(stack).process(QueuedKey("retry-1")).kind == "sent"
    first = record_of(stack, "retry-1")
    now = datetime.now(UTC)
    state.store.transition(
        "retry-1",
        {"sent"},
        "failed_temporary",
        now,
        detail="receipt genesys:RateLimited",
        attempt=2,
        receipt_class="failed_temporary",
        receipt_code="RateLimited",
        awaiting=None,
        awaiting_since=None,
    )
    sent_before = len([m for m in stack.genesys.messaging.sent if m["to"] == "+13175550315"])
    step = make_sender(stack).process(QueuedKey("retry-1", attempt=2))
    again = record_of(stack, "retry-1")
    sends = [m for m in stack.genesys.messaging.sent if m["to"] == "+13175550315"]
    assert (1, "sent", 2) == (sent_before, step.kind, len(sends))
    assert state.ledger.lookup(guard_key("retry-1", 2)) is not None
    assert (first.fields["sent_day"], first.fields["sent_at"]) == (
        again.fields["sent_day"],
        again.fields["sent_at"],
    )
    assert "receipt_code" not in again.fields
    assert "genesys" == again.fields["awaiting"]
    assert again.fields["message_id"] != first.fields["message_id"]
    # A redelivery of attempt 2 sends nothing more: its own guard holds it.
    assert make_sender(stack).process(QueuedKey("retry-1", attempt=2)).kind == "done"


def test_guard_keys_of_attempts() -> None:
    """Attempt 1 keeps the key every earlier send used; later ones get a suffix."""
    assert ("msg#k", "msg#k", "msg#k#2", "msg#k#3") == (
        guard_key("k"),
        guard_key("k", 1),
        guard_key("k", 2),
        guard_key("k", 3),
    )


def test_a_receipts_retry_goes_out_once_more_and_never_again(stack: NotifyStack) -> None:
    """RateLimited from a receipt: apply queues attempt 2, the sender sends it once, and a
    delivered receipt for it ends the record delivered; a redelivery sends nothing."""
    from gcnotify.receipts import ReceiptSettings, apply_receipt, classify_genesys_status

    state = notify_state.state(stack.environ)
    accept(stack, sms("receipt-retry-1", "+13175550316"))
    assert make_sender(stack).process(QueuedKey("receipt-retry-1")).kind == "sent"
    applied = apply_receipt(
        record_of(stack, "receipt-retry-1"),
        classify_genesys_status("Failed", [("RateLimited", "slow down")]),
        store=state.store,
        suppression=state.suppression,
        settings=ReceiptSettings(),
        now=datetime.now(UTC),
        source="test",
    )
    assert (applied.outcome, applied.attempt) == ("retry", 2)
    sender = make_sender(stack)
    assert sender.process(QueuedKey("receipt-retry-1", attempt=applied.attempt)).kind == "sent"
    assert sender.process(QueuedKey("receipt-retry-1", attempt=applied.attempt)).kind == "done"
    sends = [m for m in stack.genesys.messaging.sent if m["to"] == "+13175550316"]
    delivered = apply_receipt(
        record_of(stack, "receipt-retry-1"),
        classify_genesys_status("Delivered", final=True),
        store=state.store,
        suppression=state.suppression,
        settings=ReceiptSettings(),
        now=datetime.now(UTC),
        source="test",
    )
    assert (len(sends), delivered.status) == (2, "delivered")
    statuses = [h.status for h in record_of(stack, "receipt-retry-1").history]
    assert statuses[-5:] == ["sent", "failed_temporary", "sending", "sent", "delivered"]
