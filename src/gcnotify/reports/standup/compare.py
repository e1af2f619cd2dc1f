"""The standup maths: the business day against the same weekday last week and the four before.

Every figure is divided at the end from summed parts (``Counts``): a four-week service level is
Σ numerators ÷ Σ denominators over the days used, never the mean of four daily percentages, so
a quiet day weighs what its traffic weighs. Counts (offered, answered) are compared with their
daily average over the days used.

A comparison day on which the contact center was closed (a holiday, or not a business day) is
left out: the trailing average is over the remaining days and says how many, and when last
week's day is left out its delta is absent with the reason. Pure: values in, values out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

import pytz

from gcnotify.core.errors import UnexpectedAnswerError
from gcnotify.core.model import Queue
from gcnotify.core.windows import start_of_day
from gcnotify.reports.standup.counts import COMPARISON_DAYS, HEAT_GRANULARITIES, Counts

__all__ = [
    "BASES",
    "COMPARISON_DAYS",
    "STANDUP_METRICS",
    "Baseline",
    "BasisKey",
    "Closed",
    "Delta",
    "HeatRow",
    "HeatTable",
    "MetricKind",
    "QueueComparison",
    "StandupComparison",
    "StandupMetric",
    "compare_days",
    "day_text",
    "heat_table",
    "metric_values",
]

MetricKind = Literal["count", "percent", "duration"]
BasisKey = Literal["same_weekday_last_week", "trailing_4_weeks"]
BASES: tuple[BasisKey, ...] = ("same_weekday_last_week", "trailing_4_weeks")
TRAILING_WEEKS = 4
# ``closed(day)``: falsy when open; True, or the reason as text ("a holiday (Labor Day)"), when
# the contact center was closed that day.
Closed = Callable[[date], bool | str | None]

_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WEEKDAY_PLURALS = (
    "Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays",
)  # fmt: skip
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_STEPS = {"PT30M": timedelta(minutes=30), "PT1H": timedelta(hours=1)}


def day_text(day: date) -> str:
    """``Tue 04 Nov 2025``: English names whatever the process locale."""
    return f"{_DAY_NAMES[day.weekday()]} {day.day:02d} {_MONTH_NAMES[day.month - 1]} {day.year}"


@dataclass(frozen=True)
class StandupMetric:
    """A figure of the pack. Percentages are fractions (0.8 = 80 %), durations milliseconds.

    ``better`` says which way is good news, for colour and wording; None where neither is.
    """

    name: str
    label: str
    kind: MetricKind
    better: Literal["higher", "lower"] | None
    formula: str

    def value(self, counts: Counts, days: int = 1) -> float | None:
        """The figure from summed parts; counts are per day over ``days`` days."""
        c = counts
        if self.name == "offered":
            return c.offered / days
        if self.name == "answered":
            return c.answered / days
        if self.name == "abandon_rate":
            return c.abandoned / c.offered if c.offered else None
        if self.name == "service_level":
            return c.sl_numerator / c.sl_denominator if c.sl_denominator else None
        if self.name == "asa":
            return c.answer_wait_ms / c.answered if c.answered else None
        if self.name == "aht":
            return c.handle_ms / c.handled if c.handled else None
        raise KeyError(self.name)  # pragma: no cover - the table below is closed


STANDUP_METRICS: tuple[StandupMetric, ...] = (
    StandupMetric("offered", "Offered", "count", None, "Offered = nOffered count"),
    StandupMetric("answered", "Answered", "count", None, "Answered = tAnswered count"),
    StandupMetric(
        "abandon_rate", "Abandon %", "percent", "lower",
        "Abandon % = tAbandon count ÷ nOffered count",
    ),
    StandupMetric(
        "service_level", "Service level", "percent", "higher",
        "Service level = summed oServiceLevel numerators ÷ summed denominators (your org's "
        "service level settings)",
    ),
    StandupMetric(
        "asa", "ASA", "duration", "lower",
        "ASA = tAnswered sum ÷ tAnswered count (the wait before an agent answered)",
    ),
    StandupMetric(
        "aht", "AHT", "duration", "lower",
        "AHT = tHandle sum ÷ tHandle count (talk + hold + after-call work)",
    ),
)  # fmt: skip
_BY_NAME = {m.name: m for m in STANDUP_METRICS}


def metric_values(counts: Counts, days: int = 1) -> dict[str, float | None]:
    return {m.name: m.value(counts, days) for m in STANDUP_METRICS}


@dataclass(frozen=True)
class Delta:
    """The day against a baseline. ``change`` is in the metric's unit (fraction points for a
    percentage); ``relative`` is change ÷ baseline, for counts and durations only. Without a
    change, ``reason`` says why (the comparison day was closed, or had no data)."""

    baseline: float | None
    change: float | None
    relative: float | None
    reason: str | None = None

    @property
    def direction(self) -> Literal["up", "down", "flat"] | None:
        if self.change is None:
            return None
        if abs(self.change) < 1e-12:
            return "flat"
        return "up" if self.change > 0 else "down"


@dataclass(frozen=True)
class Baseline:
    """The days one comparison stands on: the ones wanted, used, and left out (with why)."""

    key: BasisKey
    label: str
    wanted: tuple[date, ...]
    used: tuple[date, ...]
    left_out: tuple[tuple[date, str], ...]

    @property
    def note(self) -> str:
        """What a reader needs to trust the comparison, e.g. '3 of 4 Tuesdays (…left out…)'."""
        if self.key == "same_weekday_last_week":
            if self.left_out:
                day, why = self.left_out[0]
                return f"{day_text(day)} left out: {why}; no change shown"
            return f"{day_text(self.wanted[0])}"
        plural = _WEEKDAY_PLURALS[self.wanted[0].weekday()]
        text = f"average of {len(self.used)} of {len(self.wanted)} {plural}"
        if self.left_out:
            gone = "; ".join(f"{day_text(d)}: {why}" for d, why in self.left_out)
            text += f" (left out — {gone})"
        return text


@dataclass(frozen=True)
class QueueComparison:
    """One queue (or the total, ``queue_id`` None): the day's figures and their deltas."""

    label: str
    queue_id: str | None
    counts: Counts
    values: Mapping[str, float | None]
    deltas: Mapping[BasisKey, Mapping[str, Delta]]


