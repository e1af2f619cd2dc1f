"""Who a campaign notifies, decided from conversation details alone.

Everything here is a plain function of its inputs: the conversations come in as the details
API's dicts (``AnalyticsConversation``), and whatever needs a lookup (the contact record, the
suppression table, the campaign's own past requests) is a callable the caller hands in, so the
audience is tested without mocks. Choices made here, and why:

- A customer is a ``purpose: customer`` participant with a session of the audience's media.
  Customers are told apart by external contact id, else by the session's address: the address
  only tells customers without a contact apart, it is never used to send.
- Each distinct customer is counted once, in ``recipients`` or under one exclusion reason, so
  ``candidates == len(recipients) + sum(excluded.values())``. Memory grows with distinct
  customers, not conversations.
- The checks run cheapest first, and a lookup is spent only on a customer still in the running:
  ``no_contact`` (no external contact id, or its record is gone: web messaging contacts are
  ephemeral and Genesys deletes them after 60 days), ``active`` (an open conversation now),
  ``over_limit`` (the cap is reached; nothing more is looked up), ``already_notified`` (this
  campaign's key was accepted before), ``no_address`` (the contact has no phone or email for the
  channel), ``suppressed``, ``duplicate_address`` (another contact of this run has the same
  phone or email, so it is not notified twice).
- The customers still in the running after ``over_limit`` wait in a batch (``lookup_batch``,
  100: a BatchGetItem's keys and a bulk contact read's ids), and each question after it is asked
  once per batch: the past keys, then the contacts of those not taken, then the suppression of
  their addresses. A batch is finished early once it could fill the limit, so the audience and
  every count are what one customer at a time would give.
- Web messaging needs no address: the external contact id is the address. SMS, WhatsApp and
  email take the contact's first phone (cell first) or first email, never a session's address.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Literal, Protocol

import pytz

from gcnotify.campaigns.settings import CampaignChannel, CampaignSettings
from gcnotify.core.windows import local_date, start_of_day

__all__ = [
    "EXCLUSION_REASONS",
    "SAMPLE_SIZE",
    "Audience",
    "AudienceBuilder",
    "Candidate",
    "ContactLike",
    "ContactLookup",
    "ContactsLookup",
    "ExclusionReason",
    "Recipient",
    "SuppressedLookup",
    "TakenLookup",
    "campaign_key",
    "campaign_window",
    "customers",
    "mask",
]

ExclusionReason = Literal[
    "no_contact",
    "active",
    "over_limit",
    "already_notified",
    "no_address",
    "suppressed",
    "duplicate_address",
]
EXCLUSION_REASONS: tuple[ExclusionReason, ...] = (
    "no_contact",
    "active",
    "over_limit",
    "already_notified",
    "no_address",
    "suppressed",
    "duplicate_address",
)
SAMPLE_SIZE = 5


class ContactLike(Protocol):
    """What the audience reads of an external contact record."""

    @property
    def id(self) -> str: ...
    @property
    def first_name(self) -> str | None: ...
    @property
    def last_name(self) -> str | None: ...
    @property
    def phones(self) -> Sequence[str]: ...
    @property
    def emails(self) -> Sequence[str]: ...


ContactLookup = Callable[[str], ContactLike | None]
# Many contacts in one call (the bulk read): every id asked is in the answer, None when gone.
ContactsLookup = Callable[[Sequence[str]], Mapping[str, ContactLike | None]]
# The addresses (of those asked, as asked) that are suppressed on the channel.
SuppressedLookup = Callable[[CampaignChannel, Sequence[str]], Collection[str]]
# The campaign keys (of those asked) already taken by an earlier request.
TakenLookup = Callable[[Sequence[str]], Collection[str]]
LOOKUP_BATCH = 100  # customers whose past keys, contacts and suppressions are read together


def campaign_window(run_at: datetime, days: int, zone: str) -> tuple[datetime, datetime]:
    """From local 00:00 ``days`` days before the run's local date, to the run itself.

    Both ends are in ``zone``. The start is that day's first instant (local midnight, or the
    clock jump where a zone skips midnight), so a window across a DST change is an hour longer
    or shorter than ``days`` times 24 hours, as the wall clock says.
    """
    if run_at.utcoffset() is None:
        raise ValueError(f"run_at {run_at.isoformat()} is naive; pass a timezone-aware datetime")
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    first = local_date(run_at, zone) - timedelta(days=days)
    start = start_of_day(first, zone)
    # Through the zone, not start's tzinfo: pytz gives each offset its own, and the run may be
    # on the other side of a DST change.
    return start, run_at.astimezone(pytz.timezone(zone))


def campaign_key(campaign_id: str, contact: str) -> str:
    """The idempotency key of one campaign's request to one contact, the same on every run."""
    return f"campaign:{campaign_id}:{contact.strip().lower()}"


