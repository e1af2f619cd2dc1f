"""Event parsing: scheduled and manual events, every key checked."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from gcnotify.core.errors import EventError
from gcnotify.reports.events import RunRequest, parse_event

REPORTS = ["support-daily", "sales-weekly"]
EVENTS = Path(__file__).resolve().parents[2] / "events"


def test_scheduler_event_gives_scheduled_time() -> None:
    """The Scheduler's Input carries the scheduled time; it drives the business day."""
    request = parse_event(
        {"scheduled_time": "2026-11-23T11:00:00Z", "execution_id": "abc"}, REPORTS
    )
    assert datetime(2026, 11, 23, 11, tzinfo=UTC) == request.scheduled_time
    assert request.execution_id == "abc"
    assert not request.dry_run


def test_empty_event_is_a_plain_run() -> None:
    """An empty event (console test) runs every report for now."""
    assert RunRequest() == parse_event({}, REPORTS)
    assert RunRequest() == parse_event(None, REPORTS)


def test_manual_backfill_event() -> None:
    """report_date, reports, dry_run and force are read."""
    request = parse_event(
        {"report_date": "2026-11-20", "reports": ["support-daily"], "dry_run": True, "force": True},
        REPORTS,
    )
    assert date(2026, 11, 20) == request.report_date
    assert request.reports == ("support-daily",)
    assert request.dry_run
    assert request.force


def test_misspelled_key_is_rejected() -> None:
    """A typo like dryrun must not send real mail."""
    with pytest.raises(EventError, match=r"'dryrun' \(did you mean 'dry_run'\?\)"):
        parse_event({"dryrun": True}, REPORTS)


def test_unknown_report_id_is_rejected() -> None:
    """Reports not in the config are named with the available ids."""
    with pytest.raises(EventError, match="support-dialy"):
        parse_event({"reports": ["support-dialy"]}, REPORTS)


def test_unexpanded_scheduler_placeholder_explained() -> None:
    """Invoking with the template's literal placeholder says how to run manually."""
    with pytest.raises(EventError, match="report_date"):
        parse_event({"scheduled_time": "<aws.scheduler.scheduled-time>"}, REPORTS)


def test_naive_scheduled_time_rejected() -> None:
    """A scheduled time without offset is ambiguous."""
    with pytest.raises(EventError, match="offset"):
        parse_event({"scheduled_time": "2026-11-23T11:00:00"}, REPORTS)


def test_bad_report_date() -> None:
    """A report_date that is not a date is rejected."""
    with pytest.raises(EventError, match="2026-11-20"):
        parse_event({"report_date": "20/11/2026"}, REPORTS)


def test_both_dates_rejected() -> None:
    """scheduled_time and report_date together are contradictory."""
    with pytest.raises(EventError, match="not both"):
        parse_event(
            {"scheduled_time": "2026-11-23T11:00:00Z", "report_date": "2026-11-20"}, REPORTS
        )


def test_non_boolean_flag_rejected() -> None:
    """dry_run: "false" (a string) is not silently truthy."""
    with pytest.raises(EventError, match="dry_run"):
        parse_event({"dry_run": "false"}, REPORTS)


def test_eventbridge_rule_event_uses_its_time() -> None:
    """A classic EventBridge rule event works too, using its `time`."""
    request = parse_event(
        {
            "version": "0",
            "id": "x",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "1",
            "time": "2026-11-23T11:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": {},
        },
        REPORTS,
    )
    assert datetime(2026, 11, 23, 11, tzinfo=UTC) == request.scheduled_time


@pytest.mark.parametrize("path", sorted(EVENTS.glob("*.json")), ids=lambda p: p.name)
def test_sample_events_parse(path: Path) -> None:
    """Every sample event in events/ is a valid event for the shipped config's reports."""
    parse_event(json.loads(path.read_text()), ["support-daily"])


def test_allow_partial_is_read() -> None:
    """allow_partial: true asks for a marked partial report of a day not over yet."""
    assert parse_event({"report_date": "2026-11-20", "allow_partial": True}, ["r"]).allow_partial


@pytest.mark.parametrize("day", ["1999-12-31", "9999-12-31", "0001-01-01"])
def test_report_dates_outside_the_reportable_range_are_refused(day: str) -> None:
    """Dates no Genesys data exists for, or past what Python can compute the next day of."""
    with pytest.raises(EventError, match="outside the dates"):
        parse_event({"report_date": day}, ["r"])


def test_a_scheduled_time_at_the_end_of_time_is_refused() -> None:
    """No OverflowError from a time at the edge of datetime's range."""
    with pytest.raises(EventError, match="too far in the future"):
        parse_event({"scheduled_time": "9999-12-31T23:59:59Z"}, ["r"])
