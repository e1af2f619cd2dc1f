"""Business-day windows: exact instants across DST, holidays, and the four window kinds."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
import pytz
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gcnotify.core.calendar import closed_days
from gcnotify.core.model import HolidaySettings, Recipients, ReportConfig, WindowKind
from gcnotify.core.windows import (
    MAX_LOOKBACK_DAYS,
    ReportWindow,
    Skip,
    day_is_over,
    is_due,
    local_date,
    plan_window,
    run_day_for,
    run_day_for_report_date,
    start_of_day,
)

SCHEMA = (
    Path(__file__).resolve().parents[2]
    / "src/gcnotify/devserver/schemas/genesys-aggregates-query.schema.json"
)
INTERVAL_PATTERN = re.compile(json.loads(SCHEMA.read_text())["properties"]["interval"]["pattern"])

EVERY_DAY = frozenset(range(7))
ONE_MICROSECOND = timedelta(microseconds=1)


def _open(day: date) -> bool:
    return False


def _report(
    window: WindowKind = "previous_business_day",
    timezone: str = "America/New_York",
    **changes: object,
) -> ReportConfig:
    base = ReportConfig(
        id="support-daily",
        title="Support",
        timezone=timezone,
        recipients=Recipients(to=("ops@example.com",)),
        queues=("Support",),
        window=window,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _day_window(timezone: str, day: date) -> ReportWindow:
    """The ``yesterday`` window of ``day`` for a report open every day."""
    plan = plan_window(
        _report("yesterday", timezone, business_days=EVERY_DAY), day + timedelta(days=1), _open
    )
    assert isinstance(plan, ReportWindow)
    return plan


def _window(plan: ReportWindow | Skip) -> ReportWindow:
    assert isinstance(plan, ReportWindow), plan
    return plan


# --- known days ------------------------------------------------------------------------------


def test_us_spring_forward_day_is_23_hours() -> None:
    """The US DST start day (2026-03-08) is 23 hours long in America/New_York."""
    assert 23.0 == _day_window("America/New_York", date(2026, 3, 8)).hours


def test_us_fall_back_day_is_25_hours() -> None:
    """The US DST end day (2026-11-01) is 25 hours long in America/New_York."""
    assert 25.0 == _day_window("America/New_York", date(2026, 11, 1)).hours


def test_spring_forward_interval_carries_both_offsets() -> None:
    """The Genesys interval of a DST day shows the offset in force at each end."""
    window = _day_window("America/New_York", date(2026, 3, 8))
    assert "2026-03-08T00:00:00-05:00/2026-03-09T00:00:00-04:00" == window.genesys_interval()


def test_built_interval_matches_schema_pattern() -> None:
    """A built interval satisfies the aggregates request schema's ``interval`` pattern."""
    window = _day_window("America/New_York", date(2026, 3, 8))
    assert INTERVAL_PATTERN.fullmatch(window.genesys_interval()) is not None


def test_utc_bounds_are_z_strings() -> None:
    """utc_start/utc_end are the window's instants in UTC with a Z suffix."""
    window = _day_window("America/New_York", date(2026, 11, 20))
    assert ("2026-11-20T05:00:00Z", "2026-11-21T05:00:00Z") == (window.utc_start, window.utc_end)


def test_lord_howe_spring_day_is_23_and_a_half_hours() -> None:
    """Lord Howe Island's 30-minute DST start (2026-10-04) makes a 23.5-hour day."""
    assert 23.5 == _day_window("Australia/Lord_Howe", date(2026, 10, 4)).hours


def test_lord_howe_autumn_day_is_24_and_a_half_hours() -> None:
    """Lord Howe Island's 30-minute DST end (2026-04-05) makes a 24.5-hour day."""
    assert 24.5 == _day_window("Australia/Lord_Howe", date(2026, 4, 5)).hours


def test_lord_howe_interval_has_half_hour_offsets() -> None:
    """Half-hour offsets are written out in full in the interval."""
    window = _day_window("Australia/Lord_Howe", date(2026, 10, 4))
    assert "2026-10-04T00:00:00+10:30/2026-10-05T00:00:00+11:00" == window.genesys_interval()


def test_santiago_day_without_midnight_starts_at_one() -> None:
    """Chile's DST starts at midnight, so 2026-09-06 begins at 01:00 -03:00."""
    assert (
        "2026-09-06T01:00:00-03:00"
        == start_of_day(date(2026, 9, 6), "America/Santiago").isoformat()
    )


