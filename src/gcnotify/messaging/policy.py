"""When a notification may go out: the send window in the recipient's zone, and expiry.

Pure decisions: the instant is passed in (never read here), so a test can stand at any moment,
a DST change included. Zones come from the request, else from the phone number (``phonenumbers``
knows the zones of each number range), else the configured default. A number whose range spans
several zones gets the strictest reading: it is sent only at an instant inside the window in
every one of them, so nobody in any of those zones is texted at night. When the zones share no
such instant (a range across too many hours), the configured default zone decides instead, and
the decision says so.

US state rules (``state_rules``), when the caller passes the table: a number whose area code
belongs to a listed state may go only at an instant inside both the configured window and that
state's hours for the local weekday, in every zone of the number. Without the table (rules off)
every decision is the configured window's alone, exactly as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Literal

import phonenumbers
import pytz
from phonenumbers import timezone as phone_zones

from gcnotify.core.durations import parse_duration as parse_duration_exactly
from gcnotify.messaging.state_rules import Hours, StateWindow, state_of_number

__all__ = [
    "Decision",
    "DeferUntil",
    "Expired",
    "RecipientZone",
    "SendNow",
    "SendWindow",
    "deadline",
    "decide",
    "e164_problem",
    "next_window_open",
    "parse_duration",
    "parse_send_window",
    "recipient_zone",
    "state_window_problems",
    "timezone_problem",
    "window_allows",
]

# How far ahead to look for an instant every zone allows: windows repeat daily, and a week and a
# day covers any weekly DST shift between zones.
_HORIZON = timedelta(days=8)
_UNKNOWN_ZONE = "Etc/Unknown"  # what phonenumbers answers for a number it cannot place


@dataclass(frozen=True)
class SendWindow:
    """Local wall-clock times between which sending is allowed: ``[start, end)``.

    ``start`` after ``end`` is a window across midnight (``22:00``-``06:00`` allows the night).
    """

    start: time
    end: time

    def allows(self, wall: time) -> bool:
        """True when a local time of day is inside the window."""
        if self.start < self.end:
            return self.start <= wall < self.end
        return wall >= self.start or wall < self.end


@dataclass(frozen=True)
class SendNow:
    """Send at once: inside the window (or none configured) and not expired."""

    zones: tuple[str, ...]


@dataclass(frozen=True)
class DeferUntil:
    """Outside the window: hold the message until ``until`` (UTC), when the window opens."""

    until: datetime
    zones: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Expired:
    """Past its deadline, or the window opens only after it: recorded, never sent."""

    deadline: datetime
    reason: str


Decision = SendNow | DeferUntil | Expired


@dataclass(frozen=True)
class RecipientZone:
    """The zone(s) a recipient's window is read in, where they came from, and the US state.

    ``region`` is the state (USPS code) of the number's area code whenever it has one, whether
    or not state rules are on, so the record shows it; ``decide`` applies a state's hours only
    when it is given the state table.
    """

    zones: tuple[str, ...]
    source: Literal["request", "number", "default"]
    region: str | None = None


_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


def _wall(value: object, key: str) -> time:
    if not isinstance(value, str) or not (match := _HHMM.fullmatch(value)):
        raise ValueError(f"send_window.{key} must be a time as HH:MM (24-hour), got {value!r}")
    return time(int(match[1]), int(match[2]))


def parse_send_window(value: object) -> SendWindow | None:
    """``{start: "08:00", end: "21:00"}`` → a window; ``"always"`` → None (no quiet hours).

    Equal start and end is refused: it could mean never or always, and guessing either is wrong.
    """
    if value == "always":
        return None
    if not isinstance(value, dict):
        raise ValueError(
            f'send_window must be {{start: "HH:MM", end: "HH:MM"}} or always, got {value!r}'
        )
    window = SendWindow(_wall(value.get("start"), "start"), _wall(value.get("end"), "end"))
    if window.start == window.end:
        raise ValueError(
            "send_window.start equals send_window.end: give a real window, or send_window: always"
        )
    return window


def parse_duration(text: str) -> timedelta:
    """An expiry such as ``PT24H``, ``P2DT12H`` or ``P1W`` (fractional seconds allowed) as a
    timedelta; zero is refused, since a request that expires at once could never be sent."""
    duration = parse_duration_exactly(
        text, weeks=True, fractions=True, examples="PT24H or P2D", what="expiry"
    )
    if duration <= timedelta(0):
        raise ValueError(f"{text!r} is zero: an expiry must be longer than that")
    return duration


def deadline(
    created_at: datetime, *, expire_after: timedelta | None, expires_at: datetime | None
) -> datetime | None:
    """The earlier of the request's ``expires_at`` and its creation plus ``expire_after``."""
    present = [_utc(expires_at)] if expires_at is not None else []
    if expire_after is not None:
        present.append(_utc(created_at) + expire_after)
    return min(present) if present else None


def timezone_problem(name: str) -> str | None:
    """Why ``name`` is not a usable IANA zone, or None."""
    try:
        pytz.timezone(name)
    except pytz.UnknownTimeZoneError:
        return f"{name!r} is not an IANA time zone name (for example America/Chicago)"
    return None


