"""Closed days of a report: public holidays of a country (via ``holidays``) plus listed dates.

``holidays`` costs ~110 ms to import and ~110 ms more for a country's first year (measured in
bench/cold_start.py). So the Lambda build precomputes the holidays of the countries in the
shipped config (``gcnotify.reports.precompile`` writes ``holidays_precomputed.json`` at the artifact
root, made by the artifact's own ``holidays``), and a cold start reads them from there. The
package is imported only for a country, subdivision or year the table lacks, and never for
reports without a country.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from gcnotify.core.model import HolidaySettings

__all__ = [
    "PRECOMPUTED_NAME",
    "PrecomputedHolidays",
    "check_holiday_settings",
    "closed_days",
    "parse_precomputed",
    "precompute",
]

PRECOMPUTED_NAME = "holidays_precomputed.json"
# A long subdivision list in an error message helps nobody; past this many, point at the docs.
_MAX_LISTED = 25
_HOLIDAYS_DOCS = "https://holidays.readthedocs.io/"


def _key(country: str, subdivision: str | None) -> str:
    return country if subdivision is None else f"{country}/{subdivision}"


@dataclass(frozen=True)
class PrecomputedHolidays:
    """Public holidays per country/subdivision for ``first_year``..``last_year``, computed at
    build time by ``holidays`` ``holidays_version`` with the same call ``closed_days`` makes."""

    holidays_version: str
    first_year: int
    last_year: int
    calendars: Mapping[str, Mapping[int, frozenset[date]]]

    def knows(self, country: str, subdivision: str | None) -> bool:
        """The pair was computed (so the build's ``holidays`` supports it)."""
        return _key(country, subdivision) in self.calendars

    def year(self, country: str, subdivision: str | None, year: int) -> frozenset[date] | None:
        return self.calendars.get(_key(country, subdivision), {}).get(year)


def precompute(
    pairs: Iterable[tuple[str, str | None]], first_year: int, last_year: int
) -> dict[str, Any]:
    """The JSON document of ``PrecomputedHolidays`` for ``pairs`` (build time only)."""
    from importlib.metadata import version

    import holidays

    calendars: dict[str, dict[str, list[str]]] = {}
    for country, subdivision in sorted(set(pairs), key=lambda p: (p[0], p[1] or "")):
        calendars[_key(country, subdivision)] = {
            str(year): sorted(
                day.isoformat()
                for day in holidays.country_holidays(country, subdiv=subdivision, years=year)
            )
            for year in range(first_year, last_year + 1)
        }
    return {
        "holidays_version": version("holidays"),
        "first_year": first_year,
        "last_year": last_year,
        "calendars": calendars,
    }


def parse_precomputed(raw: Any) -> PrecomputedHolidays | None:
    """The table from its JSON document; None when it is malformed (``holidays`` answers then)."""
    try:
        return PrecomputedHolidays(
            holidays_version=str(raw["holidays_version"]),
            first_year=int(raw["first_year"]),
            last_year=int(raw["last_year"]),
            calendars={
                key: {
                    int(year): frozenset(date.fromisoformat(d) for d in days)
                    for year, days in years.items()
                }
                for key, years in raw["calendars"].items()
            },
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _never(day: date) -> bool:
    return False


def closed_days(
    settings: HolidaySettings | None, table: PrecomputedHolidays | None = None
) -> Callable[[date], bool]:
    """A predicate for "the contact center is closed that day", holidays computed once per year.

    ``table`` is the artifact's precomputed holidays when there is one; years it lacks come
    from the ``holidays`` package. Raises ``ValueError`` (with the same text as
    ``check_holiday_settings``) for a country or subdivision the ``holidays`` package does not
    know; config validation catches that earlier.
    """
    if settings is None or (settings.country is None and not settings.dates):
        return _never
    listed = settings.dates
    country = settings.country
    if country is None:
        return listed.__contains__

    problem = check_holiday_settings(country, settings.subdivision, table)
    if problem is not None:
        raise ValueError(problem)
    subdivision = settings.subdivision
    by_year: dict[int, frozenset[date]] = {}

    def closed(day: date) -> bool:
        if day in listed:
            return True
        public = by_year.get(day.year)
        if public is None:
            public = table.year(country, subdivision, day.year) if table is not None else None
            if public is None:
                import holidays

                public = frozenset(
                    holidays.country_holidays(country, subdiv=subdivision, years=day.year).keys()
                )
            by_year[day.year] = public
        return day in public

    return closed


def check_holiday_settings(
    country: str | None, subdivision: str | None, table: PrecomputedHolidays | None = None
) -> str | None:
    """None when ``holidays`` supports the pair, else what is wrong and the closest valid values.

    A pair in the precomputed table (``table``, the artifact's) was checked by the build.
    """
    if country is None:
        if subdivision is None:
            return None
        return f"subdivision {subdivision!r} needs a holidays country as well, e.g. country: US"
    if table is not None and table.knows(country, subdivision):
        return None
    import holidays

    supported: Mapping[str, list[str]] = holidays.list_supported_countries()
    if country not in supported:
        return _country_problem(country, supported)
    if subdivision is None:
        return None
    try:
        holidays.country_holidays(country, subdiv=subdivision)
    except NotImplementedError:
        return _subdivision_problem(country, subdivision, supported[country])
    return None


def _country_problem(country: str, supported: Mapping[str, list[str]]) -> str:
    # No word "subdivision" here: config.py files the message under the key it names.
    if country.upper() in supported:
        hint = f" (did you mean {country.upper()!r}? codes are upper case)"
    else:
        close = _close_countries(country, supported)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return (
        f"{country!r} is not a country code the holidays package supports{hint}; use an "
        f"ISO 3166-1 alpha-2 code such as 'US', 'GB' or 'DE' (list: {_HOLIDAYS_DOCS})"
    )


def _close_countries(country: str, supported: Mapping[str, list[str]]) -> list[str]:
    """Close codes, and codes of close country names ('Germny' -> 'DE' (Germany))."""
    from holidays import registry

    names: dict[str, str] = {}  # lower-case English name -> alpha-2 code
    for module, entry in registry.COUNTRIES.items():
        if len(entry) > 1 and entry[1] in supported:
            names[module.replace("_", " ")] = entry[1]
    found = [
        repr(code)
        for code in difflib.get_close_matches(country.upper(), list(supported), n=3, cutoff=0.6)
    ]
    for name in difflib.get_close_matches(country.lower(), list(names), n=3, cutoff=0.6):
        found.append(f"{names[name]!r} ({name.title()})")
    return found[:4]


def _subdivision_problem(country: str, subdivision: str, subdivisions: list[str]) -> str:
    if not subdivisions:
        return (
            f"the holidays package has no subdivisions for {country!r}; remove "
            f"holidays.subdivision {subdivision!r}"
        )
    if subdivision.upper() in subdivisions:
        hint = f" (did you mean {subdivision.upper()!r}? codes are case-sensitive)"
    else:
        close = _close_subdivisions(country, subdivision, subdivisions)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
    shown = ", ".join(subdivisions[:_MAX_LISTED])
    if len(subdivisions) > _MAX_LISTED:
        shown += f", … ({len(subdivisions)} in all; see {_HOLIDAYS_DOCS})"
    return (
        f"{subdivision!r} is not a subdivision of {country!r} known to the holidays package"
        f"{hint}; supported: {shown}"
    )


def _close_subdivisions(country: str, subdivision: str, subdivisions: list[str]) -> list[str]:
    """Close codes, and codes of close subdivision names ('New Yrok' -> 'NY' (New York))."""
    import holidays

    aliases: Mapping[str, str] = getattr(
        holidays.country_holidays(country), "subdivisions_aliases", {}
    )
    found = [repr(c) for c in difflib.get_close_matches(subdivision, subdivisions, n=3, cutoff=0.5)]
    by_lower = {name.lower(): name for name in aliases}
    for lower in difflib.get_close_matches(subdivision.lower(), list(by_lower), n=3, cutoff=0.6):
        name = by_lower[lower]
        found.append(f"{aliases[name]!r} ({name})")
    return found[:4]
