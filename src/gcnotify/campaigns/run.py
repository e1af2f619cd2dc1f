"""One campaign run: the audience read from conversation details, then one request per recipient.

The order is chosen so a failure sends nothing: the campaign is checked against the messaging
block first; then the whole audience is built (the open conversations for ``exclude_active``,
then the window's conversations page by page, each new customer's past key, contact and
suppression read once, 100 customers a read);
only then are requests handed to the messaging intake. A details job that fails or never
completes, a results page that stays throttled, a queue that does not exist: each raises before
the first request is taken.

Handing requests over cannot notify anyone twice: each request is keyed
``campaign:<id>:<contact id>``, a key already in the messages table is excluded as
``already_notified`` while the audience is built, and two runs that overlap meet at the
intake's conditional write, where the second is answered ``duplicate``. A run that stops half
way (a table or queue write failed) is simply run again.

Memory holds one details page and what each distinct customer needs (the builder's sets and the
recipients); conversations are never collected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from gcnotify.campaigns.audience import Audience, AudienceBuilder, ContactLike, campaign_window
from gcnotify.campaigns.request import campaign_request
from gcnotify.campaigns.settings import MAX_DAYS_BACK, CampaignChannel, CampaignSettings
from gcnotify.campaigns.settings import cross_check as check_against_messaging
from gcnotify.core.errors import ConfigError, ConfigProblem
from gcnotify.messaging import MessagingSettings, take

if TYPE_CHECKING:
    from gcnotify.aws.messages import MessageStore
    from gcnotify.aws.queue import Outbox
    from gcnotify.aws.suppression import SuppressionTable
    from gcnotify.genesys.contacts import ExternalContacts
    from gcnotify.genesys.details import ConversationDetails

__all__ = ["ACTIVE_LOOKBACK", "CampaignResult", "check_campaign", "run_campaign"]

# How far back the open conversations are read for ``exclude_active``: the sync query's two
# days. A conversation still open after two days is rare enough (an abandoned web chat) that
# missing it costs less than reading the whole window twice.
ACTIVE_LOOKBACK = timedelta(days=2)


@dataclass(frozen=True)
class CampaignResult:
    """What a run found and did; ``to_dict`` is the handler's answer."""

    campaign: str
    dry_run: bool
    audience: Audience
    queued: int = 0  # accepted by the intake now
    duplicates: int = 0  # the intake had the key already (an overlapping run took it first)
    rejected: int = 0  # the intake refused the request (logged with its problems)
    problems: tuple[str, ...] = ()  # the first rejections' problems
    genesys_api_calls: int = 0
    active: int = 0  # open conversations' customers read for exclude_active
    window: tuple[datetime, datetime] | None = None

    def to_dict(self) -> dict[str, object]:
        """The run's counts, with the masked sample a preview shows."""
        audience = self.audience
        out: dict[str, object] = {
            "campaign": self.campaign,
            "dry_run": self.dry_run,
            "conversations": audience.conversations,
            "audience": len(audience.recipients),
            "excluded": dict(audience.excluded),
            "queued": self.queued,
            "genesys_api_calls": self.genesys_api_calls,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "limit_reached": audience.limit_reached,
            "sample": list(audience.sample),
        }
        if self.window is not None:
            out["window"] = [self.window[0].isoformat(), self.window[1].isoformat()]
        if audience.limit_reached:
            over = audience.excluded["over_limit"]
            out["note"] = (
                f"the audience reached its limit of {audience.limit:,}: {over:,} more "
                "customer(s) were left out (over_limit) and are not notified; raise "
                "audience.limit to include them"
            )
        if self.problems:
            out["problems"] = list(self.problems)
        return out


def check_campaign(campaign: CampaignSettings, messaging: MessagingSettings) -> None:
    """Refuse, before any Genesys call, a campaign its config check would have refused."""
    where = f"campaigns[{campaign.id}]"
    problems = [ConfigProblem(p, m) for p, m in check_against_messaging([campaign], messaging)]
    if not 1 <= campaign.audience.days <= MAX_DAYS_BACK:
        problems.append(
            ConfigProblem(
                f"{where}.audience.days",
                f"{campaign.audience.days} is outside 1 to {MAX_DAYS_BACK}: Genesys guarantees "
                f"conversation details for {MAX_DAYS_BACK} days only; give at most "
                f"{MAX_DAYS_BACK}",
            )
        )
    if problems:
        fixed = [ConfigProblem(p.path.replace("campaigns[0]", where), p.message) for p in problems]
        raise ConfigError(fixed, f"campaign {campaign.id}", note="nothing was read or queued")


