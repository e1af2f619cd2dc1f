"""Closed days from an Architect schedule group, evaluated on the group's local calendar."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
import responses

from gcnotify.core.errors import ReportError
from gcnotify.genesys.architect import closed_days_of, group_closed_days, parse_schedule
from tests.genesys.standup_http import API, client
from tests.support import FakeClock

GROUPS_URL = f"{API}/api/v2/architect/schedulegroups"
SCHEDULES_URL = f"{API}/api/v2/architect/schedules"
GROUP = {
    "id": "g1",
    "name": "US Support Hours",
    "state": "active",
    "timeZone": "America/Chicago",
    "openSchedules": [{"id": "open-1"}],
    "closedSchedules": [{"id": "night-1"}],
    "holidaySchedules": [{"id": "xmas-1"}, {"id": "once-1"}],
}
XMAS = {
    "id": "xmas-1",
    "name": "Christmas",
    "start": "2020-12-25T00:00:00.000",
    "end": "2020-12-25T23:59:59.999",
    "rrule": "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=25",
}
ONCE = {"id": "once-1", "name": "Office move", "start": "2025-11-03T00:00:00.000",
        "end": "2025-11-05T00:00:00.000"}  # fmt: skip
NIGHT = {"id": "night-1", "name": "Nights", "start": "2020-01-01T18:00:00.000",
         "end": "2020-01-02T08:00:00.000", "rrule": "FREQ=DAILY"}  # fmt: skip


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


def test_a_yearly_holiday_closes_its_date_each_year() -> None:
    """Christmas recurs on 25 December of every year asked for."""
    days = closed_days_of(parse_schedule(XMAS), date(2024, 1, 1), date(2026, 12, 31))
    assert {date(2024, 12, 25), date(2025, 12, 25), date(2026, 12, 25)} == days


def test_a_one_off_schedule_closes_the_days_it_covers() -> None:
    """Without an rrule, 3 Nov 00:00 to 5 Nov 00:00 closes 3 and 4 November."""
    days = closed_days_of(parse_schedule(ONCE), date(2025, 11, 1), date(2025, 11, 30))
    assert {date(2025, 11, 3), date(2025, 11, 4)} == days


def test_a_nightly_closed_schedule_closes_no_day() -> None:
    """Closed 18:00 to 08:00 every day leaves every day open."""
    assert set() == closed_days_of(parse_schedule(NIGHT), date(2025, 1, 1), date(2025, 1, 31))


def test_a_rule_that_does_not_parse_is_a_clear_error() -> None:
    """A broken rrule names the schedule and the rule."""
    with pytest.raises(ReportError, match="'Broken' has an rrule that does not parse"):
        parse_schedule({**XMAS, "name": "Broken", "rrule": "FREQ=SOMETIMES"})


def test_the_group_gives_named_closed_days(rsps: responses.RequestsMock) -> None:
    """Holiday and closed schedules of the group, by local date, with the schedule's name."""
    genesys = client(FakeClock(), rsps)
    rsps.get(GROUPS_URL, json={"entities": [GROUP], "pageCount": 1})
    for schedule in (XMAS, ONCE, NIGHT):
        rsps.get(f"{SCHEDULES_URL}/{schedule['id']}", json=schedule)
    days = group_closed_days(genesys, "US Support Hours", date(2025, 11, 1), date(2025, 12, 31))
    expected = {
        date(2025, 11, 3): "Office move",
        date(2025, 11, 4): "Office move",
        date(2025, 12, 25): "Christmas",
    }
    assert expected == days


def test_an_unknown_group_names_the_closest(rsps: responses.RequestsMock) -> None:
    """A typo fails with the real names that come closest."""
    genesys = client(FakeClock(), rsps)
    rsps.get(GROUPS_URL, json={"entities": [GROUP], "pageCount": 1})
    with pytest.raises(ReportError, match="Closest names: 'US Support Hours'"):
        group_closed_days(genesys, "US Suport Hours", date(2025, 1, 1), date(2025, 1, 2))
