"""The messages table: requests recorded once, moved only along the status machine."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws

from gcnotify.aws.messages import (
    FINAL,
    RETENTION,
    STATUSES,
    TRANSITIONS,
    HistoryEntry,
    MessageStore,
    NewMessage,
    create_messages_table,
)
from gcnotify.core.errors import MessageStoreError
from gcnotify.devserver.moto_server import SerializedMotoServer
from tests.aws.support import dynamodb_client, unreachable
from tests.support import DropProxy

if TYPE_CHECKING:
    pass

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)


def request(key: str = "ORD-1-shipped", **fields: str | int | bool | None) -> NewMessage:
    return NewMessage(
        key=key,
        channel="sms",
        template="order-shipped",
        received_at=NOW,
        address="+13175550100",
        detail="from the intake queue",
        fields=fields,
    )


@pytest.fixture
def store(aws_env: None) -> Iterator[MessageStore]:
    """A messages store on a fresh moto table."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_messages_table(client, "messages")
        yield MessageStore(client, "messages")


@pytest.fixture
def served() -> Iterator[str]:
    """A serialized moto server's URL (requests applied one at a time, as DynamoDB does)."""
    server = SerializedMotoServer()
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def test_a_new_request_is_recorded_as_accepted(store: MessageStore) -> None:
    """accept writes the record: accepted, one history entry, not a duplicate."""
    outcome = store.accept(request(segments=2))
    record = store.get("ORD-1-shipped")
    assert (False, "accepted") == (outcome.duplicate, outcome.record.status)
    assert record is not None
    assert (
        "sms",
        "order-shipped",
        "+13175550100",
        1,
        (HistoryEntry("accepted", NOW, "from the intake queue"),),
        {"segments": 2},
    ) == (
        record.channel,
        record.template,
        record.address,
        record.version,
        record.history,
        dict(record.fields),
    )


def test_a_repeated_key_is_a_duplicate_and_overwrites_nothing(store: MessageStore) -> None:
    """The second accept of a key answers duplicate with the first record, unchanged."""
    store.accept(request(segments=1))
    second = store.accept(request(segments=9))
    assert (True, {"segments": 1}) == (second.duplicate, dict(second.record.fields))
    record = store.get("ORD-1-shipped")
    assert record is not None
    assert {"segments": 1} == dict(record.fields)


def test_a_rejected_request_is_recorded_final(store: MessageStore) -> None:
    """A request that failed validation is recorded as rejected, a final status."""
    bad = NewMessage("k", "sms", "t", NOW, status="rejected", detail="missing variable order_id")
    outcome = store.accept(bad)
    assert ("rejected", True) == (outcome.record.status, outcome.record.final)


def test_the_record_expires_after_the_retention(store: MessageStore) -> None:
    """expires_at (the TTL attribute) is the acceptance time plus the retention, in epoch s."""
    outcome = store.accept(request())
    assert int((NOW + RETENTION).timestamp()) == outcome.record.expires_at


def test_a_missing_key_reads_as_none(store: MessageStore) -> None:
    """get of a key never recorded is None."""
    assert None is store.get("nope")


def test_a_transition_moves_and_appends_history(store: MessageStore) -> None:
    """accepted → sending: status, version and history advance, fields are set."""
    store.accept(request())
    moved = store.transition(
        "ORD-1-shipped", {"accepted"}, "sending", LATER, detail="gate passed", attempt=1
    )
    assert moved.moved
    assert moved.record is not None
    assert (
        "sending",
        2,
        ("accepted", "sending"),
        HistoryEntry("sending", LATER, "gate passed"),
        1,
    ) == (
        moved.record.status,
        moved.record.version,
        tuple(h.status for h in moved.record.history),
        moved.record.history[-1],
        moved.record.fields["attempt"],
    )


def test_a_transition_refreshes_the_ttl(store: MessageStore) -> None:
    """Each move restarts the retention from its own time."""
    store.accept(request())
    moved = store.transition("ORD-1-shipped", {"accepted"}, "deferred", LATER)
    assert moved.record is not None
    assert int((LATER + RETENTION).timestamp()) == moved.record.expires_at


def test_a_transition_from_another_status_is_refused(store: MessageStore) -> None:
    """A record already sending does not move from accepted: the current record comes back."""
    store.accept(request())
    store.transition("ORD-1-shipped", {"accepted"}, "sending", LATER)
    again = store.transition("ORD-1-shipped", {"accepted"}, "sending", LATER)
    assert again.record is not None
    assert (False, "sending", 2) == (again.moved, again.record.status, len(again.record.history))