@dataclass(frozen=True)
class StandupComparison:
    business_date: date
    baselines: tuple[Baseline, ...]
    rows: tuple[QueueComparison, ...]
    total: QueueComparison

    @property
    def has_data(self) -> bool:
        return self.total.counts.has_data()


def _closing_reason(closed: Closed, day: date) -> str | None:
    said = closed(day)
    if not said:
        return None
    if isinstance(said, str):
        return said
    return "closed (a holiday or not a business day)"


def _baselines(business_date: date, closed: Closed, bases: Sequence[BasisKey]) -> list[Baseline]:
    weekday = _DAY_NAMES[business_date.weekday()]
    out = []
    for key in bases:
        weeks = 1 if key == "same_weekday_last_week" else TRAILING_WEEKS
        wanted = tuple(business_date - timedelta(days=7 * k) for k in range(1, weeks + 1))
        reasons = {day: _closing_reason(closed, day) for day in wanted}
        left_out = tuple((d, r) for d, r in reasons.items() if r is not None)
        used = tuple(d for d, r in reasons.items() if r is None)
        label = f"vs last {weekday}" if weeks == 1 else f"vs {weeks}-week avg"
        out.append(Baseline(key, label, wanted, used, left_out))
    return out


def _delta(metric: StandupMetric, value: float | None, base: Baseline, parts: Counts) -> Delta:
    if not base.used:
        if base.key == "same_weekday_last_week":
            day, why = base.left_out[0]
            reason = f"{day_text(day)} was {why}"
        else:
            reason = f"all {len(base.wanted)} earlier {_WEEKDAY_PLURALS[base.wanted[0].weekday()]}"
            reason += " were closed"
        return Delta(None, None, None, reason)
    baseline = metric.value(parts, len(base.used))
    if baseline is None:
        days = day_text(base.used[0]) if len(base.used) == 1 else f"the {len(base.used)} days"
        return Delta(None, None, None, f"no {metric.label} on {days}")
    if value is None:
        return Delta(baseline, None, None, f"no {metric.label} on the day")
    change = value - baseline
    relative = change / baseline if metric.kind != "percent" and baseline else None
    return Delta(baseline, change, relative)


def _line(
    label: str,
    queue_id: str | None,
    day: Counts,
    baselines: Sequence[Baseline],
    parts: Mapping[BasisKey, Counts],
) -> QueueComparison:
    values = metric_values(day)
    deltas = {
        b.key: {m.name: _delta(m, values[m.name], b, parts[b.key]) for m in STANDUP_METRICS}
        for b in baselines
    }
    return QueueComparison(label, queue_id, day, values, deltas)


