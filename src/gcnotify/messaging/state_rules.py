"""US states whose telephone-solicitation laws allow fewer hours than the federal 08:00-21:00.

NOT LEGAL ADVICE: check with counsel; these rules target telephone solicitations, and whether
they bind transactional notifications differs by state. (Solicitations are sales calls and, in
most of these states, texts; a transactional notification is an order shipped, an appointment
reminder.) gcnotify applies them only when ``send_window.us_state_rules`` is on, and then to
every message to a number of that state, whatever it is about.

What is modelled: per state, the allowed local hours on each weekday (a day may have none, as
Sunday in Alabama, Louisiana, Mississippi and Rhode Island), read in the recipient's zone(s), and
an extra fixed zone where the statute names one (Mississippi's "Central Standard Time"). What is
not: state holidays (``holidays_barred`` records which sources bar them, nothing enforces it),
emergency declarations (Louisiana), call-frequency caps (three per 24 hours in Florida, Oklahoma
and Maryland), consent and do-not-call rules, and the exemptions each statute lists.

The state is read from the number's area code (``area_codes``, generated from phonenumbers'
geocoder data by scripts/gen_area_codes.py): several of these statutes presume a call to one of
the state's area codes reaches a resident. An area code shared by states, a non-geographic one
(toll free, 5XX, 6XX) and every number outside the US have no state, so only the configured
window applies. docs/US_STATE_RULES.md is the user-facing version of this table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time
from types import MappingProxyType

import pytz

__all__ = [
    "DEFAULT_STATE_WINDOWS",
    "US_STATES",
    "WEEKDAYS",
    "Hours",
    "StateWindow",
    "state_of_number",
    "state_window",
    "state_windows",
]

# The 50 states and the District of Columbia by USPS code: the regions a NANP area code can
# belong to here (territories have country codes of their own in phonenumbers, and no rule).
US_STATES: Mapping[str, str] = MappingProxyType(
    {
        "AL": "Alabama",
        "AK": "Alaska",
        "AZ": "Arizona",
        "AR": "Arkansas",
        "CA": "California",
        "CO": "Colorado",
        "CT": "Connecticut",
        "DE": "Delaware",
        "DC": "District of Columbia",
        "FL": "Florida",
        "GA": "Georgia",
        "HI": "Hawaii",
        "ID": "Idaho",
        "IL": "Illinois",
        "IN": "Indiana",
        "IA": "Iowa",
        "KS": "Kansas",
        "KY": "Kentucky",
        "LA": "Louisiana",
        "ME": "Maine",
        "MD": "Maryland",
        "MA": "Massachusetts",
        "MI": "Michigan",
        "MN": "Minnesota",
        "MS": "Mississippi",
        "MO": "Missouri",
        "MT": "Montana",
        "NE": "Nebraska",
        "NV": "Nevada",
        "NH": "New Hampshire",
        "NJ": "New Jersey",
        "NM": "New Mexico",
        "NY": "New York",
        "NC": "North Carolina",
        "ND": "North Dakota",
        "OH": "Ohio",
        "OK": "Oklahoma",
        "OR": "Oregon",
        "PA": "Pennsylvania",
        "RI": "Rhode Island",
        "SC": "South Carolina",
        "SD": "South Dakota",
        "TN": "Tennessee",
        "TX": "Texas",
        "UT": "Utah",
        "VT": "Vermont",
        "VA": "Virginia",
        "WA": "Washington",
        "WV": "West Virginia",
        "WI": "Wisconsin",
        "WY": "Wyoming",
    }
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Hours:
    """Local wall-clock hours allowed on one day, ``[start, end)``, never across midnight."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ValueError(
                f"state hours {self.start:%H:%M}-{self.end:%H:%M} must start before they end "
                "on the same day"
            )

    def allows(self, wall: time) -> bool:
        """True when a local time of day is inside these hours."""
        return self.start <= wall < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


