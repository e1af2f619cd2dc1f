"""The shared send pace: its arithmetic, its schedule against moto, and many senders at once
against a moto server over real sockets."""

from __future__ import annotations

import itertools
import math
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from gcnotify.aws.ledger import create_ledger_table
from gcnotify.aws.pace import (
    MAX_DELAY_SECONDS,
    Later,
    Pace,
    Slot,
    interval_us,
    pace_key,
    retry_in_seconds,
)
from gcnotify.core.errors import LedgerError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

NOW = 1_790_000_000_000  # epoch ms
MINUTE = 60_000


# --- arithmetic ----------------------------------------------------------------------------


def test_interval_of_round_rates_is_exact() -> None:
    """6000 a minute is one send every 10 ms; 60 a minute, every second."""
    assert (10_000, 1_000_000, 6_000) == (interval_us(6000), interval_us(60), interval_us(10_000))


@given(st.integers(min_value=1, max_value=100_000))
def test_interval_is_rounded_up_to_the_microsecond(rate: int) -> None:
    """The interval never lets more than the rate through, and is at most 1 µs longer."""
    interval = interval_us(rate)
    assert interval * rate >= 60_000_000 > (interval - 1) * rate


@pytest.mark.parametrize("rate", [0, -5])
def test_a_rate_below_one_is_refused(rate: int) -> None:
    """A rate of zero or less has no interval."""
    with pytest.raises(ValueError, match="at least 1"):
        interval_us(rate)


def test_a_rate_that_is_not_an_int_is_refused() -> None:
    """True is not a rate, even though Python counts it as 1."""
    with pytest.raises(TypeError, match="must be an int"):
        interval_us(True)


@pytest.mark.parametrize(
    ("next_at_ms", "max_wait_ms", "expected"),
    [
        (2_000, 1_000, 2),  # 1.5 s rounds up
        (3_500, 1_000, 3),  # exactly 3 s
        (3_501, 1_000, 4),
        (1_001, 2_000, 1),  # due in 1 ms: still a whole second
        (10 * MINUTE, 1_000, 600),
        (16 * MINUTE, 1_000, MAX_DELAY_SECONDS),  # SQS delays at most 900 s
    ],
)
def test_retry_delay_comes_back_half_a_wait_before_the_slot(
    next_at_ms: int, max_wait_ms: int, expected: int
) -> None:
    """Back when the schedule is half a wait away, in whole seconds rounded up, 1 to 900."""
    assert expected == retry_in_seconds(next_at_ms * 1000, 0, max_wait_ms * 1000)


# --- the schedule, in-process moto ---------------------------------------------------------


@pytest.fixture
def client(aws_env: None) -> Iterator[DynamoDBClient]:
    """A DynamoDB client on a fresh moto send-ledger table named 'ledger'."""
    with mock_aws():
        made: DynamoDBClient = boto3.client("dynamodb", region_name="us-east-1")
        create_ledger_table(made, "ledger")
        yield made


@pytest.fixture
def pace(client: DynamoDBClient) -> Pace:
    return Pace(client, "ledger")


def stored_next_at(client: DynamoDBClient, channel: str) -> str:
    item = client.get_item(TableName="ledger", Key={"pk": {"S": pace_key(channel)}})["Item"]
    return item["next_at"]["N"]


def test_the_first_reservation_is_now(pace: Pace, client: DynamoDBClient) -> None:
    """A new channel's first slot is now, and its schedule moves one interval on."""
    assert Slot(NOW, 0) == pace.reserve("sms", 600, now_ms=NOW)
    assert str(NOW + 100) == stored_next_at(client, "sms")


def test_consecutive_reservations_are_one_interval_apart(pace: Pace) -> None:
    """At 600 a minute, slots reserved at the same instant are 100 ms apart."""
    slots = [pace.reserve("sms", 600, now_ms=NOW) for _ in range(5)]
    assert [Slot(NOW + k * 100, k * 100) for k in range(5)] == slots


def test_a_fractional_interval_is_kept_to_the_microsecond(
    pace: Pace, client: DynamoDBClient
) -> None:
    """At 7000 a minute (8.572 ms) the schedule does not drift to whole milliseconds."""
    slots = [pace.reserve("open", 7000, now_ms=NOW, max_wait_ms=MINUTE) for _ in range(8)]
    assert [Slot(NOW + math.ceil(k * 8.572), math.ceil(k * 8.572)) for k in range(8)] == slots
    assert f"{NOW + 68}.576" == stored_next_at(client, "open")


