"""Standup maths: the day against last week and four weeks, from summed parts; the heat table."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gcnotify.core.errors import UnexpectedAnswerError
from gcnotify.core.model import Queue
from gcnotify.reports.standup.compare import (
    STANDUP_METRICS,
    compare_days,
    heat_table,
    metric_values,
)
from gcnotify.reports.standup.counts import Counts

DAY = date(2025, 11, 4)  # a Tuesday
SUPPORT = Queue(id="q-support", name="Support")
BILLING = Queue(id="q-billing", name="Billing")


def _open(day: date) -> bool:
    return False


def _counts(offered: int, sl: tuple[int, int] = (0, 0), asa: tuple[int, int] = (0, 0)) -> Counts:
    return Counts(
        offered=offered,
        answered=asa[1],
        answer_wait_ms=asa[0],
        sl_numerator=sl[0],
        sl_denominator=sl[1],
    )


def _weeks_back(k: int) -> date:
    return DAY - timedelta(days=7 * k)


def test_service_level_total_is_summed_numerators_over_denominators() -> None:
    """The total's service level divides summed parts: 90/100 and 1/10 give 91/110, not 50 %."""
    daily = {DAY: {SUPPORT.id: _counts(100, (90, 100)), BILLING.id: _counts(10, (1, 10))}}
    result = compare_days(business_date=DAY, queues=[SUPPORT, BILLING], daily=daily, closed=_open)
    assert pytest.approx(91 / 110) == result.total.values["service_level"]


def test_last_week_delta_is_the_day_minus_last_week() -> None:
    """Offered 120 against 100 last Tuesday is +20, +20 %."""
    daily = {DAY: {SUPPORT.id: _counts(120)}, _weeks_back(1): {SUPPORT.id: _counts(100)}}
    result = compare_days(business_date=DAY, queues=[SUPPORT], daily=daily, closed=_open)
    delta = result.rows[0].deltas["same_weekday_last_week"]["offered"]
    assert (100, 20, pytest.approx(0.2)) == (delta.baseline, delta.change, delta.relative)


def test_trailing_average_of_counts_is_per_day() -> None:
    """Four Tuesdays of 100, 200, 300 and 400 offers average 250 a day."""
    daily = {_weeks_back(k): {SUPPORT.id: _counts(100 * k)} for k in range(1, 5)}
    daily[DAY] = {SUPPORT.id: _counts(300)}
    result = compare_days(business_date=DAY, queues=[SUPPORT], daily=daily, closed=_open)
    assert 250 == result.rows[0].deltas["trailing_4_weeks"]["offered"].baseline


def test_trailing_service_level_weighs_days_by_their_traffic() -> None:
    """A quiet perfect day does not lift a busy bad week: (1 + 50) / (1 + 100), not 75 %."""
    daily = {
        _weeks_back(1): {SUPPORT.id: _counts(1, (1, 1))},
        _weeks_back(2): {SUPPORT.id: _counts(100, (50, 100))},
        DAY: {SUPPORT.id: _counts(10, (5, 10))},
    }
    result = compare_days(business_date=DAY, queues=[SUPPORT], daily=daily, closed=_open)
    baseline = result.rows[0].deltas["trailing_4_weeks"]["service_level"].baseline
    assert pytest.approx(51 / 101) == baseline


def test_a_closed_comparison_day_is_left_out_and_counted() -> None:
    """A holiday two weeks back leaves 3 of 4 Tuesdays, and the pack says which and why."""
    holiday = _weeks_back(2)
    daily = {_weeks_back(k): {SUPPORT.id: _counts(100)} for k in range(1, 5)}
    daily[holiday] = {SUPPORT.id: _counts(5)}
    result = compare_days(
        business_date=DAY,
        queues=[SUPPORT],
        daily=daily,
        closed=lambda d: "a holiday (Test Day)" if d == holiday else False,
    )
    trailing = result.baselines[1]
    assert (3, ((holiday, "a holiday (Test Day)"),)) == (len(trailing.used), trailing.left_out)
    assert 100 == result.rows[0].deltas["trailing_4_weeks"]["offered"].baseline
    assert trailing.note.startswith("average of 3 of 4 Tuesdays")


def test_a_closed_last_week_day_shows_no_delta_with_the_reason() -> None:
    """Last Tuesday a holiday: no change, and the reason names the day."""
    result = compare_days(
        business_date=DAY,
        queues=[SUPPORT],
        daily={DAY: {SUPPORT.id: _counts(10)}},
        closed=lambda d: d == _weeks_back(1),
    )
    delta = result.total.deltas["same_weekday_last_week"]["offered"]
    assert (None, "Tue 28 Oct 2025 was closed (a holiday or not a business day)") == (
        delta.change,
        delta.reason,
    )


