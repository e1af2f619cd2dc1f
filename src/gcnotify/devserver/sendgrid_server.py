"""A local SendGrid v3 ``POST /v3/mail/send`` that checks what real SendGrid checks.

Bodies are validated against ``sendgrid-mail-send.schema.json`` plus the rules SendGrid
documents that a schema cannot express: one address once per personalization across
to/cc/bcc, case-insensitively; 1000 recipients per request; custom_args size; send_at horizon;
30 MB.
Accepted mail is kept in ``messages``; sandbox mail is answered 200 and kept apart, as SendGrid
validates it and delivers nothing. ``drop_next`` stores the message and then loses the answer,
the one failure after which a client cannot know whether the mail went out.
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gcnotify.devserver.http_base import (
    RecordedRequest,
    Response,
    StandInServer,
    error_path,
    load_schema_validator,
)

__all__ = ["MAIL_SEND_PATH", "NGINX_413", "SendGridStandIn", "StoredMessage", "sendgrid_errors"]

MAIL_SEND_PATH = "/v3/mail/send"
MAX_RECIPIENTS = 1000
MAX_CUSTOM_ARGS_BYTES = 10_000
MAX_BODY_BYTES = 30 * 1024 * 1024
SEND_AT_HORIZON_S = 72 * 3600
_MAX_ERRORS = 20

# What SendGrid's edge answers for an oversize body: HTML, not JSON.
NGINX_413 = (
    "<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n"
    "<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_AUTH_MESSAGE = "The provided authorization grant is invalid, expired, or revoked"
_UNVERIFIED_SENDER = (
    "The from address does not match a verified Sender Identity. Mail cannot be sent until this "
    "error is resolved. Visit https://sendgrid.com/docs/for-developers/sending-email/"
    "sender-identity/ to see the Sender Identity requirements"
)
_RECIPIENT_FIELDS = ("to", "cc", "bcc")


def sendgrid_errors(*errors: tuple[str, str | None]) -> dict[str, Any]:
    """SendGrid's error body: ``{"errors": [{"message", "field", "help": null}]}``."""
    return {"errors": [{"message": m, "field": f, "help": None} for m, f in errors]}


def _error(status: int, message: str, field_name: str | None = None) -> Response:
    return Response(status, sendgrid_errors((message, field_name)))


@dataclass(frozen=True)
class StoredMessage:
    """One mail/send body SendGrid accepted (202), with the id it answered."""

    message_id: str
    body: dict[str, Any] = field(repr=False)
    received_at: datetime

    def _content(self, mime_type: str) -> str | None:
        for part in self.body.get("content", []):
            if part.get("type") == mime_type:
                value: str = part.get("value", "")
                return value
        return None

    @property
    def html(self) -> str | None:
        return self._content("text/html")

    @property
    def text(self) -> str | None:
        return self._content("text/plain")

    @property
    def subject(self) -> str | None:
        """The first personalization's subject, else the message subject (SendGrid's rule)."""
        personalizations = self.body.get("personalizations") or [{}]
        subject = personalizations[0].get("subject") or self.body.get("subject")
        return subject if isinstance(subject, str) else None

    @property
    def recipients(self) -> tuple[str, ...]:
        """Every to, cc and bcc address of every personalization, in order."""
        found: list[str] = []
        for personalization in self.body.get("personalizations", []):
            for kind in _RECIPIENT_FIELDS:
                found.extend(r["email"] for r in personalization.get(kind, []))
        return tuple(found)

    @property
    def custom_args(self) -> dict[str, str]:
        """Message-level custom args merged with the first personalization's (which win)."""
        merged = dict(self.body.get("custom_args") or {})
        personalizations = self.body.get("personalizations") or [{}]
        merged.update(personalizations[0].get("custom_args") or {})
        return merged

    @property
    def attachments(self) -> list[dict[str, Any]]:
        return list(self.body.get("attachments") or [])


