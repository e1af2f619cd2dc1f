"""The send window, expiry and recipient zone decisions, DST included."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from gcnotify.messaging.policy import (
    DeferUntil,
    Expired,
    RecipientZone,
    SendNow,
    SendWindow,
    deadline,
    decide,
    e164_problem,
    next_window_open,
    parse_duration,
    parse_send_window,
    recipient_zone,
    timezone_problem,
    window_allows,
)

DAY = SendWindow(time(8), time(21))
NIGHT = SendWindow(time(22), time(6))
NY = RecipientZone(("America/New_York",), "request")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def held(decision: SendNow | DeferUntil | Expired) -> DeferUntil:
    assert isinstance(decision, DeferUntil), decision
    return decision


def gate(
    now: datetime,
    window: SendWindow | None = DAY,
    zone: RecipientZone = NY,
    expires: datetime | None = None,
) -> SendNow | DeferUntil | Expired:
    return decide(now, zone=zone, window=window, default_zone="America/New_York", expires=expires)


def test_inside_the_window_sends_now() -> None:
    """Noon in New York is inside 08:00-21:00."""
    assert SendNow(("America/New_York",)) == gate(utc(2026, 6, 10, 16))


def test_before_the_window_defers_to_its_opening_today() -> None:
    """03:00 EDT waits until 08:00 EDT the same day (12:00 UTC)."""
    assert utc(2026, 6, 10, 12) == held(gate(utc(2026, 6, 10, 7))).until


def test_the_end_is_outside_the_window() -> None:
    """21:00 local is the first minute of quiet hours: wait for 08:00 the next day."""
    assert utc(2026, 6, 11, 12) == held(gate(utc(2026, 6, 11, 1))).until


def test_always_never_defers() -> None:
    """With send_window: always, 03:00 sends at once."""
    assert SendNow(("America/New_York",)) == gate(utc(2026, 6, 10, 7), window=None)


def test_window_across_midnight_allows_the_night() -> None:
    """22:00-06:00 allows 23:30 local."""
    assert window_allows(utc(2026, 6, 11, 3, 30), "America/New_York", NIGHT)


def test_window_across_midnight_defers_the_day_to_its_start() -> None:
    """Noon waits for 22:00 the same day under a 22:00-06:00 window."""
    assert utc(2026, 6, 11, 2) == next_window_open(utc(2026, 6, 10, 16), "America/New_York", NIGHT)


def test_spring_forward_opens_at_the_new_offset() -> None:
    """The morning after clocks go forward, 08:00 EDT is 12:00 UTC, not 13:00."""
    assert utc(2026, 3, 8, 12) == next_window_open(utc(2026, 3, 8, 3), "America/New_York", DAY)


def test_fall_back_opens_at_the_new_offset() -> None:
    """The morning after clocks go back, 08:00 EST is 13:00 UTC."""
    assert utc(2026, 11, 1, 13) == next_window_open(utc(2026, 11, 1, 3), "America/New_York", DAY)


def test_start_skipped_by_spring_forward_opens_at_the_jump() -> None:
    """A 02:30 start that never happens opens when the clocks jump to 03:00 EDT (07:00 UTC)."""
    early = SendWindow(time(2, 30), time(21))
    assert utc(2026, 3, 8, 7) == next_window_open(utc(2026, 3, 8, 6), "America/New_York", early)


def test_start_repeated_by_fall_back_opens_at_its_first_occurrence() -> None:
    """A 01:30 start that happens twice opens the first time, 01:30 EDT (05:30 UTC)."""
    early = SendWindow(time(1, 30), time(21))
    assert utc(2026, 11, 1, 5, 30) == next_window_open(
        utc(2026, 11, 1, 5), "America/New_York", early
    )


def test_number_spanning_zones_waits_for_the_latest_morning() -> None:
    """An Alaska range (Anchorage and Adak) waits until 08:00 in Adak, an hour after Anchorage."""
    zone = recipient_zone(timezone=None, address="+19075550123", default="America/New_York")
    assert utc(2026, 6, 10, 17) == held(gate(utc(2026, 6, 10, 16, 30), zone=zone)).until


def test_zones_without_a_common_instant_fall_back_to_the_default() -> None:
    """Zones nine hours apart share no hour of 08:00-09:00: the default zone decides."""
    far = RecipientZone(("UTC", "Asia/Tokyo"), "number")
    result = gate(utc(2026, 6, 10, 16), window=SendWindow(time(8), time(9)), zone=far)
    assert (("America/New_York",), utc(2026, 6, 11, 12)) == (held(result).zones, held(result).until)


def test_past_the_deadline_expires() -> None:
    """At or after its deadline a message expires, even inside the window."""
    assert Expired(utc(2026, 6, 10, 16), "expired at 2026-06-10T16:00:00+00:00") == gate(
        utc(2026, 6, 10, 16), expires=utc(2026, 6, 10, 16)
    )


def test_window_opening_after_the_deadline_expires() -> None:
    """A message that could only go out after it expires is expired now, not held."""
    assert isinstance(gate(utc(2026, 6, 10, 7), expires=utc(2026, 6, 10, 11)), Expired)


def test_deadline_is_the_earlier_of_the_two() -> None:
    """expires_at wins when it comes before created_at + expire_after."""
    assert utc(2026, 6, 10, 18) == deadline(
        utc(2026, 6, 10, 12), expire_after=timedelta(hours=24), expires_at=utc(2026, 6, 10, 18)
    )


def test_no_expiry_gives_no_deadline() -> None:
    """Without expire_after or expires_at a message never expires."""
    assert None is deadline(utc(2026, 6, 10), expire_after=None, expires_at=None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT24H", timedelta(hours=24)),
        ("P2DT12H", timedelta(days=2, hours=12)),
        ("PT90M", timedelta(minutes=90)),
        ("P1W", timedelta(weeks=1)),
        ("PT0.5S", timedelta(0.5 / 86400)),
    ],
)
def test_durations_parse(text: str, expected: timedelta) -> None:
    """ISO-8601 durations in weeks, days, hours, minutes and seconds parse exactly."""
    assert expected == parse_duration(text)


@pytest.mark.parametrize("text", ["P1M", "P1Y", "PT", "P", "24h", "PT0H", "P1DT"])
def test_bad_durations_are_refused(text: str) -> None:
    """Months, years, empty, zero and malformed durations are refused."""
    with pytest.raises(ValueError, match=r"duration|zero"):
        parse_duration(text)


def test_send_window_always_is_none() -> None:
    """send_window: always turns quiet hours off."""
    assert None is parse_send_window("always")


def test_send_window_parses_start_and_end() -> None:
    """A start and end as HH:MM give the window."""
    assert DAY == parse_send_window({"start": "08:00", "end": "21:00"})


@pytest.mark.parametrize(
    "value",
    [
        {"start": "8:00", "end": "21:00"},
        {"start": "08:00"},
        {"start": "09:00", "end": "09:00"},
        "never",
    ],
)
def test_bad_send_windows_are_refused(value: object) -> None:
    """Malformed times, a missing end, an empty window and unknown words are refused."""
    with pytest.raises(ValueError, match="send_window"):
        parse_send_window(value)


def test_request_zone_comes_first() -> None:
    """The request's own timezone wins over the number's."""
    assert RecipientZone(("America/Chicago",), "request") == recipient_zone(
        timezone="America/Chicago", address="+13175550100", default="America/New_York"
    )


def test_zone_from_the_number() -> None:
    """An Indianapolis number is read in New York time."""
    assert RecipientZone(("America/New_York",), "number") == recipient_zone(
        timezone=None, address="+13175550100", default="UTC"
    )


def test_underivable_zone_falls_back_to_the_default() -> None:
    """A number phonenumbers cannot place uses the default zone."""
    assert RecipientZone(("UTC",), "default") == recipient_zone(
        timezone=None, address="+15555550100", default="UTC"
    )


def test_unknown_zone_name_is_a_problem() -> None:
    """A zone name that is not IANA is named as the problem."""
    assert "not an IANA time zone" in (timezone_problem("America/Springfield") or "")


@pytest.mark.parametrize("number", ["13175550100", "+1 317 555 0100", "+15555550100", "+1"])
def test_bad_numbers_are_not_e164(number: str) -> None:
    """No plus, spaces, an unassigned range and too few digits are all refused."""
    assert e164_problem(number) is not None


def test_valid_number_is_e164() -> None:
    """A real, well-formed number has no problem."""
    assert None is e164_problem("+13175550100")


def test_naive_instants_are_refused() -> None:
    """An instant without a zone is ambiguous and refused."""
    with pytest.raises(ValueError, match="no time zone"):
        window_allows(datetime(2026, 6, 10, 12), "UTC", DAY)


ZONES = [
    "America/New_York",
    "Europe/London",
    "Australia/Sydney",
    "America/Santiago",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "America/Havana",
    "UTC",
]


@given(
    st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)
    ),
    st.sampled_from(ZONES),
    st.times(),
    st.times(),
)
def test_deferral_lands_on_the_first_allowed_instant(
    now: datetime, zone: str, start: time, end: time
) -> None:
    """The opening is allowed, not before now, and a second earlier (if after now) is not."""
    window = SendWindow(start.replace(microsecond=0), end.replace(microsecond=0))
    assume(window.start != window.end)
    opens = next_window_open(now, zone, window)
    before = opens - timedelta(seconds=1)
    assert (True, True, False) == (
        opens >= now,
        window_allows(opens, zone, window),
        before >= now and window_allows(before, zone, window),
    )


@given(
    st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)
    ),
    st.lists(st.sampled_from(ZONES), min_size=1, max_size=3, unique=True),
)
def test_every_decision_is_inside_the_window_in_every_zone_it_names(
    now: datetime, zones: list[str]
) -> None:
    """Sent now or held, the instant chosen is inside the window in each zone the decision used."""
    decision = decide(
        now,
        zone=RecipientZone(tuple(zones), "number"),
        window=DAY,
        default_zone="UTC",
        expires=None,
    )
    at = now if isinstance(decision, SendNow) else held(decision).until
    assert (True, True) == (at >= now, all(window_allows(at, z, DAY) for z in decision.zones))


def test_a_duration_too_long_for_a_timedelta_is_a_value_error() -> None:
    """P99999999999D is refused like any other bad duration, not with an OverflowError."""
    with pytest.raises(ValueError, match="longer than any expiry"):
        parse_duration("P99999999999D")