def test_a_schedule_more_than_max_wait_ahead_answers_later(pace: Pace) -> None:
    """At 60 a minute the third send is 2 s away: come back in 1.5 s, rounded up to 2."""
    first = pace.reserve("sms", 60, now_ms=NOW, max_wait_ms=1000)
    second = pace.reserve("sms", 60, now_ms=NOW, max_wait_ms=1000)
    third = pace.reserve("sms", 60, now_ms=NOW, max_wait_ms=1000)
    assert (Slot(NOW, 0), Slot(NOW + 1000, 1000), Later(2)) == (first, second, third)


def test_a_later_answer_reserves_nothing(pace: Pace) -> None:
    """After Later, the next reservation gets the slot the refused one would have had."""
    for _ in range(2):
        pace.reserve("sms", 60, now_ms=NOW, max_wait_ms=1000)
    assert isinstance(pace.reserve("sms", 60, now_ms=NOW, max_wait_ms=1000), Later)
    assert Slot(NOW + 2000, 1000) == pace.reserve("sms", 60, now_ms=NOW + 1000, max_wait_ms=1000)


def test_the_later_delay_is_capped_at_sqs_longest(pace: Pace) -> None:
    """A schedule 21 minutes ahead still answers a delay SQS accepts: 900 s."""
    for _ in range(21):
        pace.reserve("email", 1, now_ms=NOW, max_wait_ms=30 * MINUTE)
    assert Later(MAX_DELAY_SECONDS) == pace.reserve("email", 1, now_ms=NOW, max_wait_ms=1000)


def test_an_idle_channel_restarts_at_now(pace: Pace) -> None:
    """Ten idle minutes store up no slots: the next two sends are now and one interval on."""
    pace.reserve("sms", 600, now_ms=NOW)
    later = NOW + 10 * MINUTE
    again = [pace.reserve("sms", 600, now_ms=later) for _ in range(2)]
    assert [Slot(later, 0), Slot(later + 100, 100)] == again


def test_a_burst_allows_that_many_at_once_and_no_more(pace: Pace) -> None:
    """With burst 3, an idle channel lets three sends start now; the fourth waits an interval,
    and a longer idle spell stores up no more than three."""
    for now in (NOW, NOW + 60 * MINUTE):
        slots = [pace.reserve("sms", 600, now_ms=now, burst=3) for _ in range(5)]
        assert [0, 0, 0, 100, 200] == [s.wait_ms for s in slots if isinstance(s, Slot)]


def test_channels_have_their_own_schedules(pace: Pace) -> None:
    """A busy sms schedule does not delay email."""
    for _ in range(3):
        pace.reserve("sms", 60, now_ms=NOW, max_wait_ms=5000)
    assert Slot(NOW, 0) == pace.reserve("email", 60, now_ms=NOW)


def test_a_steady_reservation_is_one_call(pace: Pace) -> None:
    """A new channel costs two UpdateItems (the increment refused, the start); then one each."""
    pace.reserve("sms", 600, now_ms=NOW)
    first = pace.calls
    for _ in range(4):
        pace.reserve("sms", 600, now_ms=NOW)
    assert (2, 6) == (first, pace.calls)


def test_an_idle_channel_seen_before_restarts_in_one_call(pace: Pace) -> None:
    """The instance remembers the schedule it left behind, so it tries the restart first."""
    pace.reserve("sms", 600, now_ms=NOW)
    before = pace.calls
    assert Slot(NOW + MINUTE, 0) == pace.reserve("sms", 600, now_ms=NOW + MINUTE)
    assert 1 == pace.calls - before


def test_a_full_schedule_seen_before_answers_later_without_a_call(pace: Pace) -> None:
    """next_at only grows, so a remembered value past the wait is enough to say Later."""
    for _ in range(3):
        pace.reserve("sms", 60, now_ms=NOW, max_wait_ms=2000)
    before = pace.calls
    assert Later(3) == pace.reserve("sms", 60, now_ms=NOW, max_wait_ms=1000)
    assert 0 == pace.calls - before


def test_a_stale_memory_costs_one_refused_write(client: DynamoDBClient) -> None:
    """Another instance moved the schedule on: the guessed restart is refused, its answer
    leads to the right slot."""
    mine, theirs = Pace(client, "ledger"), Pace(client, "ledger")
    mine.reserve("sms", 600, now_ms=NOW)
    for _ in range(5):
        theirs.reserve("sms", 600, now_ms=NOW)
    before = mine.calls
    assert Slot(NOW + 600, 50) == mine.reserve("sms", 600, now_ms=NOW + 550)
    assert 2 == mine.calls - before


