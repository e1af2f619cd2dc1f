"""What every handler reads from Lambda's context object: when the invocation must end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["deadline_of"]


def deadline_of(context: object) -> datetime | None:
    """When Lambda will stop this invocation, from the context's remaining time."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return None
    try:
        millis = int(remaining())
    except (TypeError, ValueError):
        return None
    return datetime.now(UTC) + timedelta(milliseconds=millis)
