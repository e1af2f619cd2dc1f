"""Many keys read together: ``MessageStore.existing`` and ``SuppressionTable.check_many``.

Both read through BatchGetItem, 100 keys a call, on moto. DynamoDB may leave keys unprocessed
(throttling, its 16 MB answer cap) and moto never does, so those tests wrap the real moto
client's ``batch_get_item`` with a fault: the first answers hold back part of the keys, as
DynamoDB's ``UnprocessedKeys``, and the rest goes to moto.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from gcnotify.aws.dynamodb import BATCH_RETRY
from gcnotify.aws.messages import MessageStore, NewMessage, create_messages_table
from gcnotify.aws.suppression import SuppressionTable, create_suppression_table
from gcnotify.core.errors import MessageStoreError, SuppressionError
from gcnotify.core.retry import RetryPolicy
from tests.aws.support import unreachable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def phone(n: int) -> str:
    return f"+1317555{n:04d}"


class Faulty:
    """The real client's ``batch_get_item`` whose first ``faults`` answers leave ``hold`` keys
    unprocessed (the last ones asked), as DynamoDB does; every call's request is kept."""

    def __init__(self, client: DynamoDBClient, *, faults: int, hold: int) -> None:
        self.real = client.batch_get_item
        self.faults = faults
        self.hold = hold
        self.requests: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> Any:
        self.requests.append(kwargs["RequestItems"])
        if self.faults <= 0:
            return self.real(**kwargs)
        self.faults -= 1
        ((table, request),) = kwargs["RequestItems"].items()
        keys = request["Keys"]
        served, held = keys[: -self.hold], keys[-self.hold :]
        answer: Any = (
            self.real(RequestItems={table: {**request, "Keys": served}})
            if served
            else {"Responses": {table: []}}
        )
        answer["UnprocessedKeys"] = {table: {**request, "Keys": held}}
        return answer


@pytest.fixture
def client(aws_env: None) -> Iterator[DynamoDBClient]:
    """A moto DynamoDB with the messages and suppression tables."""
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_messages_table(dynamodb, "messages")
        create_suppression_table(dynamodb, "suppression")
        yield dynamodb


def record(store: MessageStore, key: str) -> None:
    store.accept(NewMessage(key=key, channel="sms", template="t", received_at=NOW))


def test_existing_answers_the_recorded_keys_of_many(client: DynamoDBClient) -> None:
    """250 keys asked (every third recorded, some asked twice): the recorded ones come back,
    in 3 calls of at most 100 distinct keys, each consistent and reading only the key."""
    store = MessageStore(client, "messages")
    keys = [f"campaign:c:{n}" for n in range(250)]
    for key in keys[::3]:
        record(store, key)
    spy = Faulty(client, faults=0, hold=0)
    client.batch_get_item = spy  # type: ignore[method-assign]
    store.calls = 0
    found = store.existing([*keys, *keys[:40], "campaign:c:never"])
    assert set(keys[::3]) == found
    assert 3 == store.calls == len(spy.requests)
    for request in spy.requests:
        asked = [k["pk"]["S"] for k in request["messages"]["Keys"]]
        assert len(asked) == len(set(asked)) <= 100
        assert request["messages"]["ConsistentRead"] is True
        names = request["messages"]["ExpressionAttributeNames"]
        assert ["pk"] == [
            names[n.strip()] for n in request["messages"]["ProjectionExpression"].split(",")
        ]
    assert found == {k for k in keys if store.get(k) is not None}


def test_existing_of_nothing_makes_no_call(client: DynamoDBClient) -> None:
    """No keys asked: no BatchGetItem (DynamoDB refuses an empty one)."""
    store = MessageStore(client, "messages")
    assert (set(), 0) == (store.existing([]), store.calls)


def test_unprocessed_keys_are_asked_again_after_a_backoff(client: DynamoDBClient) -> None:
    """DynamoDB leaves 30 keys unprocessed twice: they are asked again (only they), after a
    jittered, growing wait, and the answer is complete."""
    store = MessageStore(client, "messages", sleep=(slept := []).append)
    keys = [f"k{n}" for n in range(100)]
    for key in keys[::2]:
        record(store, key)
    faulty = Faulty(client, faults=2, hold=30)
    client.batch_get_item = faulty  # type: ignore[method-assign]
    store.calls = 0
    assert set(keys[::2]) == store.existing(keys)
    assert 3 == store.calls
    assert [100, 30, 30] == [len(r["messages"]["Keys"]) for r in faulty.requests]
    assert faulty.requests[1]["messages"]["Keys"] == [{"pk": {"S": k}} for k in keys[70:]]
    assert 2 == len(slept)
    assert 0 <= slept[0] <= BATCH_RETRY.base_delay
    assert 0 <= slept[1] <= 2 * BATCH_RETRY.base_delay


