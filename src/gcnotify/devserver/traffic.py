"""Deterministic synthetic contact-center traffic for the Genesys stand-in.

Each queue gets a stable profile (daily volume 50–900 on weekdays, far less on weekends, answer
rate ~90 %, its own ASA, talk time and share of message conversations), and each local day of
each queue is generated on its own from ``(seed, queue_id, day)``. So a query touching two days of
three queues generates exactly those six day-queue chunks, the same ones every time, whatever
else was asked before: numbers are reproducible and depend only on the interval asked for.

Times are epoch milliseconds inside this module (fast to bucket); ``Conversation`` exposes them as
aware UTC datetimes.
"""

from __future__ import annotations

import math
import random
import threading
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from operator import attrgetter
from typing import Any, NamedTuple

import pytz

from gcnotify.core.model import Queue

__all__ = [
    "DEFAULT_TZ",
    "MEDIA_TYPES",
    "SERVICE_LEVEL_TARGET",
    "SHORT_ABANDON_MS",
    "SLA_THRESHOLD_MS",
    "Conversation",
    "Series",
    "TrafficModel",
    "generate",
    "start_of_day",
]

DEFAULT_TZ = "America/New_York"
MEDIA_TYPES: tuple[str, ...] = ("voice", "message")
SLA_THRESHOLD_MS = 20_000  # answered within 20 s counts towards service level
SHORT_ABANDON_MS = 10_000  # abandons quicker than this are short abandons
SERVICE_LEVEL_TARGET = 0.8

# Events land at most this long after the offer (wait + talk + hold + ACW are capped below), so a
# query needs the chunks of the day before its start only for the first hours.
_MAX_SPAN_MS = 2 * 3600 * 1000
_SLOT_MS = 30 * 60 * 1000

# Relative arrivals per half hour of the local day: quiet nights, ramp from 07:00, a plateau from
# 10:00 to 15:00 with a lunch dip, tailing off into the evening.
_HOURLY = (
    0.05, 0.03, 0.02, 0.02, 0.03, 0.06, 0.15, 0.45, 0.85, 1.25, 1.55, 1.65,
    1.5, 1.55, 1.6, 1.5, 1.2, 0.9, 0.6, 0.4, 0.28, 0.18, 0.1, 0.07,
)  # fmt: skip
_SLOT_WEIGHTS = tuple(w for w in _HOURLY for _ in range(2))
# date.weekday() factors: Monday is the busiest day, weekends are a trickle.
_WEEKDAY_FACTOR = (1.12, 1.0, 0.98, 0.97, 0.93, 0.16, 0.08)

# A metric series: event times (epoch ms, sorted) and the value recorded at each.
Series = tuple[list[int], list[int]]
# media, offered, answered, abandoned, wait, talk, hold, acw, handle_end, flow_out, transferred
_Row = tuple[str, int, int | None, int | None, int, int, int, int, int | None, bool, bool]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Conversation(NamedTuple):
    """One customer interaction offered to one queue (a NamedTuple: 200 queues × days of
    traffic are built in well under a second).

    ``wait_ms`` is the time in queue until it was answered, abandoned or flowed out.
    ``handle_end_at`` is when after-call work completed (None when nobody answered).
    """

    queue_id: str
    media_type: str
    offered_at: datetime
    answered_at: datetime | None
    abandoned_at: datetime | None
    wait_ms: int
    talk_ms: int
    hold_ms: int
    acw_ms: int
    handle_end_at: datetime | None
    flow_out: bool
    transferred: bool


@dataclass(frozen=True, slots=True)
class _Profile:
    weekday_volume: int
    answer_rate: float
    flow_out_rate: float
    asa_ms: float
    abandon_wait_ms: float
    short_abandon_share: float
    talk_ms: float
    hold_rate: float
    transfer_rate: float
    message_share: float