def test_a_transition_of_a_missing_key_moves_nothing(store: MessageStore) -> None:
    """No record: not moved, none returned, nothing created."""
    outcome = store.transition("nope", {"accepted"}, "sending", LATER)
    assert (False, None, None) == (outcome.moved, outcome.record, store.get("nope"))


def test_a_stale_version_is_refused(store: MessageStore) -> None:
    """expected_version guards repeatable moves (deferred → deferred) against a second worker."""
    store.accept(request())
    store.transition("ORD-1-shipped", {"accepted"}, "deferred", LATER)
    stale = store.transition("ORD-1-shipped", {"deferred"}, "deferred", LATER, expected_version=1)
    fresh = store.transition("ORD-1-shipped", {"deferred"}, "deferred", LATER, expected_version=2)
    assert (False, True) == (stale.moved, fresh.moved)


def test_a_none_field_removes_it(store: MessageStore) -> None:
    """A field passed as None is removed from the record."""
    store.accept(request(retry_after="30"))
    moved = store.transition("ORD-1-shipped", {"accepted"}, "sending", LATER, retry_after=None)
    assert moved.record is not None
    assert "retry_after" not in moved.record.fields


def test_a_move_the_machine_lacks_is_refused_before_writing(store: MessageStore) -> None:
    """sent → sending would send twice: ValueError, the record untouched."""
    store.accept(request())
    with pytest.raises(ValueError, match="never moves from 'sent' to 'sending'"):
        store.transition("ORD-1-shipped", {"sent"}, "sending", LATER)
    record = store.get("ORD-1-shipped")
    assert record is not None
    assert "accepted" == record.status


def test_a_reserved_field_is_refused(store: MessageStore) -> None:
    """Callers cannot overwrite what the store owns (status, history, …)."""
    store.accept(request())
    with pytest.raises(ValueError, match="reserved"):
        store.transition("ORD-1-shipped", {"accepted"}, "sending", LATER, history="x")


def test_only_a_receipts_retry_leads_a_final_status_back() -> None:
    """No final status moves to a non-final one except sent/unknown → failed_temporary (a
    receipt's temporary failure, re-sent as a new attempt); delivered and read never move back."""
    back = {(s, t) for s in FINAL for t in TRANSITIONS[s] if t not in FINAL}
    assert {("sent", "failed_temporary"), ("unknown", "failed_temporary")} == back
    assert (frozenset({"read"}), frozenset()) == (TRANSITIONS["delivered"], TRANSITIONS["read"])


def sent_record(store: MessageStore, key: str, provider: str | None, since: datetime) -> None:
    """A record taken to sent, in the awaiting index when ``provider`` is given."""
    store.accept(request(key))
    store.transition(key, {"accepted"}, "sending", since, sent_day=since.date().isoformat())
    if provider is None:
        store.transition(key, {"sending"}, "sent", since)
    else:
        store.transition(
            key, {"sending"}, "sent", since, awaiting=provider, awaiting_since=since.isoformat()
        )


def test_read_is_final_and_reached_from_sent_delivered_and_unknown(store: MessageStore) -> None:
    """sent → delivered → read: read is final and goes nowhere."""
    sent_record(store, "r-1", None, NOW)
    store.transition("r-1", {"sent"}, "delivered", LATER)
    moved = store.transition("r-1", {"delivered"}, "read", LATER)
    assert moved.record is not None
    assert (True, "read", True) == (moved.moved, moved.record.status, moved.record.final)
    assert {"sent", "delivered", "unknown"} == {s for s in STATUSES if "read" in TRANSITIONS[s]}


def test_update_fields_writes_without_a_move(store: MessageStore) -> None:
    """Fields set and removed, history appended with the status as it is, version raised."""
    store.accept(request(receipt_text="old"))
    done = store.update_fields(
        "ORD-1-shipped",
        1,
        LATER,
        "receipt genesys:Mystery",
        status="accepted",
        receipt_code="Mystery",
        receipt_text=None,
    )
    assert done.record is not None
    assert (
        True,
        "accepted",
        2,
        HistoryEntry("accepted", LATER, "receipt genesys:Mystery"),
        {"receipt_code": "Mystery"},
    ) == (
        done.moved,
        done.record.status,
        done.record.version,
        done.record.history[-1],
        dict(done.record.fields),
    )