def mask(address: str) -> str:
    """An address shown in a preview: enough to recognise, too little to use.

    A phone keeps its + and its last 4 digits (3 when it has at most 9 digits, 2 at most 6), an
    email its first letter and its domain, anything else (a contact id) its last 4 characters.
    """
    if "@" in address:
        local, _, domain = address.rpartition("@")
        return f"{local[:1]}***@{domain}" if local else f"***@{domain}"
    digits = address.removeprefix("+")
    if digits.isdigit():
        keep = 4 if len(digits) >= 10 else 3 if len(digits) > 6 else 2
        keep = min(keep, len(digits) - 1)
        plus = "+" if address.startswith("+") else ""
        return plus + "*" * (len(digits) - keep) + digits[len(digits) - keep :]
    return "***" + address[-4:] if len(address) > 4 else "***"


@dataclass(frozen=True)
class Candidate:
    """One customer participant of one conversation."""

    conversation_id: str
    contact_id: str | None  # the external contact id, lowercase
    address: str | None  # the customer's side of the session; only to tell customers apart


def customers(
    conversations: Iterable[Mapping[str, object]],
    *,
    media: str,
    message_type: str | None = None,
    queue_ids: Collection[str] | None = None,
) -> Iterator[Candidate]:
    """The customer participants with a session of this ``media`` (and ``message_type``).

    ``media`` is the analytics ``mediaType`` (``message``, ``voice``, ``email``);
    ``message_type`` narrows messages (``webmessaging``, ``sms``, ``whatsapp``, ``open``).
    With ``queue_ids``, only conversations with a segment in one of those queues count: the
    query filters the same way, and this keeps a broader answer from widening the audience.
    Anything not shaped like a conversation is skipped, never guessed at.
    """
    for conversation in conversations:
        if not isinstance(conversation, Mapping):
            continue
        participants = conversation.get("participants")
        if not isinstance(participants, list):
            continue
        if queue_ids is not None and not _in_queues(participants, queue_ids):
            continue
        conversation_id = conversation.get("conversationId")
        cid = conversation_id if isinstance(conversation_id, str) else ""
        for participant in participants:
            if not isinstance(participant, Mapping) or participant.get("purpose") != "customer":
                continue
            session = _session(participant, media, message_type)
            if session is None:
                continue
            contact = participant.get("externalContactId")
            contact_id = contact.strip().lower() if isinstance(contact, str) else ""
            yield Candidate(cid, contact_id or None, _address(session, media))


def _in_queues(participants: list[object], queue_ids: Collection[str]) -> bool:
    for participant in participants:
        sessions = participant.get("sessions") if isinstance(participant, Mapping) else None
        for session in sessions if isinstance(sessions, list) else []:
            segments = session.get("segments") if isinstance(session, Mapping) else None
            for segment in segments if isinstance(segments, list) else []:
                if isinstance(segment, Mapping) and segment.get("queueId") in queue_ids:
                    return True
    return False


def _session(
    participant: Mapping[str, object], media: str, message_type: str | None
) -> Mapping[str, object] | None:
    sessions = participant.get("sessions")
    for session in sessions if isinstance(sessions, list) else []:
        if not isinstance(session, Mapping) or session.get("mediaType") != media:
            continue
        if message_type is None or session.get("messageType") == message_type:
            return session
    return None


def _address(session: Mapping[str, object], media: str) -> str | None:
    """The customer's own address: where an inbound session came from, an outbound one went."""
    outbound = session.get("direction") == "outbound"
    names: tuple[str, ...]
    if media == "voice":
        names = ("dnis", "addressTo") if outbound else ("ani", "addressFrom")
    else:
        names = ("addressTo",) if outbound else ("addressFrom",)
    for name in names:
        value = session.get(name)
        if isinstance(value, str) and value.strip():
            return _normal(value)
    return None


def _normal(address: str) -> str:
    """One spelling per address: no ``tel:``/``sip:``/``mailto:`` scheme, emails lowercase."""
    text = address.strip()
    for scheme in ("tel:", "sip:", "mailto:"):
        if text.lower().startswith(scheme):
            text = text[len(scheme) :]
    return text.lower() if "@" in text else text


@dataclass(frozen=True)
class Recipient:
    """One customer to notify: the contact, the address for the channel, the contact's names."""

    contact_id: str
    address: str  # the contact id itself for web messaging
    first_name: str | None = None
    last_name: str | None = None


