"""Which business day a run reports on, and the exact instants that day spans.

Pure: no clock, no environment. The run's local date R comes in as a value (from the event's
``scheduled_time`` or ``report_date`` + 1), so a late retry reports the same day as the first try.
Zones come from ``pytz`` because it ships its own tz database and Lambda images may lack tzdata;
pytz zones are only ever applied through ``localize``/``astimezone``, never ``tzinfo=``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

import pytz

from gcnotify.core.model import WEEKDAYS, ReportConfig, WindowKind

__all__ = [
    "MAX_LOOKBACK_DAYS",
    "ReportWindow",
    "Skip",
    "day_is_over",
    "day_window",
    "is_due",
    "local_date",
    "plan_window",
    "run_day_for",
    "run_day_for_report_date",
    "start_of_day",
]

# How far previous_business_day searches back; a longer closure is a config mistake, not a plan.
MAX_LOOKBACK_DAYS = 31

# English names, not strftime's %a/%b: those follow the process locale.
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Wider than any UTC offset ever used (LMT included), so the bisection bounds always hold.
_SEARCH_SPAN = timedelta(hours=27)
_ONE_SECOND = timedelta(seconds=1)


def _day_text(day: date) -> str:
    return f"{_DAY_NAMES[day.weekday()]} {day.day:02d} {_MONTH_NAMES[day.month - 1]} {day.year}"


def _zone(tz: str) -> pytz.BaseTzInfo:
    try:
        return pytz.timezone(tz)
    except pytz.UnknownTimeZoneError:
        raise ValueError(f"{tz!r} is not an IANA time zone known to pytz") from None


@dataclass(frozen=True)
class ReportWindow:
    """The half-open span ``[start, end)`` a report covers, in the report's own zone.

    ``start``/``end`` carry the local offset, so every printed form shows the wall-clock times the
    contact center lived through, and the offsets tell Genesys exactly which instants are meant.
    """

    kind: WindowKind
    timezone: str
    business_date: date
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.utcoffset() is None or self.end.utcoffset() is None:
            raise ValueError("ReportWindow start and end must be timezone-aware")
        if not self.start < self.end:
            raise ValueError(f"ReportWindow start {self.start} is not before end {self.end}")

    def genesys_interval(self) -> str:
        """The aggregates ``interval``: local times with explicit offsets, whole seconds."""
        return f"{_iso_seconds(self.start)}/{_iso_seconds(self.end)}"

    @property
    def utc_start(self) -> str:
        return _utc_text(self.start)

    @property
    def utc_end(self) -> str:
        return _utc_text(self.end)

    @property
    def hours(self) -> float:
        """Elapsed hours (23 or 25 on DST days), computed in UTC so offsets never cancel out."""
        return (self.end.astimezone(UTC) - self.start.astimezone(UTC)).total_seconds() / 3600

    @property
    def last_day(self) -> date:
        """The last local date inside the window (the window ends at its next midnight)."""
        return local_date(self.end - timedelta(microseconds=1), self.timezone)

    def label(self) -> str:
        """Human text with local wall times and the zone name, e.g. for the email header."""
        start = self.start.astimezone(_zone(self.timezone))
        end = self.end.astimezone(_zone(self.timezone))
        return (
            f"{_day_text(start.date())} {start:%H:%M} – {_day_text(end.date())} {end:%H:%M} "
            f"({self.timezone})"
        )

    def subject_date_text(self) -> str:
        """The short date phrase for a subject line: the day, the week, or the month so far."""
        if self.kind == "previous_week":
            return f"week of {_day_text(self.business_date)}"
        if self.kind == "month_to_date":
            first = local_date(self.start, self.timezone)
            last = self.last_day
            if first == last:
                return f"month to date: {_day_text(last)}"
            return f"month to date: {first.day:02d}–{_day_text(last)[4:]}"
        return _day_text(self.business_date)


@dataclass(frozen=True)
class Skip:
    """Nothing to report: the business date is a holiday or not one of the business days."""

    business_date: date
    reason: str
    status: Literal["skipped_holiday", "skipped_non_business_day"] = "skipped_holiday"


def _iso_seconds(instant: datetime) -> str:
    return instant.replace(microsecond=0).isoformat(timespec="seconds")


def _utc_text(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_date(instant: datetime, tz: str) -> date:
    """The calendar date the wall clocks in ``tz`` showed at ``instant``."""
    if instant.utcoffset() is None:
        raise ValueError(f"instant {instant.isoformat()} is naive; pass a timezone-aware datetime")
    return instant.astimezone(_zone(tz)).date()


def start_of_day(day: date, tz: str) -> datetime:
    """The first instant whose local date in ``tz`` is ``day`` (or later), in ``tz``.

    Usually local midnight; where the clocks jump over midnight (America/Santiago, Havana,
    Asuncion spring-forward days) it is the jump itself, e.g. 01:00 at the new offset; where
    midnight happens twice it is the first one. A date a zone skipped entirely (Pacific/Apia,
    2011-12-30) yields the next day's start, so that day's window is empty.
    """
    zone = _zone(tz)
    midnight = datetime.combine(day, time())
    try:
        return zone.localize(midnight, is_dst=None)
    except pytz.AmbiguousTimeError:
        first = zone.localize(midnight, is_dst=True)
        second = zone.localize(midnight, is_dst=False)
        return min(first, second)
    except pytz.NonExistentTimeError:
        return _first_instant_on_or_after(day, zone)


def _first_instant_on_or_after(day: date, zone: pytz.BaseTzInfo) -> datetime:
    """Bisect UTC for the clock jump that skips midnight; tz transitions fall on whole seconds."""
    naive = datetime.combine(day, time())
    low = (naive - _SEARCH_SPAN).replace(tzinfo=UTC)  # local date here is before ``day``
    high = (naive + _SEARCH_SPAN).replace(tzinfo=UTC)  # local date here is ``day`` or later
    while high - low > _ONE_SECOND:
        middle = low + (high - low) // 2
        middle = middle.replace(microsecond=0)
        if middle.astimezone(zone).date() < day:
            low = middle
        else:
            high = middle
    return high.astimezone(zone)


def run_day_for(scheduled_time: datetime, tz: str) -> date:
    """The run's local date R for a scheduled invocation (never the wall clock)."""
    return local_date(scheduled_time, tz)