def test_update_fields_is_refused_on_a_stale_version_or_another_status(
    store: MessageStore,
) -> None:
    """Of two writers that read version 1, one writes; a record no longer in status is left."""
    store.accept(request())
    first = store.update_fields("ORD-1-shipped", 1, LATER, receipt_code="a")
    second = store.update_fields("ORD-1-shipped", 1, LATER, receipt_code="b")
    wrong = store.update_fields("ORD-1-shipped", None, LATER, status="sent", receipt_code="c")
    missing = store.update_fields("nope", None, LATER, receipt_code="d")
    assert second.record is not None
    assert (True, False, False, "a", (False, None)) == (
        first.moved,
        second.moved,
        wrong.moved,
        second.record.fields["receipt_code"],
        (missing.moved, missing.record),
    )


def test_update_fields_without_a_status_records_an_update_entry(store: MessageStore) -> None:
    """The history says what happened even when the caller did not name the status."""
    store.accept(request())
    done = store.update_fields("ORD-1-shipped", None, LATER, "noted", attempt=2)
    assert done.record is not None
    assert HistoryEntry("updated", LATER, "noted") == done.record.history[-1]
    with pytest.raises(ValueError, match="reserved"):
        store.update_fields("ORD-1-shipped", None, LATER, version=None)
    with pytest.raises(ValueError, match="unknown message status"):
        store.update_fields("ORD-1-shipped", None, LATER, status="gone")  # type: ignore[arg-type]


def test_awaiting_lists_one_providers_waiting_messages_oldest_first(store: MessageStore) -> None:
    """Only records with awaiting set, of that provider, by awaiting_since; sent_before bounds."""
    sent_record(store, "g-2", "genesys", NOW + timedelta(minutes=2))
    sent_record(store, "g-1", "genesys", NOW)
    sent_record(store, "s-1", "sendgrid", NOW)
    sent_record(store, "x-1", None, NOW)
    store.accept(request("still-accepted"))
    every = store.awaiting("genesys")
    early = store.awaiting("genesys", sent_before=NOW + timedelta(minutes=1))
    assert (["g-1", "g-2"], None, ["g-1"], ["s-1"]) == (
        [r.key for r in every.records],
        every.next_start,
        [r.key for r in early.records],
        [r.key for r in store.awaiting("sendgrid").records],
    )


def test_awaiting_pages_and_a_removed_key_leaves_the_index(store: MessageStore) -> None:
    """limit pages with next_start; removing awaiting (a final receipt) drops the record."""
    for i in range(5):
        sent_record(store, f"p-{i}", "genesys", NOW + timedelta(seconds=i))
    seen: list[str] = []
    start = None
    pages = 0
    while True:
        page = store.awaiting("genesys", limit=2, start=start)
        pages += 1
        seen.extend(r.key for r in page.records)
        if page.next_start is None:
            break
        start = page.next_start
    store.update_fields("p-0", None, LATER, awaiting=None, awaiting_since=None)
    after = [r.key for r in store.awaiting("genesys").records]
    assert ([f"p-{i}" for i in range(5)], True, [f"p-{i}" for i in range(1, 5)]) == (
        seen,
        pages >= 3,
        after,
    )


def test_awaiting_takes_sent_before_in_any_zone(store: MessageStore) -> None:
    """A bound given in another zone compares as the same instant in UTC."""
    from zoneinfo import ZoneInfo

    sent_record(store, "z-1", "genesys", NOW)
    bound = (NOW + timedelta(seconds=1)).astimezone(ZoneInfo("America/New_York"))
    assert ["z-1"] == [r.key for r in store.awaiting("genesys", sent_before=bound).records]
    assert [] == list(store.awaiting("genesys", sent_before=NOW).records)


def test_sent_on_lists_one_utc_day(store: MessageStore) -> None:
    """By sent_day; a record never sent is in no day; pages by limit."""
    sent_record(store, "d-1", None, NOW)
    sent_record(store, "d-2", "genesys", NOW + timedelta(hours=1))
    sent_record(store, "d-3", None, NOW + timedelta(days=1))
    store.accept(request("d-never"))
    day = NOW.date()
    first = store.sent_on(day, limit=1)
    assert first.next_start is not None
    second = store.sent_on(day, limit=1, start=first.next_start)
    whole = store.sent_on(day)
    assert (["d-1", "d-2"], ["d-1", "d-2"], ["d-3"]) == (
        sorted(r.key for r in whole.records),
        sorted(r.key for r in first.records + second.records),
        [r.key for r in store.sent_on(day + timedelta(days=1)).records],
    )
    with pytest.raises(ValueError, match="at least one record"):
        store.sent_on(day, limit=0)