@dataclass(frozen=True)
class Audience:
    """A campaign's audience and how it was arrived at (a preview shows exactly this)."""

    campaign: str
    conversations: int
    candidates: int  # distinct customers found: recipients plus every exclusion
    recipients: tuple[Recipient, ...]
    excluded: Mapping[ExclusionReason, int]  # every reason, zeros included, in a fixed order
    sample: tuple[str, ...]  # the first recipients' addresses, masked
    limit: int | None = None
    limit_reached: bool = False

    def summary(self) -> dict[str, object]:
        """The counts as a run result shows them."""
        return {
            "campaign": self.campaign,
            "conversations": self.conversations,
            "candidates": self.candidates,
            "audience": len(self.recipients),
            "excluded": dict(self.excluded),
            "limit_reached": self.limit_reached,
            "sample": list(self.sample),
        }


@dataclass(kw_only=True)
class AudienceBuilder:
    """Consumes conversations one at a time and keeps only what a distinct customer needs.

    ``contact_lookup`` (one contact) or ``contacts_lookup`` (many at once, the bulk read) is
    required for the channels that need an address (sms, whatsapp, email); for web messaging it
    is optional, and given, a contact whose record is gone is excluded as ``no_contact`` instead
    of failing at send. Customers still in the running wait in a batch of ``lookup_batch``; the
    batch is finished early when it could reach ``limit``, so the audience is the same as one
    customer at a time would give.

    ``active`` holds the contact ids with an open conversation now; ``taken(keys)`` answers
    which of this campaign's keys were taken before (the messages table); ``suppressed(channel,
    addresses)`` which addresses the suppression table holds. Each is asked once per batch.
    """

    campaign_id: str
    channel: CampaignChannel
    media: str
    message_type: str | None = None
    # No defaults: an audience that forgot the suppression table or the past keys is unsafe.
    suppressed: SuppressedLookup
    taken: TakenLookup
    contact_lookup: ContactLookup | None = None
    contacts_lookup: ContactsLookup | None = None
    lookup_batch: int = LOOKUP_BATCH
    active: Collection[str] = frozenset()
    limit: int | None = None
    queue_ids: Collection[str] | None = None
    sample_size: int = SAMPLE_SIZE
    conversations: int = field(default=0, init=False)
    _pending: list[str] = field(default_factory=list, init=False, repr=False)
    _seen: set[str] = field(default_factory=set, init=False, repr=False)
    _addresses: set[str] = field(default_factory=set, init=False, repr=False)
    _recipients: list[Recipient] = field(default_factory=list, init=False, repr=False)
    _excluded: dict[ExclusionReason, int] = field(
        default_factory=lambda: dict.fromkeys(EXCLUSION_REASONS, 0), init=False, repr=False
    )

    def __post_init__(self) -> None:
        if self.contact_lookup is not None and self.contacts_lookup is not None:
            raise ValueError("give contact_lookup or contacts_lookup, not both")
        no_lookup = self.contact_lookup is None and self.contacts_lookup is None
        if no_lookup and self.channel != "webmessaging":
            raise ValueError(f"a {self.channel} audience needs contact_lookup for its addresses")
        if self.lookup_batch < 1:
            raise ValueError(f"lookup_batch must be at least 1, got {self.lookup_batch}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be at least 1, got {self.limit}")
        self.active = frozenset(a.lower() for a in self.active)

    @classmethod
    def for_campaign(
        cls,
        campaign: CampaignSettings,
        *,
        suppressed: SuppressedLookup,
        taken: TakenLookup,
        contact_lookup: ContactLookup | None = None,
        contacts_lookup: ContactsLookup | None = None,
        active: Collection[str] = frozenset(),
        queue_ids: Collection[str] | None = None,
    ) -> AudienceBuilder:
        """A builder with the campaign's media, channel and limit; ``active`` only if asked."""
        audience = campaign.audience
        return cls(
            campaign_id=campaign.id,
            channel=campaign.channel,
            media=audience.media_type,
            message_type=audience.message_type,
            suppressed=suppressed,
            taken=taken,
            contact_lookup=contact_lookup,
            contacts_lookup=contacts_lookup,
            active=active if audience.exclude_active else frozenset(),
            limit=audience.limit,
            queue_ids=queue_ids,
        )

    def consume(self, conversations: Iterable[Mapping[str, object]]) -> AudienceBuilder:
        """Take every conversation of a stream (pages, a job's results); returns ``self``."""
        found = customers(
            self._counted(conversations),
            media=self.media,
            message_type=self.message_type,
            queue_ids=self.queue_ids,
        )
        for candidate in found:
            self._consider(candidate)
        self._flush()
        return self

    def result(self) -> Audience:
        """The audience so far."""
        self._flush()
        recipients = tuple(self._recipients)
        return Audience(
            campaign=self.campaign_id,
            conversations=self.conversations,
            candidates=len(recipients) + sum(self._excluded.values()),
            recipients=recipients,
            excluded=MappingProxyType(dict(self._excluded)),
            sample=tuple(mask(r.address) for r in recipients[: self.sample_size]),
            limit=self.limit,
            limit_reached=self._excluded["over_limit"] > 0,
        )

    def _counted(
        self, conversations: Iterable[Mapping[str, object]]
    ) -> Iterator[Mapping[str, object]]:
        for conversation in conversations:
            self.conversations += 1
            yield conversation

    def _consider(self, candidate: Candidate) -> None:
        """The checks that need no lookup; a customer still in the running joins the batch."""
        contact_id = candidate.contact_id
        if contact_id is None:
            # Never an address guessed from a session: counted once per address, then dropped.
            if candidate.address is None:
                self._exclude("no_contact")
            elif (seen := f"address:{candidate.address}") not in self._seen:
                self._seen.add(seen)
                self._exclude("no_contact")
            return
        if contact_id in self._seen:
            return
        self._seen.add(contact_id)
        if contact_id in self.active:
            self._exclude("active")
            return
        # Exact although the batch waits: the batch is finished as soon as it could fill the
        # limit, so recipients + waiting < limit here, whatever the waiting turn out to be.
        if self.limit is not None and len(self._recipients) >= self.limit:
            self._exclude("over_limit")
            return
        self._pending.append(contact_id)
        could_fill = (
            self.limit is not None and len(self._recipients) + len(self._pending) >= self.limit
        )
        if len(self._pending) >= self.lookup_batch or could_fill:
            self._flush()

    def _flush(self) -> None:
        """Finish the waiting customers' checks, in arrival order: the past keys, then the
        contacts of those not taken, then the suppression of their addresses (once each)."""
        if not self._pending:
            return
        waiting, self._pending = self._pending, []
        keys = {contact_id: campaign_key(self.campaign_id, contact_id) for contact_id in waiting}
        taken = set(self.taken(list(keys.values())))
        fresh = [contact_id for contact_id in waiting if keys[contact_id] not in taken]
        found = self._look_up(fresh)
        addresses = {
            contact_id: self._address_of(contact_id, None if found is None else found[contact_id])
            for contact_id in fresh
            if found is None or found[contact_id] is not None
        }
        asked = list(dict.fromkeys(a for a in addresses.values() if a is not None))
        suppressed = set(self.suppressed(self.channel, asked)) if asked else set()
        for contact_id in waiting:
            if keys[contact_id] in taken:
                self._exclude("already_notified")
            elif contact_id not in addresses:
                self._exclude("no_contact")  # its record is gone
            elif (address := addresses[contact_id]) is None:
                self._exclude("no_address")
            elif address in suppressed:
                self._exclude("suppressed")
            elif address in self._addresses:
                self._exclude("duplicate_address")
            else:
                contact = None if found is None else found[contact_id]
                self._addresses.add(address)
                self._recipients.append(
                    Recipient(
                        contact_id=contact_id,
                        address=address,
                        first_name=None if contact is None else contact.first_name,
                        last_name=None if contact is None else contact.last_name,
                    )
                )

    def _look_up(self, contact_ids: list[str]) -> dict[str, ContactLike | None] | None:
        """Every id's contact (None when gone); None when this audience looks nothing up."""
        if self.contacts_lookup is not None:
            answer = self.contacts_lookup(contact_ids) if contact_ids else {}
            # An id the bulk read left out is a contact it did not find.
            return {contact_id: answer.get(contact_id) for contact_id in contact_ids}
        if self.contact_lookup is not None:
            return {contact_id: self.contact_lookup(contact_id) for contact_id in contact_ids}
        return None

    def _address_of(self, contact_id: str, contact: ContactLike | None) -> str | None:
        if self.channel == "webmessaging":
            return contact_id
        if contact is None:
            return None
        if self.channel == "email":
            return next((e.strip().lower() for e in contact.emails if e and e.strip()), None)
        return next((p.strip() for p in contact.phones if p and p.strip()), None)

    def _exclude(self, reason: ExclusionReason) -> None:
        self._excluded[reason] += 1
