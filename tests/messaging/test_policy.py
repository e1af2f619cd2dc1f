"""The send window, expiry and recipient zone decisions, DST included."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
import pytz
from hypothesis import assume, given
from hypothesis import strategies as st

from gcnotify.messaging.policy import (
    Decision,
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
    state_window_problems,
    timezone_problem,
    window_allows,
)
from gcnotify.messaging.state_rules import (
    DEFAULT_STATE_WINDOWS,
    Hours,
    StateWindow,
    state_window,
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
    """The request's own timezone wins over the number's; the state still comes from it."""
    assert RecipientZone(("America/Chicago",), "request", "IN") == recipient_zone(
        timezone="America/Chicago", address="+13175550100", default="America/New_York"
    )


def test_zone_from_the_number() -> None:
    """An Indianapolis number is read in New York time, and is in Indiana."""
    assert RecipientZone(("America/New_York",), "number", "IN") == recipient_zone(
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


# US state rules: the configured window and the recipient state's hours must both allow.

FLORIDA = "+13055550123"  # Miami
TEXAS = "+12145550123"  # Dallas
MISSISSIPPI = "+16015550123"  # Jackson
IDAHO = "+12085550123"  # a range phonenumbers places in Boise and Los Angeles time
TOLL_FREE = "+18005550123"


def number_zone(number: str) -> RecipientZone:
    return recipient_zone(timezone=None, address=number, default="America/New_York")


def ruled(
    now: datetime,
    number: str | RecipientZone,
    *,
    window: SendWindow | None = DAY,
    states: dict[str, StateWindow] | None = None,
    expires: datetime | None = None,
) -> Decision:
    zone = number if isinstance(number, RecipientZone) else number_zone(number)
    return decide(
        now,
        zone=zone,
        window=window,
        default_zone="America/New_York",
        expires=expires,
        state_windows=DEFAULT_STATE_WINDOWS if states is None else states,
    )


def test_florida_at_half_past_eight_waits_for_eight_next_morning() -> None:
    """20:30 EDT in Miami is inside 08:00-21:00, not Florida's 08:00-20:00: 08:00 EDT next day."""
    decision = held(ruled(utc(2026, 6, 11, 0, 30), FLORIDA))
    assert (utc(2026, 6, 11, 12), ("America/New_York",)) == (decision.until, decision.zones)


def test_the_deferral_names_the_state_rule() -> None:
    """The reason says which state's hours held the message, and their source."""
    reason = held(ruled(utc(2026, 6, 11, 0, 30), FLORIDA)).reason
    assert "Florida allows 08:00–20:00 every day (Fla. Stat. § 501.616(6)(a)" in reason


def test_florida_inside_its_hours_sends_now() -> None:
    """19:59 EDT in Miami is inside both windows."""
    assert SendNow(("America/New_York",)) == ruled(utc(2026, 6, 10, 23, 59), FLORIDA)


def test_texas_on_a_sunday_morning_waits_for_noon() -> None:
    """10:00 CDT on Sunday 14 June in Dallas waits for 12:00 CDT (17:00 UTC)."""
    assert utc(2026, 6, 14, 17) == held(ruled(utc(2026, 6, 14, 15), TEXAS)).until


def test_texas_on_a_saturday_morning_opens_at_nine() -> None:
    """08:30 CDT on Saturday is inside the configured window but Texas opens at 09:00."""
    assert utc(2026, 6, 13, 14) == held(ruled(utc(2026, 6, 13, 13, 30), TEXAS)).until


def test_a_state_without_sundays_waits_for_monday() -> None:
    """Saturday 20:30 CDT in Mississippi waits past Sunday to Monday 08:00 CST (09:00 CDT)."""
    assert utc(2026, 6, 15, 14) == held(ruled(utc(2026, 6, 14, 1, 30), MISSISSIPPI)).until


def test_mississippi_holds_its_hours_in_central_standard_time_too() -> None:
    """In daylight time 08:30 CDT is 07:30 CST, before the statute's 8:00 a.m. CST."""
    assert utc(2026, 6, 15, 14) == held(ruled(utc(2026, 6, 15, 13, 30), MISSISSIPPI)).until


def test_mississippi_in_winter_opens_at_eight_local() -> None:
    """In January local time is CST, so 08:00 CST opens."""
    assert utc(2026, 1, 12, 14) == held(ruled(utc(2026, 1, 12, 13, 30), MISSISSIPPI)).until


def test_a_zone_spanning_number_waits_for_the_latest_zone() -> None:
    """An Idaho range (Boise and Los Angeles) under an 08:00-20:00 rule opens at 08:00 PDT."""
    rule = state_window(
        "ID",
        weekdays=Hours(time(8), time(20)),
        saturday=Hours(time(8), time(20)),
        sunday=Hours(time(8), time(20)),
        source="a test rule",
    )
    decision = held(ruled(utc(2026, 6, 10, 14, 30), IDAHO, states={"ID": rule}))
    assert (utc(2026, 6, 10, 15), ("America/Boise", "America/Los_Angeles")) == (
        decision.until,
        decision.zones,
    )


