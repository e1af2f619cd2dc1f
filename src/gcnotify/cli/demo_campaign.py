"""``gcnotify demo campaign``: a campaign end to end on this machine.

The notification demo's stack (the Genesys and SendGrid stand-ins, moto) with a few hundred
synthetic conversations in the Genesys stand-in and a ``campaigns:`` block in the config. The
demo previews the campaign (nothing queued), runs it through the campaign handler Lambda runs,
drains the outbox into the sender handler with a local event source mapping, and runs it again
to show that nobody is notified twice. Nothing leaves the machine.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from gcnotify.cli.demo_notify import NotifyStack, notify_stack, zone_at

__all__ = [
    "CAMPAIGN_ID",
    "campaign_stack",
    "campaign_templates",
    "demo_campaigns",
    "drain_outbox",
    "run_campaign_demo",
]

CAMPAIGN_ID = "webmessaging-followup"
DEMO_CONVERSATIONS = 600
DEMO_QUEUES = ("Support", "Billing", "Sales", "Claims", "Retention", "Tech Support Tier 2")
_VARIABLES = {"first_name": "there", "brand": "Example"}


def campaign_templates() -> list[dict[str, Any]]:
    """The messaging templates the demo campaigns use, besides the notification demo's."""
    return [
        {
            "id": "web-followup",
            "channel": "webmessaging",
            "text": "Hi {{ first_name }}, thanks for chatting with {{ brand }}. "
            "Is there anything else we can help with?",
        },
        {
            "id": "sms-followup",
            "channel": "sms",
            "text": "Hi {{ first_name }}, how did {{ brand }} do? Reply STOP to opt out.",
        },
    ]


def demo_campaigns() -> list[dict[str, Any]]:
    """The demo's campaigns: web messaging customers of six queues over 30 days, and an SMS one."""
    return [
        {
            "id": CAMPAIGN_ID,
            "audience": {
                "media": "webmessaging",
                "days": 30,
                "queues": list(DEMO_QUEUES),
                "exclude_active": True,
            },
            "channel": "webmessaging",
            "template": "web-followup",
            "timezone": "America/New_York",
            "schedule": "once",
            "variables": dict(_VARIABLES),
        },
        {
            "id": "sms-followup",
            "audience": {"media": "sms", "days": 7, "exclude_active": True},
            "channel": "sms",
            "template": "sms-followup",
            "timezone": "America/New_York",
            "schedule": "09:30",
            "variables": dict(_VARIABLES),
        },
    ]


@contextmanager
def campaign_stack(
    workdir: Path,
    *,
    campaigns: Sequence[dict[str, Any]] | None = None,
    conversations: int = DEMO_CONVERSATIONS,
    days: int = 30,
    seed: int = 7,
    latency_ms: float = 0.0,
    rate: int = 6000,
    visibility: int = 30,
    moto_url: str | None = None,
) -> Iterator[NotifyStack]:
    """The notification stack with ``conversations`` in the stand-in and a campaigns block.

    The messaging block's default zone is one where it is day now, so the demo's web messages
    (which carry no number to derive a zone from) are inside the send window whenever it runs.
    """
    with notify_stack(
        workdir, latency_ms=latency_ms, rate=rate, visibility=visibility, moto_url=moto_url
    ) as stack:
        stack.genesys.details.configure(count=conversations, days=days, seed=seed)
        path = Path(stack.environ["GCNOTIFY_CONFIG"])
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        messaging = config["messaging"]
        messaging["templates"] = [*messaging["templates"], *campaign_templates()]
        messaging["default_timezone"] = zone_at(datetime.now(UTC), range(10, 19))
        config["campaigns"] = list(campaigns if campaigns is not None else demo_campaigns())
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        yield stack


def drain_outbox(stack: NotifyStack, *, timeout: float = 30, function_timeout: int = 20) -> Any:
    """Deliver the outbox to the sender handler the way Lambda's event source mapping does."""
    from gcnotify.devserver.esm import EventSourceMapping
    from gcnotify.handlers import notify_state, sender

    env = stack.environ
    mapping = EventSourceMapping(
        stack.sqs,
        stack.outbox_url,
        lambda event, context: sender.handle_batch(
            event, environ=env, deadline=notify_state.deadline_of(context)
        ),
        batch_size=10,
        function_timeout=function_timeout,
    )
    return mapping.drain(idle_for=0.5, timeout=timeout)


def _counts(result: dict[str, object]) -> str:
    excluded = result["excluded"]
    shown = (
        ", ".join(f"{k} {v}" for k, v in excluded.items() if v)
        if isinstance(excluded, dict)
        else ""
    )
    return (
        f"{result['conversations']} conversations → audience {result['audience']} "
        f"(excluded: {shown or 'none'}); queued {result['queued']}; "
        f"{result['genesys_api_calls']} Genesys API calls"
    )


def run_campaign_demo(*, out: Path, latency_ms: float = 0.0) -> int:
    """Preview, run, send, run again; print what each step did."""
    from gcnotify.handlers import campaign, notify_state

    with campaign_stack(out, latency_ms=latency_ms) as stack:
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
            os.environ[key] = stack.environ[key]
        notify_state.reset()
        env = stack.environ
        try:
            print(
                f"Genesys stand-in: {DEMO_CONVERSATIONS} conversations over 30 days; campaign "
                f"{CAMPAIGN_ID}: web messaging customers of {len(DEMO_QUEUES)} queues, "
                "notified by web messaging"
            )
            preview = campaign.handle({"campaign": CAMPAIGN_ID, "dry_run": True}, environ=env)
            print(f"Preview (dry run): {_counts(preview)}")
            sample = preview["sample"]
            print(f"  sample: {', '.join(map(str, sample if isinstance(sample, list) else []))}")
            result = campaign.handle({"campaign": CAMPAIGN_ID}, environ=env)
            print(f"Run: {_counts(result)}")
            drained = drain_outbox(stack)
            sent = stack.genesys.messaging.sent
            print(
                f"Sender: {len(sent)} web messages sent through Genesys agentless messaging "
                f"({drained.batches} sender invocations)"
            )
            for item in sent[:3]:
                print(f"  to contact ***{str(item['to'])[-4:]}: {item['text']}")
            again = campaign.handle({"campaign": CAMPAIGN_ID}, environ=env)
            print(f"Run again: {_counts(again)}")
            print(json.dumps(again, indent=2, ensure_ascii=False))
        finally:
            notify_state.reset()
    return 0