def test_santiago_day_without_midnight_is_23_hours() -> None:
    """The midnight-less Santiago day still spans 23 hours, up to the next local midnight."""
    window = _day_window("America/Santiago", date(2026, 9, 6))
    assert (23.0, "2026-09-07T00:00:00-03:00") == (window.hours, window.end.isoformat())


def test_santiago_day_before_fall_back_is_25_hours() -> None:
    """Chile's DST ends at midnight: 2026-04-04 lives its last hour twice."""
    assert 25.0 == _day_window("America/Santiago", date(2026, 4, 4)).hours


def test_havana_day_without_midnight_starts_at_one() -> None:
    """Cuba's DST starts at midnight, so 2025-03-09 begins at 01:00 -04:00."""
    assert (
        "2025-03-09T01:00:00-04:00" == start_of_day(date(2025, 3, 9), "America/Havana").isoformat()
    )


def test_havana_repeated_midnight_starts_at_the_first() -> None:
    """Cuba's DST ends at 01:00 back to 00:00; the day starts at the first 00:00 (-04:00)."""
    window = _day_window("America/Havana", date(2025, 11, 2))
    assert ("2025-11-02T00:00:00-04:00", 25.0) == (window.start.isoformat(), window.hours)


def test_asuncion_day_without_midnight_starts_at_one() -> None:
    """Paraguay's DST started at midnight on 2023-10-01, so that day began at 01:00 -03:00."""
    assert (
        "2023-10-01T01:00:00-03:00"
        == start_of_day(date(2023, 10, 1), "America/Asuncion").isoformat()
    )


def test_casey_three_hour_jump_makes_a_21_hour_day() -> None:
    """A 3-hour offset change (Antarctica/Casey, 2009-10-18) is measured, not assumed."""
    assert 21.0 == _day_window("Antarctica/Casey", date(2009, 10, 18)).hours


def test_skipped_calendar_day_starts_where_the_next_begins() -> None:
    """Samoa skipped 2011-12-30; its start is the start of 2011-12-31."""
    assert start_of_day(date(2011, 12, 31), "Pacific/Apia") == start_of_day(
        date(2011, 12, 30), "Pacific/Apia"
    )


def test_skipped_calendar_day_is_skipped_even_when_sending_on_any_day() -> None:
    """A date the zone never lived has no window to report."""
    report = _report("yesterday", "Pacific/Apia", send_on_non_business_days=True)
    assert isinstance(plan_window(report, date(2011, 12, 31), _open), Skip)


def test_previous_business_day_steps_over_a_skipped_calendar_day() -> None:
    """previous_business_day on Samoa's 2011-12-31 reports 2011-12-29, a 24-hour day."""
    report = _report("previous_business_day", "Pacific/Apia", business_days=EVERY_DAY)
    window = _window(plan_window(report, date(2011, 12, 31), _open))
    assert (date(2011, 12, 29), 24.0) == (window.business_date, window.hours)


# --- printed forms ---------------------------------------------------------------------------


def test_label_shows_local_times_and_zone() -> None:
    """The label states both ends in local time and names the zone."""
    window = _day_window("America/New_York", date(2026, 11, 20))
    assert "Fri 20 Nov 2026 00:00 – Sat 21 Nov 2026 00:00 (America/New_York)" == window.label()


def test_label_of_midnightless_day_shows_its_real_start() -> None:
    """A day that starts at 01:00 says so rather than pretending it began at midnight."""
    window = _day_window("America/Santiago", date(2026, 9, 6))
    assert "Sun 06 Sep 2026 01:00 – Mon 07 Sep 2026 00:00 (America/Santiago)" == window.label()


def test_subject_text_of_a_day_window_is_the_date() -> None:
    """A day window's subject text is the business date."""
    window = _day_window("America/New_York", date(2026, 11, 20))
    assert "Fri 20 Nov 2026" == window.subject_date_text()


def test_subject_text_of_previous_week_says_week_of() -> None:
    """A weekly window's subject text says "week of" its Monday."""
    window = _window(plan_window(_report("previous_week"), date(2026, 11, 25), _open))
    assert "week of Mon 16 Nov 2026" == window.subject_date_text()


