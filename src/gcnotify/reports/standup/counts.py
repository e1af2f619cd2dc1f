"""The additive parts of a standup pack's queue numbers, read from conversation aggregates.

A standup compares the business day with up to four earlier weeks, so it keeps what can be
summed over days and queues (counts, timer sums, service level numerators and denominators) and
divides only at the end. Two aggregates queries feed it: one ``P1D`` query over the 29 local
days that hold every comparison day, and one ``PT30M``/``PT1H`` query over the business day for
the heat table (metrics land in the bucket of the instant they complete).

Pure: answers in, numbers out. An answer that holds queues that were not asked for, or
negative stats, is refused (``UnexpectedAnswerError``) rather than read as "no traffic".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytz

from gcnotify.core.errors import UnexpectedAnswerError
from gcnotify.core.windows import start_of_day
from gcnotify.reports.query import build_aggregates_query

__all__ = [
    "COMPARISON_DAYS",
    "GENESYS_METRICS",
    "HEAT_GRANULARITIES",
    "Counts",
    "counts_by_day",
    "counts_by_interval",
    "standup_queries",
]

# The business day and the 28 days before it: four same weekdays back.
COMPARISON_DAYS = 28
HEAT_GRANULARITIES = frozenset({"PT30M", "PT1H"})
# Each metric gives the stats the pack sums; nOffered first (it tells "no traffic" apart).
GENESYS_METRICS = ("nOffered", "tAnswered", "tAbandon", "oServiceLevel", "tHandle")


@dataclass(frozen=True, slots=True)
class Counts:
    """Summable parts of one queue (or several) over one span.

    Timer sums are milliseconds, as Genesys reports them. ``answered`` is ``tAnswered`` count,
    which is also ASA's denominator; ``handled`` is ``tHandle`` count, AHT's denominator.
    """

    offered: float = 0
    answered: float = 0
    abandoned: float = 0
    sl_numerator: float = 0
    sl_denominator: float = 0
    answer_wait_ms: float = 0
    handled: float = 0
    handle_ms: float = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.offered + other.offered,
            self.answered + other.answered,
            self.abandoned + other.abandoned,
            self.sl_numerator + other.sl_numerator,
            self.sl_denominator + other.sl_denominator,
            self.answer_wait_ms + other.answer_wait_ms,
            self.handled + other.handled,
            self.handle_ms + other.handle_ms,
        )

    @staticmethod
    def total(parts: Iterable[Counts]) -> Counts:
        result = Counts()
        for part in parts:
            result = result + part
        return result

    def has_data(self) -> bool:
        return any(getattr(self, f.name) for f in fields(Counts))


def standup_queries(
    *,
    business_date: date,
    timezone: str,
    queue_ids: Sequence[str],
    granularity: str,
    media_types: Sequence[str] = (),
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The pack's two aggregates bodies: daily over the 29 days, then the day by interval.

    Both intervals run from local midnight to local midnight with their own offsets, so DST days
    are 23 or 25 hours, exactly as the queue report's window.
    """
    if granularity not in HEAT_GRANULARITIES:
        raise ValueError(f"heat table granularity must be PT30M or PT1H, not {granularity!r}")
    first = start_of_day(business_date - timedelta(days=COMPARISON_DAYS), timezone)
    day_start = start_of_day(business_date, timezone)
    end = start_of_day(business_date + timedelta(days=1), timezone)
    common: dict[str, Any] = {
        "timezone": timezone,
        "queue_ids": queue_ids,
        "genesys_metrics": GENESYS_METRICS,
        "media_types": media_types,
    }
    daily = build_aggregates_query(
        interval=f"{_iso(first)}/{_iso(end)}", granularity="P1D", **common
    )
    by_interval = build_aggregates_query(
        interval=f"{_iso(day_start)}/{_iso(end)}", granularity=granularity, **common
    )
    return daily, by_interval


def _iso(instant: datetime) -> str:
    return instant.replace(microsecond=0).isoformat(timespec="seconds")


def _unexpected(what: str) -> UnexpectedAnswerError:
    return UnexpectedAnswerError(
        f"the Genesys Cloud aggregates answer for the standup pack does not fit the query: {what}."
        " Its numbers cannot be trusted, so the pack is not sent; run it again, and if Genesys "
        "answers the same way, open a support case quoting the query."
    )


