"""The exactly-once guard's rules, and its fault table against moto.

Faults: concurrent claims, a claim whose answer is lost (the SDK retries it), a crash after
the claim, a lost provider answer, the ledger failing after the send, the table unreachable.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from gcnotify.aws.ledger import Ledger, LedgerRecord, create_ledger_table
from gcnotify.aws.once import LEASE_MARGIN, Blocked, Once, Sent, interpret
from gcnotify.core.errors import GcnotifyError, LedgerError, SendGridOutcomeUnknownError
from gcnotify.devserver.moto_server import SerializedMotoServer
from tests.aws.support import dynamodb_client
from tests.support import DropProxy

NOW = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
DEADLINE = NOW + timedelta(minutes=4)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


class Sender:
    """A send function that counts its calls and can fail."""

    def __init__(self, error: Exception | None = None) -> None:
        self.calls = 0
        self.error = error

    def __call__(self) -> str:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return f"msg-{self.calls}"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def once(ledger: Ledger, clock: Clock) -> Once:
    return Once(ledger, now=clock)


def test_a_first_send_goes_out_and_is_recorded(once: Once, ledger: Ledger) -> None:
    """No record: the send runs once and its message id is stored."""
    send = Sender()
    assert Sent("msg-1") == once.send("k", send, deadline=DEADLINE)
    record = ledger.lookup("k")
    assert record is not None
    assert ("sent", "msg-1") == (record.status, record.message_id)


def test_already_sent_answers_without_calling_anything(once: Once, ledger: Ledger) -> None:
    """A sent key: check costs one read; send never calls the provider."""
    once.send("k", Sender(), deadline=DEADLINE)
    calls = ledger.calls
    blocked = once.check("k")
    assert isinstance(blocked, Blocked)
    assert ("already_sent", "msg-1", calls + 1) == (
        blocked.status,
        blocked.message_id,
        ledger.calls,
    )
    again = Sender()
    outcome = once.send("k", again, deadline=DEADLINE)
    assert isinstance(outcome, Blocked)
    assert (0, "already_sent") == (again.calls, outcome.status)


def test_a_live_claim_is_left_alone(once: Once, ledger: Ledger, clock: Clock) -> None:
    """Another run's claim within its lease: in_progress, not already_sent, nothing sent."""
    ledger.claim("k", owner="other", now=NOW, lease_until=DEADLINE)
    clock.now = NOW + timedelta(minutes=1)
    send = Sender()
    outcome = once.send("k", send, deadline=DEADLINE)
    assert isinstance(outcome, Blocked)
    assert ("in_progress", 0, None) == (outcome.status, send.calls, outcome.message_id)


def test_a_crash_after_the_claim_is_unknown_once_the_lease_ends(
    once: Once, ledger: Ledger, clock: Clock
) -> None:
    """The claiming process died: after its lease the key reads unknown and is never re-sent."""
    ledger.claim("k", owner="crashed", now=NOW, lease_until=DEADLINE + LEASE_MARGIN)
    clock.now = DEADLINE + LEASE_MARGIN + timedelta(seconds=1)
    send = Sender()
    outcome = once.send("k", send, deadline=clock.now + timedelta(minutes=5))
    assert isinstance(outcome, Blocked)
    assert ("unknown", 0) == (outcome.status, send.calls)
    assert "force" in outcome.note


def test_the_lease_follows_the_deadline(once: Once, ledger: Ledger) -> None:
    """The claim's lease is the invocation's deadline plus a margin, not a fixed time."""
    once.send("k", Sender(), deadline=DEADLINE)
    record = ledger.lookup("k")
    assert record is not None
    assert DEADLINE + LEASE_MARGIN == record.lease_until


def test_a_lost_provider_answer_is_unknown_and_never_resent(once: Once, ledger: Ledger) -> None:
    """The provider may have accepted it: recorded unknown, the error propagates, no re-send."""
    with pytest.raises(SendGridOutcomeUnknownError):
        once.send("k", Sender(SendGridOutcomeUnknownError("read timeout")), deadline=DEADLINE)
    record = ledger.lookup("k")
    assert record is not None
    assert ("unknown", "read timeout") == (record.status, record.error)
    send = Sender()
    outcome = once.send("k", send, deadline=DEADLINE)
    assert isinstance(outcome, Blocked)
    assert ("unknown", 0) == (outcome.status, send.calls)


def test_a_failed_send_may_be_retried(once: Once, ledger: Ledger) -> None:
    """A certain failure frees the key: the next run sends; attempts count both."""
    with pytest.raises(GcnotifyError):
        once.send("k", Sender(GcnotifyError("400 bad request")), deadline=DEADLINE)
    assert Sent("msg-1") == once.send("k", Sender(), deadline=DEADLINE)
    record = ledger.lookup("k")
    assert record is not None
    assert (2, "sent") == (record.attempts, record.status)


def test_a_bug_in_the_send_counts_as_failed(once: Once, ledger: Ledger) -> None:
    """An unexpected exception before the request is a failure, and it propagates."""
    with pytest.raises(ZeroDivisionError):
        once.send("k", Sender(ZeroDivisionError()), deadline=DEADLINE)
    record = ledger.lookup("k")
    assert record is not None
    assert ("failed", "unexpected ZeroDivisionError") == (record.status, record.error)