def test_a_baseline_without_answers_has_no_asa_delta() -> None:
    """No answered calls last week: ASA has nothing to compare with, and says so."""
    daily = {DAY: {SUPPORT.id: _counts(10, asa=(50_000, 5))}, _weeks_back(1): {}}
    result = compare_days(business_date=DAY, queues=[SUPPORT], daily=daily, closed=_open)
    delta = result.rows[0].deltas["same_weekday_last_week"]["asa"]
    assert "no ASA on Tue 28 Oct 2025" == delta.reason


def test_percent_deltas_are_points_without_a_relative_change() -> None:
    """Service level 90 % against 80 %: +0.1 (ten points), no relative figure."""
    daily = {
        DAY: {SUPPORT.id: _counts(10, (9, 10))},
        _weeks_back(1): {SUPPORT.id: _counts(10, (8, 10))},
    }
    result = compare_days(business_date=DAY, queues=[SUPPORT], daily=daily, closed=_open)
    delta = result.rows[0].deltas["same_weekday_last_week"]["service_level"]
    assert (pytest.approx(0.1), None) == (delta.change, delta.relative)


def test_a_queue_named_twice_is_counted_once() -> None:
    """The same queue id listed twice gives one row and is summed once into the total."""
    daily = {DAY: {SUPPORT.id: _counts(7)}}
    result = compare_days(business_date=DAY, queues=[SUPPORT, SUPPORT], daily=daily, closed=_open)
    assert (1, 7) == (len(result.rows), result.total.values["offered"])


def test_counts_outside_the_29_days_are_refused() -> None:
    """A day that is not among the business day and the 28 before it is a caller bug."""
    with pytest.raises(ValueError, match="outside the 29 days"):
        compare_days(
            business_date=DAY,
            queues=[SUPPORT],
            daily={DAY - timedelta(days=29): {}},
            closed=_open,
        )


_parts = st.builds(
    lambda offered, answered, wait, num, extra: Counts(
        offered=offered,
        answered=answered,
        abandoned=min(offered, extra),
        sl_numerator=num,
        sl_denominator=num + extra,
        answer_wait_ms=wait,
        handled=answered,
        handle_ms=wait * 3,
    ),
    st.integers(0, 5000),
    st.integers(0, 5000),
    st.integers(0, 10**9),
    st.integers(0, 5000),
    st.integers(0, 5000),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_parts, min_size=1, max_size=6))
def test_total_ratios_are_ratios_of_sums(parts: list[Counts]) -> None:
    """For any queues, every total figure equals the figure of the summed parts."""
    queues = [Queue(id=f"q{i}", name=f"Q{i}") for i in range(len(parts))]
    daily = {DAY: {q.id: p for q, p in zip(queues, parts, strict=True)}}
    result = compare_days(business_date=DAY, queues=queues, daily=daily, closed=_open)
    assert metric_values(Counts.total(parts)) == dict(result.total.values)


@settings(max_examples=60, deadline=None)
@given(st.lists(_parts, min_size=1, max_size=6))
def test_total_service_level_lies_between_the_queues(parts: list[Counts]) -> None:
    """A ratio of sums never leaves the range of the queues' own ratios."""
    queues = [Queue(id=f"q{i}", name=f"Q{i}") for i in range(len(parts))]
    daily = {DAY: {q.id: p for q, p in zip(queues, parts, strict=True)}}
    result = compare_days(business_date=DAY, queues=queues, daily=daily, closed=_open)
    own = [r.values["service_level"] for r in result.rows if r.values["service_level"] is not None]
    total = result.total.values["service_level"]
    assert (total is None) == (not own)
    if total is not None:
        assert min(own) - 1e-12 <= total <= max(own) + 1e-12


@settings(max_examples=60, deadline=None)
@given(_parts, st.sets(st.integers(1, 4)))
def test_same_parts_every_week_give_no_change(part: Counts, closed_weeks: set[int]) -> None:
    """Identical weeks compare flat whatever days are closed (or no delta when all are)."""
    daily = {DAY - timedelta(days=7 * k): {SUPPORT.id: part} for k in range(5)}
    closed_days = {_weeks_back(k) for k in closed_weeks}
    result = compare_days(
        business_date=DAY, queues=[SUPPORT], daily=daily, closed=closed_days.__contains__
    )
    trailing = result.rows[0].deltas["trailing_4_weeks"]
    for metric in STANDUP_METRICS:
        change = trailing[metric.name].change
        if len(closed_weeks) == 4 or result.rows[0].values[metric.name] is None:
            assert change is None
        else:
            assert pytest.approx(0, abs=1e-6) == change
    assert 4 - len(closed_weeks) == len(result.baselines[1].used)


