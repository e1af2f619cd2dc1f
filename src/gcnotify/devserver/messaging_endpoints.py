"""The Genesys stand-in's endpoints for notifications: agentless messages and emails, and the
Response Management responses WhatsApp templates name.

Bodies are validated against the bundled schemas (400 ``ErrorBody`` with the failing path), and
answers have the real shapes: the SDK's ``SendAgentlessOutboundMessageResponse`` (``message``
being its ``MessageData``; ``textBody`` and ``messagingTemplate`` echoed as the Developer
Center's agentless SMS guide and earlier SDKs show), ``AgentlessEmailSendResponseDto`` and
``Response``. Success is 200, the status the SDK declares for both sends.

Every accepted send is kept in ``sent``, so a test can assert that exactly one message reached
"Genesys". Faults a sender must survive: ``throttle`` (429 with ``Retry-After``), ``lose_next``
(accepted and recorded, then the connection closes without an answer) and ``refuse`` (an address
answered with an ``ErrorBody`` code). Which codes Genesys puts in a send's synchronous
``ErrorBody`` is not documented; the stand-in borrows the delivery failure codes
(``InvalidDestination``, ``RecipientOptedOut``, …) a receipt carries.

Receipts: every accepted agentless message gets a deterministic ``Timeline`` (``receipt_seed``,
its sequence number, channel and send time): queued, then ``sent`` after seconds, then
``delivery-success`` (``read`` later on channels with read receipts) or ``delivery-failed`` with a
reason code after minutes, and a few never reach a final receipt. ``plan`` sets the timeline of
the next messages to an address. Time is the stand-in's ``now`` (tests pin and advance it) and
``receipt_speed`` shortens every duration (the demo and benchmarks). The message is read back in
the SDK's shapes: ``GET …/messages/{messageId}/details`` and ``GET …/{conversationId}/messages/
{messageId}`` answer ``MessageData``, ``POST …/{conversationId}/messages/bulk`` (at most 1,000
ids, else 400) a ``TextMessageListing`` of the asked messages that belong to that conversation
(ids it does not hold are left out), ``GET …/messages/{conversationId}`` a
``MessageConversation``. ``receipt_rate`` answers 429 with ``Retry-After`` past a number of reads
per window, ``storm`` the next reads. The conversation details query (``details_endpoints``)
shows these conversations ``analytics_lag`` after their send (``analytics_conversations``), so a
send whose answer was lost can be found by its recipient, and the multi get by id
(``analytics_by_id``) shows each conversation's ``deliveryStatus``: its latest message's. An
agentless email gets a timeline too, but only the multi get shows it (a ``mediaType`` email
session); the message reads answer 404 for it, as Genesys's do.
"""

from __future__ import annotations

import math
import random
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from gcnotify.core.values import iso_utc_ms, text_or_none
from gcnotify.devserver.genesys_errors import error_body, error_response
from gcnotify.devserver.http_base import (
    RecordedRequest,
    Response,
    error_path,
    load_schema_validator,
)

if TYPE_CHECKING:
    from gcnotify.devserver.genesys_server import GenesysStandIn

__all__ = [
    "BULK_MAX",
    "EMAILS_PATH",
    "FAILURE_CODES",
    "MESSAGES_PATH",
    "READS_PREFIX",
    "RESPONSES_PATH",
    "SENDS_PREFIX",
    "MessagingEndpoints",
    "Timeline",
    "receipt_timeline",
]

