"""Closed days (public holidays and listed dates) and the holiday-settings check."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import holidays
import pytest

from gcnotify.core.calendar import (
    PrecomputedHolidays,
    check_holiday_settings,
    closed_days,
    precompute,
)
from gcnotify.core.model import HolidaySettings
from gcnotify.runtime.resources import load_precomputed

THANKSGIVING_2026 = date(2026, 11, 26)


def test_no_settings_means_never_closed() -> None:
    """Without holiday settings no day is closed."""
    assert [False, False] == [closed_days(None)(d) for d in (THANKSGIVING_2026, date(2026, 1, 1))]


def test_empty_settings_mean_never_closed() -> None:
    """Empty holiday settings close no day either."""
    assert False is closed_days(HolidaySettings())(date(2026, 1, 1))


def test_listed_date_is_closed() -> None:
    """A date listed under holidays.dates is closed."""
    assert True is closed_days(HolidaySettings(dates=frozenset({date(2026, 12, 24)})))(
        date(2026, 12, 24)
    )


def test_unlisted_date_is_open_without_country() -> None:
    """With only listed dates, public holidays are not closed days."""
    assert False is closed_days(HolidaySettings(dates=frozenset({date(2026, 12, 24)})))(
        THANKSGIVING_2026
    )


def test_country_public_holiday_is_closed() -> None:
    """US Thanksgiving 2026 is closed for a US report."""
    assert True is closed_days(HolidaySettings(country="US"))(THANKSGIVING_2026)


def test_ordinary_day_is_open_with_country() -> None:
    """The Friday after Thanksgiving is not a US public holiday."""
    assert False is closed_days(HolidaySettings(country="US"))(date(2026, 11, 27))


def test_listed_dates_add_to_country_holidays() -> None:
    """Listed dates close days the country calendar leaves open."""
    closed = closed_days(HolidaySettings(country="US", dates=frozenset({date(2026, 12, 24)})))
    assert [True, True] == [closed(date(2026, 12, 24)), closed(THANKSGIVING_2026)]


def test_subdivision_holidays_apply() -> None:
    """Lincoln's Birthday (12 Feb) is closed in New York but not US-wide."""
    new_york = closed_days(HolidaySettings(country="US", subdivision="NY"))
    federal = closed_days(HolidaySettings(country="US"))
    assert (True, False) == (new_york(date(2026, 2, 12)), federal(date(2026, 2, 12)))


def test_holidays_of_each_year_are_found() -> None:
    """One predicate answers for any year, not only the first one asked."""
    closed = closed_days(HolidaySettings(country="US"))
    assert [True, True] == [closed(date(2026, 1, 1)), closed(date(2031, 1, 1))]


def test_country_calendar_is_built_once_per_year(monkeypatch: pytest.MonkeyPatch) -> None:
    """Asking about many days of two years builds two yearly calendars."""
    years: list[object] = []
    real: Callable[..., Any] = holidays.country_holidays

    def counting(*args: Any, **kwargs: Any) -> Any:
        years.append(kwargs.get("years"))
        return real(*args, **kwargs)

    closed = closed_days(HolidaySettings(country="US"))
    monkeypatch.setattr(holidays, "country_holidays", counting)
    for day in range(1, 29):
        closed(date(2026, 2, day))
        closed(date(2027, 2, day))
    assert [2026, 2027] == years


def test_unknown_country_in_closed_days_is_a_value_error() -> None:
    """A bad country is refused up front, not on the first holiday lookup."""
    with pytest.raises(ValueError, match="'XX'"):
        closed_days(HolidaySettings(country="XX"))


def imports_holidays(calls: str) -> bool:
    """Whether running ``calls`` (closed_days uses) in a fresh interpreter imports ``holidays``."""
    code = (
        "import sys\n"
        "from datetime import date\n"
        "from gcnotify.core.calendar import closed_days\n"
        "from gcnotify.core.model import HolidaySettings\n"
        f"{calls}\n"
        "print('holidays' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return {"True": True, "False": False}[result.stdout.strip()]


def test_settings_without_country_never_import_holidays() -> None:
    """Reports without a country do not pay for importing ``holidays`` on a cold start."""
    assert not imports_holidays(
        "closed_days(None)(date(2026, 11, 26))\n"
        "closed_days(HolidaySettings())(date(2026, 11, 26))\n"
        "closed_days(HolidaySettings(dates=frozenset({date(2026, 12, 24)})))(date(2026, 12, 24))"
    )


def test_settings_with_country_do_import_holidays() -> None:
    """The import probe above can see ``holidays`` when a country is configured."""
    assert imports_holidays("closed_days(HolidaySettings(country='US'))(date(2026, 11, 26))")


# --- precomputed holidays (the Lambda artifact) ----------------------------------------------

PAIRS = [("US", "NY"), ("GB", "SCT"), ("DE", None)]


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> PrecomputedHolidays:
    path = tmp_path_factory.mktemp("table") / "holidays_precomputed.json"
    path.write_text(json.dumps(precompute(PAIRS, 2025, 2031)))
    loaded = load_precomputed(path)
    assert loaded is not None
    return loaded


def no_holidays_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any use of the ``holidays`` package fail loudly."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the holidays package was used")

    monkeypatch.setattr(holidays, "country_holidays", refuse)
    monkeypatch.setattr(holidays, "list_supported_countries", refuse)


