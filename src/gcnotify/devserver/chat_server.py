"""A local Slack and Microsoft Teams incoming webhook: ``POST /slack/<token>``, ``/teams/<token>``.

Each webhook is a path holding a token, as the real URLs are; ``webhook_url(kind)`` makes one.
Bodies are checked for the shape each service needs (Slack: ``text`` or Block Kit ``blocks``
within their limits; Teams: a ``message`` with Adaptive Card attachments) and accepted posts are
kept in ``posts``. Answers follow the services: Slack 200 ``ok`` and plain-text error codes
(``invalid_payload``, ``no_service``, ``channel_is_archived``…), Teams 202 and JSON errors.
A real Teams workflow answers 202 before it looks at the card and fails its run later; the
stand-in refuses a bad card at once with 400, so a test sees the mistake.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from gcnotify.devserver.http_base import RecordedRequest, Response, StandInServer, status_phrase

__all__ = ["ChatStandIn", "StoredPost", "slack_problem", "teams_problem"]

Kind = Literal["slack", "teams"]
KINDS: tuple[Kind, ...] = ("slack", "teams")

_SLACK_BLOCK_TYPES = frozenset(
    {"header", "section", "divider", "context", "actions", "image", "rich_text", "markdown"}
)
_SLACK_HEADER_MAX = 150
_SLACK_SECTION_TEXT_MAX = 3000
_SLACK_FIELD_TEXT_MAX = 2000
_SLACK_FIELDS_MAX = 10
_SLACK_BLOCKS_MAX = 50
_TEAMS_CARD = "application/vnd.microsoft.card.adaptive"
_TEAMS_MAX_BYTES = 28_000
_TEAMS_ELEMENTS = frozenset(
    {"TextBlock", "FactSet", "Container", "ColumnSet", "Image", "RichTextBlock", "ActionSet"}
)
_SLACK_CODES = {
    400: "invalid_payload",
    403: "action_prohibited",
    404: "no_service",
    410: "channel_is_archived",
    429: "rate_limited",
    500: "rollup_error",
}


@dataclass(frozen=True)
class StoredPost:
    """One accepted webhook post. The token is the secret part of the URL: not in the repr."""

    kind: Kind
    token: str = field(repr=False)
    payload: dict[str, Any] = field(repr=False)
    received_at: datetime

    def texts(self) -> list[str]:
        """Every text the post would show, in order (header, sections, fields, card blocks)."""
        found: list[str] = []
        if self.kind == "slack":
            for block in self.payload.get("blocks") or []:
                if isinstance(block.get("text"), dict):
                    found.append(block["text"].get("text", ""))
                found.extend(f.get("text", "") for f in block.get("fields") or [])
            return found
        for attachment in self.payload.get("attachments") or []:
            for element in attachment.get("content", {}).get("body") or []:
                if element.get("type") == "TextBlock":
                    found.append(element.get("text", ""))
                for fact in element.get("facts") or []:
                    found.extend([fact.get("title", ""), fact.get("value", "")])
        return found


def _text_object(value: Any, *, types: frozenset[str], limit: int, where: str) -> str | None:
    if not isinstance(value, dict) or value.get("type") not in types:
        return f"{where} must be a text object of type {' or '.join(sorted(types))}"
    text = value.get("text")
    if not isinstance(text, str) or not text:
        return f"{where}.text must be a non-empty string"
    if len(text) > limit:
        return f"{where}.text must be at most {limit} characters"
    return None


def slack_problem(body: Any) -> str | None:
    """Why Slack would refuse ``body`` (its error code first), or None when it fits."""
    if not isinstance(body, dict):
        return "invalid_payload"
    blocks = body.get("blocks")
    text = body.get("text")
    if blocks is None:
        return None if isinstance(text, str) and text.strip() else "no_text"
    if not isinstance(blocks, list) or not blocks or len(blocks) > _SLACK_BLOCKS_MAX:
        return f"invalid_blocks: blocks must be a list of 1 to {_SLACK_BLOCKS_MAX} blocks"
    for index, block in enumerate(blocks):
        where = f"blocks[{index}]"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in _SLACK_BLOCK_TYPES:
            return f"invalid_blocks: {where} has an unknown type {kind!r}"
        problem = None
        if kind == "header":
            problem = _text_object(
                block.get("text"),
                types=frozenset({"plain_text"}),
                limit=_SLACK_HEADER_MAX,
                where=f"{where}.text",
            )
        elif kind == "section":
            problem = _slack_section(block, where)
        if problem:
            return f"invalid_blocks: {problem}"
    return None


def _slack_section(block: dict[str, Any], where: str) -> str | None:
    text_types = frozenset({"plain_text", "mrkdwn"})
    if "text" in block:
        problem = _text_object(
            block["text"], types=text_types, limit=_SLACK_SECTION_TEXT_MAX, where=f"{where}.text"
        )
        if problem:
            return problem
    fields = block.get("fields")
    if fields is None:
        return None if "text" in block else f"{where} needs text or fields"
    if not isinstance(fields, list) or not fields or len(fields) > _SLACK_FIELDS_MAX:
        return f"{where}.fields must be a list of 1 to {_SLACK_FIELDS_MAX} text objects"
    for index, item in enumerate(fields):
        problem = _text_object(
            item, types=text_types, limit=_SLACK_FIELD_TEXT_MAX, where=f"{where}.fields[{index}]"
        )
        if problem:
            return problem
    return None


def teams_problem(body: Any) -> str | None:
    """Why a Teams workflow would fail on ``body``, or None when the card fits."""
    if not isinstance(body, dict) or body.get("type") != "message":
        return "the body must be an object with type 'message'"
    attachments = body.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        return "attachments must be a non-empty array"
    for index, attachment in enumerate(attachments):
        where = f"attachments[{index}]"
        if not isinstance(attachment, dict) or attachment.get("contentType") != _TEAMS_CARD:
            return f"{where}.contentType must be {_TEAMS_CARD}"
        card = attachment.get("content")
        if not isinstance(card, dict) or card.get("type") != "AdaptiveCard":
            return f"{where}.content: Property 'type' must be 'AdaptiveCard'"
        if not isinstance(card.get("version"), str):
            return f"{where}.content.version must be a string such as '1.4'"
        body_elements = card.get("body")
        if not isinstance(body_elements, list):
            return f"{where}.content.body must be an array"
        for position, element in enumerate(body_elements):
            problem = _teams_element(element, f"{where}.content.body[{position}]")
            if problem:
                return problem
    return None


def _teams_element(element: Any, where: str) -> str | None:
    if not isinstance(element, dict):
        return f"{where} must be an element object"
    kind = element.get("type")
    if kind not in _TEAMS_ELEMENTS:
        return f"{where} has an unknown type {kind!r}"
    if kind == "TextBlock" and not isinstance(element.get("text"), str):
        return f"{where}.text must be a string"
    if kind == "FactSet":
        facts = element.get("facts")
        if not isinstance(facts, list) or not facts:
            return f"{where}.facts must be a non-empty array"
        for index, fact in enumerate(facts):
            if not (
                isinstance(fact, dict)
                and isinstance(fact.get("title"), str)
                and isinstance(fact.get("value"), str)
            ):
                return f"{where}.facts[{index}] needs string title and value"
    return None


class ChatStandIn(StandInServer):
    """Slack and Teams incoming webhooks on one local server.

    ``webhook_url(kind)`` registers a new webhook and returns its URL; only registered tokens
    are answered (others get the service's "not found"), and ``delete_webhook`` removes one, as
    deleting it in Slack or Teams would.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self._store_lock = threading.Lock()
        self._tokens: dict[Kind, set[str]] = {kind: set() for kind in KINDS}
        self._posts: list[StoredPost] = []

    def __repr__(self) -> str:
        return f"ChatStandIn(posts={len(self._posts)})"  # never a token

    def webhook_url(self, kind: Kind, token: str | None = None) -> str:
        """Register a webhook for ``kind`` (a random token unless given) and return its URL."""
        if kind not in KINDS:
            raise ValueError(f"unknown chat kind {kind!r}")
        token = token if token is not None else secrets.token_urlsafe(24)
        if not token or "/" in token:
            raise ValueError("a webhook token must be non-empty and hold no '/'")
        with self._store_lock:
            self._tokens[kind].add(token)
        return f"{self.url}/{kind}/{token}"

    def delete_webhook(self, url: str) -> None:
        """From now on the webhook at ``url`` answers 404, as after deleting it."""
        kind, token = _split(urlsplit(url).path)
        if kind is None:
            raise ValueError("not a stand-in webhook URL")
        with self._store_lock:
            self._tokens[kind].discard(token)

    @property
    def posts(self) -> list[StoredPost]:
        """Every accepted post, in arrival order."""
        with self._store_lock:
            return list(self._posts)

    def posts_for(self, kind: Kind) -> list[StoredPost]:
        return [post for post in self.posts if post.kind == kind]

    # ------------------------------------------------------------------ routing

    def fault_response(
        self, status: int, request: RecordedRequest, headers: Mapping[str, str]
    ) -> Response:
        kind, _ = _split(request.path)
        extra = {"Retry-After": "1"} if status == 429 else {}
        if kind == "teams":
            return _teams_error(status, "Rate limit is exceeded." if status == 429 else "", extra)
        code = _SLACK_CODES.get(status, "invalid_payload" if status < 500 else "rollup_error")
        return Response(status, code, headers=extra)

    def route(self, request: RecordedRequest) -> Response:
        kind, token = _split(request.path)
        if kind is None:
            return Response(404, "Not Found")
        with self._store_lock:
            known = token in self._tokens[kind]
        if not known:
            if kind == "slack":
                return Response(404, "no_service")
            return _teams_error(404, "The workflow was not found.")
        if request.method != "POST":
            return Response(405, "Method Not Allowed")
        body = request.json
        if kind == "slack":
            problem = slack_problem(body)
            if problem:
                return Response(400, problem.split(":", 1)[0])
        else:
            if len(request.body) > _TEAMS_MAX_BYTES:
                return _teams_error(413, "The request content is larger than 28 KB.")
            problem = teams_problem(body)
            if problem:
                return _teams_error(400, problem)
        post = StoredPost(
            kind=kind,
            token=token,
            payload=json.loads(json.dumps(body)),  # a private copy
            received_at=datetime.now(UTC),
        )
        with self._store_lock:
            self._posts.append(post)
        return Response(200, "ok") if kind == "slack" else Response(202)


def _split(path: str) -> tuple[Kind | None, str]:
    """``/slack/<token>`` → ("slack", token); anything else → (None, "")."""
    parts = path.strip("/").split("/")
    if len(parts) == 2 and parts[0] in KINDS and parts[1]:
        kind: Kind = "slack" if parts[0] == "slack" else "teams"
        return kind, parts[1]
    return None, ""


def _teams_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """A workflow trigger's JSON error: ``{"error": {"code", "message"}}``."""
    code = status_phrase(status).replace(" ", "")
    return Response(
        status, {"error": {"code": code, "message": message or code}}, headers=headers or {}
    )