def test_a_state_read_in_two_zones_picks_the_strictest_end() -> None:
    """Florida read in Eastern and Central time: 19:30 CDT is 20:30 EDT; it waits for 08:00 CDT."""
    both = RecipientZone(("America/New_York", "America/Chicago"), "number", "FL")
    assert utc(2026, 6, 11, 13) == held(ruled(utc(2026, 6, 11, 0, 30), both)).until


def test_a_toll_free_number_has_no_state_rule() -> None:
    """A toll-free number gets no state: only the configured window decides."""
    zone = number_zone(TOLL_FREE)
    assert (None, gate(utc(2026, 6, 10, 16), zone=zone)) == (
        zone.region,
        ruled(utc(2026, 6, 10, 16), zone),
    )


def test_rules_off_leave_florida_at_half_past_eight_alone() -> None:
    """Without the state table, 20:30 EDT in Miami is inside 08:00-21:00 and sends now."""
    assert SendNow(("America/New_York",)) == gate(
        utc(2026, 6, 11, 0, 30), zone=number_zone(FLORIDA)
    )


def test_a_state_outside_the_table_is_unaffected() -> None:
    """A New York number has a state but no rule: the configured window alone decides."""
    zone = number_zone("+12125550123")
    assert ("NY", SendNow(zone.zones)) == (zone.region, ruled(utc(2026, 6, 11, 0, 30), zone))


def test_the_configured_window_still_applies_inside_the_state_hours() -> None:
    """A 09:00-17:00 window is stricter than Florida's at 18:00: it waits for 09:00 next day."""
    window = SendWindow(time(9), time(17))
    assert utc(2026, 6, 11, 13) == held(ruled(utc(2026, 6, 10, 22), FLORIDA, window=window)).until


def test_spring_forward_day_opens_at_the_new_offset_in_a_state() -> None:
    """Sunday 8 March 2026 in Dallas: noon CDT, after the jump, is 17:00 UTC (not 18:00)."""
    assert utc(2026, 3, 8, 17) == held(ruled(utc(2026, 3, 8, 6), TEXAS)).until


def test_fall_back_day_opens_at_the_new_offset_in_a_state() -> None:
    """Sunday 1 November 2026 in Dallas: noon CST, after clocks go back, is 18:00 UTC."""
    assert utc(2026, 11, 1, 18) == held(ruled(utc(2026, 11, 1, 6, 30), TEXAS)).until


def test_a_state_opening_after_expiry_expires_now() -> None:
    """Held past Sunday morning beyond its deadline, a Texas message expires rather than waits."""
    decision = ruled(utc(2026, 6, 14, 15), TEXAS, expires=utc(2026, 6, 14, 16))
    assert isinstance(decision, Expired), decision
    assert "Texas allows" in decision.reason


def test_a_window_sharing_no_hour_with_the_state_expires_with_the_fix() -> None:
    """A 22:00-06:00 window and Florida's 08:00-20:00 never overlap: expired, saying what to do."""
    decision = ruled(utc(2026, 6, 10, 16), FLORIDA, window=NIGHT)
    assert isinstance(decision, Expired), decision
    assert "widen send_window" in decision.reason


def test_state_window_problems_names_states_the_window_never_meets() -> None:
    """A 20:00-21:00 window misses every 08:00-20:00 state but not Texas (until 21:00)."""
    problems = state_window_problems(SendWindow(time(20), time(21)), DEFAULT_STATE_WINDOWS)
    named = {s.state for s in DEFAULT_STATE_WINDOWS.values() if any(s.name in p for p in problems)}
    assert {"AL", "FL", "LA", "MD", "MS", "OK", "RI", "WA", "CT"} == named


def test_the_default_window_meets_every_state() -> None:
    """08:00-21:00 overlaps every state in the table."""
    assert [] == state_window_problems(DAY, DEFAULT_STATE_WINDOWS)


STATE_NUMBERS = [FLORIDA, TEXAS, MISSISSIPPI, "+14015550123", "+12255550123", "+12055550123"]


@given(
    st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)
    ),
    st.sampled_from(STATE_NUMBERS),
)
def test_every_state_decision_is_allowed_by_the_state_and_the_window(
    now: datetime, number: str
) -> None:
    """Sent now or held, the instant is inside the window and the state's hours in each zone,
    and a second earlier (if not before now) is not."""
    zone = number_zone(number)
    rule = DEFAULT_STATE_WINDOWS[zone.region or ""]
    decision = ruled(now, zone)
    assert not isinstance(decision, Expired), decision
    at = now if isinstance(decision, SendNow) else decision.until

    def allowed(instant: datetime) -> bool:
        for name in decision.zones:
            local = instant.astimezone(pytz.timezone(name))
            if not (DAY.allows(local.time()) and rule.allows(local)):
                return False
        fixed = rule.also_in
        return fixed is None or rule.allows(instant.astimezone(pytz.timezone(fixed)))

    before = at - timedelta(seconds=1)
    assert (True, True, False) == (at >= now, allowed(at), before >= now and allowed(before))