def _number(stats: Mapping[str, Any], name: str, where: str) -> float:
    value = stats.get(name)
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _unexpected(f"stats.{name} {where} is {value!r}, not a number")
    if value < 0:
        raise _unexpected(f"stats.{name} {where} is negative ({value!r})")
    return float(value)


def _metric_counts(metric: str, stats: Mapping[str, Any], where: str) -> Counts:
    """The parts one Genesys metric contributes (unknown metrics contribute nothing)."""
    if metric == "nOffered":
        return Counts(offered=_number(stats, "count", where))
    if metric == "tAnswered":
        return Counts(
            answered=_number(stats, "count", where), answer_wait_ms=_number(stats, "sum", where)
        )
    if metric == "tAbandon":
        return Counts(abandoned=_number(stats, "count", where))
    if metric == "oServiceLevel":
        return Counts(
            sl_numerator=_number(stats, "numerator", where),
            sl_denominator=_number(stats, "denominator", where),
        )
    if metric == "tHandle":
        return Counts(
            handled=_number(stats, "count", where), handle_ms=_number(stats, "sum", where)
        )
    return Counts()


def _parse_start(text: object) -> datetime:
    try:
        if not isinstance(text, str):
            raise TypeError(text)
        start = datetime.fromisoformat(text.split("/")[0])
    except (TypeError, ValueError) as exc:
        raise _unexpected(f"the interval {text!r} is not 'start/end' ISO-8601 instants") from exc
    return start if start.tzinfo else start.replace(tzinfo=UTC)


def _walk(
    response: Mapping[str, Any], queue_ids: Sequence[str]
) -> Iterable[tuple[str, datetime, Counts]]:
    """(queue id as asked, interval start in UTC, parts) for every data point of the answer."""
    wanted = {q.lower(): q for q in queue_ids}
    results = response.get("results") or []
    if not isinstance(results, list):
        raise _unexpected("results is not a list")
    foreign: set[str] = set()
    for index, result in enumerate(results):
        group = result.get("group") if isinstance(result, Mapping) else None
        queue_id = group.get("queueId") if isinstance(group, Mapping) else None
        if not isinstance(queue_id, str):
            raise _unexpected(f"results[{index}] has no group.queueId")
        asked = wanted.get(queue_id.lower())
        if asked is None:
            foreign.add(queue_id)
            continue
        for data in result.get("data") or []:
            start = _parse_start(data.get("interval"))
            where = f"for queue {asked} in {data.get('interval')}"
            parts = Counts()
            for metric in data.get("metrics") or []:
                name, stats = metric.get("metric"), metric.get("stats") or {}
                if isinstance(name, str) and isinstance(stats, Mapping):
                    parts = parts + _metric_counts(name, stats, f"of {name} {where}")
            yield asked, start.astimezone(UTC), parts
    if foreign:
        raise _unexpected(f"it holds queues that were not asked for ({', '.join(sorted(foreign))})")


def counts_by_day(
    response: Mapping[str, Any], queue_ids: Sequence[str], timezone: str
) -> dict[date, dict[str, Counts]]:
    """Local date → queue id → parts, from a ``P1D`` answer (several groups per queue add up).

    A day or queue without data is simply absent: Genesys leaves empty buckets out.
    """
    zone = pytz.timezone(timezone)
    days: dict[date, dict[str, Counts]] = {}
    for queue_id, start, parts in _walk(response, queue_ids):
        day = start.astimezone(zone).date()
        per_queue = days.setdefault(day, {})
        per_queue[queue_id] = per_queue.get(queue_id, Counts()) + parts
    return days


def counts_by_interval(
    response: Mapping[str, Any], queue_ids: Sequence[str]
) -> dict[datetime, dict[str, Counts]]:
    """Interval start (UTC) → queue id → parts, from a ``PT30M``/``PT1H`` answer."""
    buckets: dict[datetime, dict[str, Counts]] = {}
    for queue_id, start, parts in _walk(response, queue_ids):
        per_queue = buckets.setdefault(start, {})
        per_queue[queue_id] = per_queue.get(queue_id, Counts()) + parts
    return buckets
