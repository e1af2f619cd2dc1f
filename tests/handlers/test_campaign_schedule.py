"""The campaign schedule's tick against the Genesys stand-in and moto: each daily campaign runs at
the first tick after its local time, once a local day (the ledger's record), DST included; a
``once`` campaign never runs on the schedule; a failing campaign does not stop the others."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from gcnotify.aws.ledger import Ledger
from gcnotify.cli.demo_campaign import campaign_stack
from gcnotify.cli.demo_notify import NotifyStack
from gcnotify.core.errors import ConfigError, EventError, RunFailedError
from gcnotify.handlers import campaign, notify_state
from gcnotify.handlers.campaign import run_key

ZONE = "America/New_York"


def daily(campaign_id: str, schedule: str = "09:30", *, days: int = 2) -> dict[str, Any]:
    """A web messaging campaign over the last ``days`` (two: the sync query, no job); open
    conversations are not read, which keeps each run to a few calls."""
    return {
        "id": campaign_id,
        "audience": {"media": "webmessaging", "days": days, "exclude_active": False},
        "channel": "webmessaging",
        "template": "web-followup",
        "timezone": ZONE,
        "schedule": schedule,
        "variables": {"first_name": "there", "brand": "Example"},
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NotifyStack]:
    notify_state.reset()
    workdir = tmp_path_factory.mktemp("campaign-schedule")
    with (
        campaign_stack(workdir, campaigns=[daily("seed")], conversations=160, days=3) as running,
        pytest.MonkeyPatch.context() as patch,
    ):
        running.genesys.details.polls_to_finish = 1
        for key, value in running.environ.items():
            patch.setenv(key, value)
        yield running
    notify_state.reset()


@pytest.fixture
def configure(stack: NotifyStack) -> Iterator[Any]:
    """Give the config these campaigns (the next invocation reads them, as a new container)."""
    path = Path(stack.environ["GCNOTIFY_CONFIG"])

    def write(*campaigns: dict[str, Any]) -> None:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        config["campaigns"] = list(campaigns)
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        notify_state.reset()

    yield write
    notify_state.reset()


@dataclass
class Context:
    """The part of Lambda's context the handler reads."""

    millis: int = 600_000

    def get_remaining_time_in_millis(self) -> int:
        return self.millis


def tick(at: str) -> dict[str, Any]:
    """One scheduled invocation, as Scheduler delivers it."""
    return campaign.lambda_handler({"scheduled_time": at}, Context())


def entry(summary: dict[str, Any], campaign_id: str) -> dict[str, Any]:
    (found,) = [e for e in summary["campaigns"] if e["campaign"] == campaign_id]
    return dict(found)


