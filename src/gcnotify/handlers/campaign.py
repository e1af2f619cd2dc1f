"""AWS Lambda entry point of campaigns: ``gcnotify.handlers.campaign.lambda_handler``.

Two kinds of event:

- ``{"campaign": "webmessaging-followup"}`` runs one campaign of the config's ``campaigns:``
  block now, queueing a request for every recipient (``"dry_run": true`` builds the audience and
  queues nothing, what ``gcnotify campaign preview`` shows). An operator's explicit run: no
  ledger record, nothing checked against the schedule.
- ``{"scheduled_time": "2026-11-23T14:30:00Z"}`` comes from the one EventBridge Scheduler
  schedule (every 15 minutes, UTC). Every campaign with ``schedule: "HH:MM"`` whose local time has
  passed on its own wall clock that day, and that has not run that local day, is run; the ledger
  record ``campaign-run#<id>#<local date>`` says it did. A tick that came late or was skipped is
  caught up by the next one the same local day, never the next day. ``once`` campaigns never run
  on the schedule.

Running a campaign twice notifies nobody twice (every request is keyed per contact), so a failed
scheduled run is simply run again by the next tick, and Lambda's retries are safe.

The answer is the run's counts (``CampaignResult.to_dict``), or for a tick one entry per daily
campaign; addresses appear only masked. A run whose requests the intake rejected, or a tick where
a campaign failed, raises ``RunFailedError`` after logging, so the error alarm fires.
"""

from __future__ import annotations

import difflib
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any, Literal

from gcnotify.core.errors import EventError, GcnotifyError, RunFailedError
from gcnotify.handlers import notify_state
from gcnotify.runtime.log import quiet_sdk_loggers
from gcnotify.runtime.redact import RedactingFilter

if TYPE_CHECKING:
    from gcnotify.aws.ledger import Ledger, LedgerRecord
    from gcnotify.campaigns.settings import CampaignSettings

__all__ = [
    "EVENT_KEYS",
    "CampaignEvent",
    "ScheduledEvent",
    "TickStatus",
    "due_day",
    "handle",
    "lambda_handler",
    "parse_campaign_event",
    "parse_event",
    "run_key",
]

logger = logging.getLogger("gcnotify")
quiet_sdk_loggers()
if not any(isinstance(f, RedactingFilter) for f in logger.filters):
    logger.addFilter(RedactingFilter())

EVENT_KEYS = ("campaign", "dry_run", "scheduled_time")
_SCHEDULED_KEYS = ("scheduled_time",)
# The counts a scheduled run records on its ledger record and reports for already_ran.
_COUNTS = ("conversations", "audience", "queued", "duplicates", "rejected")

TickStatus = Literal["ran", "not_due", "already_ran", "in_progress", "failed"]


@dataclass(frozen=True)
class CampaignEvent:
    """A validated campaign event."""

    campaign: str
    dry_run: bool = False


@dataclass(frozen=True)
class ScheduledEvent:
    """A tick of the schedule: the instant Scheduler meant, never the wall clock."""

    scheduled_time: datetime


def _unknown_keys(event: Mapping[Any, Any], allowed: Sequence[str]) -> None:
    unknown = [str(k) for k in event if k not in allowed]
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, allowed, 1, 0.6)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise EventError(
            f"unknown key(s) in the campaign event: {', '.join(hints)}; allowed keys: "
            f"{', '.join(allowed)}"
        )


def parse_event(event: object, campaign_ids: Sequence[str]) -> CampaignEvent | ScheduledEvent:
    """A scheduled tick (``scheduled_time``) or one campaign's run (``campaign``)."""
    if isinstance(event, Mapping) and "scheduled_time" in event:
        if "campaign" in event or "dry_run" in event:
            raise EventError(
                'give either "scheduled_time" (the schedule\'s tick: every daily campaign that is '
                'due) or "campaign" (run that one now), not both'
            )
        _unknown_keys(event, _SCHEDULED_KEYS)
        return ScheduledEvent(_scheduled_time(event["scheduled_time"]))
    return parse_campaign_event(event, campaign_ids)


