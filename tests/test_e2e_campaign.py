"""Campaigns end to end over real sockets: the campaign handler and ``gcnotify campaign`` against
the Genesys stand-in's conversation history and moto, the outbox drained into the sender by the
local event source mapping, as Lambda would run them."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gcnotify.cli.demo_campaign import CAMPAIGN_ID, campaign_stack, demo_campaigns, drain_outbox
from gcnotify.cli.demo_notify import NotifyStack
from gcnotify.cli.main import main
from gcnotify.core.errors import EventError, GenesysUnavailableError
from gcnotify.handlers import campaign, notify_state

OVERLAP = "web-overlap"
STALLED = "web-stalled"


def extra(campaign_id: str, days: int) -> dict[str, Any]:
    return {
        "id": campaign_id,
        "audience": {"media": "webmessaging", "days": days},
        "channel": "webmessaging",
        "template": "web-followup",
        "timezone": "America/New_York",
        "variables": {"first_name": "there", "brand": "Example"},
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NotifyStack]:
    notify_state.reset()
    campaigns = [*demo_campaigns(), extra(OVERLAP, 2), extra(STALLED, 30)]
    workdir = tmp_path_factory.mktemp("e2e-campaign")
    with (
        campaign_stack(workdir, campaigns=campaigns, conversations=400, visibility=5) as running,
        pytest.MonkeyPatch.context() as patch,
    ):
        running.genesys.details.polls_to_finish = 1
        for key, value in running.environ.items():
            patch.setenv(key, value)
        yield running
    notify_state.reset()


@dataclass
class Context:
    """The part of Lambda's context the handler reads."""

    millis: int = 600_000

    def get_remaining_time_in_millis(self) -> int:
        return self.millis


def web_sends(stack: NotifyStack) -> Counter[str]:
    return Counter(
        str(m["to"]) for m in stack.genesys.messaging.sent if m["channel"] == "webmessaging"
    )


