"""Closed days from an Architect schedule group: its holiday and closed schedules.

A ``ScheduleGroup`` names its ``timeZone`` and references schedules; each ``Schedule`` has local
``start``/``end`` (no zone) and an optional ``rrule`` stored without the ``RRULE:`` prefix
(SDK models ``ScheduleGroup``, ``Schedule``). Occurrences are expanded with ``dateutil.rrule``
on the group's local wall clock, so a recurring holiday stays on its local date across DST. A day
counts as closed when one occurrence covers it whole (a nightly "closed" schedule does not).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from gcnotify.core.errors import ReportError

if TYPE_CHECKING:
    from gcnotify.genesys.client import GenesysClient

__all__ = [
    "SCHEDULES_PATH",
    "SCHEDULE_GROUPS_PATH",
    "Schedule",
    "ScheduleGroup",
    "closed_days_of",
    "find_schedule_group",
    "group_closed_days",
    "parse_schedule",
]

SCHEDULE_GROUPS_PATH = "/api/v2/architect/schedulegroups"
SCHEDULES_PATH = "/api/v2/architect/schedules"
PERMISSION = "architect:schedule:view"
GROUP_PERMISSION = "architect:scheduleGroup:view"
PAGE_SIZE = 100
MAX_PAGES = 50
# A schedule ending at 23:59 (or 23:59:59.999) means "to the end of the day" in Architect.
_END_OF_DAY_SLACK = timedelta(minutes=1)


@dataclass(frozen=True)
class Schedule:
    id: str
    name: str
    start: datetime  # local wall-clock time of the group's zone (naive)
    end: datetime
    rrule: str | None


@dataclass(frozen=True)
class ScheduleGroup:
    id: str
    name: str
    timezone: str
    holiday_ids: tuple[str, ...]
    closed_ids: tuple[str, ...]


def _group(entity: Mapping[str, Any]) -> ScheduleGroup:
    def ids(key: str) -> tuple[str, ...]:
        refs = entity.get(key)
        refs = refs if isinstance(refs, list) else []
        return tuple(
            r["id"] for r in refs if isinstance(r, Mapping) and isinstance(r.get("id"), str)
        )

    return ScheduleGroup(
        id=str(entity.get("id")),
        name=str(entity.get("name")),
        timezone=str(entity.get("timeZone") or ""),
        holiday_ids=ids("holidaySchedules"),
        closed_ids=ids("closedSchedules"),
    )


def _all_groups(client: GenesysClient) -> list[Mapping[str, Any]]:
    groups: list[Mapping[str, Any]] = []
    for number in range(1, MAX_PAGES + 1):
        listing = client.get_json(
            SCHEDULE_GROUPS_PATH,
            {"pageSize": PAGE_SIZE, "pageNumber": number},
            permission=GROUP_PERMISSION,
        )
        entities = [e for e in listing.get("entities") or [] if isinstance(e, Mapping)]
        groups += entities
        page_count = listing.get("pageCount")
        if not entities or (isinstance(page_count, int) and number >= page_count):
            break
    return groups


def find_schedule_group(client: GenesysClient, name: str) -> ScheduleGroup:
    """The group named ``name`` exactly; else ``ReportError`` with the closest real names."""
    groups = _all_groups(client)
    exact = [g for g in groups if g.get("name") == name and g.get("state") != "deleted"]
    if exact:
        return _group(exact[0])
    names = [str(g.get("name")) for g in groups if isinstance(g.get("name"), str)]
    folded = {n.lower(): n for n in names}
    close = [folded[m] for m in difflib.get_close_matches(name.lower(), list(folded), n=3)]
    hint = f" Closest names: {', '.join(repr(c) for c in close)}." if close else ""
    raise ReportError(
        f"Architect schedule group {name!r} does not exist in Genesys Cloud (names are exact)."
        f"{hint} Fix holidays.genesys_schedule_group in gcnotify.yaml."
    )


def _local(text: object, what: str) -> datetime:
    try:
        if not isinstance(text, str):
            raise TypeError(text)
        parsed = datetime.fromisoformat(text)
    except (TypeError, ValueError) as exc:
        raise ReportError(
            f"{what} is {text!r}, not an ISO-8601 local date-time (yyyy-MM-ddTHH:mm:ss.SSS)"
        ) from exc
    return parsed.replace(tzinfo=None)


def parse_schedule(entity: Mapping[str, Any]) -> Schedule:
    """A ``Schedule`` entity, checked: its times parse and its rrule (if any) is valid."""
    name = str(entity.get("name") or entity.get("id"))
    start = _local(entity.get("start"), f"the start of Architect schedule {name!r}")
    end = _local(entity.get("end"), f"the end of Architect schedule {name!r}")
    rrule = entity.get("rrule")
    rule = rrule.strip() if isinstance(rrule, str) and rrule.strip() else None
    schedule = Schedule(str(entity.get("id")), name, start, end, rule)
    if rule is not None:
        _rule(schedule)  # fail now, naming the schedule
    return schedule


def _rule(schedule: Schedule) -> Any:
    from dateutil.rrule import rrulestr

    text = schedule.rrule or ""
    prefixed = text if text.upper().startswith("RRULE:") else f"RRULE:{text}"
    try:
        return rrulestr(prefixed, dtstart=schedule.start)
    except (ValueError, TypeError) as exc:
        raise ReportError(
            f"Architect schedule {schedule.name!r} has an rrule that does not parse "
            f"({text!r}: {exc}). Fix the schedule's recurrence in Architect, or remove the "
            "schedule from the group."
        ) from exc


def closed_days_of(schedule: Schedule, first: date, last: date) -> set[date]:
    """Local dates in ``[first, last]`` that one occurrence of ``schedule`` covers whole."""
    length = schedule.end - schedule.start
    if length <= timedelta(0):
        return set()
    window_start = datetime.combine(first, datetime.min.time()) - length
    window_end = datetime.combine(last, datetime.max.time())
    if schedule.rrule is None:
        starts = [schedule.start]
    else:
        starts = list(_rule(schedule).between(window_start, window_end, inc=True))
    days: set[date] = set()
    for occurrence in starts:
        ends = occurrence + length
        day = occurrence.date()
        while day <= ends.date():
            day_start = datetime.combine(day, datetime.min.time())
            day_end = day_start + timedelta(days=1)
            whole = occurrence <= day_start and ends >= day_end - _END_OF_DAY_SLACK
            if whole and first <= day <= last:
                days.add(day)
            day += timedelta(days=1)
    return days


def group_closed_days(
    client: GenesysClient, group_name: str, first: date, last: date
) -> dict[date, str]:
    """Local date → name of the holiday or closed schedule covering it, in ``[first, last]``.

    Dates are the group's local dates (Architect evaluates in the group's ``timeZone``).
    """
    group = find_schedule_group(client, group_name)
    days: dict[date, str] = {}
    for schedule_id in (*group.holiday_ids, *group.closed_ids):
        entity = client.get_json(f"{SCHEDULES_PATH}/{schedule_id}", permission=PERMISSION)
        schedule = parse_schedule(entity)
        for day in sorted(closed_days_of(schedule, first, last)):
            days.setdefault(day, schedule.name)
    return days
