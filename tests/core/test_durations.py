"""The config's ISO 8601 durations: one grammar, weeks and fractions by choice, exact values."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gcnotify.core.durations import parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT5M", timedelta(minutes=5)),
        ("PT72H", timedelta(hours=72)),
        ("P3D", timedelta(days=3)),
        ("P1DT2H3M4S", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("PT30S", timedelta(seconds=30)),
        ("PT0S", timedelta(0)),
    ],
)
def test_durations_parse(text: str, expected: timedelta) -> None:
    """Days, hours, minutes and whole seconds, each part optional."""
    assert expected == parse_duration(text)


@pytest.mark.parametrize(
    "text", ["", "P", "PT", "P1DT", "5M", "PT5m", "P1W", "P1M", "P1Y", "PT1.5S", "PT-5M", " PT5M"]
)
def test_anything_else_is_not_a_duration(text: str) -> None:
    """Weeks, months, years, fractions, signs, lowercase and stray text are refused."""
    with pytest.raises(ValueError, match="not an ISO 8601 duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("P1W", timedelta(weeks=1)), ("P1WT1H", timedelta(weeks=1, hours=1))],
)
def test_weeks_when_allowed(text: str, expected: timedelta) -> None:
    assert expected == parse_duration(text, weeks=True)


def test_fractions_when_allowed() -> None:
    assert timedelta(seconds=1.5) == parse_duration("PT1.5S", fractions=True)
    with pytest.raises(ValueError, match=r"in days, hours, minutes or seconds, e\.g\."):
        parse_duration("PT1.5", fractions=True)


def test_the_error_says_what_is_allowed_with_the_caller_s_examples() -> None:
    with pytest.raises(ValueError, match="not an ISO 8601 duration") as caught:
        parse_duration("P1M", weeks=True, fractions=True, examples="PT24H or P2D")
    assert (
        "'P1M' is not an ISO 8601 duration in weeks, days, hours, minutes or seconds, e.g. "
        "PT24H or P2D; years and months are not allowed (their length varies)"
    ) == str(caught.value)


def test_longer_than_a_timedelta_names_the_value() -> None:
    with pytest.raises(ValueError, match="'P99999999999D' is longer than any expiry can be"):
        parse_duration("P99999999999D", what="expiry")