def compare_days(
    *,
    business_date: date,
    queues: Sequence[Queue],
    daily: Mapping[date, Mapping[str, Counts]],
    closed: Closed,
    bases: Sequence[BasisKey] = BASES,
) -> StandupComparison:
    """Per queue (config order, each once) and in total: the day and its deltas.

    ``daily`` maps local date → queue id → parts for the business day and the 28 days before
    it; a missing day or queue means no traffic. The total sums the queues' parts.
    """
    first = business_date - timedelta(days=COMPARISON_DAYS)
    outside = sorted(d for d in daily if not first <= d <= business_date)
    if outside:
        raise ValueError(
            f"daily counts for {day_text(outside[0])} lie outside the 29 days ending "
            f"{day_text(business_date)}"
        )
    unknown = sorted(set(bases) - set(BASES))
    if unknown:
        raise ValueError(f"unknown comparison {unknown[0]!r}; known: {', '.join(BASES)}")
    baselines = _baselines(business_date, closed, list(dict.fromkeys(bases)))
    unique = list({q.id.lower(): q for q in reversed(queues)}.values())[::-1]

    def parts(queue_id: str | None, days: Sequence[date]) -> Counts:
        found: list[Counts] = []
        for day in days:
            per_queue = daily.get(day, {})
            if queue_id is None:
                found.extend(per_queue.get(q.id, Counts()) for q in unique)
            else:
                found.append(per_queue.get(queue_id, Counts()))
        return Counts.total(found)

    rows = tuple(
        _line(
            q.name,
            q.id,
            parts(q.id, [business_date]),
            baselines,
            {b.key: parts(q.id, b.used) for b in baselines},
        )
        for q in unique
    )
    total = _line(
        "Total",
        None,
        parts(None, [business_date]),
        baselines,
        {b.key: parts(None, b.used) for b in baselines},
    )
    return StandupComparison(business_date, tuple(baselines), rows, total)


# ---------------------------------------------------------------------- heat table


@dataclass(frozen=True)
class HeatRow:
    """One interval of the day over all the pack's queues; ``start``/``end`` in local time."""

    start: datetime
    end: datetime
    label: str
    counts: Counts
    peak: bool

    @property
    def offered(self) -> float:
        return self.counts.offered

    @property
    def service_level(self) -> float | None:
        return _BY_NAME["service_level"].value(self.counts)

    @property
    def abandon_rate(self) -> float | None:
        return _BY_NAME["abandon_rate"].value(self.counts)


@dataclass(frozen=True)
class HeatTable:
    granularity: str
    timezone: str
    rows: tuple[HeatRow, ...]
    total: Counts

    @property
    def peak(self) -> HeatRow | None:
        return next((row for row in self.rows if row.peak), None)


def heat_table(
    *,
    business_date: date,
    timezone: str,
    granularity: str,
    buckets: Mapping[datetime, Mapping[str, Counts]],
) -> HeatTable:
    """Every interval of the local day, zeros included, the busiest (most offered) marked.

    Intervals step in elapsed time from local midnight, so a 23-hour DST day has 46 half hours
    and a 25-hour one 50; a wall time that happens twice is labelled with its zone abbreviation.
    ``buckets`` maps interval start → queue id → parts (``counts_by_interval``); a start that is
    not an interval of the day is refused.
    """
    if granularity not in HEAT_GRANULARITIES:
        raise ValueError(f"heat table granularity must be PT30M or PT1H, not {granularity!r}")
    zone = pytz.timezone(timezone)
    start = start_of_day(business_date, timezone).astimezone(UTC)
    end = start_of_day(business_date + timedelta(days=1), timezone).astimezone(UTC)
    step = _STEPS[granularity]
    spans: list[tuple[datetime, datetime]] = []
    cursor = start
    while cursor < end:
        spans.append((cursor, min(cursor + step, end)))
        cursor += step
    totals = {
        s.astimezone(UTC): Counts.total(per_queue.values()) for s, per_queue in buckets.items()
    }
    known = {s for s, _ in spans}
    stray = sorted(s for s in totals if s not in known)
    if stray:
        raise UnexpectedAnswerError(
            f"the interval answer holds a {granularity} bucket starting {stray[0].isoformat()}, "
            f"which is not an interval of {business_date.isoformat()} in {timezone}; its numbers "
            "cannot be placed, so the pack is not sent."
        )
    locals_ = [(s.astimezone(zone), e.astimezone(zone)) for s, e in spans]
    wall = [s.strftime("%H:%M") for s, _ in locals_]
    repeated = {w for w in wall if wall.count(w) > 1}
    counts = [totals.get(s, Counts()) for s, _ in spans]
    busiest = max(range(len(counts)), key=lambda i: (counts[i].offered, -i), default=None)
    if busiest is not None and counts[busiest].offered <= 0:
        busiest = None
    rows = tuple(
        HeatRow(
            start=ls,
            end=le,
            label=f"{w} {ls.tzname()}" if w in repeated else w,
            counts=c,
            peak=i == busiest,
        )
        for i, ((ls, le), w, c) in enumerate(zip(locals_, wall, counts, strict=True))
    )
    return HeatTable(granularity, timezone, rows, Counts.total(counts))