def outbox_depth(stack: NotifyStack) -> int:
    attributes = stack.sqs.get_queue_attributes(
        QueueUrl=stack.outbox_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def ledger(stack: NotifyStack) -> Ledger:
    return notify_state.state(stack.environ).ledger


def test_a_daily_campaign_runs_once_a_local_day_from_its_local_time(
    stack: NotifyStack, configure: Any
) -> None:
    """Before 09:30 New York: not due, nothing queued. The first tick after: it runs and queues.
    A second tick that day: already_ran, nothing queued. The next local day: it runs again and
    queues nobody new (every recipient is already notified)."""
    configure(daily("daily-web"))
    depth = outbox_depth(stack)
    early = entry(tick("2026-06-10T13:15:00Z"), "daily-web")  # 09:15 EDT
    assert ("not_due", "2026-06-10", "09:30") == (
        early["status"],
        early["local_date"],
        early["schedule"],
    )
    assert depth == outbox_depth(stack)
    assert ledger(stack).lookup(run_key("daily-web", datetime(2026, 6, 10).date())) is None

    ran = entry(tick("2026-06-10T13:45:00Z"), "daily-web")  # 09:45 EDT
    assert "ran" == ran["status"]
    assert ran["queued"] == ran["audience"] > 0
    assert ran["dry_run"] is False
    assert depth + ran["queued"] == outbox_depth(stack)
    record = ledger(stack).lookup("campaign-run#daily-web#2026-06-10")
    assert record is not None
    assert "sent" == record.status
    assert str(ran["queued"]) == record.attributes["queued"]

    again = entry(tick("2026-06-10T20:00:00Z"), "daily-web")
    assert ("already_ran", ran["queued"]) == (again["status"], again["queued"])
    assert depth + ran["queued"] == outbox_depth(stack)

    next_day = entry(tick("2026-06-11T13:30:00Z"), "daily-web")  # 09:30 EDT, the next day
    assert ("ran", 0) == (next_day["status"], next_day["queued"])
    assert ran["queued"] == next_day["excluded"]["already_notified"]
    assert depth + ran["queued"] == outbox_depth(stack)


def test_a_tick_missed_is_caught_up_the_same_local_day_never_the_next(
    stack: NotifyStack, configure: Any
) -> None:
    """Every tick from 21:00 to 23:30 missed: the 23:45 one runs it; one after midnight is the
    next day's (not due yet at 00:00), never a late run of the day before."""
    configure(daily("late-web", "21:00"))
    assert "ran" == entry(tick("2026-06-11T03:45:00Z"), "late-web")["status"]  # 23:45 EDT
    after = entry(tick("2026-06-11T04:00:00Z"), "late-web")  # 00:00 EDT, 11 June
    assert ("not_due", "2026-06-11") == (after["status"], after["local_date"])
    assert ledger(stack).lookup("campaign-run#late-web#2026-06-10") is not None
    assert ledger(stack).lookup("campaign-run#late-web#2026-06-11") is None


def test_a_daily_campaign_keeps_its_local_time_across_dst_changes(
    stack: NotifyStack, configure: Any
) -> None:
    """09:30 New York is 13:30 UTC before the fall-back night and 14:30 after it; 02:30 on the
    spring-forward day never happens on the clock, so the first tick after the jump runs it."""
    configure(daily("dst-web"), daily("dst-night", "02:30"))
    before = tick("2026-10-31T13:30:00Z")  # 09:30 EDT
    assert "ran" == entry(before, "dst-web")["status"]
    same_utc = tick("2026-11-01T13:30:00Z")  # 08:30 EST: a fixed UTC cron would run it here
    assert ("not_due", "2026-11-01") == (
        entry(same_utc, "dst-web")["status"],
        entry(same_utc, "dst-web")["local_date"],
    )
    assert "ran" == entry(tick("2026-11-01T14:30:00Z"), "dst-web")["status"]  # 09:30 EST

    assert "not_due" == entry(tick("2026-03-08T06:45:00Z"), "dst-night")["status"]  # 01:45 EST
    jumped = entry(tick("2026-03-08T07:00:00Z"), "dst-night")  # 03:00 EDT: 02:30 was skipped
    assert ("ran", "2026-03-08") == (jumped["status"], jumped["local_date"])


def test_a_once_campaign_never_runs_on_the_schedule(stack: NotifyStack, configure: Any) -> None:
    """A ``once`` campaign is left out of every tick; it runs only when invoked by id."""
    once = {**daily("once-web"), "schedule": "once"}
    configure(once, daily("beside-once", "00:00"))
    depth = outbox_depth(stack)
    summary = tick("2026-06-12T23:45:00Z")
    assert ["beside-once"] == [e["campaign"] for e in summary["campaigns"]]
    ran = entry(summary, "beside-once")
    assert depth + ran["queued"] == outbox_depth(stack)
    assert ledger(stack).lookup("campaign-run#once-web#2026-06-12") is None


def test_a_failing_campaign_does_not_stop_the_others_and_the_tick_raises(
    stack: NotifyStack, configure: Any
) -> None:
    """The first campaign's details job fails: the second still runs, its run is recorded, and
    the invocation raises naming the failed one. The next tick runs the failed one again."""
    configure(daily("failing-web", "08:00", days=30), daily("healthy-web", "08:00"))
    stack.genesys.details.fail_next_job("The query failed to complete.")
    depth = outbox_depth(stack)
    with pytest.raises(RunFailedError) as caught:
        tick("2026-06-13T12:15:00Z")  # 08:15 EDT
    message = str(caught.value)
    assert "campaign failing-web failed" in message
    assert "healthy-web" not in message
    assert "next scheduled tick" in message
    failed = ledger(stack).lookup("campaign-run#failing-web#2026-06-13")
    healthy = ledger(stack).lookup("campaign-run#healthy-web#2026-06-13")
    assert failed is not None
    assert "failed" == failed.status
    assert "The query failed to complete" in str(failed.error)
    assert healthy is not None
    assert "sent" == healthy.status
    queued = int(str(healthy.attributes["queued"]))
    assert queued > 0
    assert depth + queued == outbox_depth(stack)

    retried = tick("2026-06-13T12:30:00Z")
    assert "ran" == entry(retried, "failing-web")["status"]
    assert "already_ran" == entry(retried, "healthy-web")["status"]


def test_a_live_claim_is_left_and_a_stale_one_is_taken_over(
    stack: NotifyStack, configure: Any
) -> None:
    """Another invocation's claim within its lease: in_progress, nothing run. A claim whose
    lease has ended (its invocation died): run again, which is safe."""
    configure(daily("claimed-web", "07:00"))
    now = datetime.now(UTC)
    key = "campaign-run#claimed-web#2026-06-14"
    live = now + timedelta(minutes=10)
    assert ledger(stack).claim(key, owner="other", now=now, lease_until=live).won
    held = entry(tick("2026-06-14T11:15:00Z"), "claimed-web")
    assert "in_progress" == held["status"]
    assert "queued" not in held

    stale = "campaign-run#claimed-web#2026-06-15"
    old = now - timedelta(hours=1)
    assert ledger(stack).claim(stale, owner="dead", now=old, lease_until=old).won
    assert "ran" == entry(tick("2026-06-15T11:15:00Z"), "claimed-web")["status"]
    record = ledger(stack).lookup(stale)
    assert record is not None
    assert "sent" == record.status


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"scheduled_time": "<aws.scheduler.scheduled-time>"}, "unexpanded placeholder"),
        ({"scheduled_time": "2026-06-10T13:45:00"}, "needs a UTC offset"),
        ({"scheduled_time": "tomorrow"}, "is not an ISO-8601 time"),
        ({"scheduled_time": "2026-06-10T13:45:00Z", "campaign": "daily-web"}, "not both"),
        ({"scheduled_time": "2026-06-10T13:45:00Z", "executionid": "x"}, "'executionid'"),
    ],
)
def test_a_bad_tick_is_refused_naming_the_fix(
    stack: NotifyStack, configure: Any, event: dict[str, Any], message: str
) -> None:
    """Nothing runs for a tick that cannot be read."""
    configure(daily("daily-web"))
    with pytest.raises(EventError, match=message):
        campaign.lambda_handler(event, Context())


def test_a_config_without_campaigns_answers_ticks_quietly(
    stack: NotifyStack, tmp_path: Path
) -> None:
    """The schedule is in every stack: without a campaigns block a tick runs nothing and does not
    fail (no alarm every 15 minutes); an invoked run still names the missing block."""
    config = yaml.safe_load(Path(stack.environ["GCNOTIFY_CONFIG"]).read_text(encoding="utf-8"))
    del config["campaigns"]
    path = tmp_path / "no-campaigns.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    environ = {**stack.environ, "GCNOTIFY_CONFIG": str(path)}
    notify_state.reset()
    try:
        answer = campaign.handle({"scheduled_time": "2026-06-10T13:45:00Z"}, environ=environ)
        assert {"scheduled_time": "2026-06-10T13:45:00Z", "campaigns": []} == answer
        with pytest.raises(ConfigError, match="campaigns: is missing"):
            campaign.handle({"campaign": "daily-web"}, environ=environ)
    finally:
        notify_state.reset()
