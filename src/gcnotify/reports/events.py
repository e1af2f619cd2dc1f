"""Turn a Lambda event (scheduled, or manual) into a validated ``RunRequest``.

Unknown keys are rejected like config keys: a misspelled ``dry_run`` must not send real mail.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from gcnotify.core.errors import EventError

__all__ = ["RunRequest", "parse_event"]

_KEYS = (
    "scheduled_time",
    "execution_id",
    "report_date",
    "reports",
    "dry_run",
    "force",
    "allow_partial",
)
# Business dates a report can be asked for: Genesys Cloud keeps no data from before 2000, and
# the day after the latest must still be a date Python can compute with.
FIRST_REPORT_DATE = date(2000, 1, 1)
LAST_REPORT_DATE = date(9998, 12, 31)
# Keys an EventBridge (not Scheduler) event carries; accepted so a plain rule target also works.
_EVENTBRIDGE_KEYS = (
    "version",
    "id",
    "detail-type",
    "source",
    "account",
    "time",
    "region",
    "resources",
    "detail",
)


@dataclass(frozen=True)
class RunRequest:
    """What one invocation asks for. ``scheduled_time`` and ``report_date`` are exclusive."""

    scheduled_time: datetime | None = None
    report_date: date | None = None
    reports: tuple[str, ...] | None = None
    dry_run: bool = False
    force: bool = False
    execution_id: str | None = None
    allow_partial: bool = False  # a report_date whose day is not over yet may be sent, marked


def _bool(event: Mapping[str, object], key: str) -> bool:
    value = event.get(key, False)
    if not isinstance(value, bool):
        raise EventError(f"event key {key!r} must be true or false, got {value!r}")
    return value


def parse_event(event: object, known_reports: Sequence[str]) -> RunRequest:
    """Validate an event; raise ``EventError`` naming the bad key and the fix."""
    if event is None:
        event = {}
    if not isinstance(event, Mapping):
        raise EventError(f"the event must be a JSON object, got {type(event).__name__}")
    eventbridge = "detail-type" in event and "time" in event
    allowed = _KEYS + (_EVENTBRIDGE_KEYS if eventbridge else ())
    unknown = [k for k in event if k not in allowed]
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(str(key), _KEYS, n=1)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise EventError(f"unknown event key(s): {', '.join(hints)}; allowed: {', '.join(_KEYS)}")

    scheduled: datetime | None = None
    raw_time = event.get("scheduled_time") or (event.get("time") if eventbridge else None)
    if raw_time is not None:
        if not isinstance(raw_time, str):
            raise EventError(f"scheduled_time must be an ISO-8601 string, got {raw_time!r}")
        if raw_time.startswith("<aws.scheduler"):
            raise EventError(
                "scheduled_time holds the unexpanded placeholder "
                f"{raw_time!r}; only EventBridge Scheduler fills it in. For a manual run send "
                '{"report_date": "YYYY-MM-DD"} instead'
            )
        try:
            # Python 3.11+ reads 'Z' and offsets; Scheduler sends e.g. 2026-11-23T11:00:00Z.
            scheduled = datetime.fromisoformat(raw_time)
        except ValueError:
            raise EventError(
                f"scheduled_time {raw_time!r} is not an ISO-8601 time like 2026-11-23T11:00:00Z"
            ) from None
        if scheduled.tzinfo is None:
            raise EventError(f"scheduled_time {raw_time!r} needs a UTC offset or 'Z'")
        try:
            scheduled.astimezone(UTC) + timedelta(days=2)
        except OverflowError:
            raise EventError(f"scheduled_time {raw_time!r} is too far in the future") from None

    report_date: date | None = None
    raw_date = event.get("report_date")
    if raw_date is not None:
        try:
            report_date = date.fromisoformat(str(raw_date))
        except ValueError:
            raise EventError(f"report_date {raw_date!r} must be a date like 2026-11-20") from None
        if not FIRST_REPORT_DATE <= report_date <= LAST_REPORT_DATE:
            raise EventError(
                f"report_date {raw_date!r} is outside the dates a report can cover "
                f"({FIRST_REPORT_DATE.isoformat()} to {LAST_REPORT_DATE.isoformat()})"
            )
        if scheduled is not None:
            raise EventError("give either scheduled_time or report_date, not both")

    reports: tuple[str, ...] | None = None
    raw_reports = event.get("reports")
    if raw_reports is not None:
        if isinstance(raw_reports, str):
            raw_reports = [raw_reports]
        if not isinstance(raw_reports, list) or not all(isinstance(r, str) for r in raw_reports):
            raise EventError(f"reports must be a list of report ids, got {raw_reports!r}")
        missing = [r for r in raw_reports if r not in known_reports]
        if missing:
            raise EventError(
                f"unknown report id(s) {', '.join(map(repr, missing))}; "
                f"the config has: {', '.join(known_reports)}"
            )
        reports = tuple(dict.fromkeys(raw_reports))

    execution_id = event.get("execution_id")
    return RunRequest(
        scheduled_time=scheduled,
        report_date=report_date,
        reports=reports,
        dry_run=_bool(event, "dry_run"),
        force=_bool(event, "force"),
        allow_partial=_bool(event, "allow_partial"),
        execution_id=execution_id if isinstance(execution_id, str) else None,
    )
