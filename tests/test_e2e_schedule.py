"""End to end over real sockets: due-based sends, the invocation's time budget, and dates that
cannot be reported yet (local Genesys and SendGrid stand-ins, a moto server)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import pytz
import yaml

from gcnotify.aws.ledger import Ledger
from gcnotify.cli.demo import DemoStack
from gcnotify.core.errors import EventError, RunFailedError
from gcnotify.handlers import report as handler

pytestmark = pytest.mark.e2e
NEW_YORK = pytz.timezone("America/New_York")  # the demo's daily report's zone


def config_with(stack: DemoStack, tmp_path: Path, **report: Any) -> str:
    """The demo config with the daily report changed, written to a file; its path."""
    config = yaml.safe_load(Path(stack.environ["GCNOTIFY_CONFIG"]).read_text())
    config["reports"][0].update(report)
    path = tmp_path / "changed.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def invoke(stack: DemoStack, event: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    env = kwargs.pop("env", {})
    return handler.handle(event, environ={**stack.environ, **env}, **kwargs)


def scheduled(instant: str) -> dict[str, Any]:
    return {"scheduled_time": instant, "reports": ["support-daily"]}


def reports_sent(stack: DemoStack) -> list[Any]:
    return [m for m in stack.sendgrid.messages if not m.custom_args.get("gcnotify_alert")]


def ledger(stack: DemoStack) -> Ledger:
    client = boto3.client("dynamodb", endpoint_url=stack.moto_url)
    return Ledger(client, stack.environ["GCNOTIFY_LEDGER_TABLE"])


def test_a_report_is_not_due_before_its_local_send_at(stack: DemoStack, tmp_path: Path) -> None:
    """05:45 in New York, send_at 06:00: not_due, and neither Genesys nor the ledger is asked."""
    path = config_with(stack, tmp_path, send_at="06:00")
    summary = invoke(stack, scheduled("2026-11-23T10:45:00Z"), env={"GCNOTIFY_CONFIG": path})
    [entry] = summary["reports"]
    assert ("not_due", 0, True) == (entry["status"], entry["genesys_api_calls"], summary["ok"])
    assert [] == reports_sent(stack)
    assert 0 == handler._state.seams.ledger.calls  # type: ignore[union-attr]


def test_one_frequent_schedule_sends_once_after_send_at(stack: DemoStack, tmp_path: Path) -> None:
    """Every 15 minutes from 05:45: the 06:00 run sends, the later ones are already_sent."""
    env = {"GCNOTIFY_CONFIG": config_with(stack, tmp_path, send_at="06:00")}
    statuses = [
        invoke(stack, scheduled(f"2026-11-23T{hour}:00Z"), env=env)["reports"][0]["status"]
        for hour in ("10:45", "11:00", "11:15", "11:30")
    ]
    assert ["not_due", "sent", "already_sent", "already_sent"] == statuses
    assert 1 == len(reports_sent(stack))


def test_a_missed_invocation_is_caught_up_by_the_next(stack: DemoStack, tmp_path: Path) -> None:
    """The 06:00 run never happened (or failed): the 06:15 run sends that day's report."""
    env = {"GCNOTIFY_CONFIG": config_with(stack, tmp_path, send_at="06:00")}
    stack.genesys.fail_next("/api/v2/analytics/conversations/aggregates/query", 500, times=20)
    with pytest.raises(RunFailedError):
        invoke(stack, scheduled("2026-11-23T11:00:00Z"), env=env)
    stack.genesys.clear_faults()
    summary = invoke(stack, scheduled("2026-11-23T11:15:00Z"), env=env)
    assert ("sent", "2026-11-20") == (
        summary["reports"][0]["status"],
        summary["reports"][0]["business_date"],
    )
    assert 1 == len(reports_sent(stack))


def test_send_at_follows_each_zone_and_its_dst(stack: DemoStack, tmp_path: Path) -> None:
    """The same 10:00Z run is 06:00 in New York in summer (due), 05:00 in winter (not due)."""
    env = {"GCNOTIFY_CONFIG": config_with(stack, tmp_path, send_at="06:00")}
    summer = invoke(stack, scheduled("2026-07-14T10:00:00Z"), env=env)["reports"][0]
    winter = invoke(stack, scheduled("2026-11-24T10:00:00Z"), env=env)["reports"][0]
    assert ("sent", "not_due") == (summer["status"], winter["status"])