def test_a_busy_channel_tries_the_increment_first(client: DynamoDBClient) -> None:
    """Behind now, the memory of an instance whose last slot was an increment is taken for
    other instances' progress, not for idleness: one call."""
    mine, theirs = Pace(client, "ledger"), Pace(client, "ledger")
    for _ in range(2):
        mine.reserve("sms", 600, now_ms=NOW)  # a start, then an increment: next_at NOW + 200
    for _ in range(5):
        theirs.reserve("sms", 600, now_ms=NOW)  # next_at NOW + 700
    before = mine.calls
    assert Slot(NOW + 700, 250) == mine.reserve("sms", 600, now_ms=NOW + 450)
    assert 1 == mine.calls - before


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"channel": ""}, "channel"),
        ({"max_wait_ms": -1}, "max_wait_ms"),
        ({"burst": 0}, "burst"),
    ],
)
def test_bad_arguments_are_refused_before_any_call(
    pace: Pace, kwargs: dict[str, Any], match: str
) -> None:
    """An empty channel, a negative wait or a burst below 1 is a ValueError, and costs no call."""
    args: dict[str, Any] = {"channel": "sms", "now_ms": NOW, **kwargs}
    channel = args.pop("channel")
    with pytest.raises(ValueError, match=match):
        pace.reserve(channel, 60, **args)
    assert 0 == pace.calls


# --- races, staged with a second sender acting inside the first one's calls -----------------


def before_update(client: DynamoDBClient, act: Callable[[dict[str, Any]], None]) -> None:
    """Run ``act`` with each UpdateItem's parameters just before the client sends it."""

    def hook(params: dict[str, Any], **_: Any) -> None:
        act(params)

    client.meta.events.register("before-parameter-build.dynamodb.UpdateItem", hook)


def test_a_sender_losing_the_start_race_takes_the_next_slot(aws_env: None) -> None:
    """Two senders start an idle channel at once: one gets now, the other the slot after."""
    with mock_aws():
        mine: DynamoDBClient = boto3.client("dynamodb", region_name="us-east-1")
        theirs: DynamoDBClient = boto3.client("dynamodb", region_name="us-east-1")
        create_ledger_table(mine, "ledger")
        other = Pace(theirs, "ledger")
        got: list[object] = []

        def race(params: dict[str, Any]) -> None:
            if "attribute_not_exists" in params["ConditionExpression"] and not got:
                got.append(other.reserve("sms", 600, now_ms=NOW))

        before_update(mine, race)
        pace = Pace(mine, "ledger")
        assert (Slot(NOW + 100, 100), [Slot(NOW, 0)]) == (pace.reserve("sms", 600, now_ms=NOW), got)
        assert 3 == pace.calls  # increment refused (no item), start refused, increment done


def test_a_sender_losing_every_race_reserves_nothing(aws_env: None) -> None:
    """When every write meets a schedule just moved by others, the answer is Later(1) after the
    bounded attempts (one write each), and none of its writes is applied."""
    with mock_aws():
        mine: DynamoDBClient = boto3.client("dynamodb", region_name="us-east-1")
        theirs: DynamoDBClient = boto3.client("dynamodb", region_name="us-east-1")
        create_ledger_table(mine, "ledger")

        def put(next_at: int) -> None:
            theirs.put_item(
                TableName="ledger",
                Item={"pk": {"S": pace_key("sms")}, "next_at": {"N": str(next_at)}},
            )

        def interfere(params: dict[str, Any]) -> None:
            # Idle before our increment, busy again before our start.
            put(0 if "BETWEEN" in params["ConditionExpression"] else NOW)

        before_update(mine, interfere)
        pace = Pace(mine, "ledger", attempts=3)
        assert (Later(1), 3) == (pace.reserve("sms", 600, now_ms=NOW), pace.calls)
        assert "0" == stored_next_at(theirs, "sms")  # the other sender's last write, none of ours


# --- take: the one bounded sleep ------------------------------------------------------------


class Clock:
    """Seconds since the epoch that move only when slept, plus ``tick`` per read."""

    def __init__(self, ms: int, tick_s: float = 0.0) -> None:
        self.now = ms / 1000
        self.tick_s = tick_s
        self.slept: list[float] = []

    def __call__(self) -> float:
        value = self.now
        self.now += self.tick_s
        return value

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_take_sleeps_until_the_slot(pace: Pace) -> None:
    """The first send goes at once; the next two sleep a full interval each."""
    clock = Clock(NOW)
    got = [pace.take("sms", 60, clock=clock, sleep=clock.sleep) for _ in range(3)]
    assert ([Slot(NOW, 0), Slot(NOW + 1000, 1000), Slot(NOW + 2000, 1000)], [1.0, 1.0]) == (
        got,
        clock.slept,
    )