def test_subject_text_of_month_to_date_spans_the_days() -> None:
    """A month-to-date subject text gives the first and last day covered."""
    window = _window(plan_window(_report("month_to_date"), date(2026, 12, 1), _open))
    assert "month to date: 01–30 Nov 2026" == window.subject_date_text()


def test_subject_text_of_one_day_month_to_date_names_the_day() -> None:
    """On the 2nd of a month the month-to-date window is just the 1st."""
    window = _window(plan_window(_report("month_to_date"), date(2026, 11, 2), _open))
    assert "month to date: Sun 01 Nov 2026" == window.subject_date_text()


# --- previous_business_day -------------------------------------------------------------------


def test_previous_business_day_on_monday_is_friday() -> None:
    """A Monday run of a MON-FRI report covers the Friday before."""
    window = _window(plan_window(_report(), date(2026, 11, 23), _open))
    assert date(2026, 11, 20) == window.business_date


def test_previous_business_day_window_is_that_whole_day() -> None:
    """The window runs from that day's local midnight to the next local midnight."""
    window = _window(plan_window(_report(), date(2026, 11, 23), _open))
    assert "2026-11-20T00:00:00-05:00/2026-11-21T00:00:00-05:00" == window.genesys_interval()


def test_previous_business_day_skips_thanksgiving() -> None:
    """With US holidays, the Friday after Thanksgiving 2026 reports Wednesday."""
    closed = closed_days(HolidaySettings(country="US"))
    window = _window(plan_window(_report(), date(2026, 11, 27), closed))
    assert date(2026, 11, 25) == window.business_date


def test_previous_business_day_skips_listed_dates() -> None:
    """A listed closed date is stepped over like a public holiday."""
    closed = closed_days(HolidaySettings(dates=frozenset({date(2026, 11, 19)})))
    window = _window(plan_window(_report(), date(2026, 11, 20), closed))
    assert date(2026, 11, 18) == window.business_date


def test_previous_business_day_follows_configured_weekdays() -> None:
    """A SUN-THU report run on Saturday covers Thursday."""
    report = _report(business_days=frozenset({6, 0, 1, 2, 3}))
    window = _window(plan_window(report, date(2026, 11, 21), _open))
    assert date(2026, 11, 19) == window.business_date


def test_previous_business_day_without_any_in_reach_raises() -> None:
    """A closure longer than the look-back is a config problem, not a silent pick."""
    with pytest.raises(ValueError, match="no business day"):
        plan_window(_report(), date(2026, 11, 23), lambda day: True)


def test_previous_business_day_looks_back_the_documented_distance() -> None:
    """A business day exactly MAX_LOOKBACK_DAYS back is still found."""
    run_day = date(2026, 11, 23)
    oldest = run_day - timedelta(days=MAX_LOOKBACK_DAYS)
    report = _report(business_days=frozenset({oldest.weekday()}))
    window = _window(plan_window(report, run_day, lambda day: day != oldest))
    assert oldest == window.business_date


def test_explicit_non_business_date_is_skipped() -> None:
    """A backfill naming a Saturday skips it rather than reporting Friday under its name."""
    plan = plan_window(_report(), date(2026, 11, 22), _open, explicit_date=True)
    assert isinstance(plan, Skip)
    assert date(2026, 11, 21) == plan.business_date


def test_explicit_business_date_is_reported() -> None:
    """A backfill naming a business day reports exactly that day."""
    plan = plan_window(_report(), date(2026, 11, 19), _open, explicit_date=True)
    assert date(2026, 11, 18) == _window(plan).business_date


def test_explicit_holiday_is_sent_when_asked_to_send_on_any_day() -> None:
    """send_on_non_business_days lets a backfill report a holiday."""
    report = _report(send_on_non_business_days=True)
    closed = closed_days(HolidaySettings(country="US"))
    plan = plan_window(report, date(2026, 11, 27), closed, explicit_date=True)
    assert date(2026, 11, 26) == _window(plan).business_date


# --- yesterday -------------------------------------------------------------------------------


def test_yesterday_on_sunday_is_skipped() -> None:
    """A MON-FRI ``yesterday`` report run on Monday has nothing to send for Sunday."""
    plan = plan_window(_report("yesterday"), date(2026, 11, 23), _open)
    assert isinstance(plan, Skip)
    assert date(2026, 11, 22) == plan.business_date