def e164_problem(number: str) -> str | None:
    """Why ``number`` is not a valid E.164 phone number, or None.

    E.164 is ``+`` and up to 15 digits, nothing else; the number must also be one
    ``phonenumbers`` knows as valid for its country, which catches a wrong digit count.
    """
    if not re.fullmatch(r"\+[1-9]\d{1,14}", number):
        return f"{number!r} is not E.164: a + and the country code and number, digits only"
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException as exc:
        return f"{number!r} is not a phone number: {exc}"
    if not phonenumbers.is_valid_number(parsed):
        return f"{number!r} is not a valid number for its country code"
    return None


def recipient_zone(*, timezone: str | None, address: str | None, default: str) -> RecipientZone:
    """The zones to read the window in: the request's, else the number's, else the default.

    The state comes from the number either way: a request's zone says when, not where.
    """
    for name in (timezone, default):
        if name is not None and (problem := timezone_problem(name)):
            raise ValueError(problem)
    number = address if address is not None and e164_problem(address) is None else None
    region = state_of_number(number) if number is not None else None
    if timezone is not None:
        return RecipientZone((timezone,), "request", region)
    if number is not None:
        zones = tuple(
            z
            for z in phone_zones.time_zones_for_number(phonenumbers.parse(number, None))
            if z != _UNKNOWN_ZONE and timezone_problem(z) is None
        )
        if zones:
            return RecipientZone(zones, "number", region)
    return RecipientZone((default,), "default", region)


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{instant!r} has no time zone: pass aware datetimes")
    return instant.astimezone(pytz.utc)


def _local(instant: datetime, zone: tzinfo) -> datetime:
    return _utc(instant).astimezone(zone)


def window_allows(instant: datetime, zone: str, window: SendWindow | None) -> bool:
    """True when ``instant`` is inside the window at the local time of ``zone``."""
    return window is None or window.allows(_local(instant, pytz.timezone(zone)).time())


def _opening(zone: pytz.BaseTzInfo, day: date, wall: time, after: datetime) -> datetime | None:
    """The first instant after ``after`` whose local time on ``day`` reaches ``wall``, or None.

    DST: a wall time repeated by a fall-back change opens at its first occurrence still ahead;
    one skipped by a spring-forward change opens when the clocks jump past it.
    """
    naive = datetime.combine(day, wall)
    try:
        found = [zone.localize(naive, is_dst=None)]
    except pytz.AmbiguousTimeError:
        found = [zone.localize(naive, is_dst=True), zone.localize(naive, is_dst=False)]
    except pytz.NonExistentTimeError:
        low = _utc(zone.localize(naive, is_dst=True))
        high = _utc(zone.localize(naive, is_dst=False))
        if high < low:
            low, high = high, low
        while high - low > timedelta(seconds=1):  # the jump lies between the two readings
            middle = low + (high - low) / 2
            if _local(middle, zone).replace(tzinfo=None) >= naive:
                high = middle
            else:
                low = middle
        found = [high]
    ahead = [_utc(f) for f in found if _utc(f) > after]
    return min(ahead) if ahead else None


def next_window_open(instant: datetime, zone: str, window: SendWindow | None) -> datetime:
    """The first instant at or after ``instant`` (UTC) that the window allows in ``zone``."""
    now = _utc(instant)
    if window is None or window_allows(now, zone, window):
        return now
    tz = pytz.timezone(zone)
    today = _local(now, tz).date()
    for offset in range(3):
        opening = _opening(tz, today + timedelta(days=offset), window.start, now)
        if opening is not None:
            return opening
    raise AssertionError("a daily window opens within three local days")  # pragma: no cover


Allows = Callable[[datetime, str], bool]  # is this instant allowed in this zone
Opens = Callable[[datetime, str], datetime | None]  # the zone's first allowed instant from here


def _common_open(
    now: datetime, zones: tuple[str, ...], allows: Allows, opens: Opens
) -> datetime | None:
    """The first instant at or after ``now`` allowed in every zone, within 8 days."""
    at = now
    while at - now <= _HORIZON:
        blocked = [z for z in zones if not allows(at, z)]
        if not blocked:
            return at
        # No common instant comes before the latest of the blocked zones' next openings.
        openings = [opens(at, z) for z in blocked]
        if any(o is None for o in openings):
            return None
        at = max(o for o in openings if o is not None)
    return None


def _state_allows(
    instant: datetime, zone: str, window: SendWindow | None, state: StateWindow
) -> bool:
    """Inside the window and the state's hours for the local weekday (and in its fixed zone)."""
    local = _local(instant, pytz.timezone(zone))
    if window is not None and not window.allows(local.time()):
        return False
    if not state.allows(local):
        return False
    return state.also_in is None or state.allows(_local(instant, pytz.timezone(state.also_in)))