class SendGridStandIn(StandInServer):
    """SendGrid mail/send for one API key; optionally only ``verified_senders`` may send."""

    def __init__(
        self,
        api_key: str,
        *,
        verified_senders: Iterable[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self._api_key = api_key
        self._revoked = False
        self._verified = None if verified_senders is None else {s.lower() for s in verified_senders}
        self._store_lock = threading.Lock()
        self._messages: list[StoredMessage] = []
        self._sandboxed: list[StoredMessage] = []
        self._validator = load_schema_validator("sendgrid-mail-send")

    def __repr__(self) -> str:
        return f"SendGridStandIn(messages={len(self._messages)})"  # never the API key

    @property
    def messages(self) -> list[StoredMessage]:
        """Mail accepted for delivery (202, or dropped after acceptance), in arrival order."""
        with self._store_lock:
            return list(self._messages)

    @property
    def sandbox_messages(self) -> list[StoredMessage]:
        """Sandbox-mode mail: validated, answered 200, never delivered."""
        with self._store_lock:
            return list(self._sandboxed)

    def revoke_key(self) -> None:
        """From now on the API key is refused with 401, as after a revoke in the console."""
        self._revoked = True

    def restore_key(self) -> None:
        self._revoked = False

    # ------------------------------------------------------------------ routing

    def fault_response(
        self, status: int, request: RecordedRequest, headers: Mapping[str, str]
    ) -> Response:
        if status == 413:
            return Response(413, NGINX_413, content_type="text/html")
        if status == 429:
            return Response(
                429,
                {"errors": [{"field": None, "message": "too many requests"}]},
                headers={
                    "X-RateLimit-Limit": "600",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(int(time.time()) + 1),
                },
            )
        if status == 401:
            return _error(401, _AUTH_MESSAGE)
        if status == 403:
            return _error(403, _UNVERIFIED_SENDER, "from")
        if status >= 500:
            return _error(status, "Internal server error")
        return _error(status, "Bad Request")

    def route(self, request: RecordedRequest) -> Response:
        if request.path != MAIL_SEND_PATH:
            return _error(404, "Not Found")
        if request.method != "POST":
            return _error(405, "Method Not Allowed")
        if not self._authorized(request.header("Authorization")):
            return _error(401, _AUTH_MESSAGE)
        if request.header("Accept") is None:
            return _error(406, "Missing Accept header. For example: Accept: application/json")
        if len(request.body) > MAX_BODY_BYTES:
            return Response(413, NGINX_413, content_type="text/html")
        body = request.json
        if not isinstance(body, dict):
            return _error(400, "Bad Request")
        problems = self._problems(body)
        if problems:
            return Response(400, sendgrid_errors(*problems[:_MAX_ERRORS]))
        sender = str(body["from"]["email"]).lower()
        if self._verified is not None and sender not in self._verified:
            return _error(403, _UNVERIFIED_SENDER, "from")
        sandbox = body.get("mail_settings", {}).get("sandbox_mode", {}).get("enable") is True
        message = StoredMessage(
            message_id=secrets.token_urlsafe(16),  # 22 characters, like SendGrid's ids
            body=json.loads(json.dumps(body)),  # a private copy
            received_at=datetime.now(UTC),
        )
        with self._store_lock:
            (self._sandboxed if sandbox else self._messages).append(message)
        if sandbox:
            return Response(200)
        return Response(202, headers={"X-Message-Id": message.message_id})

    def _authorized(self, header: str | None) -> bool:
        if self._revoked or header is None:
            return False
        scheme, _, key = header.partition(" ")
        return scheme == "Bearer" and hmac.compare_digest(key.encode(), self._api_key.encode())

    def _problems(self, body: dict[str, Any]) -> list[tuple[str, str | None]]:
        found: list[tuple[str, str | None]] = []
        for error in sorted(self._validator.iter_errors(body), key=lambda e: list(e.path)):
            problem = (error.message, error_path(error.absolute_path) or None)
            if problem not in found:
                found.append(problem)
        if found:
            return found
        return _rules_beyond_schema(body)


def _rules_beyond_schema(body: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """The 400s SendGrid documents that a JSON Schema cannot express."""
    problems: list[tuple[str, str | None]] = []
    total = 0
    for index, personalization in enumerate(body["personalizations"]):
        seen: set[str] = set()
        duplicate_reported = False
        for kind in _RECIPIENT_FIELDS:
            for recipient in personalization.get(kind, []):
                total += 1
                address = str(recipient["email"]).lower()
                if address in seen and not duplicate_reported:
                    duplicate_reported = True
                    problems.append(
                        (
                            "Each email address in the personalization block should be unique "
                            "between to, cc, and bcc. We found the first duplicate instance of "
                            f"[{recipient['email']}] in the personalizations.{index}.{kind} field.",
                            f"personalizations.{index}",
                        )
                    )
                seen.add(address)
        custom = personalization.get("custom_args")
        if _json_size(custom) + _json_size(body.get("custom_args")) > MAX_CUSTOM_ARGS_BYTES:
            problems.append(
                (
                    "The custom_args of a message must be less than 10,000 bytes.",
                    f"personalizations.{index}.custom_args",
                )
            )
    if total > MAX_RECIPIENTS:
        problems.append(
            (
                "The total number of recipients must be less than 1000. This includes all "
                "recipients defined within the to, cc, and bcc parameters, across each object "
                "that you include in the personalizations array.",
                "personalizations",
            )
        )
    send_at = body.get("send_at")
    if isinstance(send_at, int) and send_at > time.time() + SEND_AT_HORIZON_S:
        problems.append(
            ("The send_at parameter cannot be more than 72 hours in the future.", "send_at")
        )
    return problems


def _json_size(value: Any) -> int:
    return 0 if value is None else len(json.dumps(value, separators=(",", ":")).encode())
