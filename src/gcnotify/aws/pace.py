"""One send pace per channel, shared by every concurrent sender through one DynamoDB item.

A sender instance cannot pace itself: Lambda runs as many as the queue needs, so "rate / N per
instance" over-sends when instances are added and under-sends when they go. Instead every
instance reserves its slot on one schedule per channel (the generic cell rate algorithm in its
virtual-scheduling form). The item ``pk = "pace#<channel>"`` in the send-ledger table holds
``next_at``: the earliest instant (epoch milliseconds, a DynamoDB number with microsecond
decimals) at which the channel's next send may start.

A reservation is one conditional UpdateItem, occasionally two:

1. ``SET next_at = next_at + interval`` if ``floor <= next_at <= now + max_wait``: the slot is
   the old ``next_at``; the caller waits for it (never longer than ``max_wait``).
2. If ``next_at`` is missing or below ``floor`` (the channel was idle), ``SET next_at = floor +
   interval`` if it still is: the slot is ``floor``. ``floor`` is ``now - (burst - 1) *
   interval``: with the default ``burst`` of 1 an idle channel restarts at now and stores up no
   slots; a larger burst lets up to ``burst`` sends start at once after an idle spell, and never
   more, however long the spell.
3. If ``next_at`` is more than ``max_wait`` ahead, nothing is reserved: the answer is ``Later``,
   re-queue the message with a delay, so no Lambda sleeps for long.

A refused write answers with the stored ``next_at`` (ReturnValuesOnConditionCheckFailure), which
says which of the three applies now. Each instance also remembers the last value it saw, to try
the right write first and to answer a ``Later`` it already knows without any call (see ``Pace``).

Whoever loses a race (another instance moved ``next_at`` between the two writes) tries again, a
bounded number of times. A slot reserved and then not used (the process died, the policy said
no) is a gap in the schedule: the rate is never exceeded, at worst under-used. Every slot lies at
least one interval after the previous one on the shared schedule. Sends start by each instance's
own clock and wake-up, so clock skew (milliseconds under NTP) and a late wake-up can bring two
starts closer than an interval; the schedule itself never lets more through over time.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from gcnotify.aws.dynamodb import DynamoTable
from gcnotify.core.errors import LedgerError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "MAX_DELAY_SECONDS",
    "Later",
    "Pace",
    "Reservation",
    "Slot",
    "interval_us",
    "pace_key",
    "retry_in_seconds",
]

MAX_DELAY_SECONDS = 900  # SQS's longest DelaySeconds
ATTEMPTS = 8  # writes refused in a row before Later; each refusal means another sender moved it
_US_PER_MINUTE = 60_000_000


@dataclass(frozen=True)
class Slot:
    """A reserved slot: start the send at ``at_ms`` (epoch ms), ``wait_ms`` after the asked now.

    ``at_ms`` is the slot rounded up to a whole millisecond; with a burst allowance it may lie
    before now, and ``wait_ms`` is then 0.
    """

    at_ms: int
    wait_ms: int


@dataclass(frozen=True)
class Later:
    """No slot within the wait allowed: re-queue the message with this delay (SQS DelaySeconds)."""

    retry_in_seconds: int


Reservation = Slot | Later


def pace_key(channel: str) -> str:
    """The item of a channel's schedule in the send-ledger table."""
    return f"pace#{channel}"