class _Chunk:
    """One queue's day: raw rows, with conversations and series built on first use."""

    __slots__ = ("_conversations", "_series", "queue_id", "rows")

    def __init__(self, queue_id: str, rows: list[_Row]) -> None:
        self.queue_id = queue_id
        self.rows = rows
        self._conversations: list[Conversation] | None = None
        self._series: dict[str, dict[str, Series]] | None = None

    def conversations(self) -> list[Conversation]:
        if self._conversations is None:
            self._conversations = [_conversation(self.queue_id, row) for row in self.rows]
        return self._conversations

    def series(self) -> dict[str, dict[str, Series]]:
        if self._series is None:
            self._series = _series(self.rows)
        return self._series


def _profile(seed: int, queue_id: str) -> _Profile:
    rng = random.Random(f"gcnotify-profile:{seed}:{queue_id}")
    # Log-uniform: many small queues, a few big ones, as in real centres.
    volume = round(math.exp(rng.uniform(math.log(50), math.log(900))))
    return _Profile(
        weekday_volume=volume,
        answer_rate=rng.uniform(0.85, 0.95),
        flow_out_rate=rng.uniform(0.0, 0.03),
        asa_ms=rng.uniform(10_000, 120_000),
        abandon_wait_ms=rng.uniform(30_000, 150_000),
        short_abandon_share=rng.uniform(0.1, 0.25),
        talk_ms=rng.uniform(120_000, 600_000),
        hold_rate=rng.uniform(0.05, 0.25),
        transfer_rate=rng.uniform(0.02, 0.08),
        message_share=rng.uniform(0.1, 0.4) if rng.random() < 0.3 else 0.0,
    )


def _localize(tz: Any, naive: datetime) -> datetime:
    """The first real instant at wall time ``naive`` (skipped times move forward past the gap)."""
    try:
        return tz.localize(naive, is_dst=None)  # type: ignore[no-any-return]
    except pytz.AmbiguousTimeError:
        return tz.localize(naive, is_dst=True)  # type: ignore[no-any-return]
    except pytz.NonExistentTimeError:
        return tz.normalize(tz.localize(naive, is_dst=False))  # type: ignore[no-any-return]


def start_of_day(day: date, tz_name: str) -> datetime:
    """First instant of local ``day`` in ``tz_name``, as an aware UTC datetime."""
    tz = pytz.timezone(tz_name)
    return _localize(tz, datetime(day.year, day.month, day.day)).astimezone(UTC)


def _ms(instant: datetime) -> int:
    return (instant - _EPOCH) // timedelta(milliseconds=1)


def _dt(ms: int) -> datetime:
    # A float of whole milliseconds rounds back exactly at microsecond precision, and this is
    # several times faster than adding a timedelta.
    return datetime.fromtimestamp(ms / 1000, UTC)