def test_yesterday_skip_reason_names_the_fix() -> None:
    """The skip reason says why and how to send anyway."""
    plan = plan_window(_report("yesterday"), date(2026, 11, 23), _open)
    assert isinstance(plan, Skip)
    assert "send_on_non_business_days" in plan.reason


def test_yesterday_on_holiday_is_skipped_as_holiday() -> None:
    """A holiday yesterday is skipped, and the reason says it was a holiday."""
    closed = closed_days(HolidaySettings(country="US"))
    plan = plan_window(_report("yesterday"), date(2026, 11, 27), closed)
    assert isinstance(plan, Skip)
    assert "holiday" in plan.reason


def test_yesterday_on_sunday_sent_when_asked_to_send_on_any_day() -> None:
    """send_on_non_business_days reports Sunday too."""
    report = _report("yesterday", send_on_non_business_days=True)
    window = _window(plan_window(report, date(2026, 11, 23), _open))
    assert date(2026, 11, 22) == window.business_date


def test_yesterday_on_business_day_is_that_day() -> None:
    """A Tuesday run of ``yesterday`` reports Monday."""
    window = _window(plan_window(_report("yesterday"), date(2026, 11, 24), _open))
    assert date(2026, 11, 23) == window.business_date


# --- previous_week and month_to_date ---------------------------------------------------------


def test_previous_week_is_monday_to_monday_of_last_iso_week() -> None:
    """A Wednesday run reports Monday 00:00 to Monday 00:00 of the week before."""
    window = _window(plan_window(_report("previous_week"), date(2026, 11, 25), _open))
    assert (date(2026, 11, 16), "2026-11-16T00:00:00-05:00/2026-11-23T00:00:00-05:00") == (
        window.business_date,
        window.genesys_interval(),
    )


def test_previous_week_run_on_monday_reports_the_week_just_ended() -> None:
    """A Monday run covers the seven days that ended at its own midnight."""
    window = _window(plan_window(_report("previous_week"), date(2026, 11, 23), _open))
    assert date(2026, 11, 16) == window.business_date


def test_previous_week_over_dst_end_is_169_hours() -> None:
    """The week holding the US fall-back Sunday is one hour longer."""
    window = _window(plan_window(_report("previous_week"), date(2026, 11, 4), _open))
    assert (date(2026, 10, 26), 169.0) == (window.business_date, window.hours)


def test_previous_week_backfill_reports_the_named_week() -> None:
    """A backfill naming the Monday a weekly report was filed under reproduces that week."""
    run_day = run_day_for_report_date(date(2026, 11, 16))
    window = _window(plan_window(_report("previous_week"), run_day, _open, explicit_date=True))
    assert date(2026, 11, 16) == window.business_date


def test_month_to_date_on_the_first_is_the_whole_previous_month() -> None:
    """Run on 1 Dec, month_to_date covers 1 Nov 00:00 to 1 Dec 00:00, filed under 30 Nov."""
    window = _window(plan_window(_report("month_to_date"), date(2026, 12, 1), _open))
    assert (date(2026, 11, 30), "2026-11-01T00:00:00-04:00/2026-12-01T00:00:00-05:00") == (
        window.business_date,
        window.genesys_interval(),
    )


def test_month_to_date_mid_month_ends_at_run_day() -> None:
    """Run on 20 Nov, month_to_date covers 1 Nov up to 20 Nov 00:00."""
    window = _window(plan_window(_report("month_to_date"), date(2026, 11, 20), _open))
    assert (date(2026, 11, 19), "2026-11-20T00:00:00-05:00") == (
        window.business_date,
        window.end.isoformat(),
    )


def test_month_to_date_ignores_business_days() -> None:
    """month_to_date is never skipped, even when yesterday was a Sunday."""
    plan = plan_window(_report("month_to_date"), date(2026, 11, 23), lambda day: True)
    assert date(2026, 11, 22) == _window(plan).business_date


# --- run day and instants --------------------------------------------------------------------


def test_local_date_is_the_zone_calendar_date() -> None:
    """03:00 UTC on the 21st is still the 20th in New York."""
    assert date(2026, 11, 20) == local_date(
        datetime(2026, 11, 21, 3, tzinfo=UTC), "America/New_York"
    )


def test_local_date_rejects_naive_instants() -> None:
    """A naive datetime has no instant, so it cannot have a local date."""
    with pytest.raises(ValueError, match="naive"):
        local_date(datetime(2026, 11, 21, 3), "America/New_York")