def interval_us(rate_per_minute: int) -> int:
    """Microseconds between two sends, rounded up so the rate is never exceeded."""
    if isinstance(rate_per_minute, bool) or not isinstance(rate_per_minute, int):
        raise TypeError(f"rate_per_minute must be an int, not {type(rate_per_minute).__name__}")
    if rate_per_minute < 1:
        raise ValueError(f"rate_per_minute must be at least 1, not {rate_per_minute}")
    return -(-_US_PER_MINUTE // rate_per_minute)


def retry_in_seconds(next_at_us: int, now_us: int, max_wait_us: int) -> int:
    """The re-queue delay when the schedule is full: back when the next free slot is half a wait
    away, in whole seconds (rounded up), from 1 to SQS's 900."""
    due_us = next_at_us - now_us - max_wait_us // 2
    return min(MAX_DELAY_SECONDS, max(1, math.ceil(due_us / 1_000_000)))


def _ms(us: int) -> str:
    """Microseconds as a DynamoDB number of milliseconds (exact, no exponent)."""
    sign = "-" if us < 0 else ""
    whole, part = divmod(abs(us), 1000)
    return f"{sign}{whole}" if part == 0 else f"{sign}{whole}.{part:03d}"


def _us(value: object) -> int | None:
    """A stored ``next_at`` (ms) in microseconds, rounded up; None if absent or not a number."""
    number = value.get("N") if isinstance(value, Mapping) else None
    if not isinstance(number, str):
        return None
    try:
        us = Decimal(number) * 1000
    except InvalidOperation:
        return None
    return int(us.to_integral_value(rounding="ROUND_CEILING")) if us.is_finite() else None


def _slot(slot_us: int, now_ms: int) -> Slot:
    at_ms = -(-slot_us // 1000)
    return Slot(at_ms=at_ms, wait_ms=max(0, at_ms - now_ms))


class Pace(DynamoTable):
    """The per-channel send schedules, one item each in the send-ledger table.

    Each instance remembers, per channel, the last ``next_at`` it saw and whether its last slot
    came from a restart. ``next_at`` only ever grows (both writes move it forward), so a
    remembered value is never above the stored one (unless the item is deleted: then it is
    ahead by at most the longest wait asked plus an interval): one past the wait allowed answers
    ``Later`` without a call. The first write tried is the restart only when this instance's
    last slot was a restart (the channel is quiet) and the remembered value is behind ``floor``;
    on a busy channel the remembered value falls behind as soon as other instances reserve, so
    there the increment goes first. A wrong guess costs one refused write, whose answer (the
    stored value) decides the next one.
    """

    error_class = LedgerError
    what = "send pace"
    env_var = "GCNOTIFY_LEDGER_TABLE"
    actions = "UpdateItem"

    def __init__(self, client: DynamoDBClient, table: str, *, attempts: int = ATTEMPTS) -> None:
        super().__init__(client, table)
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, not {attempts}")
        self.attempts = attempts
        self._seen: dict[str, int] = {}  # channel key: next_at last seen (µs)
        self._quiet: set[str] = set()  # channel keys whose last slot here came from a restart

    def reserve(
        self,
        channel: str,
        rate_per_minute: int,
        *,
        now_ms: int,
        max_wait_ms: int = 1000,
        burst: int = 1,
    ) -> Reservation:
        """The channel's next slot if it starts within ``max_wait_ms`` of ``now_ms``, else when to
        come back. ``attempts`` writes refused in a row (every one lost a race to another sender)
        answer ``Later(1)``: nothing is reserved."""
        if not channel:
            raise ValueError("channel must not be empty")
        if max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must not be negative, not {max_wait_ms}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, not {burst}")
        interval = interval_us(rate_per_minute)
        now = now_ms * 1000
        floor = now - (burst - 1) * interval
        latest = now + max_wait_ms * 1000
        key = pace_key(channel)
        known = self._seen.get(key)  # None: not seen yet by this instance
        idle = key in self._quiet and known is not None and known < floor  # a guess
        for _ in range(self.attempts):
            if known is not None and known > latest:
                return Later(retry_in_seconds(known, now, max_wait_ms * 1000))
            if idle:
                done, known = self._restart(key, floor, interval)
                if done:
                    self._quiet.add(key)
                    return _slot(floor, now_ms)
            else:
                done, known = self._advance(key, interval, floor, latest)
                if done and known is not None:
                    self._quiet.discard(key)
                    return _slot(known - interval, now_ms)
            # Refused: ``known`` is the stored value that refused it (None: there is no item).
            idle = known is None or known < floor
        return Later(1)

    def take(
        self,
        channel: str,
        rate_per_minute: int,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        max_wait_ms: int = 1000,
        burst: int = 1,
    ) -> Reservation:
        """Reserve and, given a slot, sleep until it starts: the only sleep, at most
        ``max_wait_ms``. ``clock`` is seconds since the epoch, like ``time.time``."""
        reservation = self.reserve(
            channel,
            rate_per_minute,
            now_ms=math.floor(clock() * 1000),
            max_wait_ms=max_wait_ms,
            burst=burst,
        )
        if isinstance(reservation, Slot):
            # Measured again after the call: the DynamoDB round trip is part of the wait.
            left_ms = min(reservation.at_ms - clock() * 1000, max_wait_ms)
            if left_ms > 0:
                sleep(left_ms / 1000)
        return reservation

    def _advance(self, key: str, interval: int, floor: int, latest: int) -> tuple[bool, int | None]:
        """Move the schedule one interval on if it lies in [floor, latest]."""
        return self._write(
            key,
            "SET #next = #next + :interval",
            "#next BETWEEN :floor AND :latest",
            {":interval": interval, ":floor": floor, ":latest": latest},
            "reserve a send slot",
        )

    def _restart(self, key: str, floor: int, interval: int) -> tuple[bool, int | None]:
        """Start an idle (or new) schedule at ``floor``, unless another sender just did."""
        return self._write(
            key,
            "SET #next = :next",
            "attribute_not_exists(#next) OR #next < :floor",
            {":next": floor + interval, ":floor": floor},
            "restart the send schedule",
        )

    def _write(
        self, key: str, update: str, condition: str, values: dict[str, int], action: str
    ) -> tuple[bool, int | None]:
        """One conditional UpdateItem of ``next_at`` (values in microseconds): (applied, the
        value after it if applied, else the value that refused it, None if there is no item)."""
        from botocore.exceptions import ClientError

        self.calls += 1
        try:
            response = self._client.update_item(
                TableName=self.table,
                Key={"pk": {"S": key}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#next": "next_at"},
                ExpressionAttributeValues={k: {"N": _ms(v)} for k, v in values.items()},
                ReturnValues="UPDATED_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise self._error(action, exc) from None
            # DynamoDB returns the item that refused the write; none means there is no item.
            old: Any = exc.response.get("Item")
            value = _us(old.get("next_at")) if isinstance(old, Mapping) else None
            self._remember(key, value)
            return False, value
        except Exception as exc:
            raise self._error(action, exc) from None
        new = _us(response.get("Attributes", {}).get("next_at"))
        if new is None:
            raise self._error(action, ValueError("no next_at in the answer"))
        self._remember(key, new)
        return True, new

    def _remember(self, key: str, value: int | None) -> None:
        """Keep the value last seen. Threads sharing this instance may overwrite a newer value
        with an older one: a lower guess is still a safe one."""
        if value is not None:
            self._seen[key] = value
