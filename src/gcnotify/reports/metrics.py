"""Turn a Genesys conversation-aggregates response into the numbers a report shows.

Every report metric is defined by the Genesys aggregate metrics it reads (genesys.md §3), so the
numbers reconcile with the Genesys UI. Totals are built from summed counts, sums, numerators and
denominators before dividing: averaging per-queue averages would weight a quiet queue like a busy
one. A missing ``results``, queue or metric is "nothing happened", never an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import pytz

from gcnotify.core.errors import ReportError
from gcnotify.core.model import METRIC_NAMES, Queue

__all__ = [
    "INTERVAL_GRANULARITIES",
    "METRICS",
    "IntervalRow",
    "MetricDef",
    "ReportTable",
    "Row",
    "build_table",
    "format_value",
    "genesys_metrics",
]

MetricKind = Literal["count", "duration", "percent"]

# Granularities that add a per-interval table; P1D rows would only repeat the queue table.
INTERVAL_GRANULARITIES: frozenset[str] = frozenset({"PT1H", "PT30M"})

# Always fetched: without it a day with no offers cannot be told from a failed query.
_ACTIVITY_METRIC = "nOffered"

NO_DATA = "—"


@dataclass
class _Stats:
    """Running totals of one Genesys metric; only the additive stats are kept."""

    count: float = 0.0
    sum: float = 0.0
    numerator: float = 0.0
    denominator: float = 0.0

    def add(self, other: _Stats) -> None:
        self.count += other.count
        self.sum += other.sum
        self.numerator += other.numerator
        self.denominator += other.denominator

    def has_data(self) -> bool:
        return self.count > 0 or self.denominator > 0


_Bucket = dict[str, _Stats]  # Genesys metric name -> stats


@dataclass(frozen=True)
class MetricDef:
    """A report metric: which Genesys metrics it reads and how they combine.

    The recipe follows from ``kind`` and ``needs``: a count reads ``needs[0]``'s count; a
    duration is ``needs[0]`` sum ÷ count (ms); a percent of two metrics is count ÷ count, of one
    metric (``oServiceLevel``) numerator ÷ denominator.
    """

    name: str
    label: str
    needs: tuple[str, ...]
    kind: MetricKind
    formula: str

    def value(self, bucket: Mapping[str, _Stats]) -> float | None:
        """The metric from summed stats; None where its denominator is zero (no data)."""
        first = bucket.get(self.needs[0]) or _Stats()
        if self.kind == "count":
            return first.count
        if self.kind == "duration":
            return first.sum / first.count if first.count else None
        if len(self.needs) == 2:
            base = (bucket.get(self.needs[1]) or _Stats()).count
            return 100.0 * first.count / base if base else None
        return 100.0 * first.numerator / first.denominator if first.denominator else None


def _count(name: str, label: str, metric: str, what: str) -> MetricDef:
    return MetricDef(name, label, (metric,), "count", f"{label} = {what} ({metric} count)")


def _average(name: str, label: str, metric: str, what: str, per: str) -> MetricDef:
    formula = f"{label} = {what} ({metric} sum) ÷ {per} ({metric} count)"
    return MetricDef(name, label, (metric,), "duration", formula)


METRICS: dict[str, MetricDef] = {
    m.name: m
    for m in (
        _count("offered", "Offered", "nOffered", "interactions routed into the queue"),
        _count("answered", "Answered", "tAnswered", "interactions answered by an agent"),
        _count("handled", "Handled", "tHandle", "interactions handled"),
        _count("abandoned", "Abandoned", "tAbandon", "interactions abandoned in queue"),
        MetricDef(
            "abandon_rate",
            "Abandon %",
            ("tAbandon", "nOffered"),
            "percent",
            "Abandon % = abandoned (tAbandon count) ÷ offered (nOffered count) × 100",
        ),
        _average("aht", "AHT", "tHandle", "total handle time", "handled"),
        _average("asa", "ASA", "tAnswered", "total wait before answer", "answered"),
        MetricDef(
            "service_level",
            "Service level",
            ("oServiceLevel",),
            "percent",
            "Service level = oServiceLevel numerator ÷ denominator × 100, as your org's "
            "service level settings define them",
        ),
        _average("avg_talk", "Avg talk", "tTalk", "total talk time", "talk segments"),
        _average("avg_hold", "Avg hold", "tHeld", "total hold time", "holds"),
        _average("avg_acw", "Avg ACW", "tAcw", "total after-call work time", "wrap-ups"),
        _count("short_abandoned", "Short abandons", "tShortAbandon", "short abandons"),
        _count("flow_out", "Flow-outs", "tFlowOut", "interactions that left the queue unanswered"),
        _count("transferred", "Transferred", "nTransferred", "transfers"),
    )
}

if tuple(METRICS) != METRIC_NAMES:  # pragma: no cover - guards an edit to model.METRIC_NAMES
    raise RuntimeError("metrics.METRICS and model.METRIC_NAMES list different metrics")


@dataclass(frozen=True)
class Row:
    """One line of a table; ``values`` maps report metric name to number (None = no data)."""

    label: str
    values: Mapping[str, float | None]


@dataclass(frozen=True)
class IntervalRow:
    """One queue in one response interval; ``start``/``end`` are in the report's zone."""

    start: datetime
    end: datetime
    queue: str
    values: Mapping[str, float | None]


