"""The two value readers every seam shares: ISO instants and optional text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from gcnotify.core.values import instant, text_or_none


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-01T10:00:00Z", datetime(2026, 12, 1, 10, tzinfo=UTC)),
        ("2026-12-01T10:00:00.250+00:00", datetime(2026, 12, 1, 10, 0, 0, 250000, tzinfo=UTC)),
        (
            "2026-12-01T05:00:00-05:00",
            datetime(2026, 12, 1, 5, tzinfo=timezone(-timedelta(hours=5))),
        ),
        ("2026-12-01T10:00:00", datetime(2026, 12, 1, 10, tzinfo=UTC)),  # no offset: UTC
    ],
)
def test_an_iso_instant_is_an_aware_datetime(value: str, expected: datetime) -> None:
    found = instant(value)
    assert expected == found
    assert found is not None
    assert found.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("value", [None, "", "yesterday", "2026-13-01T00:00:00Z", 1764583200, b"x"])
def test_anything_else_is_none(value: object) -> None:
    assert None is instant(value)


@pytest.mark.parametrize(("value", "expected"), [("a", "a"), ("", None), (None, None), (3, None)])
def test_text_or_none(value: object, expected: str | None) -> None:
    assert expected == text_or_none(value)