def _state_open(
    instant: datetime, zone: str, window: SendWindow | None, state: StateWindow
) -> datetime | None:
    """The first instant at or after ``instant`` that ``_state_allows``, within 8 days, or None.

    Allowed time can only begin where a local wall clock reaches the window's start, the day's
    state hours' start, or midnight (in the zone, or in the state's fixed zone), so those are the
    candidates; ``_opening`` turns each into an instant DST-correctly, and each is checked.
    """
    now = _utc(instant)
    if _state_allows(now, zone, window, state):
        return now
    clocks = [pytz.timezone(zone)]
    if state.also_in is not None:
        clocks.append(pytz.timezone(state.also_in))
    best: datetime | None = None
    for tz in clocks:
        today = _local(now, tz).date()
        for offset in range(_HORIZON.days + 1):
            day = today + timedelta(days=offset)
            hours = state.hours_on(day.weekday())
            walls = (
                {time(0)}
                | ({window.start} if window else set())
                | ({hours.start} if hours else set())
            )
            found = [
                at
                for wall in walls
                if (at := _opening(tz, day, wall, now)) is not None
                and _state_allows(at, zone, window, state)
            ]
            if found:  # later days of this clock only open later
                best = min(found) if best is None else min(best, *found)
                break
    return best


def _overlaps(window: SendWindow, hours: Hours) -> bool:
    """True when some time of day is inside both the window and the hours."""
    if window.start < window.end:
        return window.start < hours.end and hours.start < window.end
    return hours.start < window.end or hours.end > window.start


def state_window_problems(
    window: SendWindow | None, state_windows: Mapping[str, StateWindow]
) -> list[str]:
    """Why the send window and a state's hours could never let a message out: checked at load.

    A state whose hours share no time of day with the window on any weekday would hold every
    message to its numbers until it expires.
    """
    if window is None:
        return []
    return [
        f"send_window {window.start:%H:%M}-{window.end:%H:%M} shares no hour with the "
        f"{state.name} hours ({state.describe_days()}; {state.source}): no message to a "
        f"number in {state.name} could ever go; widen send_window or override {state.state}'s "
        "entry"
        for state in state_windows.values()
        if not any(h is not None and _overlaps(window, h) for h in state.days)
    ]


def decide(
    now: datetime,
    *,
    zone: RecipientZone,
    window: SendWindow | None,
    default_zone: str,
    expires: datetime | None,
    state_windows: Mapping[str, StateWindow] | None = None,
) -> Decision:
    """Expiry first, then the window (and the recipient's state rule): send, hold, or expire.

    A message whose window opens only at or after its deadline expires now: holding it would
    only expire it later. ``state_windows`` None means state rules are off.
    """
    now = _utc(now)
    if expires is not None and now >= expires:
        return Expired(expires, f"expired at {expires.isoformat()}")
    state = state_windows.get(zone.region) if state_windows and zone.region else None
    if state is not None:
        return _decide_in_state(
            now, zone=zone, window=window, state=state, default_zone=default_zone, expires=expires
        )
    if window is None:
        return SendNow(zone.zones)
    zones = zone.zones
    opens = _common_open(
        now,
        zones,
        lambda at, z: window_allows(at, z, window),
        lambda at, z: next_window_open(at, z, window),
    )
    reason = f"outside the send window in {', '.join(zones)}"
    if opens is None:
        zones = (default_zone,)
        opens = next_window_open(now, default_zone, window)
        reason = (
            f"the number's zones ({', '.join(zone.zones)}) share no instant inside the send "
            f"window, so the default zone {default_zone} decides: outside it"
        )
    if opens == now:
        return SendNow(zones)
    if expires is not None and opens >= expires:
        return Expired(expires, f"{reason}; the window opens at {opens.isoformat()}, after expiry")
    return DeferUntil(opens, zones, f"{reason}; opens at {opens.isoformat()}")


def _decide_in_state(
    now: datetime,
    *,
    zone: RecipientZone,
    window: SendWindow | None,
    state: StateWindow,
    default_zone: str,
    expires: datetime | None,
) -> Decision:
    """``decide`` for a number of a listed state: the window and the state's hours both hold."""

    def allows(at: datetime, z: str) -> bool:
        return _state_allows(at, z, window, state)

    def opens(at: datetime, z: str) -> datetime | None:
        return _state_open(at, z, window, state)

    zones = zone.zones
    rule = state.summary()
    at = _common_open(now, zones, allows, opens)
    reason = f"outside the send window or the {state.name} hours in {', '.join(zones)}: {rule}"
    if at is None:
        zones = (default_zone,)
        at = opens(now, default_zone)
        reason = (
            f"the number's zones ({', '.join(zone.zones)}) share no instant inside the send "
            f"window and the {state.name} hours, so the default zone {default_zone} decides: "
            f"outside them; {rule}"
        )
    if at is None:
        return Expired(
            now,
            f"the send window and the {state.name} hours share no instant in the next 8 days: "
            f"{rule}; widen send_window or override {state.state}'s entry",
        )
    if at == now:
        return SendNow(zones)
    if expires is not None and at >= expires:
        return Expired(expires, f"{reason}; they open at {at.isoformat()}, after expiry")
    return DeferUntil(at, zones, f"{reason}; opens at {at.isoformat()}")
