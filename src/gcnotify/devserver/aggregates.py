"""Answer a conversation aggregates query from synthetic traffic, with Genesys's semantics.

Pure: a validated request body and a ``TrafficModel`` in, a response body out. What matters for
gcnotify's correctness is reproduced exactly: the interval's explicit offsets decide which events
count, metrics land in the bucket of the instant they complete (answers when answered, handle when
after-call work ends), P1D buckets follow local midnights of ``timeZone`` across DST, response
intervals are UTC ``….000Z``, and metrics, buckets and groups without data are left out (``{}``
when nothing matched). So a window off by an hour gives different numbers, as it would live.

Supported subset (anything else is a 400 that names the stand-in, never a silent wrong answer):
groupBy and filter predicates on ``queueId`` and ``mediaType``; granularity ``PnD``/``PnW``
(calendar days in ``timeZone``) and ``PTnH``/``PTnM``/``PTnS``; ``rangeBound`` views on timers.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytz

from gcnotify.devserver.traffic import (
    MEDIA_TYPES,
    SERVICE_LEVEL_TARGET,
    Series,
    TrafficModel,
)

__all__ = [
    "COUNT_METRICS",
    "SUPPORTED_DIMENSIONS",
    "TIMER_METRICS",
    "AggregatesQueryError",
    "Bucketing",
    "parse_interval",
    "run_aggregates_query",
]

SUPPORTED_DIMENSIONS = ("queueId", "mediaType")
# Response metric -> the traffic series it reads.
TIMER_METRICS: dict[str, str] = {
    "tAnswered": "tAnswered",
    "tAbandon": "tAbandon",
    "tShortAbandon": "tShortAbandon",
    "tFlowOut": "tFlowOut",
    "tWait": "tWait",
    "tAcd": "tWait",
    "tTalk": "tTalk",
    "tTalkComplete": "tTalk",
    "tHeld": "tHeld",
    "tHeldComplete": "tHeld",
    "tAcw": "tAcw",
    "tHandle": "tHandle",
}
COUNT_METRICS: dict[str, str] = {
    "nOffered": "nOffered",
    "nConnected": "tAnswered",
    "nTransferred": "nTransferred",
    "nBlindTransferred": "nTransferred",
    "nOverSla": "nOverSla",
}
_ACTIVITY = ("nOffered", "tWait", "tHandle")  # any of these in a bucket: oServiceTarget shows
_MAX_BUCKETS = 20_000
_MS = timedelta(milliseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PERIOD = re.compile(
    r"^P(?:(?P<W>\d+)W)?(?:(?P<D>\d+)D)?(?:T(?:(?P<H>\d+)H)?(?:(?P<M>\d+)M)?(?:(?P<S>\d+)S)?)?$"
)
_FRACTION = re.compile(r"\.(\d+)")


class AggregatesQueryError(ValueError):
    """The body is not a query the API (or the stand-in) answers; becomes a 400 bad.request."""


@dataclass(frozen=True)
class Bucketing:
    """The response intervals: ``bounds[i]`` to ``bounds[i + 1]`` in epoch ms."""

    bounds: list[int]

    def label(self, index: int) -> str:
        return f"{_iso(self.bounds[index])}/{_iso(self.bounds[index + 1])}"


def _iso(ms: int) -> str:
    instant = _EPOCH + timedelta(milliseconds=ms)
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _parse_instant(text: str) -> datetime:
    # fromisoformat takes at most microseconds on Python 3.11; Genesys allows nanoseconds.
    text = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text, count=1)
    try:
        instant = datetime.fromisoformat(text)
    except ValueError as exc:
        raise AggregatesQueryError(f"Invalid interval instant '{text}'") from exc
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)  # no offset: the API reads it as UTC
    return instant


def parse_interval(interval: str) -> tuple[datetime, datetime]:
    """``start/end`` with their own offsets, as aware datetimes; start must be before end."""
    start_text, sep, end_text = interval.partition("/")
    if not sep:
        raise AggregatesQueryError(f"Invalid interval '{interval}': expected start/end")
    start, end = _parse_instant(start_text), _parse_instant(end_text)
    if start >= end:
        raise AggregatesQueryError(
            f"Invalid interval '{interval}': the start is not before the end"
        )
    return start, end


def _to_ms(instant: datetime) -> int:
    return (instant - _EPOCH) // _MS


def _local_plus_days(tz: Any, start: datetime, days: int) -> datetime:
    """``start`` moved by whole calendar days at the same local wall time in ``tz``."""
    wall = start.astimezone(tz).replace(tzinfo=None) + timedelta(days=days)
    try:
        moved = tz.localize(wall, is_dst=None)
    except pytz.AmbiguousTimeError:
        moved = tz.localize(wall, is_dst=True)
    except pytz.NonExistentTimeError:
        moved = tz.normalize(tz.localize(wall, is_dst=False))
    return moved.astimezone(UTC)  # type: ignore[no-any-return]


def bucketing(start: datetime, end: datetime, granularity: str | None, time_zone: str) -> Bucketing:
    """Buckets from the interval start; day periods step over local days of ``time_zone``."""
    lo, hi = _to_ms(start), _to_ms(end)
    if granularity is None:
        return Bucketing([lo, hi])
    match = _PERIOD.match(granularity)
    if match is None or not any(match.groupdict().values()):
        raise AggregatesQueryError(
            f"granularity '{granularity}' is not supported by the gcnotify stand-in "
            "(use PnD, PnW, PTnH, PTnM or PTnS)"
        )
    parts = {k: int(v or 0) for k, v in match.groupdict().items()}
    days = parts["W"] * 7 + parts["D"]
    fixed_ms = ((parts["H"] * 60 + parts["M"]) * 60 + parts["S"]) * 1000
    if days and fixed_ms:
        raise AggregatesQueryError(
            f"granularity '{granularity}' mixes days and time; the gcnotify stand-in supports one"
        )
    if days == 0 and fixed_ms == 0:
        raise AggregatesQueryError(f"granularity '{granularity}' is zero")
    if fixed_ms and (hi - lo) // fixed_ms > _MAX_BUCKETS:
        raise AggregatesQueryError(f"granularity '{granularity}' gives too many intervals")
    bounds = [lo]
    if fixed_ms:
        bounds.extend(range(lo + fixed_ms, hi, fixed_ms))
    else:
        tz = pytz.timezone(time_zone)
        step = 1
        while True:
            nxt = _to_ms(_local_plus_days(tz, start, days * step))
            if nxt >= hi:
                break
            bounds.append(nxt)
            step += 1
            if step > _MAX_BUCKETS:
                raise AggregatesQueryError(f"granularity '{granularity}' gives too many intervals")
    bounds.append(hi)
    return Bucketing(bounds)


# --------------------------------------------------------------------------- filter


def _predicate(pred: Mapping[str, Any]) -> Callable[[str, str], bool]:
    if pred.get("type", "dimension") != "dimension" or "metric" in pred or "range" in pred:
        raise AggregatesQueryError(
            "the gcnotify stand-in supports only dimension predicates (queueId, mediaType)"
        )
    dimension = pred.get("dimension")
    if dimension not in SUPPORTED_DIMENSIONS:
        raise AggregatesQueryError(
            f"predicate dimension '{dimension}' is not supported by the gcnotify stand-in "
            f"(supported: {', '.join(SUPPORTED_DIMENSIONS)})"
        )
    operator = pred.get("operator", "matches")
    if operator == "exists":
        return lambda queue_id, media: True
    if operator == "notExists":
        return lambda queue_id, media: False
    value = pred.get("value")
    if not isinstance(value, str):
        raise AggregatesQueryError(
            f"predicate on '{dimension}' with operator matches needs a value"
        )
    return _Equals(dimension, value)


@dataclass(frozen=True)
class _Equals:
    """``dimension`` matches ``value``; an ``or`` of these on one dimension is a set lookup."""

    dimension: str
    value: str

    def __call__(self, queue_id: str, media: str) -> bool:
        return (queue_id if self.dimension == "queueId" else media) == self.value


def _combine(kind: str, tests: Sequence[Callable[[str, str], bool]]) -> Callable[[str, str], bool]:
    if kind == "and":
        return lambda q, m: all(t(q, m) for t in tests)
    equals = [t for t in tests if isinstance(t, _Equals)]
    if equals and len(equals) == len(tests) and len({t.dimension for t in equals}) == 1:
        # gcnotify's query is an `or` of one predicate per queue: answer it in O(1), as a real
        # server would, not in O(queues) per queue (200 queues: ~17 ms per query otherwise).
        values = frozenset(t.value for t in equals)
        if equals[0].dimension == "queueId":
            return lambda q, m: q in values
        return lambda q, m: m in values
    return lambda q, m: any(t(q, m) for t in tests)


def _filter(flt: Mapping[str, Any] | None) -> Callable[[str, str], bool]:
    if flt is None:
        return lambda queue_id, media: True
    tests = [_predicate(p) for p in flt.get("predicates", [])]
    for clause in flt.get("clauses", []):
        clause_tests = [_predicate(p) for p in clause.get("predicates", [])]
        tests.append(_combine(clause["type"], clause_tests))
    return _combine(flt["type"], tests)


# --------------------------------------------------------------------------- stats


class _Stats:
    __slots__ = ("count", "max", "min", "sum")

    def __init__(self) -> None:
        self.count = 0
        self.sum = 0
        self.min: int | None = None
        self.max: int | None = None

    def add(self, values: Sequence[int]) -> None:
        self.count += len(values)
        self.sum += sum(values)
        low, high = min(values), max(values)
        self.min = low if self.min is None else min(self.min, low)
        self.max = high if self.max is None else max(self.max, high)

    def timer(self) -> dict[str, int]:
        return {"max": self.max or 0, "min": self.min or 0, "count": self.count, "sum": self.sum}


_Cell = dict[str, _Stats]  # series or view name -> stats, for one (group, bucket)


def _accumulate(
    cells: dict[int, _Cell],
    key: str,
    series: Series,
    bounds: list[int],
    *,
    until: int,
    keep: Callable[[int], bool] | None = None,
) -> None:
    """Add the events of ``series`` inside ``bounds`` (and before ``until``) to their buckets."""
    times, values = series
    idx = bisect_left(times, bounds[0])
    stop = bisect_left(times, min(bounds[-1], until))
    while idx < stop:
        bucket = bisect_right(bounds, times[idx]) - 1
        nxt = bisect_left(times, bounds[bucket + 1], idx, stop)
        chunk = values[idx:nxt]
        if keep is not None:
            chunk = [v for v in chunk if keep(v)]
        if chunk:
            cell = cells.setdefault(bucket, {})
            stats = cell.get(key)
            if stats is None:
                stats = cell[key] = _Stats()
            stats.add(chunk)
        idx = nxt


def _range_test(rng: Mapping[str, Any] | None) -> Callable[[int], bool]:
    rng = rng or {}
    gte, gt, lte, lt = (rng.get(k) for k in ("gte", "gt", "lte", "lt"))
    return lambda v: (
        (gte is None or v >= gte)
        and (gt is None or v > gt)
        and (lte is None or v <= lte)
        and (lt is None or v < lt)
    )


def _metric_entry(name: str, cell: _Cell) -> dict[str, Any] | None:
    if name in TIMER_METRICS:
        stats = cell.get(TIMER_METRICS[name])
        return None if stats is None else {"metric": name, "stats": stats.timer()}
    if name in COUNT_METRICS:
        stats = cell.get(COUNT_METRICS[name])
        return None if stats is None else {"metric": name, "stats": {"count": stats.count}}
    if name == "oServiceLevel":
        den = cell.get("_slDenominator")
        if den is None:
            return None
        num = cell.get("_slNumerator")
        numerator = 0 if num is None else num.count
        return {
            "metric": name,
            "stats": {
                "ratio": numerator / den.count,
                "numerator": numerator,
                "denominator": den.count,
                "target": SERVICE_LEVEL_TARGET,
            },
        }
    if name == "oServiceTarget":
        if any(key in cell for key in _ACTIVITY):
            return {"metric": name, "stats": {"target": SERVICE_LEVEL_TARGET}}
        return None
    return None  # a real metric the stand-in does not model: like Genesys, no data, no entry


def _series_needed(metrics: Sequence[str], views: Sequence[Mapping[str, Any]]) -> set[str]:
    needed: set[str] = set()
    for name in metrics:
        if name in TIMER_METRICS:
            needed.add(TIMER_METRICS[name])
        elif name in COUNT_METRICS:
            needed.add(COUNT_METRICS[name])
        elif name == "oServiceLevel":
            needed.update(("_slNumerator", "_slDenominator"))
        elif name == "oServiceTarget":
            needed.update(_ACTIVITY)
    for view in views:
        target = view.get("target")
        if target in TIMER_METRICS:
            needed.add(TIMER_METRICS[target])
    return needed


# --------------------------------------------------------------------------- query


def run_aggregates_query(
    body: Mapping[str, Any],
    model: TrafficModel,
    queue_ids: Sequence[str],
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The response body for a schema-valid ``body`` over ``queue_ids``' synthetic traffic.

    Events after ``now`` have not happened yet: a query over today is partial and one over the
    future is empty, as live.
    """
    start, end = parse_interval(body["interval"])
    time_zone = body.get("timeZone") or "UTC"
    try:
        pytz.timezone(time_zone)
    except pytz.UnknownTimeZoneError as exc:
        raise AggregatesQueryError(f"Invalid timeZone '{time_zone}'") from exc
    buckets = bucketing(start, end, body.get("granularity"), time_zone)
    group_by: list[str] = list(body.get("groupBy") or [])
    for dimension in group_by:
        if dimension not in SUPPORTED_DIMENSIONS:
            raise AggregatesQueryError(
                f"groupBy '{dimension}' is not supported by the gcnotify stand-in "
                f"(supported: {', '.join(SUPPORTED_DIMENSIONS)})"
            )
    matches = _filter(body.get("filter"))
    metrics: list[str] = list(dict.fromkeys(body["metrics"]))
    views: list[Mapping[str, Any]] = list(body.get("views") or [])
    for view in views:
        if view.get("target") not in TIMER_METRICS:
            raise AggregatesQueryError(
                f"view '{view.get('name')}': rangeBound applies to timer metrics only"
            )
    needed = _series_needed(metrics, views)
    until = _to_ms(now) if now is not None else buckets.bounds[-1]
    days = model.days_touching(start, min(end, now) if now is not None else end)
    if until <= buckets.bounds[0]:
        return {}

    # (group values) -> bucket -> cell; dict order = queue order, then media order.
    groups: dict[tuple[str, ...], dict[int, _Cell]] = {}
    for queue_id in queue_ids:
        for media in MEDIA_TYPES:
            if not matches(queue_id, media):
                continue
            key = tuple(queue_id if d == "queueId" else media for d in group_by)
            cells = groups.setdefault(key, {})
            for day in days:
                by_metric = model.series(queue_id, day).get(media)
                if not by_metric:
                    continue
                for name in needed:
                    series = by_metric.get(name)
                    if series is not None:
                        _accumulate(cells, name, series, buckets.bounds, until=until)
                for view in views:
                    series = by_metric.get(TIMER_METRICS[view["target"]])
                    if series is not None:
                        view_key = "view:" + view["name"]
                        keep = _range_test(view.get("range"))
                        _accumulate(cells, view_key, series, buckets.bounds, until=until, keep=keep)

    results = []
    for key, cells in groups.items():
        data = []
        for bucket in sorted(cells):
            cell = cells[bucket]
            entries = [e for e in (_metric_entry(m, cell) for m in metrics) if e is not None]
            view_entries = [
                {"name": v["name"], "stats": cell["view:" + v["name"]].timer()}
                for v in views
                if "view:" + v["name"] in cell
            ]
            if not entries and not view_entries:
                continue
            point: dict[str, Any] = {"interval": buckets.label(bucket), "metrics": entries}
            if view_entries:
                point["views"] = view_entries
            data.append(point)
        if data:
            results.append({"group": dict(zip(group_by, key, strict=True)), "data": data})
    return {"results": results} if results else {}