def run_day_for_report_date(report_date: date) -> date:
    """The run's local date R when a user names the business date to report on."""
    return report_date + timedelta(days=1)


def _exists(day: date, tz: str) -> bool:
    return local_date(start_of_day(day, tz), tz) == day


def _why_not_business_day(
    report: ReportConfig, day: date, closed: Callable[[date], bool]
) -> str | None:
    """None for a business day, else the reason a person reading the run summary needs."""
    if day.weekday() not in report.business_days:
        days = ", ".join(WEEKDAYS[d] for d in sorted(report.business_days)) or "none"
        return (
            f"{_day_text(day)} is not a business day of report {report.id!r} "
            f"(business_days: {days}); nothing is sent for it "
            "(set send_on_non_business_days: true to send anyway)"
        )
    if closed(day):
        return (
            f"{_day_text(day)} is a holiday for report {report.id!r}; nothing is sent for it "
            "(set send_on_non_business_days: true to send anyway)"
        )
    if not _exists(day, report.timezone):
        return f"{day.isoformat()} never happened in {report.timezone} (the zone skipped it)"
    return None


def _window(report: ReportConfig, business_date: date, first: date, after: date) -> ReportWindow:
    return ReportWindow(
        kind=report.window,
        timezone=report.timezone,
        business_date=business_date,
        start=start_of_day(first, report.timezone),
        end=start_of_day(after, report.timezone),
    )


def day_window(report: ReportConfig, day: date) -> ReportWindow:
    """The one-day window of ``day`` in the report's zone, whatever the report's window kind."""
    return _window(report, day, day, day + timedelta(days=1))


def _single_day(
    report: ReportConfig, day: date, closed: Callable[[date], bool]
) -> ReportWindow | Skip:
    reason = _why_not_business_day(report, day, closed)
    if reason is None or (report.send_on_non_business_days and _exists(day, report.timezone)):
        return _window(report, day, day, day + timedelta(days=1))
    holiday = day.weekday() in report.business_days and closed(day)
    status: Literal["skipped_holiday", "skipped_non_business_day"] = (
        "skipped_holiday" if holiday else "skipped_non_business_day"
    )
    return Skip(business_date=day, reason=reason, status=status)


def is_due(report: ReportConfig, scheduled_time: datetime) -> bool:
    """Whether a scheduled run at ``scheduled_time`` may send ``report`` (its ``send_at`` passed).

    Compared on the report's own wall clock, so one frequent schedule serves reports in many zones
    at their local times, DST included. A report without ``send_at`` is always due.
    """
    if report.send_at is None:
        return True
    local = scheduled_time.astimezone(_zone(report.timezone))
    return local.time().replace(tzinfo=None) >= report.send_at


def day_is_over(day: date, tz: str, now: datetime) -> bool:
    """Whether ``day`` has ended in ``tz`` at ``now``: only then are its numbers final."""
    try:
        return now >= start_of_day(day + timedelta(days=1), tz)
    except OverflowError:
        return False


def plan_window(
    report: ReportConfig,
    run_day: date,
    closed: Callable[[date], bool],
    *,
    explicit_date: bool = False,
) -> ReportWindow | Skip:
    """The window a run on local date ``run_day`` (R) reports on, or why it reports nothing.

    ``explicit_date`` means a person asked for business date R − 1 (a backfill's ``report_date``):
    that day is reported, or skipped if it is not a business day, never silently moved to another.
    """
    yesterday = run_day - timedelta(days=1)
    if report.window == "previous_week":
        # A backfill names a date inside the week it wants; a scheduled run wants last ISO week.
        anchor = yesterday if explicit_date else run_day - timedelta(days=7)
        monday = anchor - timedelta(days=anchor.weekday())
        return _window(report, monday, monday, monday + timedelta(days=7))
    if report.window == "month_to_date":
        return _window(report, yesterday, yesterday.replace(day=1), run_day)
    if report.window == "yesterday" or explicit_date:
        return _single_day(report, yesterday, closed)
    for back in range(1, MAX_LOOKBACK_DAYS + 1):
        day = run_day - timedelta(days=back)
        if _why_not_business_day(report, day, closed) is None:
            return _window(report, day, day, day + timedelta(days=1))
    raise ValueError(
        f"report {report.id!r} has no business day in the {MAX_LOOKBACK_DAYS} days before "
        f"{run_day.isoformat()}; check its business_days and holidays"
    )