def test_every_status_has_its_moves() -> None:
    """The machine names every status, and only known ones."""
    assert (set(STATUSES), set()) == (
        set(TRANSITIONS),
        {t for moves in TRANSITIONS.values() for t in moves} - set(STATUSES),
    )


def test_two_workers_never_both_move_a_record(served: str) -> None:
    """Two threads move accepted → sending at once: exactly one wins."""
    table = f"messages-{uuid.uuid4().hex[:8]}"  # moto's backends outlive one server
    client = dynamodb_client(served)
    create_messages_table(client, table)
    MessageStore(client, table).accept(request())
    barrier = threading.Barrier(2)
    wins: list[bool] = []

    def work() -> None:
        store = MessageStore(dynamodb_client(served), table)
        barrier.wait()
        wins.append(store.transition("ORD-1-shipped", {"accepted"}, "sending", LATER).moved)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    record = MessageStore(client, table).get("ORD-1-shipped")
    assert record is not None
    assert ([False, True], 2) == (sorted(wins), record.version)


def test_two_intakes_of_one_key_record_it_once(served: str) -> None:
    """Two threads accept the same key at once: one records it, the other sees a duplicate."""
    table = f"messages-{uuid.uuid4().hex[:8]}"
    create_messages_table(dynamodb_client(served), table)
    barrier = threading.Barrier(2)
    duplicates: list[bool] = []

    def work() -> None:
        store = MessageStore(dynamodb_client(served), table)
        barrier.wait()
        duplicates.append(store.accept(request()).duplicate)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [False, True] == sorted(duplicates)


def test_an_accept_whose_answer_was_lost_is_not_a_duplicate(served: str) -> None:
    """DynamoDB applied the put, its answer was lost, the SDK retried: still a new request."""
    proxy = DropProxy(served)
    try:
        table = f"messages-{uuid.uuid4().hex[:8]}"
        create_messages_table(dynamodb_client(served), table)
        proxy.drop("PutItem", 1)
        outcome = MessageStore(dynamodb_client(proxy.url), table).accept(request())
        assert (["DynamoDB_20120810.PutItem"], False) == (proxy.dropped, outcome.duplicate)
    finally:
        proxy.close()


def test_a_transition_whose_answer_was_lost_still_moved(served: str) -> None:
    """DynamoDB applied the move, its answer was lost, the SDK retried: this call moved it."""
    proxy = DropProxy(served)
    try:
        table = f"messages-{uuid.uuid4().hex[:8]}"
        create_messages_table(dynamodb_client(served), table)
        store = MessageStore(dynamodb_client(proxy.url), table)
        store.accept(request())
        proxy.drop("UpdateItem", 1)
        outcome = store.transition("ORD-1-shipped", {"accepted"}, "sending", LATER)
        assert (["DynamoDB_20120810.UpdateItem"], True) == (proxy.dropped, outcome.moved)
    finally:
        proxy.close()


@pytest.mark.parametrize("action", ["get", "accept", "transition", "awaiting"])
def test_an_unreachable_table_is_our_error(action: str) -> None:
    """Nothing listening on the endpoint: MessageStoreError naming the table and the fix."""
    store = MessageStore(unreachable(), "messages")
    calls: dict[str, Callable[[], object]] = {
        "get": lambda: store.get("k"),
        "accept": lambda: store.accept(request()),
        "transition": lambda: store.transition("k", {"accepted"}, "sending", LATER),
        "awaiting": lambda: store.awaiting("genesys"),
    }
    with pytest.raises(MessageStoreError, match=r"'messages'.*GCNOTIFY_MESSAGES_TABLE"):
        calls[action]()


def test_a_missing_table_is_our_error(store: MessageStore) -> None:
    """A table that does not exist: MessageStoreError with DynamoDB's code."""
    other = MessageStore(store._client, "absent")
    with pytest.raises(MessageStoreError, match="ResourceNotFoundException"):
        other.accept(request())