@pytest.mark.parametrize(("country", "subdivision"), PAIRS)
def test_precomputed_days_are_the_packages(
    table: PrecomputedHolidays, country: str, subdivision: str | None
) -> None:
    """Every precomputed year holds exactly the days the package gives for it."""
    for year in range(2025, 2032):
        expected = set(holidays.country_holidays(country, subdiv=subdivision, years=year))
        assert expected == table.year(country, subdivision, year)
    assert (2025, 2031) == (table.first_year, table.last_year)


def test_closed_days_read_the_table_without_the_package(
    table: PrecomputedHolidays, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Covered years and pairs need neither the package's check nor its calendars."""
    no_holidays_package(monkeypatch)
    settings = HolidaySettings(
        country="US", subdivision="NY", dates=frozenset({date(2026, 12, 24)})
    )
    closed = closed_days(settings, table)
    assert [True, True, False, True] == [
        closed(THANKSGIVING_2026),
        closed(date(2026, 12, 24)),
        closed(date(2026, 11, 25)),
        closed(date(2031, 12, 25)),
    ]
    assert check_holiday_settings("GB", "SCT", table) is None


def test_years_and_pairs_outside_the_table_come_from_the_package(
    table: PrecomputedHolidays,
) -> None:
    """2032 is past the table, FR is not in it: both still answer correctly."""
    assert closed_days(HolidaySettings(country="US", subdivision="NY"), table)(date(2032, 11, 25))
    assert closed_days(HolidaySettings(country="FR"), table)(date(2026, 7, 14))
    assert "not a subdivision" in (check_holiday_settings("US", "XX", table) or "")


@pytest.mark.parametrize("content", [None, "{not json", '{"first_year": 2025}', "[]"])
def test_unreadable_table_is_no_table(tmp_path: Path, content: str | None) -> None:
    """A missing or broken table is ignored (the package answers), never an error."""
    path = tmp_path / "holidays_precomputed.json"
    if content is not None:
        path.write_text(content)
    assert load_precomputed(path) is None


# --- check_holiday_settings ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "subdivision"),
    [
        (None, None),
        ("US", None),
        ("US", "NY"),
        ("GB", "SCT"),
        ("UK", "ENG"),  # an alias the holidays package accepts
        ("USA", None),  # alpha-3 codes are accepted too
        ("US", "New York"),  # a subdivision name alias
    ],
)
def test_supported_settings_pass(country: str | None, subdivision: str | None) -> None:
    """Countries and subdivisions the holidays package supports raise no problem."""
    assert None is check_holiday_settings(country, subdivision)


def test_lower_case_country_suggests_upper_case() -> None:
    """'us' is refused with a pointer to 'US'."""
    problem = check_holiday_settings("us", None)
    assert problem is not None
    assert "did you mean 'US'?" in problem


def test_misspelt_country_name_suggests_its_code() -> None:
    """A misspelt country name suggests the matching code."""
    problem = check_holiday_settings("Germny", None)
    assert problem is not None
    assert "'DE' (Germany)" in problem


def test_unknown_country_names_the_value_and_not_subdivision() -> None:
    """The country message names the bad code and never mentions a subdivision."""
    problem = check_holiday_settings("XX", "NY")
    assert problem is not None
    assert ("'XX'" in problem, "subdivision" in problem) == (True, False)


def test_lower_case_subdivision_suggests_upper_case() -> None:
    """'ny' is refused with a pointer to 'NY'."""
    problem = check_holiday_settings("US", "ny")
    assert problem is not None
    assert "did you mean 'NY'?" in problem


def test_misspelt_subdivision_name_suggests_its_code() -> None:
    """A misspelt subdivision name suggests the code of the close name."""
    problem = check_holiday_settings("US", "New Yrok")
    assert problem is not None
    assert "'NY' (New York)" in problem


def test_unknown_subdivision_names_value_and_lists_supported() -> None:
    """An unknown subdivision message names it, says subdivision, and lists valid codes."""
    problem = check_holiday_settings("DE", "QQ")
    assert problem is not None
    assert ("'QQ'" in problem, "subdivision" in problem, "BY" in problem) == (True, True, True)


def test_subdivision_of_country_without_any() -> None:
    """A subdivision for a country that has none says to remove it."""
    problem = check_holiday_settings("IS", "X")
    assert problem is not None
    assert "remove holidays.subdivision 'X'" in problem


def test_subdivision_without_country() -> None:
    """A subdivision alone is a problem: it needs a country."""
    problem = check_holiday_settings(None, "NY")
    assert problem is not None
    assert "needs a holidays country" in problem