def test_unknown_zone_is_a_value_error() -> None:
    """A misspelt zone fails with a message naming it."""
    with pytest.raises(ValueError, match="America/New_Yrok"):
        start_of_day(date(2026, 11, 20), "America/New_Yrok")


def test_run_day_for_scheduled_time_uses_report_zone() -> None:
    """A 02:00 UTC schedule is still the previous day on the US west coast."""
    scheduled = datetime(2026, 11, 21, 2, tzinfo=UTC)
    assert date(2026, 11, 20) == run_day_for(scheduled, "America/Los_Angeles")


def test_run_day_for_report_date_is_the_next_day() -> None:
    """Reporting on a date means running as if on the day after it."""
    assert date(2026, 12, 1) == run_day_for_report_date(date(2026, 11, 30))


def test_window_rejects_empty_span() -> None:
    """A window must end after it starts."""
    start = start_of_day(date(2026, 11, 20), "America/New_York")
    with pytest.raises(ValueError, match="not before"):
        ReportWindow("yesterday", "America/New_York", date(2026, 11, 20), start, start)


def test_window_rejects_naive_datetimes() -> None:
    """Naive bounds would silently mean the host's zone; they are refused."""
    with pytest.raises(ValueError, match="aware"):
        ReportWindow(
            "yesterday",
            "America/New_York",
            date(2026, 11, 20),
            datetime(2026, 11, 20),
            datetime(2026, 11, 21),
        )


# --- properties over many zones and dates ----------------------------------------------------

# Antarctica/Casey jumped 3 hours at a time (see the 21-hour test above); every other common zone
# changes by at most 2 hours between 2000 and 2037.
ZONES = st.sampled_from([z for z in pytz.common_timezones if z != "Antarctica/Casey"])
DAYS = st.dates(date(2000, 1, 2), date(2037, 12, 30))
PROPERTY = settings(max_examples=300, deadline=None)


@PROPERTY
@given(zone=ZONES, day=DAYS)
def test_start_of_day_is_the_first_instant_of_the_day(zone: str, day: date) -> None:
    """start_of_day is on the day (or later, for a skipped day) and 1 µs before is earlier."""
    start = start_of_day(day, zone)
    assert local_date(start, zone) >= day
    assert local_date(start - ONE_MICROSECOND, zone) < day


@PROPERTY
@given(zone=ZONES, day=DAYS)
def test_day_window_spans_one_local_day(zone: str, day: date) -> None:
    """A day window starts on its day and ends where the next day starts, 22–26 hours later."""
    plan = plan_window(
        _report("yesterday", zone, business_days=EVERY_DAY), day + timedelta(days=1), _open
    )
    if isinstance(plan, Skip):  # only a date the zone skipped (Samoa, Tokelau 2011-12-30)
        assert start_of_day(day + timedelta(days=1), zone) == start_of_day(day, zone)
        return
    assert plan.start < plan.end
    assert day == local_date(plan.start, zone)
    assert local_date(plan.start - ONE_MICROSECOND, zone) < day
    assert start_of_day(day + timedelta(days=1), zone) == plan.end
    assert 22 <= plan.hours <= 26


