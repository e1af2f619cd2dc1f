"""The Genesys seam for delivery receipts: the ``MessageData`` of many messages in few calls.

Two reads answer a message's receipts (SDK ``ConversationsApi``):

- ``GET /api/v2/conversations/messages/{messageId}/details``: one message;
- ``POST /api/v2/conversations/messages/{conversationId}/messages/bulk``: the listed messages of
  one conversation (a JSON array of at most 1,000 ids), answered as a ``TextMessageListing``.

``plan_calls`` groups the messages by conversation: a conversation holding several pending
messages is read in bulk (1,000 ids a call), a lone message by its details. An agentless send
opens a conversation of its own unless it asks for ``useExistingActiveConversation``, so most
conversations hold one message and most calls are details reads; ``bench/receipts_poll.py``
measures both populations. ``ReceiptReader.read`` makes one call through ``GenesysClient``
(its token, retry policy, ``Retry-After`` and call counting) and never raises a
``GenesysError``: the outcome carries it, so the poller can count failures for its breaker.

Analytics screens many messages in one call: ``GET /api/v2/analytics/conversations/details
?id=a,b,…`` (SDK ``get_analytics_conversations_details``, "Gets multiple conversations by id",
permission ``analytics:conversationDetail:view``) answers each conversation's sessions with their
``deliveryStatus`` and ``deliveryStatusChangeDate``. ``ReceiptReader.screen`` asks
``SCREEN_MAX`` (100) conversations a call; the SDK states no maximum, so a size Genesys refuses
(400, 413, 414) is halved down to one id, and a conversation still refused is left for its
details read. Analytics shows a conversation's status, not each message's, and shows it after
a lag: the poller uses it only for a conversation its send opened and holding one message.

A lost-response send (the sender never learnt the message id) can be looked for by its
recipient: ``find_sent`` asks the conversation details query (analytics) for outbound message
conversations from our sender to that address around the send, then reads each conversation
(``GET /api/v2/conversations/messages/{conversationId}``) for its messages. Analytics lags the
send (seconds to minutes), so a message not found yet may be found by a later run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from gcnotify.core.errors import GenesysError, GenesysRequestError
from gcnotify.core.values import instant, iso_utc_ms

if TYPE_CHECKING:
    from gcnotify.genesys.client import GenesysClient

__all__ = [
    "BULK_MAX",
    "BULK_PATH",
    "CONVERSATION_PATH",
    "DETAILS_PATH",
    "FIND_PERMISSION",
    "RECEIPT_PERMISSION",
    "SCREEN_MAX",
    "SCREEN_PATH",
    "CallResult",
    "Found",
    "MessageRef",
    "ReceiptCall",
    "ReceiptReader",
    "Screened",
    "bulk_path",
    "details_path",
    "find_query",
    "plan_calls",
]

DETAILS_PATH = "/api/v2/conversations/messages/{message_id}/details"
BULK_PATH = "/api/v2/conversations/messages/{conversation_id}/messages/bulk"
CONVERSATION_PATH = "/api/v2/conversations/messages/{conversation_id}"
FIND_QUERY_PATH = "/api/v2/analytics/conversations/details/query"
SCREEN_PATH = "/api/v2/analytics/conversations/details"
SCREEN_MAX = 100  # ids a multi get lists; Genesys states no maximum (public callers use 100)
_SCREEN_REFUSED = frozenset({400, 413, 414})  # a size refused: halved
BULK_MAX = 1000  # "The max messages you can request in the body is 1,000" (SDK docs)
# SDK docs: both reads "Require ANY permissions" of these two.
RECEIPT_PERMISSION = "conversation:message:view (or conversation:webmessaging:view)"
FIND_PERMISSION = "analytics:conversationDetail:view"
_FIND_PAGE = 25  # a recipient has few conversations around one send


def details_path(message_id: str) -> str:
    return DETAILS_PATH.format(message_id=message_id)


def bulk_path(conversation_id: str) -> str:
    return BULK_PATH.format(conversation_id=conversation_id)


@dataclass(frozen=True)
class MessageRef:
    """A sent message as its record knows it: the message id and, when given, its conversation."""

    message_id: str
    conversation_id: str | None = None


@dataclass(frozen=True)
class ReceiptCall:
    """One request: ``bulk`` reads listed messages of one conversation, ``details`` one message,
    ``screen`` the conversations (``conversation_ids``, in the order of ``message_ids``) of
    one-message conversations by analytics."""

    kind: Literal["bulk", "details", "screen"]
    message_ids: tuple[str, ...]
    conversation_id: str | None = None
    conversation_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Screened:
    """What analytics shows of one conversation: its start and its sessions' delivery status
    (``status`` None when the sessions disagree or show none)."""

    conversation_id: str
    started: datetime | None
    status: str | None
    changed: datetime | None


def screen_calls(refs: Iterable[MessageRef], *, size: int = SCREEN_MAX) -> list[ReceiptCall]:
    """``refs`` (each with its conversation id) as screen calls of ``size`` conversations."""
    if not 1 <= size <= SCREEN_MAX:
        raise ValueError(f"size must be 1 to {SCREEN_MAX}")
    listed = [(r.message_id, r.conversation_id) for r in refs if r.conversation_id]
    return [
        ReceiptCall(
            "screen",
            tuple(m for m, _ in listed[i : i + size]),
            conversation_ids=tuple(str(c) for _, c in listed[i : i + size]),
        )
        for i in range(0, len(listed), size)
    ]


def plan_calls(
    refs: Iterable[MessageRef], *, bulk_max: int = BULK_MAX, bulk_from: int = 2
) -> list[ReceiptCall]:
    """The fewest calls that read every message of ``refs``, in the order they first appear.

    A conversation with ``bulk_from`` or more of the messages is read in bulk, ``bulk_max`` ids a
    call; every other message by its details. A message id listed twice is read once.
    """
    if not 1 <= bulk_max <= BULK_MAX:
        raise ValueError(f"bulk_max must be 1 to {BULK_MAX}")
    groups: dict[str | None, list[str]] = {}
    order: list[tuple[str | None, str]] = []
    seen: set[str] = set()
    for ref in refs:
        if not ref.message_id or ref.message_id in seen:
            continue
        seen.add(ref.message_id)
        conversation = ref.conversation_id or None
        groups.setdefault(conversation, []).append(ref.message_id)
        order.append((conversation, ref.message_id))
    calls: list[ReceiptCall] = []
    planned: set[str | None] = set()
    for conversation, message_id in order:
        ids = groups[conversation]
        if conversation is None or len(ids) < bulk_from:
            calls.append(ReceiptCall("details", (message_id,)))
            continue
        if conversation in planned:
            continue
        planned.add(conversation)
        for start in range(0, len(ids), bulk_max):
            calls.append(ReceiptCall("bulk", tuple(ids[start : start + bulk_max]), conversation))
    return calls


@dataclass(frozen=True)
class CallResult:
    """What one call answered.

    ``messages``: the ``MessageData`` of each asked message that came back; ``missing``: asked
    ones Genesys does not hold (404, or left out of the bulk listing); ``unasked``: entities of the
    answer nobody asked for (never applied; counted). ``error`` is set when the call failed: every
    asked message is then neither found nor missing, and is read again by a later run. A screen
    answers ``screened`` by message id instead; a message analytics does not show (yet) is in
    ``missing``, to be read by its details.
    """

    call: ReceiptCall
    messages: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    unasked: tuple[Mapping[str, Any], ...] = ()
    seconds: float = 0.0
    error: GenesysError | None = None
    screened: Mapping[str, Screened] = field(default_factory=dict)


@dataclass(frozen=True)
class Found:
    """A message of ours that ``find_sent`` found: its ids and its ``MessageData``."""

    message_id: str
    conversation_id: str
    message: Mapping[str, Any]


def find_query(
    *,
    channel: str,
    to_address: str | None,
    external_contact_id: str | None = None,
    from_address: str | None = None,
    start: datetime,
    end: datetime,
) -> dict[str, Any]:
    """The conversation details query for outbound ``channel`` message conversations to
    ``to_address`` (web messaging: to ``external_contact_id``), from ``from_address`` when given,
    that started on the days ``[start, end)`` touches."""
    if to_address is None and external_contact_id is None:
        raise ValueError("a sent message is found by its to_address or its external_contact_id")

    def matches(dimension: str, value: str) -> dict[str, str]:
        return {"type": "dimension", "dimension": dimension, "operator": "matches", "value": value}

    predicates = [
        matches("mediaType", "message"),
        matches("messageType", channel),
        matches("direction", "outbound"),
        matches("addressTo", to_address)
        if to_address is not None
        else matches("externalContactId", str(external_contact_id)),
    ]
    if from_address:
        predicates.append(matches("addressFrom", from_address))
    return {
        "interval": f"{iso_utc_ms(start)}/{iso_utc_ms(end)}",
        "order": "asc",
        "orderBy": "conversationStart",
        "segmentFilters": [{"type": "and", "predicates": predicates}],
        "paging": {"pageSize": _FIND_PAGE, "pageNumber": 1},
    }


class ReceiptReader:
    """Reads receipts through one ``GenesysClient``; safe to use from several threads."""

    def __init__(self, client: GenesysClient, *, clock: Callable[[], float] = time.monotonic):
        self.client = client
        self._clock = clock
        # Asked for the n requests a refused screen size adds (the poller's budget); False
        # leaves those conversations unscreened, for their details reads.
        self.may_split: Callable[[int], bool] = lambda n: True

    def read(self, call: ReceiptCall) -> CallResult:
        """One call; a ``GenesysError`` is returned on the result, never raised."""
        started = self._clock()
        if call.kind == "screen":
            return self._screen_call(call, started)
        try:
            if call.kind == "bulk":
                if call.conversation_id is None:
                    raise ValueError("a bulk read needs the conversation id")
                if not 1 <= len(call.message_ids) <= BULK_MAX:
                    raise ValueError(f"a bulk read takes 1 to {BULK_MAX} message ids")
                answer = self._bulk(call.conversation_id, call.message_ids)
            else:
                answer = self._details(call.message_ids[0])
        except GenesysError as exc:
            return CallResult(call, seconds=self._clock() - started, error=exc)
        asked = set(call.message_ids)
        found: dict[str, Mapping[str, Any]] = {}
        unasked: list[Mapping[str, Any]] = []
        for entity in answer:
            message_id = entity.get("id")
            if isinstance(message_id, str) and message_id in asked:
                found.setdefault(message_id, entity)
            else:
                unasked.append(entity)
        missing = tuple(m for m in call.message_ids if m not in found)
        return CallResult(call, found, missing, tuple(unasked), self._clock() - started)

    def read_all(self, refs: Iterable[MessageRef]) -> list[CallResult]:
        """Every message of ``refs``, call by call (``plan_calls``), one after the other."""
        return [self.read(call) for call in plan_calls(refs)]

    def _details(self, message_id: str) -> list[Mapping[str, Any]]:
        try:
            data = self.client.get_json(details_path(message_id), permission=RECEIPT_PERMISSION)
        except GenesysRequestError as exc:
            if exc.status == 404:
                return []
            raise
        return [data]

    def _bulk(self, conversation_id: str, ids: Sequence[str]) -> list[Mapping[str, Any]]:
        try:
            listing = self.client.post_json(
                bulk_path(conversation_id), list(ids), permission=RECEIPT_PERMISSION
            )
        except GenesysRequestError as exc:
            if exc.status == 404:  # the conversation is gone: so are its messages
                return []
            raise
        entities = listing.get("entities")
        if not isinstance(entities, list):
            return []
        return [e for e in entities if isinstance(e, Mapping)]

    # ------------------------------------------------------------ analytics screen

    def _screen_call(self, call: ReceiptCall, started: float) -> CallResult:
        if len(call.conversation_ids) != len(call.message_ids) or not call.message_ids:
            raise ValueError("a screen lists one conversation id per message id")
        try:
            shown = self.screen(call.conversation_ids)
        except GenesysError as exc:
            return CallResult(call, seconds=self._clock() - started, error=exc)
        screened = {
            m: shown[c]
            for m, c in zip(call.message_ids, call.conversation_ids, strict=True)
            if c in shown
        }
        missing = tuple(m for m in call.message_ids if m not in screened)
        seconds = self._clock() - started
        return CallResult(call, missing=missing, seconds=seconds, screened=screened)

    def screen(self, conversation_ids: Sequence[str]) -> dict[str, Screened]:
        """What analytics shows of each listed conversation (those it holds), ``SCREEN_MAX`` a
        request; a size refused is halved. Raises ``GenesysError`` for any other failure."""
        shown: dict[str, Screened] = {}
        unique = list(dict.fromkeys(conversation_ids))
        pending = [unique[i : i + SCREEN_MAX] for i in range(0, len(unique), SCREEN_MAX)]
        while pending:
            ids = pending.pop(0)
            try:
                answer = self.client.get_json(
                    SCREEN_PATH, params={"id": ",".join(ids)}, permission=FIND_PERMISSION
                )
            except GenesysRequestError as exc:
                if exc.status not in _SCREEN_REFUSED:
                    raise
                if len(ids) > 1 and self.may_split(2):
                    half = len(ids) // 2
                    pending[:0] = [ids[:half], ids[half:]]
                continue  # one id refused, or no more requests allowed: left for the details
            wanted = set(ids)
            for conversation in answer.get("conversations") or ():
                found = _screened(conversation)
                if found is not None and found.conversation_id in wanted:
                    shown[found.conversation_id] = found
        return shown

    # ------------------------------------------------------------ lost responses

    def find_sent(
        self,
        *,
        channel: str,
        to_address: str | None,
        external_contact_id: str | None = None,
        from_address: str | None = None,
        start: datetime,
        end: datetime,
        known: Iterable[str] = (),
    ) -> list[Found]:
        """Outbound messages to the recipient sent within ``[start, end)`` that are not among
        ``known`` message ids, oldest first; raises ``GenesysError`` (the caller counts it).

        One details query, then one read per conversation it names. Analytics shows a
        conversation some time after it started: an empty answer may only mean "not yet".
        """
        body = find_query(
            channel=channel,
            to_address=to_address,
            external_contact_id=external_contact_id,
            from_address=from_address,
            start=start,
            end=end,
        )
        answer = self.client.post_json(FIND_QUERY_PATH, body, permission=FIND_PERMISSION)
        conversations = answer.get("conversations")
        ids = [
            c["conversationId"]
            for c in conversations or ()
            if isinstance(c, Mapping) and isinstance(c.get("conversationId"), str)
        ]
        skip = set(known)
        found: list[Found] = []
        for conversation_id in dict.fromkeys(ids):
            messages = sorted(
                self._conversation_messages(conversation_id),
                key=lambda m: m[1] or datetime.min.replace(tzinfo=UTC),
            )
            for message_id, sent_at in messages:
                if message_id in skip or sent_at is None or not start <= sent_at < end:
                    continue
                data = self._details(message_id)
                if data and data[0].get("direction", "outbound") == "outbound":
                    found.append(Found(message_id, conversation_id, data[0]))
        return found

    def _conversation_messages(self, conversation_id: str) -> list[tuple[str, datetime | None]]:
        path = CONVERSATION_PATH.format(conversation_id=conversation_id)
        try:
            conversation = self.client.get_json(path, permission=RECEIPT_PERMISSION)
        except GenesysRequestError as exc:
            if exc.status == 404:
                return []
            raise
        out: list[tuple[str, datetime | None]] = []
        for participant in conversation.get("participants") or ():
            if not isinstance(participant, Mapping):
                continue
            for message in participant.get("messages") or ():
                if isinstance(message, Mapping) and isinstance(message.get("messageId"), str):
                    out.append((message["messageId"], instant(message.get("messageTime"))))
        return out


def _screened(conversation: object) -> Screened | None:
    """An ``AnalyticsConversation`` as the screen reads it."""
    if not isinstance(conversation, Mapping):
        return None
    conversation_id = conversation.get("conversationId")
    if not isinstance(conversation_id, str):
        return None
    statuses: dict[str, datetime | None] = {}
    for participant in conversation.get("participants") or ():
        if not isinstance(participant, Mapping):
            continue
        for session in participant.get("sessions") or ():
            if isinstance(session, Mapping) and isinstance(session.get("deliveryStatus"), str):
                changed = instant(session.get("deliveryStatusChangeDate"))
                status = session["deliveryStatus"]
                known = statuses.get(status)
                statuses[status] = max(filter(None, (known, changed)), default=None)
    status, changed = next(iter(statuses.items())) if len(statuses) == 1 else (None, None)
    started = instant(conversation.get("conversationStart"))
    return Screened(conversation_id, started, status, changed)
