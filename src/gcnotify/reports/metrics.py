"""Turn a Genesys conversation-aggregates response into the numbers a report shows.

Every report metric is defined by the Genesys aggregate metrics it reads (``METRICS``), so the
numbers reconcile with the Genesys UI. Totals are built from summed counts, sums, numerators and
denominators before dividing: averaging per-queue averages would weight a quiet queue like a busy
one. A missing ``results``, queue or metric is "nothing happened", never an error.

An answer that holds data but does not fit the query is an ``UnexpectedAnswerError``, never "no
activity": groups for queues that were not asked for or not grouped by queue, negative stats,
intervals outside the window or of another length than the granularity, stats without the fields
a metric is computed from. Reading such an answer would mail wrong numbers, or a "No activity"
email for a day that had traffic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytz

from gcnotify.core.errors import ReportError, UnexpectedAnswerError
from gcnotify.core.model import METRIC_NAMES, Queue
from gcnotify.core.windows import ReportWindow

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

# Bucket lengths per granularity. A local day lasts 23 to 25 hours where clocks change (23.5 or
# 24.5 on Lord Howe Island); the bounds leave room for that and nothing more.
_STEPS = {"PT1H": timedelta(hours=1), "PT30M": timedelta(minutes=30)}
_DAY_SHORTEST, _DAY_LONGEST = timedelta(hours=22), timedelta(hours=26)
_BUCKET_NAMES = {"P1D": "one local day", "PT1H": "one hour", "PT30M": "half an hour"}
_SHOWN_IDS = 5  # foreign queue ids quoted in a message; the rest are counted

_NOT_TRUSTED = (
    " This answer cannot be trusted, so no report email is sent (and no 'No activity' email "
    "either). Run the report again for this date; if Genesys Cloud answers the same way, check "
    "that GCNOTIFY_GENESYS_API_URL (or genesys.environment) points at Genesys Cloud itself, not at "
    "a proxy or cache, and open a Genesys support case quoting the query."
)


def _unexpected(what: str) -> UnexpectedAnswerError:
    return UnexpectedAnswerError(
        f"the Genesys Cloud aggregates answer does not fit the query: {what}.{_NOT_TRUSTED}"
    )


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
        raise _unexpected(f"{where} is {value!r}, not a number")
    return float(value)


def _list(value: object, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _unexpected(f"{where} is not a list")
    return value


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _unexpected(f"{where} is not an object")
    return value


# The stats fields a queried Genesys metric must carry, with the report metrics that read each:
# Genesys metric -> stats field -> labels of the report metrics computed from it.
_Needs = dict[str, dict[str, list[str]]]
_STAT_FIELDS = ("count", "sum", "numerator", "denominator")


def _needs(definitions: Sequence[MetricDef]) -> _Needs:
    """The stats fields each queried metric must hold, and which report metrics read them."""
    needs: _Needs = {_ACTIVITY_METRIC: {"count": ["the activity check"]}}

    def need(metric: str, fields: tuple[str, ...], label: str) -> None:
        for name in fields:
            needs.setdefault(metric, {}).setdefault(name, []).append(label)

    for d in definitions:
        if d.kind == "count":
            need(d.needs[0], ("count",), d.label)
        elif d.kind == "duration":
            need(d.needs[0], ("count", "sum"), d.label)
        elif len(d.needs) == 2:
            for metric in d.needs:
                need(metric, ("count",), d.label)
        else:
            need(d.needs[0], ("numerator", "denominator"), d.label)
    return needs


def _stats(raw: object, metric: str, fields: Mapping[str, list[str]], where: str) -> _Stats:
    """The stats of one needed metric, refused when negative or missing a field it is read by.

    A timer with count 0 needs no sum, and a ratio with denominator 0 no numerator: there is
    nothing to divide.
    """
    if not isinstance(raw, Mapping):
        shown = "no stats" if raw is None else "stats that are not an object"
        raise _unexpected(f"{metric} has {shown} {where}")
    values = {name: raw.get(name) for name in _STAT_FIELDS}
    numbers = {name: _number(v, f"{metric} stats.{name} {where}") for name, v in values.items()}
    for name, number in numbers.items():
        if number < 0:
            raise _unexpected(
                f"{metric} has a negative {name} ({values[name]!r}) {where}; counts, sums and "
                "service level parts are never negative"
            )
    for name, readers in fields.items():
        if values[name] is not None:
            continue
        nothing_to_divide = (name == "sum" and numbers["count"] == 0) or (
            name == "numerator" and numbers["denominator"] == 0
        )
        if nothing_to_divide:
            continue
        users = list(dict.fromkeys(readers))
        verb = "is" if len(users) == 1 else "are"
        raise _unexpected(
            f"{metric} stats {where} are without {name}, which {' and '.join(users)} {verb} "
            "computed from"
        )
    return _Stats(**numbers)


def _parse_interval(text: object) -> tuple[datetime, datetime]:
    try:
        if not isinstance(text, str):
            raise TypeError(text)
        start_text, end_text = text.split("/")
        start, end = datetime.fromisoformat(start_text), datetime.fromisoformat(end_text)
    except (TypeError, ValueError) as exc:
        raise _unexpected(f"the interval {text!r} is not 'start/end' ISO-8601 instants") from exc
    # Genesys answers in UTC ("…Z"); a bare timestamp is read the same way.
    return (
        start if start.tzinfo else start.replace(tzinfo=UTC),
        end if end.tzinfo else end.replace(tzinfo=UTC),
    )


def _length_text(length: timedelta) -> str:
    minutes = int(length.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"


def _fits_granularity(
    start: datetime, end: datetime, granularity: str, zone: pytz.BaseTzInfo
) -> bool:
    """Whether ``[start, end)`` is one bucket of ``granularity`` in ``zone``.

    A P1D bucket is one local day (23 to 25 hours across DST); an hour or half hour may be
    counted in elapsed or in wall-clock time, so a bucket that spans a clock change fits too.
    """
    elapsed = end - start
    if granularity not in _STEPS:
        return _DAY_SHORTEST <= elapsed <= _DAY_LONGEST
    wall = end.astimezone(zone).replace(tzinfo=None) - start.astimezone(zone).replace(tzinfo=None)
    return _STEPS[granularity] in (elapsed, wall)


@dataclass(frozen=True)
class _Question:
    """What the query asked: the answer is checked against it."""

    queues: Mapping[str, Queue]  # lower-cased id -> queue (ids are UUIDs: letter case is noise)
    needs: _Needs
    granularity: str
    zone: pytz.BaseTzInfo
    window: ReportWindow | None


class _Intervals:
    """Response intervals, parsed and checked once each (every queue repeats the same ones)."""

    def __init__(self, question: _Question) -> None:
        self._question = question
        self._seen: dict[str, tuple[datetime, datetime]] = {}

    def get(self, text: object) -> tuple[datetime, datetime]:
        key = text if isinstance(text, str) else repr(text)
        found = self._seen.get(key)
        if found is None:
            found = self._seen[key] = self._checked(text)
        return found

    def _checked(self, text: object) -> tuple[datetime, datetime]:
        start, end = _parse_interval(text)
        question = self._question
        if not start < end:
            raise _unexpected(f"the interval {text!r} does not start before it ends")
        window = question.window
        if window is not None and (start < window.start or end > window.end):
            raise _unexpected(
                f"the interval {text!r} lies outside the report window {window.genesys_interval()}"
            )
        granularity = question.granularity
        if not _fits_granularity(start, end, granularity, question.zone):
            raise _unexpected(
                f"the interval {text!r} lasts {_length_text(end - start)}, not "
                f"{_BUCKET_NAMES.get(granularity, granularity)} as the query's granularity "
                f"{granularity} asked"
            )
        return start, end


def _foreign_queues(ids: Iterable[str]) -> UnexpectedAnswerError:
    unique = sorted(set(ids))
    shown = ", ".join(unique[:_SHOWN_IDS])
    more = f" and {len(unique) - _SHOWN_IDS} more" if len(unique) > _SHOWN_IDS else ""
    noun = "queue" if len(unique) == 1 else "queues"
    return _unexpected(
        f"it holds results for {len(unique)} {noun} this report did not ask for ({shown}{more})"
    )


def _group_queue_id(result: Mapping[str, Any], index: int) -> str:
    """The queueId a result is grouped by; without one it belongs on no row."""
    group = result.get("group")
    queue_id = group.get("queueId") if isinstance(group, Mapping) else None
    if not isinstance(queue_id, str) or not queue_id:
        raise _unexpected(
            f"results[{index}] has no group.queueId (its group is {repr(group)[:200]}), although "
            "the query grouped by queueId"
        )
    return queue_id


def _accumulate(
    response: Mapping[str, Any], question: _Question, intervals: _Intervals, by_interval: bool
) -> tuple[dict[str, _Bucket], dict[tuple[str, str], _Bucket]]:
    """Sum stats per queue and per (queue, interval); groups may repeat (e.g. per media type)."""
    per_queue: dict[str, _Bucket] = {}
    per_interval: dict[tuple[str, str], _Bucket] = {}
    foreign: list[str] = []
    for index, raw_result in enumerate(_list(response.get("results"), "results")):
        result = _mapping(raw_result, f"results[{index}]")
        answered_id = _group_queue_id(result, index)
        queue = question.queues.get(answered_id.lower())
        if queue is None:
            foreign.append(answered_id)
            continue
        queue_id, name = queue.id, queue.name
        for raw_data in _list(result.get("data"), f"results[{index}].data"):
            data = _mapping(raw_data, f"results[{index}].data[]")
            interval = data.get("interval")
            intervals.get(interval)
            where = f"for queue {name} in {interval}"
            for raw_metric in _list(data.get("metrics"), f"results[{index}].data[].metrics"):
                metric = _mapping(raw_metric, f"results[{index}].data[].metrics[]").get("metric")
                if not isinstance(metric, str) or metric not in question.needs:
                    continue
                fields = question.needs[metric]
                stats = _stats(raw_metric.get("stats"), metric, fields, where)
                per_queue.setdefault(queue_id, {}).setdefault(metric, _Stats()).add(stats)
                if by_interval:
                    key = (queue_id, str(interval))
                    per_interval.setdefault(key, {}).setdefault(metric, _Stats()).add(stats)
    if foreign:
        raise _foreign_queues(foreign)
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
    *,
    window: ReportWindow | None = None,
) -> ReportTable:
    """One row per configured queue (config order, zeros when absent) plus a summed total.

    A queue configured twice (say by name and by id) is shown and counted once. ``window`` is the
    span the query asked for: with it, an interval outside it is refused too.
    """
    definitions = _definitions(metrics)
    first: dict[str, Queue] = {}
    for queue in queues:
        first.setdefault(queue.id.lower(), queue)
    unique = list(first.values())
    zone = pytz.timezone(timezone)
    question = _Question(first, _needs(definitions), granularity, zone, window)
    buckets = _Intervals(question)
    by_interval = granularity in INTERVAL_GRANULARITIES
    per_queue, per_interval = _accumulate(response, question, buckets, by_interval)

    rows = []
    total: _Bucket = {}
    for queue in unique:
        bucket = per_queue.get(queue.id, {})
        rows.append(Row(queue.name, _values(definitions, bucket)))
        for name, stats in bucket.items():
            total.setdefault(name, _Stats()).add(stats)

    intervals: list[tuple[datetime, int, IntervalRow]] = []
    if by_interval:
        order = {q.id: i for i, q in enumerate(unique)}
        names = {q.id: q.name for q in unique}
        for (queue_id, text), bucket in per_interval.items():
            if not any(stats.has_data() for stats in bucket.values()):
                continue
            start, end = buckets.get(text)
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
