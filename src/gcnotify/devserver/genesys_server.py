"""A local Genesys Cloud: OAuth client credentials, queue listing and conversation aggregates.

One server plays both hosts (``login.<env>`` and ``api.<env>``), so the demo points both URLs at
it. Shapes follow the real API: the token request takes the client id and secret only in
the HTTP Basic header, API errors are ``ErrorBody`` objects, 429s carry ``Retry-After`` and the
normalized body, and aggregates answers come from deterministic synthetic traffic (``traffic.py``)
computed with the real time semantics (``aggregates.py``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

from gcnotify.core.model import Queue
from gcnotify.devserver.aggregates import AggregatesQueryError, run_aggregates_query
from gcnotify.devserver.details_endpoints import DetailsEndpoints
from gcnotify.devserver.dnc_endpoints import DncEndpoints
from gcnotify.devserver.genesys_errors import error_body, error_response
from gcnotify.devserver.http_base import (
    RecordedRequest,
    Response,
    StandInServer,
    error_path,
    load_schema_validator,
    status_phrase,
)
from gcnotify.devserver.messaging_endpoints import MessagingEndpoints
from gcnotify.devserver.standup_endpoints import StandupEndpoints
from gcnotify.devserver.traffic import DEFAULT_TZ, TrafficModel

__all__ = ["AGGREGATES_PATH", "QUEUES_PATH", "TOKEN_PATH", "GenesysStandIn", "error_body"]

TOKEN_PATH = "/oauth/token"  # noqa: S105 - a URL path
QUEUES_PATH = "/api/v2/routing/queues"
AGGREGATES_PATH = "/api/v2/analytics/conversations/aggregates/query"
_API_PREFIX = "/api/v2/"
_DIVISION = {
    "id": "9e5a2b7c-0d1f-4a3b-8c6d-2e4f6a8b0c1d",
    "name": "Home",
    "selfUri": "/api/v2/authorization/divisions/9e5a2b7c-0d1f-4a3b-8c6d-2e4f6a8b0c1d",
}
# Permission a path needs, for the 403 text (granted through the OAuth client's roles).
_PERMISSIONS = {
    QUEUES_PATH: "routing:queue:view",
    AGGREGATES_PATH: "analytics:conversationAggregate:view",
}
_error = error_response


class GenesysStandIn(StandInServer):
    """Genesys Cloud for one org with ``queues`` and synthetic traffic from ``seed``."""

    def __init__(
        self,
        queues: Sequence[Queue],
        *,
        client_id: str,
        client_secret: str,
        seed: int = 7,
        local_tz: str = DEFAULT_TZ,
        token_ttl: int = 86400,
        page_size_max: int = 100,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.queues: tuple[Queue, ...] = tuple(queues)
        self.token_ttl = token_ttl
        self.page_size_max = page_size_max
        self.traffic = TrafficModel([q.id for q in self.queues], seed=seed, local_tz=local_tz)
        self._client_id = client_id
        self._client_secret = client_secret
        self._tokens: dict[str, float] = {}  # access token -> expiry (clock seconds)
        self._forbidden: list[str] = []
        self._token_lock = threading.Lock()
        self.clock: Callable[[], float] = time.monotonic  # token expiry
        # The present for analytics: traffic after it has not happened yet. Tests pin it.
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._issued: list[str] = []
        self._validator = load_schema_validator("genesys-aggregates-query")
        # Queue members, users aggregates, WFM, exports and Architect (standup packs).
        self.standup = StandupEndpoints(self)
        # Agentless messages and emails, Response Management responses (notifications).
        self.messaging = MessagingEndpoints(self)
        # Outbound DNC lists: read, export, PATCH (the DNC sync).
        self.dnc = DncEndpoints(self)
        # Conversation details (sync query, async jobs) and external contacts (campaigns).
        self.details = DetailsEndpoints(self)
        # Tests set it to answer a wrong-shaped body: (query, real answer) -> the answer sent.
        self.rewrite_aggregates: (
            Callable[[Mapping[str, Any], dict[str, Any]], dict[str, Any]] | None
        ) = None

    def __repr__(self) -> str:
        # Never the client secret or a token.
        return f"GenesysStandIn(queues={len(self.queues)}, url={self._url_or_none()!r})"

    def _url_or_none(self) -> str | None:
        try:
            return self.url
        except RuntimeError:
            return None

    # ------------------------------------------------------------------ test controls

    def revoke_tokens(self) -> None:
        """Invalidate every issued token: the next API call gets 401 (tests token refresh)."""
        with self._token_lock:
            self._tokens.clear()

    def forbid(self, path_prefix: str) -> None:
        """Answer 403 ``missing.any.permissions`` on ``path_prefix`` from now on."""
        with self._token_lock:
            self._forbidden.append(path_prefix)

    def allow_all(self) -> None:
        with self._token_lock:
            self._forbidden.clear()

    @property
    def issued_tokens(self) -> tuple[str, ...]:
        """Every access token handed out, revoked ones included (for leak checks in tests)."""
        with self._token_lock:
            return tuple(self._issued)

    @property
    def tokens_issued(self) -> int:
        with self._token_lock:
            return len(self._issued)

    @property
    def aggregates_queries(self) -> int:
        """Aggregates query requests received (answered or not)."""
        return self.count(AGGREGATES_PATH)

    def prewarm(self, start: datetime, end: datetime) -> None:
        """Generate the traffic a query over ``[start, end)`` needs, so a benchmark's first query
        measures the network round trip rather than the synthetic data generation."""
        for day in self.traffic.days_touching(start, end):
            for queue in self.queues:
                self.traffic.series(queue.id, day)

    # ------------------------------------------------------------------ routing

    def fault_response(
        self, status: int, request: RecordedRequest, headers: Mapping[str, str]
    ) -> Response:
        if status == 429:
            # The normalized 429 Genesys sends: the body repeats Retry-After.
            given = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
            wait = given if given is not None else "1"
            return Response(
                429,
                error_body(
                    429,
                    f"Rate limit exceeded the maximum. Retry the request in [{wait}] seconds",
                ),
                headers={"Retry-After": str(wait)},
            )
        return _error(status, f"{status_phrase(status)} (injected by the gcnotify stand-in)")

    def route(self, request: RecordedRequest) -> Response:
        path = request.path
        if path == TOKEN_PATH:
            if request.method != "POST":
                return _error(405, f"{request.method} is not supported on {path}")
            return self._token(request)
        if not path.startswith(_API_PREFIX):
            return _error(404, f"Resource not found: {path}")
        if not self._authorized(request):
            return _error(401, "Invalid login credentials.", "bad.credentials")
        with self._token_lock:
            forbidden = any(path.startswith(p) for p in self._forbidden)
        if forbidden:
            permission = next(
                (perm for prefix, perm in _PERMISSIONS.items() if path.startswith(prefix)),
                "unknown:permission:view",
            )
            return _error(
                403,
                "Unable to perform the requested action. You are missing the following "
                f"permission(s): [{permission}]",
                "missing.any.permissions",
            )
        details = self.details.route(request)
        if details is not None:
            return details
        dnc = self.dnc.route(request)
        if dnc is not None:
            return dnc
        standup = self.standup.route(request)
        if standup is not None:
            return standup
        messaging = self.messaging.route(request)
        if messaging is not None:
            return messaging
        if path == QUEUES_PATH and request.method == "GET":
            return self._queue_listing(request)
        if path.startswith(QUEUES_PATH + "/") and request.method == "GET":
            return self._queue(path.removeprefix(QUEUES_PATH + "/"))
        if path == AGGREGATES_PATH:
            if request.method != "POST":
                return _error(405, f"{request.method} is not supported on {path}")
            return self._aggregates(request)
        return _error(404, f"Resource not found: {path}")

    # ------------------------------------------------------------------ OAuth

    def _token(self, request: RecordedRequest) -> Response:
        form = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        if "client_id" in form or "client_secret" in form:
            return Response(
                400,
                {
                    "error": "invalid_request",
                    "description": "client credentials must be sent in the Authorization header "
                    "(HTTP Basic), not in the request body",
                },
            )
        if form.get("grant_type") != ["client_credentials"]:
            return Response(
                400,
                {
                    "error": "unsupported_grant_type",
                    "description": "grant_type must be client_credentials",
                },
            )
        if not self._basic_matches(request.header("Authorization")):
            return Response(
                401, {"error": "invalid_client", "description": "client authentication failed"}
            )
        token = secrets.token_urlsafe(32)
        with self._token_lock:
            self._tokens[token] = self.clock() + self.token_ttl
            self._issued.append(token)
        return Response(
            200, {"access_token": token, "token_type": "bearer", "expires_in": self.token_ttl}
        )

    def _basic_matches(self, header: str | None) -> bool:
        if header is None or not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        client_id, sep, client_secret = decoded.partition(":")
        # Both compared in full (no short-circuit on the id) and in constant time.
        id_ok = hmac.compare_digest(client_id.encode(), self._client_id.encode())
        secret_ok = hmac.compare_digest(client_secret.encode(), self._client_secret.encode())
        return bool(sep) and id_ok and secret_ok

    def _authorized(self, request: RecordedRequest) -> bool:
        header = request.header("Authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        with self._token_lock:
            expiry = self._tokens.get(token.strip())
        return expiry is not None and self.clock() < expiry

    # ------------------------------------------------------------------ queues

    def _entity(self, queue: Queue) -> dict[str, Any]:
        members = 3 + int(queue.id.replace("-", "")[-4:], 16) % 40 if queue.id else 0
        service_level = {"percentage": 0.8, "durationMs": 20000}
        return {
            "id": queue.id,
            "name": queue.name,
            "division": _DIVISION,
            "description": "",
            "memberCount": members,
            "userMemberCount": members,
            "joinedMemberCount": max(0, members - 2),
            "mediaSettings": {
                "call": {"alertingTimeoutSeconds": 8, "serviceLevel": service_level},
                "message": {"alertingTimeoutSeconds": 30, "serviceLevel": service_level},
            },
            "acwSettings": {"wrapupPrompt": "OPTIONAL", "timeoutMs": 120000},
            "selfUri": f"{QUEUES_PATH}/{queue.id}",
        }

    def _queue(self, queue_id: str) -> Response:
        for queue in self.queues:
            if queue.id == queue_id:
                return Response(200, self._entity(queue))
        return _error(404, f"Queue {queue_id} not found", "not.found")

    def _queue_listing(self, request: RecordedRequest) -> Response:
        try:
            page_size = int(request.query.get("pageSize", "25"))
            page_number = int(request.query.get("pageNumber", "1"))
        except ValueError:
            return _error(400, "pageSize and pageNumber must be integers")
        if page_size < 1 or page_number < 1:
            return _error(400, "pageSize and pageNumber must be at least 1")
        page_size = min(page_size, self.page_size_max)
        selected = sorted(self.queues, key=lambda q: (q.name.lower(), q.name, q.id))
        name = request.query.get("name")
        if name:
            selected = [q for q in selected if _name_matches(name, q.name)]
        ids = request.query_values("id")
        if ids:
            selected = [q for q in selected if q.id in ids]
        total = len(selected)
        page_count = math.ceil(total / page_size)
        first = (page_number - 1) * page_size
        page = selected[first : first + page_size]

        def uri(number: int) -> str:
            params: dict[str, Any] = {"pageSize": page_size, "pageNumber": number}
            if name:
                params["name"] = name
            return f"{QUEUES_PATH}?{urlencode(params)}"

        listing: dict[str, Any] = {
            "entities": [self._entity(q) for q in page],
            "pageSize": page_size,
            "pageNumber": page_number,
            "total": total,
            "pageCount": page_count,
            "firstUri": uri(1),
            "lastUri": uri(max(page_count, 1)),
            "selfUri": uri(page_number),
        }
        if page_number < page_count:
            listing["nextUri"] = uri(page_number + 1)
        if page_number > 1:
            listing["previousUri"] = uri(page_number - 1)
        return Response(200, listing)

    # ------------------------------------------------------------------ aggregates

    def _aggregates(self, request: RecordedRequest) -> Response:
        body = request.json
        if body is None:
            return _error(400, "The request body is not valid JSON", "bad.request")
        errors = sorted(self._validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        if errors:
            first = errors[0]
            where = error_path(first.absolute_path)
            prefix = f"{where}: " if where else ""
            return _error(400, f"{prefix}{first.message}", "bad.request")
        try:
            result = run_aggregates_query(
                body, self.traffic, [q.id for q in self.queues], now=self.now()
            )
        except AggregatesQueryError as exc:
            return _error(400, str(exc), "bad.request")
        if self.rewrite_aggregates is not None:
            result = self.rewrite_aggregates(body, result)
        return Response(200, result)


def _name_matches(pattern: str, name: str) -> bool:
    """The ``name`` query parameter: case-insensitive, leading/trailing ``*`` as wildcards."""
    text, wanted = name.lower(), pattern.lower()
    starts, ends = wanted.startswith("*"), wanted.endswith("*")
    core = wanted.strip("*")
    if starts and ends:
        return core in text
    if starts:
        return text.endswith(core)
    if ends:
        return text.startswith(core)
    return text == core