class TrafficModel:
    """Conversations of a set of queues, generated per local day on first use and cached.

    Thread-safe: the stand-in answers requests on several threads; a chunk generated twice by a
    race is identical, so the cache simply keeps the first.
    """

    def __init__(self, queue_ids: Iterable[str], *, seed: int = 7, local_tz: str = DEFAULT_TZ):
        self.queue_ids: tuple[str, ...] = tuple(dict.fromkeys(queue_ids))
        self.seed = seed
        self.local_tz = local_tz
        self._tz = pytz.timezone(local_tz)
        self._profiles = {q: _profile(seed, q) for q in self.queue_ids}
        self._chunks: dict[tuple[str, date], _Chunk] = {}
        self._lock = threading.Lock()

    def local_date(self, instant: datetime) -> date:
        return instant.astimezone(self._tz).date()

    def days_touching(self, start: datetime, end: datetime) -> list[date]:
        """Local days whose conversations can have events in ``[start, end)``."""
        first = self.local_date(start - timedelta(milliseconds=_MAX_SPAN_MS))
        last = self.local_date(end - timedelta(milliseconds=1))
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    def conversations(self, queue_id: str, day: date) -> list[Conversation]:
        """Conversations offered to ``queue_id`` on local ``day`` (empty for unknown queues)."""
        return self._chunk(queue_id, day).conversations()

    def series(self, queue_id: str, day: date) -> dict[str, dict[str, Series]]:
        """Per media type, per metric: sorted event times and values (see ``_series``)."""
        return self._chunk(queue_id, day).series()

    def rows(self, queue_id: str, day: date) -> list[_Row]:
        return self._chunk(queue_id, day).rows

    def _chunk(self, queue_id: str, day: date) -> _Chunk:
        key = (queue_id, day)
        chunk = self._chunks.get(key)
        if chunk is None:
            profile = self._profiles.get(queue_id)
            rows = [] if profile is None else self._rows(queue_id, profile, day)
            chunk = _Chunk(queue_id, rows)
            with self._lock:
                chunk = self._chunks.setdefault(key, chunk)
        return chunk

    def _rows(self, queue_id: str, p: _Profile, day: date) -> list[_Row]:
        rng = random.Random(f"gcnotify-traffic:{self.seed}:{queue_id}:{day.isoformat()}")
        day_start = _ms(_localize(self._tz, datetime(day.year, day.month, day.day)))
        nxt = day + timedelta(days=1)
        day_end = _ms(_localize(self._tz, datetime(nxt.year, nxt.month, nxt.day)))
        slots = (day_end - day_start) // _SLOT_MS  # 46, 48 or 50 on DST days
        weights = [_SLOT_WEIGHTS[min(i, 47)] for i in range(slots)]
        volume = p.weekday_volume * _WEEKDAY_FACTOR[day.weekday()] * rng.uniform(0.85, 1.15)
        count = max(0, round(volume))
        picks = sorted(rng.choices(range(slots), weights=weights, k=count))
        rand = rng.random
        log = math.log
        # Hoisted per-day constants: this loop runs for every conversation of every queue.
        answer_rate = p.answer_rate
        flow_out_below = p.answer_rate + p.flow_out_rate
        message_share, hold_rate, transfer_rate = p.message_share, p.hold_rate, p.transfer_rate
        short_share, abandon_wait = p.short_abandon_share, p.abandon_wait_ms
        rows: list[_Row] = []
        append = rows.append
        for slot in picks:
            offered = day_start + slot * _SLOT_MS + int(rand() * _SLOT_MS)
            message = rand() < message_share
            outcome = rand()
            if outcome < answer_rate:
                # Exponential waits (mean = the queue's ASA), capped at 30 minutes.
                wait = int(-p.asa_ms * (2.0 if message else 1.0) * log(1.0 - rand()))
                wait = min(wait, 1_800_000)
                answered = offered + wait
                if message:
                    talk = int(p.talk_ms * 1.8 * (0.3 + 1.4 * rand()))
                    hold = 0
                    acw = 15_000 + int(rand() * 45_000)
                else:
                    talk = int(p.talk_ms * (0.3 + 1.4 * rand()))
                    hold = 15_000 + int(rand() * 165_000) if rand() < hold_rate else 0
                    acw = 30_000 + int(rand() * 90_000)
                append(
                    ("message" if message else "voice", offered, answered, None, wait, talk,
                     hold, acw, answered + talk + hold + acw, False, rand() < transfer_rate)
                )  # fmt: skip
            elif outcome < flow_out_below:
                wait = 30_000 + int(rand() * 270_000)
                append(
                    ("message" if message else "voice", offered, None, None, wait, 0, 0, 0, None,
                     True, False)
                )  # fmt: skip
            else:
                if rand() < short_share:
                    wait = 500 + int(rand() * (SHORT_ABANDON_MS - 501))
                else:
                    wait = SHORT_ABANDON_MS + int(-abandon_wait * log(1.0 - rand()))
                    wait = min(wait, 1_800_000)
                append(
                    ("message" if message else "voice", offered, None, offered + wait, wait, 0, 0,
                     0, None, False, False)
                )  # fmt: skip
        return rows


def _conversation(queue_id: str, row: _Row) -> Conversation:
    media, offered, answered, abandoned, wait, talk, hold, acw, handle_end, flow_out, xfer = row
    return Conversation(
        queue_id,
        media,
        _dt(offered),
        None if answered is None else _dt(answered),
        None if abandoned is None else _dt(abandoned),
        wait,
        talk,
        hold,
        acw,
        None if handle_end is None else _dt(handle_end),
        flow_out,
        xfer,
    )