@dataclass(frozen=True)
class StateWindow:
    """One state's allowed hours per weekday (Monday first; None: no solicitation that day).

    ``also_in`` is a fixed zone the hours must hold in as well as the recipient's own, for a
    statute that names one; ``holidays_barred`` says the source also bars state holidays, which
    is recorded, not enforced.
    """

    state: str
    name: str
    days: tuple[Hours | None, ...]
    source: str
    holidays_barred: bool = False
    also_in: str | None = None

    def __post_init__(self) -> None:
        if self.state not in US_STATES:
            raise ValueError(
                f"{self.state!r} is not a US state code (two capital letters, such as FL or DC)"
            )
        if len(self.days) != len(WEEKDAYS):
            raise ValueError(
                f"{self.name}: give hours (or None) for each of the 7 weekdays, Monday first; "
                f"got {len(self.days)}"
            )
        if not self.source.strip():
            raise ValueError(f"{self.name}: name the statute or rule (and its year) as source")
        if self.also_in is not None:
            try:
                pytz.timezone(self.also_in)
            except pytz.UnknownTimeZoneError:
                raise ValueError(
                    f"{self.name}: also_in {self.also_in!r} is not an IANA time zone name"
                ) from None

    def hours_on(self, weekday: int) -> Hours | None:
        """The hours allowed on a weekday (0 is Monday, as ``date.weekday()``)."""
        return self.days[weekday]

    def allows(self, local: datetime) -> bool:
        """True when a local date and time is inside the hours of its weekday."""
        hours = self.days[local.weekday()]
        return hours is not None and hours.allows(local.time())

    def summary(self) -> str:
        """One sentence for a decision's reason: ``Florida allows 08:00–20:00 every day (…)``."""
        return f"{self.name} allows {self.describe_days()} ({self.source})"

    def describe_days(self) -> str:
        """The week in words, runs of equal days joined: ``09:00–21:00 Monday to Saturday, …``."""
        runs: list[tuple[int, int, Hours | None]] = []
        for day, hours in enumerate(self.days):
            if runs and runs[-1][2] == hours:
                runs[-1] = (runs[-1][0], day, hours)
            else:
                runs.append((day, day, hours))
        parts = []
        for first, last, hours in runs:
            if len(runs) == 1:
                days = "every day"
            elif first == last:
                days = WEEKDAYS[first]
            else:
                days = f"{WEEKDAYS[first]} to {WEEKDAYS[last]}"
            if hours is not None:
                parts.append(f"{hours} {days}")
            else:
                parts.append("no hours on any day" if len(runs) == 1 else f"none on {days}")
        text = ", ".join(parts)
        if self.also_in:
            text += f", in local time and in {self.also_in}"
        return text


def state_window(
    state: str,
    *,
    weekdays: Hours | None,
    saturday: Hours | None,
    sunday: Hours | None,
    source: str,
    holidays_barred: bool = False,
    also_in: str | None = None,
) -> StateWindow:
    """A state's window from its Monday-to-Friday, Saturday and Sunday hours."""
    if state not in US_STATES:
        raise ValueError(f"{state!r} is not a US state code (two capital letters, such as FL)")
    return StateWindow(
        state=state,
        name=US_STATES[state],
        days=(weekdays,) * 5 + (saturday, sunday),
        source=source,
        holidays_barred=holidays_barred,
        also_in=also_in,
    )


def _hours(start: int, end: int) -> Hours:
    return Hours(time(start), time(end))