def test_take_counts_the_call_as_part_of_the_wait(pace: Pace) -> None:
    """Time spent reserving is not slept again: 30 ms gone by the second reading, 970 ms left."""
    pace.reserve("sms", 60, now_ms=NOW)
    clock = Clock(NOW, tick_s=0.03)
    assert Slot(NOW + 1000, 1000) == pace.take("sms", 60, clock=clock, sleep=clock.sleep)
    assert [0.97] == clock.slept


def test_take_does_not_sleep_on_later(pace: Pace) -> None:
    """A full schedule is answered at once, for the caller to re-queue."""
    clock = Clock(NOW)
    for _ in range(2):
        pace.take("sms", 60, clock=clock, sleep=clock.sleep, max_wait_ms=5000)
    slept = list(clock.slept)
    assert Later(1) == pace.take("sms", 60, clock=clock, sleep=clock.sleep, max_wait_ms=500)
    assert slept == clock.slept


# --- failures -------------------------------------------------------------------------------


def test_a_missing_table_is_a_ledger_error_naming_it(client: DynamoDBClient) -> None:
    """The message names the table, its variable and the action the function needs."""
    with pytest.raises(LedgerError) as caught:
        Pace(client, "missing").reserve("sms", 60, now_ms=NOW)
    message = str(caught.value)
    assert all(
        part in message
        for part in ("'missing'", "ResourceNotFoundException", "GCNOTIFY_LEDGER_TABLE", "Update")
    ), message


def test_an_unreachable_dynamodb_is_a_ledger_error(aws_env: None) -> None:
    """A refused connection is mapped too, not left as a botocore exception."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    closed = boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        config=BotoConfig(retries={"total_max_attempts": 1}, connect_timeout=1),
    )
    with pytest.raises(LedgerError, match=r"'ledger'.*EndpointConnectionError"):
        Pace(closed, "ledger").reserve("sms", 60, now_ms=NOW)


# --- many senders at once, over real sockets -----------------------------------------------


# The server runs in its own process, as DynamoDB does: in this one it would share the GIL
# with the eight senders and take twice as long.
_SERVE = (
    "import logging, sys\n"
    "logging.disable(logging.CRITICAL)\n"
    "from gcnotify.devserver.moto_server import SerializedMotoServer\n"
    "server = SerializedMotoServer()\n"
    "server.start()\n"
    "print(server.url, flush=True)\n"
    "sys.stdin.read()\n"
)


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    """A serialized moto server (one request at a time, as DynamoDB applies one item's writes)."""
    with subprocess.Popen(
        [sys.executable, "-c", _SERVE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
    ) as process:
        try:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:"), url
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


def served_client(url: str) -> DynamoDBClient:
    made: DynamoDBClient = boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=BotoConfig(retries={"mode": "standard", "max_attempts": 3}, read_timeout=5),
    )
    return made


def wall_ms() -> int:
    return math.floor(time.time() * 1000)


def jumping_clock() -> Callable[[], int]:
    """A clock that jumps a second every eight readings: each jump finds the schedule idle, and
    all eight senders race to restart it at the same instant."""
    readings = itertools.count()
    return lambda: NOW + next(readings) // 8 * 1000


@pytest.mark.parametrize(
    "clock",
    [lambda: wall_ms, jumping_clock],
    ids=["schedule-ahead", "restarts-raced"],
)
def test_concurrent_senders_share_one_schedule(
    server_url: str, clock: Callable[[], Callable[[], int]]
) -> None:
    """8 senders x 50 reservations at 6000 a minute: every slot distinct and at least 10 ms after
    the one before, whether the schedule runs ahead of the clock or keeps going idle."""
    table = f"ledger-{uuid.uuid4().hex[:8]}"  # moto's backends outlive one server
    clients = [served_client(server_url) for _ in range(8)]
    create_ledger_table(clients[0], table)
    clock_ms = clock()
    barrier = threading.Barrier(8)

    def sender(client: DynamoDBClient) -> tuple[list[Slot | Later], int]:
        pace = Pace(client, table)
        barrier.wait()
        got = [pace.reserve("sms", 6000, now_ms=clock_ms(), max_wait_ms=MINUTE) for _ in range(50)]
        return got, pace.calls

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(sender, clients))
    got = [r for rs, _ in results for r in rs]
    slots = sorted(r.at_ms for r in got if isinstance(r, Slot))
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert 400 == len(slots) == len(set(slots))
    assert min(gaps) >= 10, sorted(gaps)[:10]
    assert sum(calls for _, calls in results) >= 400