MESSAGES_PATH = "/api/v2/conversations/messages/agentless"
EMAILS_PATH = "/api/v2/conversations/emails/agentless"
RESPONSES_PATH = "/api/v2/responsemanagement/responses"
# The faults of ``throttle`` and ``lose_next`` apply to requests under this prefix (both sends).
SENDS_PREFIX = "/api/v2/conversations/"
LIBRARY = {
    "id": "1b7e4c2a-5d3f-4e6a-9b8c-0d1e2f3a4b5c",
    "name": "WhatsApp templates",
    "selfUri": "/api/v2/responsemanagement/libraries/1b7e4c2a-5d3f-4e6a-9b8c-0d1e2f3a4b5c",
}
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
# Receipt reads: message details, a conversation's message, the bulk read, the conversation.
READS_PREFIX = "/api/v2/conversations/messages/"
BULK_MAX = 1000  # "The max messages you can request in the body is 1,000" (SDK docs)
# Channels whose receipts go on to Read (SMS stops at Delivered).
_READ_CHANNELS = frozenset({"whatsapp", "webmessaging", "open", "apple"})
# The failure reason codes a timeline draws, with their share of failures and the text served.
FAILURE_CODES: Mapping[str, tuple[float, str]] = {
    "InvalidDestination": (0.30, "The destination address is not valid for this channel"),
    "RecipientOptedOut": (0.20, "The recipient has opted out of messages from this sender"),
    "RateLimited": (0.15, "The provider rate limited the message"),
    "ServerError": (0.10, "The provider failed to process the message"),
    "MessageExpired": (0.10, "The message expired before it could be delivered"),
    "GeneralError": (0.05, "The message could not be delivered"),
    "MessageNotAllowed": (0.05, "The message is not allowed by the provider's policy"),
    "UnsupportedMessage": (0.05, "The message type is not supported by the recipient"),
}
Outcome = Literal["delivered", "failed", "pending"]
# MessageData.status as the analytics session's deliveryStatus shows it.
_ANALYTICS_STATUS = {
    "queued": "Queued",
    "sent": "Sent",
    "delivery-success": "DeliverySuccess",
    "delivery-failed": "DeliveryFailed",
    "read": "Read",
    "published": "Published",
}


@dataclass(frozen=True)
class Timeline:
    """What becomes of one accepted message; durations at speed 1.

    ``sent_after`` counts from the send, ``final_after`` from ``sent``, ``read_after`` from
    delivery (None: never read). ``pending`` never gets a final receipt. ``status`` replaces the
    status served once ``final_after`` has passed (a status gcnotify does not know, for tests).
    """

    sent_after: timedelta
    outcome: Outcome
    final_after: timedelta = timedelta(0)
    read_after: timedelta | None = None
    code: str | None = None
    status: str | None = None


def receipt_timeline(seed: int, sequence: int, channel: str, sent_at: datetime) -> Timeline:
    """The timeline of the ``sequence``-th message, the same for the same inputs in every run.

    84 % are delivered (60 % of those read later where the channel has read receipts), 11 % fail
    with a code drawn by ``FAILURE_CODES``' shares, 5 % never get a final receipt.
    """
    rng = random.Random(f"{seed}:{sequence}:{channel}:{sent_at.isoformat()}")
    sent_after = timedelta(seconds=rng.uniform(1.0, 8.0))
    roll = rng.random()
    if roll < 0.84:
        read = channel in _READ_CHANNELS and rng.random() < 0.6
        return Timeline(
            sent_after,
            "delivered",
            timedelta(seconds=rng.uniform(15.0, 900.0)),
            timedelta(seconds=rng.uniform(60.0, 3600.0)) if read else None,
        )
    if roll < 0.95:
        codes = list(FAILURE_CODES)
        code = rng.choices(codes, weights=[FAILURE_CODES[c][0] for c in codes])[0]
        return Timeline(sent_after, "failed", timedelta(seconds=rng.uniform(5.0, 600.0)), code=code)
    return Timeline(sent_after, "pending")


@dataclass(frozen=True)
class _Tracked:
    """An accepted agentless message, as the receipt reads serve it."""

    id: str
    conversation_id: str
    channel: str
    from_address: str
    to_address: str | None
    text: str | None
    accepted_at: datetime
    timeline: Timeline
    external_contact_id: str | None = None


def _error(status: int, message: str, code: str) -> Response:
    return error_response(status, message, code)


