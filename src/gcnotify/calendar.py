"""Closed days of a report: public holidays of a country (via ``holidays``) plus listed dates.

``holidays`` costs ~110 ms to import with compiled .pyc (its package imports every country
module; measured in bench/cold_start.py), so it is imported only inside the functions, and only
when a report configures a country: reports without one never pay for it on a cold start.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

from .model import HolidaySettings

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["check_holiday_settings", "closed_days"]

# A long subdivision list in an error message helps nobody; past this many, point at the docs.
_MAX_LISTED = 25
_HOLIDAYS_DOCS = "https://holidays.readthedocs.io/"


def _never(day: date) -> bool:
    return False


def closed_days(settings: HolidaySettings | None) -> Callable[[date], bool]:
    """A predicate for "the contact center is closed that day", holidays computed once per year.

    Raises ``ValueError`` (with the same text as ``check_holiday_settings``) for a country or
    subdivision the ``holidays`` package does not know; config validation catches that earlier.
    """
    if settings is None or (settings.country is None and not settings.dates):
        return _never
    listed = settings.dates
    country = settings.country
    if country is None:
        return listed.__contains__

    problem = check_holiday_settings(country, settings.subdivision)
    if problem is not None:
        raise ValueError(problem)
    import holidays

    subdivision = settings.subdivision
    by_year: dict[int, frozenset[date]] = {}

    def closed(day: date) -> bool:
        if day in listed:
            return True
        public = by_year.get(day.year)
        if public is None:
            public = frozenset(
                holidays.country_holidays(country, subdiv=subdivision, years=day.year).keys()
            )
            by_year[day.year] = public
        return day in public

    return closed


def check_holiday_settings(country: str | None, subdivision: str | None) -> str | None:
    """None when ``holidays`` supports the pair, else what is wrong and the closest valid values."""
    if country is None:
        if subdivision is None:
            return None
        return f"subdivision {subdivision!r} needs a holidays country as well, e.g. country: US"
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
