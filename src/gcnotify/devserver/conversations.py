"""Deterministic synthetic conversation history for the conversation details stand-in.

``ConversationModel`` draws ``count`` conversations over the ``days`` before ``now`` from one
seed: voice, messages (web messaging, SMS, WhatsApp) and email, offered to the given queues,
from customers who come back several times. One customer in seven has no external contact; one
conversation in thirty is still open (no ``conversationEnd``). The list is built once as compact
tuples sorted by start (100,000 in under a second), found by bisecting the starts, and each
conversation becomes the API's dict only when a page needs it.
"""

from __future__ import annotations

import random
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

__all__ = ["KINDS", "Conversation", "ConversationModel", "Customer", "stamp"]

# (mediaType, messageType) and their share of conversations.
KINDS: tuple[tuple[str, str | None, float], ...] = (
    ("voice", None, 0.40),
    ("message", "webmessaging", 0.25),
    ("message", "sms", 0.15),
    ("message", "whatsapp", 0.10),
    ("email", None, 0.10),
)
ORG_NUMBER = "+13178723000"
ORG_EMAIL = "support@example.com"
WEB_DEPLOYMENT = "3f1e2d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"
_FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim")
_LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson")
_DAY_MS = 86_400_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def stamp(ms: int) -> str:
    """Epoch milliseconds as Genesys writes instants: UTC, milliseconds, ``Z``."""
    moment = _EPOCH + timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _uuid(kind: int, seed: int, n: int) -> str:
    """A stable UUID-shaped id: the kind and seed in front, the number at the end."""
    return f"{kind:08x}-{seed % 65536:04x}-4{(n >> 48) & 0xFFF:03x}-8000-{n & 0xFFFFFFFFFFFF:012x}"


@dataclass(frozen=True, slots=True)
class Customer:
    """One customer: the addresses their conversations come from, and their contact, if any."""

    index: int
    contact_id: str | None
    first_name: str
    last_name: str
    phone: str
    email: str
    web_id: str


class Conversation(NamedTuple):
    """One conversation, compact: ids and instants (epoch ms) the API dict is built from."""

    number: int  # its place in generation order, stable for the seed
    start_ms: int
    end_ms: int | None  # None: still open
    media_type: str
    message_type: str | None
    queue_id: str
    customer: int
    agent: int | None  # None: abandoned in queue
    queue_ms: int