@settings(max_examples=60, deadline=None)
@given(st.lists(_parts, min_size=4, max_size=4), _parts, st.integers(1, 4))
def test_a_closed_day_does_not_move_the_average(weeks: list[Counts], other: Counts, k: int) -> None:
    """Whatever traffic a closed day had, the trailing baseline is the same."""
    closed_day = _weeks_back(k)

    def baselines(replacement: Counts) -> list[float | None]:
        daily = {_weeks_back(i + 1): {SUPPORT.id: w} for i, w in enumerate(weeks)}
        daily[closed_day] = {SUPPORT.id: replacement}
        result = compare_days(
            business_date=DAY, queues=[SUPPORT], daily=daily, closed=closed_day.__eq__
        )
        trailing = result.rows[0].deltas["trailing_4_weeks"]
        return [trailing[m.name].baseline for m in STANDUP_METRICS]

    assert baselines(weeks[k - 1]) == baselines(other)


# ---------------------------------------------------------------------- heat table


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_every_half_hour_of_the_day_is_present() -> None:
    """An ordinary day has 48 half hours, from 00:00 to 23:30 local, zeros included."""
    table = heat_table(
        business_date=DAY, timezone="America/Chicago", granularity="PT30M", buckets={}
    )
    assert (48, "00:00", "23:30") == (len(table.rows), table.rows[0].label, table.rows[-1].label)


def test_a_fall_back_day_has_fifty_half_hours_with_distinct_labels() -> None:
    """On the 25-hour day the repeated 01:00 is told apart by its zone abbreviation."""
    table = heat_table(
        business_date=date(2025, 11, 2),
        timezone="America/Chicago",
        granularity="PT30M",
        buckets={},
    )
    labels = [row.label for row in table.rows]
    assert (50, ["01:00 CDT", "01:30 CDT", "01:00 CST", "01:30 CST"]) == (
        len(labels),
        labels[2:6],
    )


def test_a_spring_forward_day_has_twenty_three_hours() -> None:
    """PT1H on the 23-hour day: 23 intervals and no 02:00."""
    table = heat_table(
        business_date=date(2025, 3, 9), timezone="America/Chicago", granularity="PT1H", buckets={}
    )
    labels = [row.label for row in table.rows]
    assert (23, False) == (len(labels), "02:00" in labels)


def test_the_busiest_interval_is_the_peak_summed_over_queues() -> None:
    """09:00 in Chicago (15:00 UTC in November) with 3 + 4 offers beats 10:00 with 6."""
    buckets = {
        _utc("2025-11-04T15:00:00"): {"a": Counts(offered=3), "b": Counts(offered=4)},
        _utc("2025-11-04T16:00:00"): {"a": Counts(offered=6)},
    }
    table = heat_table(
        business_date=DAY, timezone="America/Chicago", granularity="PT1H", buckets=buckets
    )
    assert table.peak is not None
    assert ("09:00", 7) == (table.peak.label, table.peak.offered)


def test_a_day_without_traffic_has_no_peak() -> None:
    """All zeros: nothing is marked as the peak."""
    table = heat_table(business_date=DAY, timezone="UTC", granularity="PT1H", buckets={})
    assert table.peak is None


def test_a_bucket_that_is_not_an_interval_of_the_day_is_refused() -> None:
    """A start at 09:10 cannot be placed in a half-hour table."""
    with pytest.raises(UnexpectedAnswerError, match="not an interval"):
        heat_table(
            business_date=DAY,
            timezone="UTC",
            granularity="PT30M",
            buckets={_utc("2025-11-04T09:10:00"): {"a": Counts(offered=1)}},
        )


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(st.integers(0, 47), st.integers(0, 500), max_size=48),
    st.sampled_from(["UTC", "America/Chicago", "Asia/Kolkata", "Australia/Lord_Howe"]),
)
def test_heat_table_keeps_every_offer(offers: dict[int, int], timezone: str) -> None:
    """The intervals' offers add up to what went in, and the peak holds the most."""
    empty = heat_table(business_date=DAY, timezone=timezone, granularity="PT30M", buckets={})
    starts = [row.start.astimezone(UTC) for row in empty.rows]
    buckets = {starts[i]: {"q": Counts(offered=n)} for i, n in offers.items() if i < len(starts)}
    table = heat_table(business_date=DAY, timezone=timezone, granularity="PT30M", buckets=buckets)
    expected = sum(c["q"].offered for c in buckets.values())
    assert expected == sum(row.offered for row in table.rows)
    if expected:
        assert table.peak is not None
        assert max(row.offered for row in table.rows) == table.peak.offered