# Every entry names its source; docs/US_STATE_RULES.md lists what each one says and what is not
# in the table. Where a statute says "before 8 a.m. or after 8 p.m.", 20:00 itself is treated as
# outside: the strict reading.
_DEFAULTS = (
    state_window(
        "AL",
        weekdays=_hours(8, 20),
        saturday=_hours(8, 20),
        sunday=None,
        source="Ala. Admin. Code r. 770-X-5-.17, Alabama Public Service Commission, in force 2024",
        holidays_barred=True,
    ),
    state_window(
        "CT",
        weekdays=_hours(9, 20),
        saturday=_hours(9, 20),
        sunday=_hours(9, 20),
        source="Conn. Gen. Stat. § 42-288a, as amended by Public Act 23-98, 2023",
    ),
    state_window(
        "FL",
        weekdays=_hours(8, 20),
        saturday=_hours(8, 20),
        sunday=_hours(8, 20),
        source="Fla. Stat. § 501.616(6)(a), as amended by ch. 2021-185, 2021",
    ),
    state_window(
        "LA",
        weekdays=_hours(8, 20),
        saturday=_hours(8, 20),
        sunday=None,
        source="La. R.S. 45:811, in force 2024",
        holidays_barred=True,
    ),
    state_window(
        "MD",
        weekdays=_hours(8, 20),
        saturday=_hours(8, 20),
        sunday=_hours(8, 20),
        source="Maryland Stop the Spam Calls Act of 2023, SB 90, in force 2024",
    ),
    state_window(
        "MS",
        weekdays=_hours(8, 20),
        saturday=_hours(8, 20),
        sunday=None,
        source="Miss. Code Ann. § 77-3-723(1), Mississippi Telephone Solicitation Act, 2003",
        # The statute says 8:00 a.m. to 8:00 p.m. "Central Standard Time": held in CST (UTC-6,
        # which pytz names Etc/GMT+6) as well as in local time, so daylight time narrows it.
        also_in="Etc/GMT+6",
    ),
    state_window(
        "OK",
        weekdays=_hours(8, 20),
        saturday=_hours(8, 20),
        sunday=_hours(8, 20),
        source="Okla. Stat. tit. 15, § 775C.4, Telephone Solicitation Act of 2022",
    ),
    state_window(
        "RI",
        weekdays=_hours(9, 18),
        saturday=_hours(10, 17),
        sunday=None,
        source="R.I. Gen. Laws §§ 5-61-2, 5-61-3.6, Telephone Sales Solicitation Act, 1999",
        holidays_barred=True,
    ),
    state_window(
        "TX",
        weekdays=_hours(9, 21),
        saturday=_hours(9, 21),
        sunday=_hours(12, 21),
        source="Tex. Bus. & Com. Code § 301.051, in force 2009",
    ),
    state_window(
        "WA",
        weekdays=_hours(8, 20),
        saturday=_hours(8, 20),
        sunday=_hours(8, 20),
        source="RCW 80.36.390 and 19.158.040(2), as amended by ESHB 1497, 2022",
    ),
)
DEFAULT_STATE_WINDOWS: Mapping[str, StateWindow] = MappingProxyType({w.state: w for w in _DEFAULTS})


def state_windows(
    overrides: Mapping[str, StateWindow | None] | None = None,
    *,
    base: Mapping[str, StateWindow] = DEFAULT_STATE_WINDOWS,
) -> Mapping[str, StateWindow]:
    """The table with entries added or replaced, and removed where an override is None.

    For a config that adds a state, or drops one counsel has cleared for these messages.
    """
    merged = dict(base)
    for state, window in (overrides or {}).items():
        if window is None:
            merged.pop(state, None)
            continue
        if window.state != state:
            raise ValueError(f"the entry for {state} describes {window.state}: key it by its state")
        merged[state] = window
    return MappingProxyType(merged)


_NANP = re.compile(r"\+1([2-9]\d{2})[2-9]\d{6}")


def state_of_number(number: str) -> str | None:
    """The US state of an E.164 number's area code, or None (not NANP, shared, non-geographic)."""
    # Imported here so scripts/gen_area_codes.py can use US_STATES while the table is missing.
    from gcnotify.messaging.area_codes import AREA_CODE_STATES

    match = _NANP.fullmatch(number)
    return AREA_CODE_STATES.get(match[1]) if match else None