def _series(rows: Sequence[_Row]) -> dict[str, dict[str, Series]]:
    """Events per metric, stamped when the measured thing completes (as Genesys counts them).

    Offers count when offered; answers (with their wait) when answered; abandons when abandoned;
    talk and hold when the talk ends; ACW and handle when after-call work completes. The hidden
    ``_slNumerator``/``_slDenominator`` series feed oServiceLevel.
    """
    by_media: dict[str, dict[str, tuple[list[int], list[int]]]] = {}
    for media in {row[0] for row in rows}:
        by_media[media] = {name: ([], []) for name in _SERIES_NAMES}
    for media, offered, answered, abandoned, wait, talk, hold, acw, handle_end, flow, xfer in rows:
        ev = by_media[media]
        _add(ev["nOffered"], offered, 1)
        _add(ev["tWait"], offered + wait, wait)
        if answered is not None and handle_end is not None:
            _add(ev["tAnswered"], answered, wait)
            _add(ev["_slDenominator"], answered, 1)
            if wait <= SLA_THRESHOLD_MS:
                _add(ev["_slNumerator"], answered, 1)
            else:
                _add(ev["nOverSla"], answered, 1)
            talk_end = answered + talk + hold
            _add(ev["tTalk"], talk_end, talk)
            if hold:
                _add(ev["tHeld"], talk_end, hold)
            if xfer:
                _add(ev["nTransferred"], talk_end, 1)
            _add(ev["tAcw"], handle_end, acw)
            _add(ev["tHandle"], handle_end, talk + hold + acw)
        elif abandoned is not None:
            _add(ev["tAbandon"], abandoned, wait)
            if wait < SHORT_ABANDON_MS:
                _add(ev["tShortAbandon"], abandoned, wait)
            else:
                _add(ev["_slDenominator"], abandoned, 1)
        elif flow:
            _add(ev["tFlowOut"], offered + wait, wait)
    result: dict[str, dict[str, Series]] = {}
    for media, metrics in by_media.items():
        result[media] = {}
        for name, (times, values) in metrics.items():
            if not times:
                continue
            if any(a > b for a, b in pairwise(times)):
                order = sorted(range(len(times)), key=times.__getitem__)
                result[media][name] = ([times[i] for i in order], [values[i] for i in order])
            else:
                result[media][name] = (times, values)
    return result


_SERIES_NAMES = (
    "nOffered", "tWait", "tAnswered", "_slDenominator", "_slNumerator", "nOverSla", "tTalk",
    "tHeld", "nTransferred", "tAcw", "tHandle", "tAbandon", "tShortAbandon", "tFlowOut",
)  # fmt: skip


def _add(series: tuple[list[int], list[int]], time_ms: int, value: int) -> None:
    series[0].append(time_ms)
    series[1].append(value)


def generate(
    queues: Sequence[Queue],
    start: datetime,
    end: datetime,
    seed: int,
    *,
    local_tz: str = DEFAULT_TZ,
) -> list[Conversation]:
    """Conversations offered in ``[start, end)`` to ``queues``, ordered by offer time.

    The same ``seed`` gives the same conversations, and a conversation does not change when the
    range around it does.
    """
    model = TrafficModel([q.id for q in queues], seed=seed, local_tz=local_tz)
    lo, hi = _ms(start), _ms(end)
    first, last = model.local_date(start), model.local_date(end - timedelta(milliseconds=1))
    found: list[Conversation] = []
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        for queue_id in model.queue_ids:
            rows = model.rows(queue_id, day)
            # Rows are sorted by offer time: convert only the slice inside the range.
            i = bisect_left(rows, lo, key=_offered)
            j = bisect_left(rows, hi, key=_offered)
            found.extend(_conversation(queue_id, row) for row in rows[i:j])
    # Stable: simultaneous offers keep the queues' order.
    found.sort(key=attrgetter("offered_at"))
    return found


def _offered(row: _Row) -> int:
    return row[1]