def outbox_depth(stack: NotifyStack) -> int:
    attributes = stack.sqs.get_queue_attributes(
        QueueUrl=stack.outbox_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def test_preview_queues_nothing_and_shows_masked_addresses(
    stack: NotifyStack, capsys: pytest.CaptureFixture[str]
) -> None:
    """gcnotify campaign preview: the counts and a masked sample; no request, nothing queued."""
    assert 0 == main(["campaign", "preview", CAMPAIGN_ID])
    shown = json.loads(capsys.readouterr().out)
    assert shown["dry_run"] is True
    assert 0 == shown["queued"]
    assert shown["audience"] > 0
    assert shown["sample"]
    assert all(s.startswith("***") for s in shown["sample"])
    assert set(shown["excluded"]) >= {"no_contact", "active", "already_notified", "over_limit"}
    assert 0 == outbox_depth(stack)


def test_run_sends_each_recipient_once_and_a_rerun_queues_no_one(
    stack: NotifyStack, capsys: pytest.CaptureFixture[str]
) -> None:
    """gcnotify campaign run queues the audience; the sender sends each once, with the contact's
    name; the Lambda handler run again queues 0."""
    before = web_sends(stack)
    assert 0 == main(["campaign", "run", CAMPAIGN_ID])
    result = json.loads(capsys.readouterr().out)
    assert result["queued"] == result["audience"] > 0
    drained = drain_outbox(stack, timeout=25, function_timeout=5)
    assert drained.drained
    sent = web_sends(stack) - before
    assert result["queued"] == len(sent)
    assert {1} == set(sent.values())
    texts = [m["text"] for m in stack.genesys.messaging.sent[-len(sent) :]]
    assert all(t.startswith("Hi ") and not t.startswith("Hi there") for t in texts)
    again = campaign.lambda_handler({"campaign": CAMPAIGN_ID}, Context())
    assert 0 == again["queued"]
    assert result["queued"] == again["excluded"]["already_notified"]  # type: ignore[index]


def test_two_overlapping_invocations_notify_each_recipient_once(stack: NotifyStack) -> None:
    """Two invocations at once (a retry racing the first): every contact gets one message."""
    before = web_sends(stack)
    results: list[dict[str, object]] = []
    barrier = threading.Barrier(2)

    def invoke() -> None:
        barrier.wait()
        results.append(campaign.lambda_handler({"campaign": OVERLAP}, Context()))

    threads = [threading.Thread(target=invoke) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert 2 == len(results)
    # A key the second run met still accepted is queued again (the intake's recovery of a lost
    # enqueue); the sender holds that copy while the first is in flight, then finds it sent. So
    # the outbox is not empty at the end: what matters is who got a message.
    drain_outbox(stack, timeout=6, function_timeout=5)
    sent = web_sends(stack) - before
    queued = sum(int(str(r["queued"])) for r in results)
    assert queued == len(sent) > 0
    assert {1} == set(sent.values())


def test_the_invocation_deadline_bounds_the_details_job(stack: NotifyStack) -> None:
    """With 31 s left, a job that never finishes is given up (and cancelled) within a second or
    two, not after the five-minute job budget."""
    stack.genesys.details.stall_jobs = True
    try:
        with pytest.raises(GenesysUnavailableError, match="waits at most 1 s"):
            campaign.lambda_handler({"campaign": STALLED}, Context(millis=31_000))
    finally:
        stack.genesys.details.stall_jobs = False
    assert stack.genesys.details.cancelled


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"campaign": "webmessaging-folowup"}, "did you mean 'webmessaging-followup'"),
        ({"campaign": CAMPAIGN_ID, "dryrun": True}, "'dryrun' (did you mean 'dry_run'?)"),
        ({"campaign": CAMPAIGN_ID, "dry_run": "yes"}, '"dry_run" must be true or false'),
        ({}, '"campaign": the id of a configured campaign'),
    ],
)
def test_a_bad_event_is_refused_naming_the_fix(
    stack: NotifyStack, event: dict[str, Any], message: str
) -> None:
    """Unknown ids and keys name the closest ones; nothing runs."""
    with pytest.raises(EventError) as caught:
        campaign.lambda_handler(event, Context())
    assert message in str(caught.value)


def test_the_cli_answers_an_unknown_campaign_with_exit_2(
    stack: NotifyStack, capsys: pytest.CaptureFixture[str]
) -> None:
    """gcnotify campaign run with a typo: exit 2 and the configured ids."""
    assert 2 == main(["campaign", "run", "sms-folowup"])
    err = capsys.readouterr().err
    assert "did you mean 'sms-followup'" in err
    assert CAMPAIGN_ID in err


def test_a_config_without_campaigns_says_how_to_add_them(
    stack: NotifyStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The campaign command on a notifications-only config: the missing block, named."""
    import yaml

    config = yaml.safe_load(Path(stack.environ["GCNOTIFY_CONFIG"]).read_text(encoding="utf-8"))
    del config["campaigns"]
    path = tmp_path / "no-campaigns.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    notify_state.reset()
    try:
        assert 2 == main(["campaign", "preview", CAMPAIGN_ID, "--config", str(path)])
    finally:
        notify_state.reset()
    assert "campaigns: is missing" in capsys.readouterr().err


def test_validate_checks_the_campaigns_against_the_messaging_block(
    stack: NotifyStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """gcnotify validate lists the campaigns; a template of another channel is exit 2, by path."""
    import yaml

    source = Path(stack.environ["GCNOTIFY_CONFIG"])
    assert 0 == main(["validate", "--config", str(source)])
    assert f"campaigns: 4: {CAMPAIGN_ID}, sms-followup" in capsys.readouterr().out
    config = yaml.safe_load(source.read_text(encoding="utf-8"))
    config["campaigns"][1]["template"] = "web-followup"
    path = tmp_path / "wrong-channel.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    assert 2 == main(["validate", "--config", str(path)])
    err = capsys.readouterr().err
    assert "campaigns[1].template: 'web-followup' is a webmessaging template, not sms" in err