def _scheduled_time(raw: object) -> datetime:
    if not isinstance(raw, str):
        raise EventError(f"scheduled_time must be an ISO-8601 string, got {raw!r:.40}")
    if raw.startswith("<aws.scheduler"):
        raise EventError(
            f"scheduled_time holds the unexpanded placeholder {raw!r:.60}; only EventBridge "
            'Scheduler fills it in. To run a campaign now send {"campaign": "<id>"} instead'
        )
    try:
        scheduled = datetime.fromisoformat(raw)
    except ValueError:
        raise EventError(
            f"scheduled_time {raw!r:.60} is not an ISO-8601 time like 2026-11-23T14:30:00Z"
        ) from None
    if scheduled.tzinfo is None:
        raise EventError(f"scheduled_time {raw!r:.60} needs a UTC offset or 'Z'")
    try:
        return scheduled.astimezone(UTC)
    except OverflowError:
        raise EventError(f"scheduled_time {raw!r:.60} is out of range") from None


def parse_campaign_event(event: object, campaign_ids: Sequence[str]) -> CampaignEvent:
    """The event as a ``CampaignEvent``; an ``EventError`` naming each problem and its fix."""
    if not isinstance(event, Mapping):
        raise EventError(
            f'a campaign event is a JSON object like {{"campaign": "<id>"}}, got '
            f"{type(event).__name__}"
        )
    _unknown_keys(event, EVENT_KEYS)
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


def due_day(schedule: time, timezone: str, scheduled_time: datetime) -> tuple[date, bool]:
    """The campaign's local date at ``scheduled_time``, and whether its daily time has passed.

    Compared on the campaign's own wall clock, as reports compare ``send_at``: one schedule in
    UTC serves every zone, DST included. A time the clocks skip (02:30 on a spring-forward day)
    is passed by the first tick after the jump; one they repeat is passed by its first occurrence.
    """
    import pytz

    local = scheduled_time.astimezone(pytz.timezone(timezone))
    return local.date(), local.time().replace(tzinfo=None) >= schedule


