"""Reading single values out of provider answers and table records, never raising on a bad one.

Provider JSON and DynamoDB attributes come back as ``object``; each seam and pipeline used to
carry its own copy of these two readers. An unreadable value is None, and the caller decides
what a missing value means.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["instant", "iso_utc_ms", "text_or_none"]


def instant(value: object) -> datetime | None:
    """An ISO 8601 instant (``…Z`` and offsets included) as an aware datetime; a time without an
    offset is read as UTC (how gcnotify and Genesys write them); None if it is not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def iso_utc_ms(moment: datetime) -> str:
    """An aware instant as Genesys writes one: UTC, milliseconds, ``Z``. Refuses naive ones,
    whose zone nobody knows."""
    if moment.tzinfo is None:
        raise ValueError("an instant to write needs a time zone (an aware datetime)")
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def text_or_none(value: object) -> str | None:
    """A non-empty string as it is; anything else None."""
    return value if isinstance(value, str) and value else None
