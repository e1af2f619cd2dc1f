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
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gcnotify.devserver.genesys_errors import error_response
from gcnotify.devserver.http_base import (
    RecordedRequest,
    Response,
    error_path,
    load_schema_validator,
)

if TYPE_CHECKING:
    from gcnotify.devserver.genesys_server import GenesysStandIn

__all__ = [
    "EMAILS_PATH",
    "MESSAGES_PATH",
    "RESPONSES_PATH",
    "SENDS_PREFIX",
    "MessagingEndpoints",
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


def _error(status: int, message: str, code: str) -> Response:
    return error_response(status, message, code)


def _stamp(moment: datetime) -> str:
    """An instant as Genesys writes it: UTC, milliseconds, ``Z``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


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
        message_id, conversation_id = uuid.uuid4().hex, str(uuid.uuid4())
        now = _stamp(self._owner.now())
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
        return Response(200, answer)

    def _email(self, body: dict[str, Any]) -> Response:
        invalid = self._invalid(self._email_schema, body)
        if invalid is not None:
            return invalid
        to = str(body["toAddresses"][0].get("email", ""))
        refusal = self._refusal(to)
        if refusal is not None:
            return refusal
        message_id, conversation_id = uuid.uuid4().hex, str(uuid.uuid4())
        now = _stamp(self._owner.now())
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