def test_a_non_business_day_is_skipped_as_such(stack: DemoStack, tmp_path: Path) -> None:
    """window: yesterday on a Sunday run: skipped_non_business_day, nothing sent."""
    env = {"GCNOTIFY_CONFIG": config_with(stack, tmp_path, window="yesterday")}
    entry = invoke(stack, scheduled("2026-11-22T12:00:00Z"), env=env)["reports"][0]
    assert ("skipped_non_business_day", "2026-11-21") == (entry["status"], entry["business_date"])
    assert [] == reports_sent(stack)


def test_a_date_that_is_not_over_is_refused(stack: DemoStack) -> None:
    """Today (in the report's zone) cannot be reported: a clear event error, nothing called."""
    today = datetime.now(NEW_YORK).date()
    with pytest.raises(EventError, match=r"not over yet.*allow_partial"):
        invoke(stack, {"report_date": today.isoformat(), "reports": ["support-daily"]})
    assert [] == stack.sendgrid.messages
    assert 0 == stack.genesys.count("/")


def test_a_partial_day_is_marked_and_never_blocks_the_day(stack: DemoStack) -> None:
    """allow_partial sends a mail that says so, keyed apart from that day's real send."""
    today = datetime.now(NEW_YORK).date()
    event = {"report_date": today.isoformat(), "reports": ["support-daily"], "allow_partial": True}
    entry = invoke(stack, event)["reports"][0]
    [message] = reports_sent(stack)
    assert entry["status"] in ("sent", "no_activity_sent")
    assert message.subject.startswith("[Partial day]")
    assert "not final" in message.text
    assert "not final" in message.html
    assert ledger(stack).lookup(f"support-daily#{today.isoformat()}") is None


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_dates_outside_what_can_be_reported_are_event_errors(stack: DemoStack, day: str) -> None:
    """No OverflowError: an event error naming the range."""
    with pytest.raises(EventError, match="outside the dates"):
        invoke(stack, {"report_date": day})


def test_reports_that_cannot_finish_are_not_started(stack: DemoStack) -> None:
    """20 s left of the invocation: no report starts, each is failed "out of time", alerted."""
    deadline = datetime.now(UTC) + timedelta(seconds=20)
    with pytest.raises(RunFailedError) as info:
        invoke(stack, {"report_date": "2026-11-20"}, deadline=deadline)
    text = str(info.value)
    assert "out of time" in text
    assert '"genesys_api_calls": 0' in text
    assert [] == reports_sent(stack)
    alerts = [m for m in stack.sendgrid.messages if m.custom_args.get("gcnotify_alert")]
    assert 2 == len(alerts)


def test_a_report_runs_when_the_time_left_allows(stack: DemoStack) -> None:
    """With minutes left the same run sends normally."""
    deadline = datetime.now(UTC) + timedelta(minutes=4)
    summary = invoke(stack, {"report_date": "2026-11-20"}, deadline=deadline)
    assert {"sent"} == {r["status"] for r in summary["reports"]}
    assert date(2026, 11, 20).isoformat() == summary["reports"][0]["business_date"]


def test_a_retry_wait_past_the_time_left_is_not_taken(stack: DemoStack) -> None:
    """Genesys asks to wait 60 s, 40 s are left: the report fails now, the alert still goes out."""
    stack.genesys.fail_next(
        "/api/v2/analytics/conversations/aggregates/query",
        429,
        headers={"Retry-After": "60"},
        times=5,
    )
    deadline = datetime.now(UTC) + timedelta(seconds=40)
    with pytest.raises(RunFailedError) as info:
        invoke(
            stack, {"report_date": "2026-11-20", "reports": ["support-daily"]}, deadline=deadline
        )
    assert "GenesysUnavailableError" in str(info.value)
    # One try, no retry: the 60 s wait was never started.
    assert 1 == stack.genesys.count("/api/v2/analytics/conversations/aggregates/query")
    alerts = [m for m in stack.sendgrid.messages if m.custom_args.get("gcnotify_alert")]
    assert 1 == len(alerts)