def test_keys_left_unprocessed_past_the_policy_are_our_error(client: DynamoDBClient) -> None:
    """A table that stays throttled: after the policy's tries, SuppressionError saying so."""
    table = SuppressionTable(
        client, "suppression", batch_retry=RetryPolicy(max_attempts=3), sleep=(slept := []).append
    )
    client.batch_get_item = Faulty(client, faults=99, hold=2)  # type: ignore[method-assign]
    with pytest.raises(SuppressionError, match=r"left 2 of 5 keys unread after 3 BatchGetItem"):
        table.check_many("sms", [phone(n) for n in range(5)])
    assert (3, 2) == (table.calls, len(slept))


def test_the_retry_stops_at_its_time_budget(client: DynamoDBClient) -> None:
    """The policy's seconds bound the retries too: a clock past them ends them."""
    ticks = iter([0.0, 0.1, 30.0])
    store = MessageStore(
        client,
        "messages",
        batch_retry=RetryPolicy(max_attempts=10, max_total_seconds=5.0, base_delay=0.01),
        sleep=(slept := []).append,
        clock=lambda: next(ticks),
    )
    client.batch_get_item = Faulty(client, faults=99, hold=1)  # type: ignore[method-assign]
    with pytest.raises(MessageStoreError, match="throttled"):
        store.existing(["a", "b"])
    assert (2, 1) == (store.calls, len(slept))


def test_check_many_answers_the_active_suppressions(client: DynamoDBClient) -> None:
    """150 addresses: the active ones come back as given, a removed one does not, one never
    added does not; two spellings of one number both answered, read once; only pk and
    active read."""
    table = SuppressionTable(client, "suppression")
    for n in range(0, 150, 10):
        table.add("sms", phone(n), "STOP", "test", NOW)
    table.remove("sms", phone(20), "START", "test", NOW)
    table.add("email", "ana@example.com", "unsubscribe", "test", NOW)  # another channel
    spy = Faulty(client, faults=0, hold=0)
    client.batch_get_item = spy  # type: ignore[method-assign]
    table.calls = 0
    spelled = "+1 (317) 555-0030"
    asked = [*(phone(n) for n in range(150)), spelled, phone(10)]
    found = table.check_many("sms", asked)
    assert {phone(n) for n in range(0, 150, 10) if n != 20} | {spelled} == found
    assert found == {a for a in asked if table.check("sms", a) is not None}
    assert 2 == len(spy.requests)
    assert [100, 50] == [len(r["suppression"]["Keys"]) for r in spy.requests]
    names = spy.requests[0]["suppression"]["ExpressionAttributeNames"]
    assert {"pk", "active"} == set(names.values())
    assert set() == table.check_many("email", ["bo@example.com"])
    assert {"Ana@Example.com"} == table.check_many("email", ["Ana@Example.com"])


def test_check_many_refuses_an_address_that_does_not_normalise(client: DynamoDBClient) -> None:
    """As ``check`` does, before any call."""
    table = SuppressionTable(client, "suppression")
    with pytest.raises(SuppressionError, match=r"not an E\.164 number"):
        table.check_many("sms", [phone(1), "3175550100"])
    assert 0 == table.calls


@pytest.mark.parametrize("seam", ["messages", "suppression"])
def test_an_unreachable_table_is_our_error(seam: str) -> None:
    """Nothing listening: the seam's error, naming the table, its variable and BatchGetItem."""
    reads: dict[str, tuple[type[Exception], str, Callable[[], object]]] = {
        "messages": (
            MessageStoreError,
            r"'messages'.*GCNOTIFY_MESSAGES_TABLE.*BatchGetItem",
            lambda: MessageStore(unreachable(), "messages").existing(["k"]),
        ),
        "suppression": (
            SuppressionError,
            r"'suppression'.*GCNOTIFY_SUPPRESSION_TABLE.*BatchGetItem",
            lambda: SuppressionTable(unreachable(), "suppression").check_many("sms", [phone(1)]),
        ),
    }
    error, message, read = reads[seam]
    with pytest.raises(error, match=message):
        read()


def test_a_missing_table_is_our_error(client: DynamoDBClient) -> None:
    """A table that does not exist: the seam's error with DynamoDB's code."""
    with pytest.raises(MessageStoreError, match="ResourceNotFoundException"):
        MessageStore(client, "absent").existing(["k"])
    with pytest.raises(SuppressionError, match="ResourceNotFoundException"):
        SuppressionTable(client, "absent").check_many("sms", [phone(1)])
