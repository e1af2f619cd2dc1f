"""AWS Lambda entry point of campaigns: ``gcnotify.handlers.campaign.lambda_handler``.

One event runs one campaign of the config's ``campaigns:`` block:

- ``{"campaign": "webmessaging-followup"}`` queues a request for every recipient;
- ``{"campaign": "webmessaging-followup", "dry_run": true}`` builds the audience and queues
  nothing (what ``gcnotify campaign preview`` shows).

A campaign with ``schedule: "HH:MM"`` is run daily by an EventBridge Scheduler schedule in the
campaign's time zone whose input is ``{"campaign": "<id>"}`` (docs/CAMPAIGNS.md); the function
itself keeps no timetable. Lambda retries a failed asynchronous invocation, which is safe: a
recipient already taken is excluded or answered duplicate, never notified twice.

The answer is the run's counts (``CampaignResult.to_dict``); addresses appear only masked. A run
whose requests the intake rejected raises ``RunFailedError`` after logging them, so the error
alarm fires.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gcnotify.core.errors import EventError, GcnotifyError, RunFailedError
from gcnotify.handlers import notify_state
from gcnotify.runtime.log import quiet_sdk_loggers
from gcnotify.runtime.redact import RedactingFilter

__all__ = ["EVENT_KEYS", "CampaignEvent", "handle", "lambda_handler", "parse_campaign_event"]

logger = logging.getLogger("gcnotify")
quiet_sdk_loggers()
if not any(isinstance(f, RedactingFilter) for f in logger.filters):
    logger.addFilter(RedactingFilter())

EVENT_KEYS = ("campaign", "dry_run")


@dataclass(frozen=True)
class CampaignEvent:
    """A validated campaign event."""

    campaign: str
    dry_run: bool = False


def parse_campaign_event(event: object, campaign_ids: Sequence[str]) -> CampaignEvent:
    """The event as a ``CampaignEvent``; an ``EventError`` naming each problem and its fix."""
    if not isinstance(event, Mapping):
        raise EventError(
            f'a campaign event is a JSON object like {{"campaign": "<id>"}}, got '
            f"{type(event).__name__}"
        )
    unknown = [str(k) for k in event if k not in EVENT_KEYS]
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, EVENT_KEYS, 1, 0.6)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise EventError(
            f"unknown key(s) in the campaign event: {', '.join(hints)}; allowed keys: "
            f"{', '.join(EVENT_KEYS)}"
        )
    campaign = event.get("campaign")
    if not isinstance(campaign, str) or not campaign:
        known = ", ".join(campaign_ids) or "none"
        raise EventError(
            f'the campaign event needs "campaign": the id of a configured campaign ({known})'
        )
    if campaign not in campaign_ids:
        close = difflib.get_close_matches(campaign, campaign_ids, 3, 0.6)
        hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
        known = ", ".join(campaign_ids) or "none"
        raise EventError(
            f"no campaign is called {campaign[:64]!r}{hint}; configured campaigns: {known}"
        )
    dry_run = event.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise EventError(f'"dry_run" must be true or false, got {dry_run!r:.40}')
    return CampaignEvent(campaign, dry_run)


def _time_left(deadline: datetime | None) -> Callable[[], float | None]:
    def left() -> float | None:
        if deadline is None:
            return None
        return (deadline - datetime.now(UTC)).total_seconds()

    return left


def handle(
    event: Mapping[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    deadline: datetime | None = None,
) -> dict[str, object]:
    """Run the event's campaign; the counts, as ``CampaignResult.to_dict`` gives them."""
    from gcnotify.campaigns.run import run_campaign
    from gcnotify.campaigns.settings import campaign_by_id
    from gcnotify.genesys.contacts import ExternalContacts
    from gcnotify.genesys.details import ConversationDetails

    state = notify_state.state(environ)
    campaigns = state.campaigns
    request = parse_campaign_event(event, [c.id for c in campaigns])
    campaign = campaign_by_id(campaigns, request.campaign)
    genesys, _ = state.providers()
    genesys.clear_queue_cache()  # queues are read once per run: one renamed since is seen
    genesys.time_left = _time_left(deadline)

    def resolve(refs: Sequence[str]) -> list[str]:
        return [queue.id for queue in genesys.resolve_queues(refs)]

    try:
        result = run_campaign(
            campaign,
            messaging=state.messaging,
            details=ConversationDetails(genesys),
            contacts=ExternalContacts(genesys),
            suppression=state.suppression,
            store=state.store,
            outbox=state.outbox,
            genesys_calls=lambda: genesys.calls,
            now=now(),
            dry_run=request.dry_run,
            resolve_queues=resolve,
        )
    except GcnotifyError as exc:
        logger.error(
            "campaign failed",
            extra={"campaign": campaign.id, "error": str(exc), "kind": type(exc).__name__},
        )
        raise
    finally:
        genesys.time_left = None
    summary = result.to_dict()
    logger.info("campaign finished", extra={"result": summary})
    return summary


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, object]:
    """Lambda entry point; a run with rejected requests raises after it is logged."""
    summary = handle(event, deadline=notify_state.deadline_of(context))
    rejected = summary.get("rejected")
    if isinstance(rejected, int) and rejected:
        raise RunFailedError(
            f"campaign {summary['campaign']}: the intake rejected {rejected} request(s) "
            f"({summary.get('problems')}); fix the campaign's template or variables. The "
            "others were queued."
        )
    return summary