def _utc_text(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_key(campaign_id: str, day: date) -> str:
    """The ledger record of a campaign's scheduled run on its local ``day``."""
    return f"campaign-run#{campaign_id}#{day.isoformat()}"


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
    """Run the event's campaign (its counts, as ``CampaignResult.to_dict`` gives them), or for a
    scheduled tick every due daily campaign (one entry each under ``campaigns``)."""
    from gcnotify.campaigns.settings import campaign_by_id

    state = notify_state.state(environ)
    if "scheduled_time" in event and state.config.blocks.get("campaigns") is None:
        # A stack without campaigns still has the schedule: its ticks run nothing, quietly.
        tick = parse_event(event, [])
        if isinstance(tick, ScheduledEvent):
            return {"scheduled_time": _utc_text(tick.scheduled_time), "campaigns": []}
    campaigns = state.campaigns
    request = parse_event(event, [c.id for c in campaigns])
    if isinstance(request, ScheduledEvent):
        return _tick(state, request.scheduled_time, now=now, deadline=deadline)
    campaign = campaign_by_id(campaigns, request.campaign)
    summary = _run(state, campaign, dry_run=request.dry_run, now=now(), deadline=deadline)
    logger.info("campaign finished", extra={"result": summary})
    return summary


def _run(
    state: notify_state.NotifyState,
    campaign: CampaignSettings,
    *,
    dry_run: bool,
    now: datetime,
    deadline: datetime | None,
) -> dict[str, object]:
    from gcnotify.campaigns.run import run_campaign
    from gcnotify.genesys.contacts import ExternalContacts
    from gcnotify.genesys.details import ConversationDetails

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
            now=now,
            dry_run=dry_run,
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
    return result.to_dict()


def _tick(
    state: notify_state.NotifyState,
    scheduled_time: datetime,
    *,
    now: Callable[[], datetime],
    deadline: datetime | None,
) -> dict[str, object]:
    """Every daily campaign, in config order; one failing never stops the others."""
    entries: list[dict[str, object]] = []
    ledger: Ledger | None = None
    for campaign in state.campaigns:
        if campaign.schedule is None:
            continue  # once: run only when asked
        day, due = due_day(campaign.schedule, campaign.timezone, scheduled_time)
        entry: dict[str, object] = {
            "campaign": campaign.id,
            "schedule": campaign.schedule.strftime("%H:%M"),
            "timezone": campaign.timezone,
            "local_date": day.isoformat(),
        }
        entries.append(entry)
        if not due:
            entry["status"] = "not_due"
            continue
        try:
            if ledger is None:
                ledger = state.ledger
            entry.update(_scheduled_run(state, ledger, campaign, day, now=now, deadline=deadline))
        except Exception as exc:  # one campaign's failure must not stop the others
            known = isinstance(exc, GcnotifyError)
            entry["status"] = "failed"
            entry["error"] = str(exc) if known else f"unexpected {type(exc).__name__}"
            if not known:
                logger.exception("campaign failed", extra={"campaign": campaign.id})
    summary: dict[str, object] = {
        "scheduled_time": _utc_text(scheduled_time),
        "campaigns": entries,
    }
    logger.info("campaign schedule finished", extra={"result": summary})
    return summary


def _counts_of(record: LedgerRecord) -> dict[str, object]:
    counts: dict[str, object] = {}
    for name in _COUNTS:
        value = record.attributes.get(name)
        if isinstance(value, str) and value.isdigit():
            counts[name] = int(value)
    return counts


def _scheduled_run(
    state: notify_state.NotifyState,
    ledger: Ledger,
    campaign: CampaignSettings,
    day: date,
    *,
    now: Callable[[], datetime],
    deadline: datetime | None,
) -> dict[str, object]:
    """Claim the day's record, run the campaign, record how it ended.

    A record already ``sent`` is this day's run done; a live claim is another invocation at it.
    A claim whose lease has ended (its invocation died) or a record of unknown outcome is
    claimed again by force: unlike an email, a campaign run is safe to repeat, because every
    request is keyed per contact.
    """
    from gcnotify.aws.once import DEFAULT_LEASE, LEASE_MARGIN, interpret

    key = run_key(campaign.id, day)
    started = now()
    blocked = interpret(ledger.lookup(key), started)
    if blocked is not None and blocked.status == "already_sent":
        return {"status": "already_ran", **_counts_of(blocked.record)}
    if blocked is not None and blocked.status == "in_progress":
        return {"status": "in_progress", "note": blocked.note}
    token = uuid.uuid4().hex
    lease_until = (deadline if deadline is not None else started + DEFAULT_LEASE) + LEASE_MARGIN
    claim = ledger.claim(
        key,
        owner=token,
        now=started,
        lease_until=lease_until,
        force=blocked is not None,  # a stale claim or an unknown outcome: taken over
        attributes={"campaign": campaign.id, "local_date": day.isoformat()},
    )
    if not claim.won:
        lost = interpret(claim.existing, now())
        if lost is not None and lost.status == "already_sent":
            return {"status": "already_ran", **_counts_of(lost.record)}
        return {
            "status": "in_progress",
            "note": "another invocation claimed this run first; it is left to that one",
        }
    try:
        result = _run(state, campaign, dry_run=False, now=now(), deadline=deadline)
    except Exception as exc:
        text = str(exc) if isinstance(exc, GcnotifyError) else f"unexpected {type(exc).__name__}"
        try:
            ledger.mark_failed(key, owner=token, now=now(), error=text)
        except GcnotifyError as mark:
            # The claim stays in_progress; once its lease ends the next tick takes it over.
            logger.error("campaign run not recorded", extra={"key": key, "error": str(mark)})
        raise
    counts = {name: str(result[name]) for name in _COUNTS if name in result}
    try:
        ledger.mark_sent(key, owner=token, now=now(), message_id=None, attributes=counts)
    except GcnotifyError as exc:
        # It ran; a later tick that finds the claim stale runs it again, which queues no one.
        result["note_ledger"] = f"ran, but the ledger could not record it: {exc}"
    return {"status": "ran", **result}


def _failures(summary: Mapping[str, object]) -> list[str]:
    """What makes the invocation fail: campaigns that failed, runs whose requests were rejected."""
    found: list[str] = []
    entries = summary.get("campaigns")
    for entry in entries if isinstance(entries, list) else [summary]:
        if not isinstance(entry, Mapping):
            continue
        rejected = entry.get("rejected")
        if entry.get("status") == "failed":
            found.append(f"campaign {entry['campaign']} failed: {entry.get('error')}")
        elif isinstance(rejected, int) and rejected:
            found.append(
                f"campaign {entry['campaign']}: the intake rejected {rejected} request(s) "
                f"({entry.get('problems')}); fix the campaign's template or variables. The "
                "others were queued"
            )
    return found


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, object]:
    """Lambda entry point; a run with rejected requests, or a tick where any campaign failed,
    raises after it is logged (the others of the tick have run)."""
    summary = handle(event, deadline=notify_state.deadline_of(context))
    failures = _failures(summary)
    if failures:
        retry = (
            " The next scheduled tick runs the failed ones again; nobody is notified twice."
            if "campaigns" in summary
            else ""
        )
        raise RunFailedError("; ".join(failures) + "." + retry)
    return summary