def test_force_sends_again_on_purpose(once: Once) -> None:
    """force re-sends a sent key."""
    once.send("k", Sender(), deadline=DEADLINE)
    send = Sender()
    assert Sent("msg-1") == once.send("k", send, deadline=DEADLINE, force=True)
    assert 1 == send.calls


def test_records_without_a_lease_use_the_old_fixed_lease() -> None:
    """A claim written before leases were stored is live for 15 minutes after claimed_at."""
    record = LedgerRecord(key="k", status="in_progress", claimed_at=NOW)
    live = interpret(record, NOW + timedelta(minutes=14))
    stale = interpret(record, NOW + timedelta(minutes=16))
    assert ("in_progress", "unknown") == (
        live.status if live else None,
        stale.status if stale else None,
    )


def test_a_failed_record_does_not_block() -> None:
    """failed means certainly not sent: nothing blocks the next attempt."""
    assert interpret(LedgerRecord(key="k", status="failed"), NOW) is None


# --- faults over real sockets: a moto server behind a proxy that loses answers -------------


@pytest.fixture
def served() -> Iterator[tuple[DropProxy, Callable[[int], Ledger]]]:
    server = SerializedMotoServer()
    server.start()
    proxy = DropProxy(server.url)
    table = f"ledger-{uuid.uuid4().hex[:8]}"  # moto's backends outlive one server

    def ledger(max_attempts: int = 3) -> Ledger:
        client = dynamodb_client(proxy.url, max_attempts, connect_timeout=2, read_timeout=5)
        return Ledger(client, table)

    create_ledger_table(ledger()._client, table)
    try:
        yield proxy, ledger
    finally:
        proxy.close()
        server.stop()


def test_a_claim_whose_answer_was_lost_is_still_ours(
    served: tuple[DropProxy, Callable[[int], Ledger]],
) -> None:
    """DynamoDB applied the claim, the answer was lost, the SDK retried: the send goes out."""
    proxy, make = served
    ledger = make(3)
    proxy.drop("UpdateItem", 1)
    send = Sender()
    outcome = Once(ledger, now=lambda: NOW).send("k", send, deadline=DEADLINE)
    assert (["DynamoDB_20120810.UpdateItem"], Sent("msg-1"), 1) == (
        proxy.dropped,
        outcome,
        send.calls,
    )
    record = ledger.lookup("k")
    assert record is not None
    assert ("sent", 1) == (record.status, record.attempts)


def test_concurrent_sends_go_out_once(served: tuple[DropProxy, Callable[[int], Ledger]]) -> None:
    """Eight runs claim one key at once: one sends, the others see a live claim or the send."""
    _, make = served
    ledger = make(3)
    barrier = threading.Barrier(8)
    send = Sender()
    statuses: list[str] = []

    def run() -> None:
        barrier.wait()
        outcome = Once(ledger, now=lambda: NOW).send("k", send, deadline=DEADLINE)
        statuses.append("sent" if isinstance(outcome, Sent) else outcome.status)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 1 == send.calls
    assert 1 == statuses.count("sent")
    assert set(statuses) <= {"sent", "in_progress", "already_sent"}


def test_an_unreachable_table_is_our_error_and_nothing_is_sent(
    served: tuple[DropProxy, Callable[[int], Ledger]],
) -> None:
    """Connections closed by the endpoint: LedgerError (never AttributeError), no send."""
    proxy, make = served
    ledger = make(2)
    proxy.down = True
    once = Once(ledger, now=lambda: NOW)
    with pytest.raises(LedgerError, match="could not be read"):
        once.check("k")
    send = Sender()
    with pytest.raises(LedgerError, match="could not record the claim"):
        once.send("k", send, deadline=DEADLINE)
    assert 0 == send.calls


def test_a_ledger_lost_after_the_send_is_never_a_second_send(
    served: tuple[DropProxy, Callable[[int], Ledger]],
) -> None:
    """The send happened, recording it failed: the claim stays, later runs do not re-send."""
    proxy, make = served
    ledger = make(1)  # no SDK retry: the lost mark_sent answer is a failure
    once = Once(ledger, now=lambda: NOW)

    def send_then_break() -> str:
        proxy.down = True
        return "msg-1"

    outcome = once.send("k", send_then_break, deadline=DEADLINE)
    assert isinstance(outcome, Sent)
    assert outcome.note is not None
    assert "could not record" in outcome.note
    proxy.down = False
    later = Sender()
    blocked = Once(ledger, now=lambda: NOW + timedelta(minutes=1)).send(
        "k", later, deadline=DEADLINE
    )
    assert isinstance(blocked, Blocked)
    assert ("in_progress", 0) == (blocked.status, later.calls)
    after_lease = Once(ledger, now=lambda: DEADLINE + LEASE_MARGIN + timedelta(seconds=1))
    stale = after_lease.send("k", later, deadline=DEADLINE + timedelta(hours=1))
    assert isinstance(stale, Blocked)
    assert ("unknown", 0) == (stale.status, later.calls)