def _key(address: str) -> str:
    """One spelling per recipient: a WhatsApp id and its E.164 number match, as do email cases."""
    return address.strip().lower().removeprefix("+")


class MessagingEndpoints:
    """Routes for one stand-in; ``route`` answers None for paths that are not its own."""

    def __init__(self, stand_in: GenesysStandIn) -> None:
        self._owner = stand_in
        self._lock = threading.Lock()
        self._sent: list[dict[str, Any]] = []
        self._refused: dict[str, tuple[str, int]] = {}
        self._responses: dict[str, dict[str, Any]] = {}
        self._message_schema = load_schema_validator("genesys-agentless-message")
        self._email_schema = load_schema_validator("genesys-agentless-email")
        # Receipts: the timelines, their knobs, and the conversations messages went into.
        self.receipt_seed = 7
        self.receipt_speed = 1.0  # 60: a timeline's minute passes in a second of ``now``
        self.receipt_rate: tuple[int, float] | None = None  # (reads, seconds) before a 429
        self.rate_clock: Callable[[], float] = time.monotonic
        # How long a conversation takes further messages with useExistingActiveConversation.
        self.conversation_active = timedelta(hours=24)
        self._tracked: dict[str, _Tracked] = {}
        self._emails: dict[str, _Tracked] = {}  # agentless emails by conversation (analytics only)
        self._conversations: dict[str, list[str]] = {}
        self._active: dict[tuple[str, str], tuple[str, datetime]] = {}
        self._plans: dict[str, list[Timeline]] = {}
        self._reads: deque[float] = deque()
        # The conversation details query shows a message conversation this long after its send.
        self.analytics_lag = timedelta(seconds=90)

    # ------------------------------------------------------------------ test controls

    @property
    def sent(self) -> list[dict[str, Any]]:
        """Every send accepted so far, in order: ``to``, ``channel`` (``email`` for email),
        ``text``, ``body`` (as received), ``id``, ``conversation_id``, ``time``."""
        with self._lock:
            return [dict(item) for item in self._sent]

    def throttle(self, n: int, retry_after: int = 1) -> None:
        """The next ``n`` sends answer 429 with ``Retry-After`` and Genesys's normalized body."""
        self._owner.fail_next(SENDS_PREFIX, 429, headers={"Retry-After": str(retry_after)}, times=n)

    def lose_next(self, n: int = 1) -> None:
        """The next ``n`` sends are handled (an accepted one is in ``sent``), then the connection
        closes without an answer: the sender cannot know the outcome."""
        self._owner.drop_next(SENDS_PREFIX, n)

    def refuse(self, address: str, code: str, status: int = 400) -> None:
        """Sends to ``address`` (a number, WhatsApp id, external contact id or email) fail with
        ``status`` and an ``ErrorBody`` whose code is ``code``, e.g. ``RecipientOptedOut``."""
        with self._lock:
            self._refused[_key(address)] = (code, status)

    def plan(self, address: str, *timelines: Timeline) -> None:
        """The next messages to ``address`` follow ``timelines``, in order (then drawn again)."""
        with self._lock:
            self._plans.setdefault(_key(address), []).extend(timelines)

    def storm(self, n: int, retry_after: int = 1) -> None:
        """The next ``n`` receipt reads answer 429 with ``Retry-After`` (Genesys's body)."""
        self._owner.fail_next(READS_PREFIX, 429, headers={"Retry-After": str(retry_after)}, times=n)

    def timeline(self, message_id: str) -> Timeline:
        """The timeline a message follows (KeyError for an id the stand-in never accepted)."""
        with self._lock:
            return self._tracked[message_id].timeline

    def forget(self, message_id: str) -> None:
        """Answer 404 for ``message_id`` from now on, as for a message Genesys no longer has."""
        with self._lock:
            self._tracked.pop(message_id, None)

    def message_data(self, message_id: str) -> dict[str, Any]:
        """The ``MessageData`` the reads answer for ``message_id`` now."""
        with self._lock:
            tracked = self._tracked[message_id]
        return self._data(tracked, self._owner.now())

    def add_response(
        self,
        response_id: str,
        name: str,
        *,
        substitutions: Mapping[str, str | None] | None = None,
        text: str = "",
        whatsapp_name: str | None = "order_update",
        language: str | None = "en_US",
        response_type: str = "MessagingTemplate",
    ) -> dict[str, Any]:
        """Serve a Response Management response; ``substitutions`` maps each id to its default
        (None: no default). Returns the entity, without ``substitutionsSchema``."""
        subs = dict(substitutions or {})
        entity: dict[str, Any] = {
            "id": response_id,
            "name": name,
            "version": 1,
            "libraries": [LIBRARY],
            "texts": [
                {
                    "content": text or " ".join(f"{{{{{s}}}}}" for s in subs) or name,
                    "contentType": "text/plain",
                    "type": "body",
                }
            ],
            "dateCreated": "2025-01-06T15:04:05.000Z",
            "substitutions": [
                {"id": sid, "description": f"The {sid}"}
                | ({"defaultValue": default} if default is not None else {})
                for sid, default in subs.items()
            ],
            "responseType": response_type,
            "selfUri": f"{RESPONSES_PATH}/{response_id}",
        }
        if whatsapp_name is not None:
            whatsapp: dict[str, Any] = {"name": whatsapp_name, "category": "marketing"}
            if language is not None:
                whatsapp["language"] = language
            entity["messagingTemplate"] = {"whatsApp": whatsapp}
        with self._lock:
            self._responses[response_id] = entity
        return dict(entity)

    # ------------------------------------------------------------------ routing

    def route(self, request: RecordedRequest) -> Response | None:
        path, method = request.path, request.method
        if path in (MESSAGES_PATH, EMAILS_PATH):
            if method != "POST":
                return _error(405, f"{method} is not supported on {path}", "method.not.allowed")
            if not isinstance(request.json, dict):
                return _error(400, "The request body is not a JSON object", "bad.request")
            if path == MESSAGES_PATH:
                return self._message(request.json)
            return self._email(request.json)
        if path.startswith(RESPONSES_PATH + "/") and method == "GET":
            return self._response(path.removeprefix(RESPONSES_PATH + "/"), request)
        if path.startswith(READS_PREFIX):
            return self._read(request, path.removeprefix(READS_PREFIX).split("/"))
        return None

    def _invalid(self, validator: Any, body: Any) -> Response | None:
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        if not errors:
            return None
        where = error_path(errors[0].absolute_path)
        prefix = f"{where}: " if where else ""
        return _error(400, f"{prefix}{errors[0].message}", "bad.request")

    def _refusal(self, address: str) -> Response | None:
        with self._lock:
            refused = self._refused.get(_key(address))
        if refused is None:
            return None
        code, status = refused
        return _error(status, f"The message to this recipient was refused ({code})", code)

    def _message(self, body: dict[str, Any]) -> Response:
        channel, to = body.get("toAddressMessengerType"), body.get("toAddress")
        if channel == "sms" and isinstance(to, str) and not _E164.fullmatch(to):
            return _error(
                400,
                f"toAddress {to!r} is not a valid E.164 phone number for the sms messenger type",
                "InvalidDestination",
            )
        invalid = self._invalid(self._message_schema, body)
        if invalid is not None:
            return invalid
        recipient = to if isinstance(to, str) else str(body.get("externalContactId", ""))
        refusal = self._refusal(recipient)
        if refusal is not None:
            return refusal
        accepted_at = self._owner.now()
        message_id = uuid.uuid4().hex
        conversation_id = self._conversation_for(
            str(body["fromAddress"]),
            recipient,
            accepted_at,
            reuse=bool(body.get("useExistingActiveConversation")),
        )
        now = iso_utc_ms(accepted_at)
        self_uri = f"/api/v2/conversations/messages/{conversation_id}/messages/{message_id}"
        answer: dict[str, Any] = {
            "id": message_id,
            "conversationId": conversation_id,
            "fromAddress": body["fromAddress"],
            "messengerType": channel,
            "useExistingActiveConversation": bool(body.get("useExistingActiveConversation")),
            "timestamp": now,
            "selfUri": self_uri,
        }
        message: dict[str, Any] = {
            "id": message_id,
            "timestamp": now,
            "fromAddress": body["fromAddress"],
            "direction": "outbound",
            "messengerType": channel,
            "status": "queued",
            "conversationId": conversation_id,
            "selfUri": self_uri,
        }
        if isinstance(to, str):
            answer["toAddress"] = message["toAddress"] = to
        text = body.get("textBody")
        if isinstance(text, str):
            answer["textBody"] = text
        if "messagingTemplate" in body:
            answer["messagingTemplate"] = body["messagingTemplate"]
        answer["message"] = message
        self._record(recipient, str(channel), body, answer)
        tracked = _Tracked(
            message_id,
            conversation_id,
            str(channel),
            str(body["fromAddress"]),
            to if isinstance(to, str) else None,
            text if isinstance(text, str) else None,
            accepted_at,
            Timeline(timedelta(0), "pending"),  # drawn or planned by _track
            text_or_none(body.get("externalContactId")),
        )
        self._track(recipient, tracked)
        return Response(200, answer)

    # ------------------------------------------------------------------ receipts

    def _conversation_for(self, sender: str, recipient: str, now: datetime, *, reuse: bool) -> str:
        """A new conversation, or with ``reuse`` the pair's conversation while it is active."""
        pair = (sender, _key(recipient))
        with self._lock:
            active = self._active.get(pair)
            if reuse and active is not None and now - active[1] < self.conversation_active:
                conversation_id = active[0]
            else:
                conversation_id = str(uuid.uuid4())
            self._active[pair] = (conversation_id, now)
        return conversation_id

    def _track(self, recipient: str, tracked: _Tracked) -> None:
        """Keep ``tracked`` with its timeline: the recipient's planned one, else drawn. An email
        is kept apart: the message reads do not serve it, only analytics shows its status."""
        with self._lock:
            planned = self._plans.get(_key(recipient))
            if planned:
                timeline = planned.pop(0)
            else:
                sequence = len(self._sent)
                timeline = receipt_timeline(
                    self.receipt_seed, sequence, tracked.channel, tracked.accepted_at
                )
            if tracked.channel == "email":
                self._emails[tracked.conversation_id] = replace(tracked, timeline=timeline)
                return
            self._tracked[tracked.id] = replace(tracked, timeline=timeline)
            self._conversations.setdefault(tracked.conversation_id, []).append(tracked.id)

    def _data(self, tracked: _Tracked, now: datetime) -> dict[str, Any]:
        """``MessageData`` as it stands at ``now``: the status and every receipt so far."""
        line, speed = tracked.timeline, max(self.receipt_speed, 1e-9)
        sent_at = tracked.accepted_at + line.sent_after / speed
        final_at = sent_at + line.final_after / speed
        status = "queued"
        receipts: list[dict[str, Any]] = []

        def receipt(kind: str, at: datetime, final: bool, **extra: Any) -> None:
            receipts.append(
                {
                    "id": tracked.id,
                    "channel": {"time": iso_utc_ms(at)},
                    "type": "Receipt",
                    "status": kind,
                    "isFinalReceipt": final,
                    "direction": "Outbound",
                }
                | extra
            )

        if now >= sent_at:
            status = "sent"
            receipt("Sent", sent_at, False)
        if now >= final_at and line.outcome != "pending" and now >= sent_at:
            if line.status is not None:
                status = line.status
            elif line.outcome == "failed":
                code = line.code or "GeneralError"
                text = FAILURE_CODES.get(code, (0.0, f"The message failed ({code})"))[1]
                status = "delivery-failed"
                receipt("Failed", final_at, True, reasons=[{"code": code, "message": text}])
            else:
                status = "delivery-success"
                # Where a Read may follow, Delivered is not the last receipt to expect.
                receipt("Delivered", final_at, tracked.channel not in _READ_CHANNELS)
                if line.read_after is not None and now >= final_at + line.read_after / speed:
                    status = "read"
                    receipt("Read", final_at + line.read_after / speed, True)
        data: dict[str, Any] = {
            "id": tracked.id,
            "timestamp": iso_utc_ms(tracked.accepted_at),
            "fromAddress": tracked.from_address,
            "direction": "outbound",
            "messengerType": tracked.channel,
            "status": status,
            "normalizedMessage": {
                "id": tracked.id,
                "channel": {"time": iso_utc_ms(tracked.accepted_at)},
                "type": "Text",
                "direction": "Outbound",
            },
            "normalizedReceipts": receipts,
            "conversationId": tracked.conversation_id,
            "selfUri": f"{READS_PREFIX}{tracked.conversation_id}/messages/{tracked.id}",
        }
        if tracked.to_address is not None:
            data["toAddress"] = tracked.to_address
        if tracked.text is not None:
            data["textBody"] = tracked.text
            data["normalizedMessage"]["text"] = tracked.text
        return data

    def analytics_conversations(
        self, start: datetime, end: datetime
    ) -> list[tuple[datetime, dict[str, str | None], dict[str, Any]]]:
        """The agentless message conversations that started in ``[start, end)`` and that the
        conversation details query shows by now (``analytics_lag`` after the send), oldest
        first: (start, the customer session's facts for filters, ``AnalyticsConversation``)."""
        now = self._owner.now()
        with self._lock:
            held = [
                [self._tracked[i] for i in ids if i in self._tracked]
                for ids in self._conversations.values()
            ]
        out = []
        for messages in sorted((m for m in held if m), key=lambda m: m[0].accepted_at):
            first = messages[0]
            if not start <= first.accepted_at < end or first.accepted_at + self.analytics_lag > now:
                continue
            facts: dict[str, str | None] = {
                "mediaType": "message",
                "messageType": first.channel,
                "purpose": "customer",
                "direction": "outbound",
                "addressFrom": first.from_address,
                "addressTo": first.to_address,
                "externalContactId": first.external_contact_id,
                "queueId": None,
                "userId": None,
            }
            out.append((first.accepted_at, facts, self._analytics(messages, now)))
        return out

    def analytics_by_id(self, conversation_ids: list[str]) -> list[dict[str, Any]]:
        """The ``AnalyticsConversation`` of each listed agentless conversation that analytics
        shows by now (``analytics_lag`` after its first send), in the order asked; ids it does
        not hold, or not yet, are left out."""
        now = self._owner.now()
        out = []
        for conversation_id in dict.fromkeys(conversation_ids):
            with self._lock:
                ids = self._conversations.get(conversation_id, [])
                messages = [self._tracked[i] for i in ids if i in self._tracked]
                email = self._emails.get(conversation_id)
            if email is not None:
                messages = [email]
            if messages and messages[0].accepted_at + self.analytics_lag <= now:
                out.append(self._analytics(messages, now))
        return out

    def _analytics(self, messages: list[_Tracked], now: datetime) -> dict[str, Any]:
        """One conversation as analytics shows it: the customer session's ``deliveryStatus``
        (and its change date) is that of the conversation's latest message."""
        first, last = messages[0], messages[-1]
        data = self._data(last, now)
        status = str(data["status"])
        session: dict[str, Any] = {
            "sessionId": str(uuid.uuid5(uuid.NAMESPACE_OID, first.conversation_id)),
            "mediaType": "email" if first.channel == "email" else "message",
            "direction": "outbound",
            "addressFrom": first.from_address,
            "deliveryStatus": _ANALYTICS_STATUS.get(status, status),
            "segments": [
                {"segmentStart": iso_utc_ms(first.accepted_at), "segmentType": "interact"}
            ],
        }
        if first.channel != "email":
            session["messageType"] = first.channel
        times = [r["channel"]["time"] for r in data["normalizedReceipts"]]
        session["deliveryStatusChangeDate"] = max(times) if times else iso_utc_ms(last.accepted_at)
        if first.to_address is not None:
            session["addressTo"] = first.to_address
        customer: dict[str, Any] = {
            "participantId": str(uuid.uuid5(uuid.NAMESPACE_URL, first.conversation_id)),
            "purpose": "customer",
            "sessions": [session],
        }
        if first.external_contact_id is not None:
            customer["externalContactId"] = first.external_contact_id
        return {
            "conversationId": first.conversation_id,
            "conversationStart": iso_utc_ms(first.accepted_at),
            "originatingDirection": "outbound",
            "participants": [customer],
        }

    def _throttled(self) -> Response | None:
        """429 once ``receipt_rate`` reads arrived within its window."""
        if self.receipt_rate is None:
            return None
        limit, window = self.receipt_rate
        now = self.rate_clock()
        with self._lock:
            while self._reads and now - self._reads[0] >= window:
                self._reads.popleft()
            if len(self._reads) < limit:
                self._reads.append(now)
                return None
            wait = max(1, math.ceil(self._reads[0] + window - now))
        message = f"Rate limit exceeded the maximum. Retry the request in [{wait}] seconds"
        return Response(429, error_body(429, message), headers={"Retry-After": str(wait)})

    def _read(self, request: RecordedRequest, parts: list[str]) -> Response | None:
        method = request.method
        shape = (
            ("details", parts[0]) if len(parts) == 2 and parts[1] == "details" and parts[0] else
            ("bulk", parts[0]) if len(parts) == 3 and parts[1:] == ["messages", "bulk"] else
            ("message", parts[0]) if len(parts) == 3 and parts[1] == "messages" and parts[2] else
            ("conversation", parts[0]) if len(parts) == 1 and parts[0] else
            None
        )  # fmt: skip
        if shape is None:
            return None
        kind, first = shape
        wanted = "POST" if kind == "bulk" else "GET"
        if method != wanted:
            return _error(405, f"{method} is not supported on {request.path}", "method.not.allowed")
        throttled = self._throttled()
        if throttled is not None:
            return throttled
        now = self._owner.now()
        if kind == "bulk":
            return self._bulk(first, request.json, now)
        if kind == "conversation":
            return self._conversation(first, now)
        message_id = first if kind == "details" else parts[2]
        with self._lock:
            tracked = self._tracked.get(message_id)
        if tracked is None or (kind == "message" and tracked.conversation_id != first):
            return _error(404, f"Message {message_id} not found", "not.found")
        return Response(200, self._data(tracked, now))

    def _bulk(self, conversation_id: str, ids: Any, now: datetime) -> Response:
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            return _error(400, "The request body must be a list of message ids", "bad.request")
        if len(ids) > BULK_MAX:
            return _error(
                400,
                f"The max messages you can request in the body is {BULK_MAX:,} (got {len(ids):,})",
                "bad.request",
            )
        with self._lock:
            held = set(self._conversations.get(conversation_id, ()))
            if not held:
                return _error(404, f"Conversation {conversation_id} not found", "not.found")
            found = [
                self._tracked[i] for i in dict.fromkeys(ids) if i in held and i in self._tracked
            ]
        return Response(200, {"entities": [self._data(t, now) for t in found]})

    def _conversation(self, conversation_id: str, now: datetime) -> Response:
        """``MessageConversation``: the customer participant and the messages sent to it."""
        with self._lock:
            held = [self._tracked[i] for i in self._conversations.get(conversation_id, ())
                    if i in self._tracked]  # fmt: skip
        if not held:
            return _error(404, f"Conversation {conversation_id} not found", "not.found")
        first = held[0]
        details = []
        for tracked in held:
            data = self._data(tracked, now)
            entry: dict[str, Any] = {
                "messageId": tracked.id,
                "messageStatus": data["status"],
                "messageSegmentCount": 1,
                "messageTime": data["timestamp"],
            }
            failed = [r for r in data["normalizedReceipts"] if r["status"] == "Failed"]
            if failed:
                reason = failed[0]["reasons"][0]
                entry["errorInfo"] = error_body(400, reason["message"], reason["code"])
            details.append(entry)
        customer: dict[str, Any] = {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, conversation_id)),
            "purpose": "customer",
            "state": "connected",
            "fromAddress": {"addressNormalized": first.from_address},
            "messages": details,
        }
        if first.to_address is not None:
            customer["address"] = first.to_address
            customer["toAddress"] = {"addressNormalized": first.to_address}
        return Response(
            200,
            {
                "id": conversation_id,
                "participants": [customer],
                "selfUri": f"{READS_PREFIX}{conversation_id}",
            },
        )

    def _email(self, body: dict[str, Any]) -> Response:
        invalid = self._invalid(self._email_schema, body)
        if invalid is not None:
            return invalid
        to = str(body["toAddresses"][0].get("email", ""))
        refusal = self._refusal(to)
        if refusal is not None:
            return refusal
        message_id, conversation_id = uuid.uuid4().hex, str(uuid.uuid4())
        now = iso_utc_ms(self._owner.now())
        answer: dict[str, Any] = {
            "id": message_id,
            "conversationId": conversation_id,
            "senderType": body["senderType"],
            "fromAddress": body["fromAddress"],
            "toAddresses": body["toAddresses"],
            "dateCreated": now,
            "selfUri": f"/api/v2/conversations/emails/{conversation_id}/messages/{message_id}",
        }
        for key in ("replyToAddress", "subject"):
            if key in body:
                answer[key] = body[key]
        self._record(to, "email", body, answer)
        text = body.get("textBody")
        self._track(
            to,
            _Tracked(
                message_id,
                conversation_id,
                "email",
                str(body["fromAddress"].get("email", "")),
                to,
                text if isinstance(text, str) else None,
                self._owner.now(),
                Timeline(timedelta(0), "pending"),  # drawn or planned by _track
            ),
        )
        return Response(200, answer)

    def _record(self, to: str, channel: str, body: dict[str, Any], answer: dict[str, Any]) -> None:
        text = body.get("textBody")
        item = {
            "to": to,
            "channel": channel,
            "text": text if isinstance(text, str) else None,
            "body": body,
            "id": answer["id"],
            "conversation_id": answer["conversationId"],
            "time": answer.get("timestamp") or answer.get("dateCreated"),
        }
        with self._lock:
            self._sent.append(item)

    def _response(self, response_id: str, request: RecordedRequest) -> Response:
        with self._lock:
            entity = self._responses.get(response_id)
        if entity is None:
            return _error(404, f"Response {response_id} not found", "not.found")
        answer = dict(entity)
        expand = request.query.get("expand", "").split(",")
        if "substitutionsSchema" in expand:
            subs = entity["substitutions"]
            answer["substitutionsSchema"] = {
                "id": f"{response_id}-substitutions",
                "$schema": "http://json-schema.org/draft-04/schema#",
                "title": entity["name"],
                "description": "Substitutions of the response",
                "type": "object",
                "required": [s["id"] for s in subs if "defaultValue" not in s],
                "properties": {
                    s["id"]: {"type": "string"}
                    | ({"default": s["defaultValue"]} if "defaultValue" in s else {})
                    for s in subs
                },
                "additionalProperties": False,
            }
        return Response(200, answer)