class ConversationModel:
    """``count`` conversations over the ``days`` before ``now``; the same for the same seed.

    ``customers`` (default a third of ``count``) sets how many people they come from; ``kinds``
    (default ``KINDS``) the media and their shares, e.g. only web messaging for a benchmark.
    """

    def __init__(
        self,
        queue_ids: Sequence[str],
        *,
        now: datetime,
        count: int = 2000,
        days: int = 30,
        seed: int = 7,
        customers: int | None = None,
        kinds: Sequence[tuple[str, str | None, float]] | None = None,
    ) -> None:
        if not queue_ids:
            raise ValueError("the conversation model needs at least one queue")
        shares = KINDS if kinds is None else tuple(kinds)
        if not shares or any(weight <= 0 for _, _, weight in shares):
            raise ValueError("kinds needs at least one (media, message type, share > 0)")
        self.seed = seed
        self.now = now
        self.queue_ids = tuple(queue_ids)
        rng = random.Random(f"gcnotify-conversations:{seed}")
        end_ms = int((now - _EPOCH).total_seconds() * 1000)
        start_ms = end_ms - days * _DAY_MS
        self.customer_count = max(1, count // 3 if customers is None else customers)
        media_kinds = [(m, t) for m, t, _ in shares]
        weights = [w for _, _, w in shares]
        rows: list[Conversation] = []
        random_ = rng.random
        for n in range(count):
            media, message = rng.choices(media_kinds, weights)[0]
            began = start_ms + int(random_() * (end_ms - start_ms))
            # A few heavy customers and many occasional ones: the square skews towards 0.
            customer = int(random_() ** 2 * self.customer_count)
            queue_ms = int(5_000 + random_() * 120_000)
            answered = random_() < 0.9
            handle_ms = int(60_000 + random_() * (3_600_000 if media == "message" else 900_000))
            duration = queue_ms + (handle_ms if answered else 0)
            still_open = random_() < 1 / 30 and began + duration > end_ms - 3 * _DAY_MS
            rows.append(
                Conversation(
                    number=n,
                    start_ms=began,
                    end_ms=None if still_open else began + duration,
                    media_type=media,
                    message_type=message,
                    queue_id=self.queue_ids[n % len(self.queue_ids)],
                    customer=customer,
                    agent=n % 50 if answered else None,
                    queue_ms=queue_ms,
                )
            )
        rows.sort(key=lambda c: c.start_ms)
        self.conversations: list[Conversation] = rows
        self.starts: list[int] = [c.start_ms for c in rows]
        self.by_id: dict[str, int] = {self.conversation_id(c): i for i, c in enumerate(rows)}
        self.max_duration_ms = max(
            (c.end_ms - c.start_ms for c in rows if c.end_ms is not None), default=0
        )
        self.open: list[int] = [i for i, c in enumerate(rows) if c.end_ms is None]

    # ------------------------------------------------------------------ ids and people

    def conversation_id(self, conv: Conversation) -> str:
        return _uuid(0xC0C0A000, self.seed, conv.number)

    def customer(self, index: int) -> Customer:
        """Customer ``index``; every seventh has no external contact."""
        return Customer(
            index=index,
            contact_id=None if index % 7 == 3 else _uuid(0xE0C0A000, self.seed, index),
            first_name=_FIRST[index % len(_FIRST)],
            last_name=_LAST[(index // len(_FIRST)) % len(_LAST)],
            phone=f"+1317{2_000_000 + index % 8_000_000:07d}",
            email=f"customer{index}@example.net",
            web_id=_uuid(0x0EB0A000, self.seed, index),
        )

    def contact_index(self, contact_id: str) -> int | None:
        """The customer behind an external contact id of this model, or None."""
        prefix = _uuid(0xE0C0A000, self.seed, 0)[:14]
        if not contact_id.startswith(prefix) or len(contact_id) != 36:
            return None
        try:
            index = int(contact_id[15:18], 16) << 48 | int(contact_id[24:], 16)
        except ValueError:
            return None
        if index >= self.customer_count or self.customer(index).contact_id != contact_id:
            return None
        return index

    def user_id(self, agent: int) -> str:
        return _uuid(0xA6E00000, self.seed, agent)

    # ------------------------------------------------------------------ selection

    def started_between(self, start_ms: int, end_ms: int) -> range:
        """Positions (in start order) of conversations that started in ``[start_ms, end_ms)``."""
        return range(bisect_left(self.starts, start_ms), bisect_left(self.starts, end_ms))

    def active_between(self, start_ms: int, end_ms: int) -> list[int]:
        """Positions of conversations with activity in ``[start_ms, end_ms)``, in start order."""
        first = bisect_left(self.starts, start_ms - self.max_duration_ms)
        last = bisect_left(self.starts, end_ms)
        closed = [
            i
            for i in range(first, last)
            if (end := self.conversations[i].end_ms) is not None and end > start_ms
        ]
        still_open = [i for i in self.open if i < last]
        return sorted(set(closed).union(still_open))

    # ------------------------------------------------------------------ the API's shape

    def segments(self, conv: Conversation) -> list[dict[str, str | None]]:
        """The segment-level dimensions a filter is matched against, one dict per segment."""
        customer = self.customer(conv.customer)
        address_from, address_to = self._addresses(conv, customer)
        common = {
            "mediaType": conv.media_type,
            "messageType": conv.message_type,
            "direction": "inbound",
            "addressFrom": address_from,
            "addressTo": address_to,
        }
        rows: list[dict[str, str | None]] = [
            {**common, "purpose": "customer", "externalContactId": customer.contact_id},
            {**common, "purpose": "acd", "queueId": conv.queue_id},
        ]
        if conv.agent is not None:
            rows.append(
                {
                    **common,
                    "purpose": "agent",
                    "queueId": conv.queue_id,
                    "userId": self.user_id(conv.agent),
                }
            )
        return rows

    def _addresses(self, conv: Conversation, customer: Customer) -> tuple[str, str]:
        if conv.media_type == "voice":
            return f"tel:{customer.phone}", f"tel:{ORG_NUMBER}"
        if conv.media_type == "email":
            return customer.email, ORG_EMAIL
        if conv.message_type == "webmessaging":
            return customer.web_id, WEB_DEPLOYMENT
        if conv.message_type == "whatsapp":
            return customer.phone.removeprefix("+"), ORG_NUMBER.removeprefix("+")
        return customer.phone, ORG_NUMBER

    def to_api(self, conv: Conversation, *, with_attributes: bool = False) -> dict[str, Any]:
        """The conversation as ``AnalyticsConversation(WithoutAttributes)`` answers it."""
        conversation_id = self.conversation_id(conv)
        customer = self.customer(conv.customer)
        address_from, address_to = self._addresses(conv, customer)
        queued_end = conv.start_ms + conv.queue_ms
        session: dict[str, Any] = {
            "mediaType": conv.media_type,
            "direction": "inbound",
            "addressFrom": address_from,
            "addressTo": address_to,
        }
        if conv.message_type is not None:
            session["messageType"] = conv.message_type

        def segment(begin: int, end: int | None, kind: str, **extra: Any) -> dict[str, Any]:
            seg: dict[str, Any] = {"segmentStart": stamp(begin), "segmentType": kind, **extra}
            if end is not None:
                seg["segmentEnd"] = stamp(end)
            return seg

        def session_of(n: int, segments: list[dict[str, Any]]) -> dict[str, Any]:
            sid = _uuid(0x5E550000 + n, self.seed, conv.number)
            return {"sessionId": sid, **session, "segments": segments}

        customer_part: dict[str, Any] = {
            "participantId": _uuid(0x9A400000, self.seed, conv.number),
            "participantName": f"{customer.first_name} {customer.last_name}",
            "purpose": "customer",
            "sessions": [
                session_of(
                    0, [segment(conv.start_ms, conv.end_ms, "interact", queueId=conv.queue_id)]
                )
            ],
        }
        if customer.contact_id is not None:
            customer_part["externalContactId"] = customer.contact_id
        acd_end = queued_end if conv.agent is not None or conv.end_ms is not None else None
        participants = [
            customer_part,
            {
                "participantId": _uuid(0x9A410000, self.seed, conv.number),
                "participantName": "Queue",
                "purpose": "acd",
                "sessions": [
                    session_of(
                        1, [segment(conv.start_ms, acd_end, "interact", queueId=conv.queue_id)]
                    )
                ],
            },
        ]
        if conv.agent is not None:
            participants.append(
                {
                    "participantId": _uuid(0x9A420000, self.seed, conv.number),
                    "participantName": f"Agent {conv.agent}",
                    "purpose": "agent",
                    "userId": self.user_id(conv.agent),
                    "sessions": [
                        session_of(
                            2,
                            [segment(queued_end, conv.end_ms, "interact", queueId=conv.queue_id)],
                        )
                    ],
                }
            )
        if with_attributes:
            for part in participants:
                part["attributes"] = {}
        answer: dict[str, Any] = {
            "conversationId": conversation_id,
            "conversationStart": stamp(conv.start_ms),
            "originatingDirection": "inbound",
            "divisionIds": ["9e5a2b7c-0d1f-4a3b-8c6d-2e4f6a8b0c1d"],
            "participants": participants,
        }
        if conv.end_ms is not None:
            answer["conversationEnd"] = stamp(conv.end_ms)
        return answer