@dataclass(frozen=True)
class ReportTable:
    metrics: tuple[str, ...]
    rows: tuple[Row, ...]
    total: Row
    intervals: tuple[IntervalRow, ...]
    has_data: bool


def _definitions(names: Iterable[str]) -> list[MetricDef]:
    try:
        return [METRICS[name] for name in names]
    except KeyError as exc:
        known = ", ".join(METRIC_NAMES)
        raise ReportError(f"unknown report metric {exc.args[0]!r}; known metrics: {known}") from exc


def genesys_metrics(names: Sequence[str]) -> list[str]:
    """The Genesys metrics to query for ``names``, deduplicated, ``nOffered`` always first."""
    needed = [_ACTIVITY_METRIC]
    for definition in _definitions(names):
        needed += definition.needs
    return list(dict.fromkeys(needed))


def _number(value: object, where: str) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ReportError(f"unexpected {where} {value!r} in the Genesys aggregates response")
    return float(value)


def _list(value: object, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ReportError(f"unexpected {where} in the Genesys aggregates response: not a list")
    return value


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ReportError(f"unexpected {where} in the Genesys aggregates response: not an object")
    return value


def _stats(raw: object) -> _Stats:
    if raw is None:
        return _Stats()
    if not isinstance(raw, Mapping):
        raise ReportError("unexpected metric stats in the Genesys aggregates response")
    return _Stats(
        count=_number(raw.get("count"), "stats.count"),
        sum=_number(raw.get("sum"), "stats.sum"),
        numerator=_number(raw.get("numerator"), "stats.numerator"),
        denominator=_number(raw.get("denominator"), "stats.denominator"),
    )


def _parse_interval(text: object) -> tuple[datetime, datetime]:
    try:
        if not isinstance(text, str):
            raise TypeError(text)
        start_text, end_text = text.split("/")
        start, end = datetime.fromisoformat(start_text), datetime.fromisoformat(end_text)
    except (TypeError, ValueError) as exc:
        raise ReportError(
            f"unexpected interval {text!r} in the Genesys aggregates response "
            "(expected 'start/end' ISO-8601 instants)"
        ) from exc
    # Genesys answers in UTC ("…Z"); a bare timestamp is read the same way.
    return (
        start if start.tzinfo else start.replace(tzinfo=UTC),
        end if end.tzinfo else end.replace(tzinfo=UTC),
    )


def _accumulate(
    response: Mapping[str, Any], queue_ids: set[str], needed: set[str], by_interval: bool
) -> tuple[dict[str, _Bucket], dict[tuple[str, str], _Bucket]]:
    """Sum stats per queue and per (queue, interval); groups may repeat (e.g. per media type)."""
    per_queue: dict[str, _Bucket] = {}
    per_interval: dict[tuple[str, str], _Bucket] = {}
    for result in _list(response.get("results"), "results"):
        group = _mapping(result, "results[]").get("group")
        queue_id = group.get("queueId") if isinstance(group, Mapping) else None
        if not isinstance(queue_id, str) or queue_id not in queue_ids:
            continue  # no queue group, or a queue this report did not ask for
        for raw_data in _list(result.get("data"), "results[].data"):
            data = _mapping(raw_data, "results[].data[]")
            interval = data.get("interval")
            for metric in _list(data.get("metrics"), "results[].data[].metrics"):
                name = _mapping(metric, "results[].data[].metrics[]").get("metric")
                if name not in needed:
                    continue
                stats = _stats(metric.get("stats"))
                per_queue.setdefault(queue_id, {}).setdefault(name, _Stats()).add(stats)
                if by_interval:
                    key = (queue_id, str(interval))
                    per_interval.setdefault(key, {}).setdefault(name, _Stats()).add(stats)
    return per_queue, per_interval


def _values(
    definitions: Sequence[MetricDef], bucket: Mapping[str, _Stats]
) -> dict[str, float | None]:
    return {d.name: d.value(bucket) for d in definitions}


def build_table(
    response: Mapping[str, Any],
    queues: Sequence[Queue],
    metrics: Sequence[str],
    timezone: str,
    granularity: str,
) -> ReportTable:
    """One row per configured queue (config order, zeros when absent) plus a summed total.

    A queue configured twice (say by name and by id) is shown and counted once.
    """
    definitions = _definitions(metrics)
    needed = set(genesys_metrics(metrics))
    first: dict[str, Queue] = {}
    for queue in queues:
        first.setdefault(queue.id, queue)
    unique = list(first.values())
    by_interval = granularity in INTERVAL_GRANULARITIES
    per_queue, per_interval = _accumulate(response, {q.id for q in unique}, needed, by_interval)

    rows = []
    total: _Bucket = {}
    for queue in unique:
        bucket = per_queue.get(queue.id, {})
        rows.append(Row(queue.name, _values(definitions, bucket)))
        for name, stats in bucket.items():
            total.setdefault(name, _Stats()).add(stats)

    intervals: list[tuple[datetime, int, IntervalRow]] = []
    if by_interval:
        zone = pytz.timezone(timezone)
        order = {q.id: i for i, q in enumerate(unique)}
        names = {q.id: q.name for q in unique}
        for (queue_id, text), bucket in per_interval.items():
            if not any(stats.has_data() for stats in bucket.values()):
                continue
            start, end = _parse_interval(text)
            row = IntervalRow(
                start=start.astimezone(zone),
                end=end.astimezone(zone),
                queue=names[queue_id],
                values=_values(definitions, bucket),
            )
            intervals.append((start, order[queue_id], row))
    intervals.sort(key=lambda item: (item[0], item[1]))

    return ReportTable(
        metrics=tuple(metrics),
        rows=tuple(rows),
        total=Row("Total", _values(definitions, total)),
        intervals=tuple(row for _, _, row in intervals),
        has_data=any(stats.has_data() for stats in total.values()),
    )


def format_value(metric: str, value: float | None) -> str:
    """The text a reader sees: ``1,234``, ``0:05:12`` (from ms), ``3.4%``, ``—`` for no data."""
    kind = _definitions([metric])[0].kind
    if value is None:
        return NO_DATA
    if kind == "count":
        return f"{round(value):,}"
    if kind == "percent":
        return f"{value:.1f}%"
    sign = "-" if value < 0 else ""
    seconds = int(abs(value) / 1000 + 0.5)  # half-up: 1.5 s shows as 0:00:02
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{sign}{hours}:{minutes:02d}:{seconds:02d}"