@PROPERTY
@given(zone=ZONES, day=DAYS)
def test_interval_matches_schema_and_parses_back(zone: str, day: date) -> None:
    """The interval matches the schema pattern and parses back to the window's instants."""
    plan = plan_window(
        _report("yesterday", zone, business_days=EVERY_DAY), day + timedelta(days=1), _open
    )
    assume(isinstance(plan, ReportWindow))
    assert isinstance(plan, ReportWindow)
    interval = plan.genesys_interval()
    assert INTERVAL_PATTERN.fullmatch(interval) is not None
    start_text, end_text = interval.split("/")
    assert (plan.start, plan.end) == (
        datetime.fromisoformat(start_text),
        datetime.fromisoformat(end_text),
    )
    assert (plan.utc_start, plan.utc_end) == (
        datetime.fromisoformat(start_text).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        datetime.fromisoformat(end_text).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


@PROPERTY
@given(
    zone=ZONES,
    run_day=DAYS,
    business_days=st.frozensets(st.integers(0, 6), min_size=1),
    closed_offsets=st.frozensets(st.integers(1, 14), max_size=10),
)
def test_previous_business_day_is_the_latest_business_day(
    zone: str, run_day: date, business_days: frozenset[int], closed_offsets: frozenset[int]
) -> None:
    """The business date is a business day before R, and no business day lies in between."""
    closed_dates = frozenset(run_day - timedelta(days=n) for n in closed_offsets)
    report = _report("previous_business_day", zone, business_days=business_days)
    window = _window(plan_window(report, run_day, closed_dates.__contains__))
    chosen = window.business_date
    assert chosen < run_day
    assert chosen.weekday() in business_days
    assert chosen not in closed_dates
    between = [chosen + timedelta(days=n) for n in range(1, (run_day - chosen).days)]
    passed_over = [
        d
        for d in between
        if d.weekday() in business_days
        and d not in closed_dates
        and start_of_day(d, zone) != start_of_day(d + timedelta(days=1), zone)  # d existed
    ]
    assert [] == passed_over
    assert (start_of_day(chosen, zone), start_of_day(chosen + timedelta(days=1), zone)) == (
        window.start,
        window.end,
    )


@PROPERTY
@given(zone=ZONES, run_day=DAYS)
def test_previous_week_is_seven_local_days_before_this_week(zone: str, run_day: date) -> None:
    """previous_week starts on the Monday of the ISO week before R's and spans seven dates."""
    window = _window(plan_window(_report("previous_week", zone), run_day, _open))
    monday = window.business_date
    assert 0 == monday.weekday()
    assert run_day.isocalendar()[:2] == (monday + timedelta(days=7)).isocalendar()[:2]
    assert (start_of_day(monday, zone), start_of_day(monday + timedelta(days=7), zone)) == (
        window.start,
        window.end,
    )


@PROPERTY
@given(zone=ZONES, run_day=DAYS)
def test_month_to_date_runs_from_the_first_to_run_day(zone: str, run_day: date) -> None:
    """month_to_date starts on the 1st of R−1's month and ends where R starts."""
    window = _window(plan_window(_report("month_to_date", zone), run_day, _open))
    yesterday = run_day - timedelta(days=1)
    assert yesterday == window.business_date
    assert (start_of_day(yesterday.replace(day=1), zone), start_of_day(run_day, zone)) == (
        window.start,
        window.end,
    )


# --- due-based runs and days that are not over ------------------------------------------------


def test_a_report_is_due_from_its_local_send_at() -> None:
    """send_at 06:00 New York: 10:59Z in November is 05:59 there, 11:00Z is 06:00."""
    report = _report(send_at=time(6, 0))
    assert (False, True) == (
        is_due(report, datetime(2026, 11, 23, 10, 59, tzinfo=UTC)),
        is_due(report, datetime(2026, 11, 23, 11, 0, tzinfo=UTC)),
    )


def test_send_at_follows_daylight_saving_time() -> None:
    """In July the same 06:00 New York is 10:00Z."""
    assert is_due(_report(send_at=time(6, 0)), datetime(2026, 7, 14, 10, 0, tzinfo=UTC))


def test_a_report_without_send_at_is_always_due() -> None:
    """No send_at: every scheduled run may send it."""
    assert is_due(_report(), datetime(2026, 11, 23, 0, 1, tzinfo=UTC))


def test_a_day_is_over_at_the_next_local_midnight() -> None:
    """2026-11-20 in New York ends at 05:00Z on the 21st, not at UTC midnight."""
    day = date(2026, 11, 20)
    assert (False, True) == (
        day_is_over(day, "America/New_York", datetime(2026, 11, 21, 4, 59, tzinfo=UTC)),
        day_is_over(day, "America/New_York", datetime(2026, 11, 21, 5, 0, tzinfo=UTC)),
    )


def test_a_weekend_day_is_skipped_as_a_non_business_day() -> None:
    """window: yesterday on a Sunday: skipped_non_business_day (Saturday)."""
    plan = plan_window(_report("yesterday"), date(2026, 11, 22), _open)
    assert isinstance(plan, Skip)
    assert "skipped_non_business_day" == plan.status


def test_a_holiday_is_skipped_as_a_holiday() -> None:
    """window: yesterday after a closed weekday: skipped_holiday."""
    plan = plan_window(_report("yesterday"), date(2026, 11, 27), lambda d: d == date(2026, 11, 26))
    assert isinstance(plan, Skip)
    assert "skipped_holiday" == plan.status