def run_campaign(
    campaign: CampaignSettings,
    *,
    messaging: MessagingSettings,
    details: ConversationDetails,
    contacts: ExternalContacts,
    suppression: SuppressionTable,
    store: MessageStore,
    outbox: Outbox,
    genesys_calls: Callable[[], int],
    now: datetime,
    dry_run: bool,
    resolve_queues: Callable[[Sequence[str]], Sequence[str]] | None = None,
) -> CampaignResult:
    """Build the campaign's audience and, unless ``dry_run``, take one request per recipient.

    ``resolve_queues`` turns the audience's queue names or ids into ids (the Genesys client's
    ``resolve_queues``: an unknown name is an error naming the closest ones); it is needed only
    when the audience names queues. ``genesys_calls`` reads the client's call counter, so the
    result says what the run cost.
    """
    check_campaign(campaign, messaging)
    calls_before = genesys_calls()
    audience_settings = campaign.audience
    queue_ids: tuple[str, ...] = ()
    if audience_settings.queues:
        if resolve_queues is None:
            raise ValueError(f"campaign {campaign.id} names queues; pass resolve_queues")
        queue_ids = tuple(resolve_queues(audience_settings.queues))
    start, end = campaign_window(now, audience_settings.days, campaign.timezone)
    media, message_type = audience_settings.media_type, audience_settings.message_type

    active: set[str] = set()
    if audience_settings.exclude_active:
        active = _active_contacts(details, now=now, media_type=media, message_type=message_type)

    # Each asked once per batch of 100 customers: one BatchGetItem, not a GetItem each.
    def suppressed(channel: CampaignChannel, addresses: Sequence[str]) -> set[str]:
        return suppression.check_many(channel, addresses)

    def taken(keys: Sequence[str]) -> set[str]:
        return store.existing(keys)

    def lookup(contact_ids: Sequence[str]) -> Mapping[str, ContactLike | None]:
        return contacts.get_many(contact_ids)

    builder = AudienceBuilder.for_campaign(
        campaign,
        suppressed=suppressed,
        taken=taken,
        contacts_lookup=lookup,
        active=active,
        queue_ids=queue_ids or None,
    )
    builder.consume(
        details.conversations(
            start, end, media_type=media, message_type=message_type, queue_ids=queue_ids
        )
    )
    audience = builder.result()
    queued = duplicates = rejected = 0
    problems: list[str] = []
    if not dry_run:
        source = f"campaign:{campaign.id}"
        for recipient in audience.recipients:
            outcome = take(
                campaign_request(campaign, recipient),
                settings=messaging,
                store=store,
                outbox=outbox,
                now=now,
                source=source,
            )
            if outcome.status == "accepted":
                queued += 1
            elif outcome.status == "duplicate":
                duplicates += 1
            else:
                rejected += 1
                if len(problems) < 5:
                    problems.append(f"{outcome.key}: {'; '.join(outcome.problems)}")
    return CampaignResult(
        campaign=campaign.id,
        dry_run=dry_run,
        audience=audience,
        queued=queued,
        duplicates=duplicates,
        rejected=rejected,
        problems=tuple(problems),
        genesys_api_calls=genesys_calls() - calls_before,
        active=len(active),
        window=(start, end),
    )


def _active_contacts(
    details: ConversationDetails, *, now: datetime, media_type: str, message_type: str | None
) -> set[str]:
    """The external contact ids of customers with a conversation of this media open now."""
    found: set[str] = set()
    stream = details.conversations(
        now - ACTIVE_LOOKBACK,
        now,
        media_type=media_type,
        message_type=message_type,
        open_only=True,
    )
    for conversation in stream:
        participants = conversation.get("participants")
        for participant in participants if isinstance(participants, list) else []:
            if not isinstance(participant, Mapping) or participant.get("purpose") != "customer":
                continue
            contact = participant.get("externalContactId")
            if isinstance(contact, str) and contact.strip():
                found.add(contact.strip().lower())
    return found
