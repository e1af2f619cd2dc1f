"""The Genesys Cloud seam: OAuth client credentials, queue lookup and the aggregates query.

Every HTTP call to Genesys goes through one ``requests.Session`` (keep-alive) held here, and every
failure leaves as an ``errors.GenesysError`` whose message says what to fix. Messages are built
from names, statuses and Genesys's own error text (with any credential value masked), never from
the client secret or the access token.
"""

from __future__ import annotations

import difflib
import functools
import math
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests

from gcnotify.core.config import is_queue_id
from gcnotify.core.errors import (
    GenesysAuthError,
    GenesysOutcomeUnknownError,
    GenesysPermissionError,
    GenesysRequestError,
    GenesysUnavailableError,
    QueueNotFoundError,
    ReportError,
)
from gcnotify.core.model import Queue
from gcnotify.core.retry import RetryPolicy, parse_retry_after
from gcnotify.genesys.aggregates import (
    REQUEST_BYTES_BUDGET,
    REQUEST_BYTES_MAX,
    encode_body,
    merge_aggregates_responses,
    split_aggregates_query,
    split_to_fit,
)
from gcnotify.runtime.http import is_connect_failure, request_with_retry
from gcnotify.runtime.redact import REDACTOR

__all__ = ["AGGREGATES_PATH", "PAGE_WORKERS", "QUEUES_PATH", "TOKEN_PATH", "GenesysClient"]

TOKEN_PATH = "/oauth/token"  # noqa: S105 - a URL path, not a password
QUEUES_PATH = "/api/v2/routing/queues"
AGGREGATES_PATH = "/api/v2/analytics/conversations/aggregates/query"

# Permissions a client-credentials OAuth client needs, granted through its roles (a client
# credentials grant has no scopes: the roles decide what it may do).
_PERMISSIONS = {
    QUEUES_PATH: "routing:queue:view",
    AGGREGATES_PATH: "analytics:conversationAggregate:view",
}

# RetryPolicy is frozen, so one shared default is safe.
DEFAULT_POLICY = RetryPolicy()

QUEUE_PAGE_SIZE = 100
# Guards against a server that keeps announcing a next page: 100 000 queues is far beyond any org.
MAX_QUEUE_PAGES = 1000
# Listing pages in flight at once: a few, well inside Genesys's per-client rate limits.
PAGE_WORKERS = 4

# Renew the token this long before Genesys says it expires: 10 % of its life, at most 5 minutes,
# so a report that starts just before expiry never runs into a 401 half way.
_TOKEN_MARGIN_MAX = 300.0
_TOKEN_MARGIN_FRACTION = 0.1

_OAUTH_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# Answers to a send that mean Genesys did not process it: safe to send again (after Retry-After).
_NOT_PROCESSED = frozenset({429, 503})
_UNKNOWN_ADVICE = (
    "Genesys may have sent the message. It was not retried, to avoid sending a duplicate "
    "(agentless sends have no idempotency key). Check the recipient's conversations in Genesys "
    "Cloud (the conversation details query, or the delivery receipts) before sending it again."
)
_FILTER_WORDS = ("predicate", "clause", "filter")
_LIMIT_WORDS = ("too many", "maximum", "max ", "limit", "exceed")


@dataclass(frozen=True)
class _Attempts:
    """How many tries a request took and how long, for 'gave up after …' messages."""

    count: int
    seconds: float


@dataclass(frozen=True)
class _QueueIndex:
    by_name: dict[str, list[Queue]]
    by_id: dict[str, Queue]


class GenesysClient:
    """One org's Genesys Cloud API, shared by every report of a Lambda container.

    ``calls`` counts every HTTP request made (token requests and retries included) so the
    runner can report ``genesys_api_calls`` per report as a difference.
    """

    def __init__(
        self,
        *,
        login_url: str,
        api_url: str,
        client_id: str,
        client_secret: str,
        session: requests.Session | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
        timeout: tuple[float, float] = (3.05, 30.0),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._login_url = login_url.rstrip("/")
        self._api_url = api_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._session = session if session is not None else requests.Session()
        self._policy = policy
        self._timeout = timeout
        self._sleep = sleep
        self._clock = clock
        self._rand = rand
        self.calls = 0
        self.aggregates_queries = 0  # POSTs of the aggregates query (a split body counts each)
        # Seconds the current invocation may still spend (set per run); caps the retries.
        self.time_left: Callable[[], float | None] | None = None
        self._calls_lock = threading.Lock()
        self._token_lock = threading.Lock()
        self._token: str | None = None
        self._token_valid_until = 0.0
        self._queues: _QueueIndex | None = None

    def __repr__(self) -> str:
        return f"GenesysClient(api_url={self._api_url!r}, login_url={self._login_url!r})"

    # ------------------------------------------------------------------ token

    def token(self) -> str:
        """A valid access token, fetched once and reused until shortly before it expires.

        Queue pages run on several threads: one of them fetches a missing token, the others
        wait for it instead of fetching their own.
        """
        if self._token is not None and self._clock() < self._token_valid_until:
            return self._token
        with self._token_lock:
            now = self._clock()
            if self._token is not None and now < self._token_valid_until:
                return self._token  # fetched by another thread meanwhile
            return self._fetch_token(now)

    def _fetch_token(self, now: float) -> str:
        url = self._login_url + TOKEN_PATH
        endpoint = f"POST {TOKEN_PATH}"
        response, attempts = self._send(
            lambda: self._session.post(
                url,
                data={"grant_type": "client_credentials"},
                auth=(self._client_id, self._client_secret),
                headers={"Accept": "application/json"},
                timeout=self._timeout,
            ),
            endpoint=endpoint,
            host=self._login_url,
        )
        status = response.status_code
        if status == 429 or status >= 500:
            raise self._unavailable(endpoint, status, attempts, None)
        if status != 200:
            raise GenesysAuthError(
                f"Genesys Cloud refused the OAuth token request ({endpoint} at "
                f"{self._login_url} answered {status}{self._oauth_error(response)}). Either the "
                "client id/secret in the credentials secret are wrong, the genesys.environment "
                "(region) in gcnotify.yaml is not the org's region, or the OAuth client is "
                "disabled. Check the OAuth client under Admin > Integrations > OAuth.",
                status=status,
            )
        body = _json_object(response)
        access_token = body.get("access_token") if body is not None else None
        expires_in = body.get("expires_in") if body is not None else None
        if (
            not isinstance(access_token, str)
            or not access_token
            or not isinstance(expires_in, int)
            or isinstance(expires_in, bool)
            or expires_in < 0
        ):
            raise GenesysAuthError(
                f"{endpoint} at {self._login_url} answered 200 without a usable token "
                "(expected JSON with access_token and expires_in); check that the login URL "
                "(GCNOTIFY_GENESYS_LOGIN_URL or genesys.environment) points at Genesys Cloud.",
                status=status,
            )
        margin = min(_TOKEN_MARGIN_MAX, _TOKEN_MARGIN_FRACTION * expires_in)
        if not access_token.isascii() or not access_token.isprintable() or " " in access_token:
            raise GenesysAuthError(
                "Genesys Cloud's token endpoint returned an access token with spaces or control "
                "characters; it was refused (never sent as a header). Check that the login URL "
                "(GCNOTIFY_GENESYS_LOGIN_URL or genesys.environment) points at Genesys Cloud.",
                status=status,
            )
        REDACTOR.add(access_token)
        self._token = access_token
        # Measured from before the request was sent, so the cache never outlives the token.
        self._token_valid_until = now + expires_in - margin
        return access_token

    def invalidate_token(self, rejected: str | None = None) -> None:
        """Forget the cached token; the next call fetches a new one.

        ``rejected``: the token a 401 refused; when another thread has already replaced it, the
        new one is kept.
        """
        with self._token_lock:
            if rejected is not None and self._token != rejected:
                return
            self._token = None
            self._token_valid_until = 0.0

    # ----------------------------------------------------------------- queues

    def clear_queue_cache(self) -> None:
        """Forget the queue listing, so a new run sees renamed or new queues."""
        self._queues = None

    def resolve_queues(self, refs: Sequence[str]) -> list[Queue]:
        """Queues for config refs (exact names or ids), in config order, each queue once.

        Raises ``QueueNotFoundError`` naming every missing ref and the closest real names, so a
        typo fails the report before anything is fetched or sent.
        """
        index = self._queue_index(len(dict.fromkeys(refs)))
        resolved: dict[str, Queue] = {}
        missing: list[str] = []
        for ref in dict.fromkeys(refs):
            named = index.by_name.get(ref, [])
            if len(named) > 1:
                ids = ", ".join(q.id for q in named)
                raise ReportError(
                    f"queue name {ref!r} matches {len(named)} Genesys Cloud queues ({ids}); "
                    "use the queue id in reports[].queues of gcnotify.yaml instead."
                )
            queue = named[0] if named else index.by_id.get(ref.lower())
            if queue is None:
                missing.append(ref)
            else:
                resolved.setdefault(queue.id, queue)
        if missing:
            suggestions = {
                ref: _close_names(ref, index.by_name) for ref in missing if not is_queue_id(ref)
            }
            raise QueueNotFoundError(missing, {k: v for k, v in suggestions.items() if v})
        return list(resolved.values())

    def _queue_index(self, wanted: int) -> _QueueIndex:
        """Every queue of the org, listed once per run.

        An org holds at least as many queues as the distinct refs a report names, so the pages
        those refs need certainly exist: they are requested at once (a 200-queue report waits one
        round trip for its two pages, not two). Pages that page 1 announces beyond them follow,
        also at once; a listing without ``pageCount`` is followed by ``nextUri``, page by page.
        """
        if self._queues is not None:
            return self._queues
        self.token()  # one token for all the pages, before they run concurrently
        first = min(MAX_QUEUE_PAGES, max(1, math.ceil(wanted / QUEUE_PAGE_SIZE)))
        listings = self._queue_pages(range(1, first + 1))
        page_count = listings[0].get("pageCount")
        if isinstance(page_count, int) and not isinstance(page_count, bool):
            last = min(max(page_count, 1), MAX_QUEUE_PAGES)
            listings = listings[:last]  # more refs than queues: pages past the end are empty
            listings += self._queue_pages(range(first + 1, last + 1))
        else:
            listings = listings[: _last_linked(listings) + 1]
            while (
                len(listings) < MAX_QUEUE_PAGES
                and listings[-1].get("nextUri")
                and _entities(listings[-1])
            ):
                listings += self._queue_pages([len(listings) + 1])
        by_name: dict[str, list[Queue]] = {}
        by_id: dict[str, Queue] = {}
        for listing in listings:
            for entity in _entities(listing):
                queue_id, name = entity.get("id"), entity.get("name")
                if isinstance(queue_id, str) and isinstance(name, str):
                    queue = Queue(id=queue_id, name=name)
                    if queue_id.lower() not in by_id:
                        by_id[queue_id.lower()] = queue
                        by_name.setdefault(name, []).append(queue)
        self._queues = _QueueIndex(by_name=by_name, by_id=by_id)
        return self._queues

    def _queue_pages(self, numbers: Sequence[int]) -> list[dict[str, Any]]:
        """Listing pages ``numbers``, in order; several go out at once (at most 4 in flight)."""

        def page(number: int) -> dict[str, Any]:
            params = {"pageSize": QUEUE_PAGE_SIZE, "pageNumber": number}
            return self._get_json(QUEUES_PATH, params=params)

        if len(numbers) <= 1:
            return [page(n) for n in numbers]
        with ThreadPoolExecutor(
            max_workers=min(len(numbers), PAGE_WORKERS), thread_name_prefix="gcnotify-queues"
        ) as pool:
            return list(pool.map(page, numbers))

    # ------------------------------------------------------------- aggregates

    def query_aggregates(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The aggregates answer for ``body``; ``{}`` or no ``results`` means no data.

        A body whose bytes would pass the platform's request size limit is sent as the fewest
        parts that fit, before Genesys can refuse it; one that fits costs one query. When Genesys
        answers 400 because the filter holds too many predicates (no limit is documented, see
        ``aggregates``), the queue clause is halved. Either way the answers are merged.
        """
        payload = encode_body(body)
        if len(payload) <= REQUEST_BYTES_BUDGET:
            return self._query_aggregates_once(body, payload)
        parts = split_to_fit(body)
        if parts is None:
            raise GenesysRequestError(
                f"the aggregates query is {len(payload):,} bytes, over what Genesys Cloud accepts "
                f"in one request ({REQUEST_BYTES_MAX:,} bytes, request.bytes.max; gcnotify keeps "
                f"each body under {REQUEST_BYTES_BUDGET:,}), and it cannot be split by queue into "
                "bodies that fit. Nothing was sent: list fewer queues in reports[].queues (or "
                "fewer media_types) of gcnotify.yaml, or split the report into several reports.",
                status=None,
            )
        return merge_aggregates_responses([self.query_aggregates(part) for part in parts])

    def _query_aggregates_once(self, body: Mapping[str, Any], payload: bytes) -> dict[str, Any]:
        """One POST of ``payload`` (the encoded ``body``), halved on a filter-size 400."""
        self.aggregates_queries += 1
        response = self._authorized("POST", AGGREGATES_PATH, data=payload)
        if response.status_code == 400 and _names_filter_limit(_json_object(response)):
            halves = split_aggregates_query(body)
            if halves is not None:
                response.close()
                return merge_aggregates_responses([self.query_aggregates(h) for h in halves])
        return self._checked_json(response, "POST", AGGREGATES_PATH)

    # ---------------------------------------------------------------- plumbing

    def _get_json(self, path: str, *, params: Mapping[str, Any]) -> dict[str, Any]:
        return self._checked_json(self._authorized("GET", path, params=params), "GET", path)

    def _authorized(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: bytes | None = None,
    ) -> requests.Response:
        """Send with a bearer token; on 401 fetch a new token and try exactly once more.

        ``data`` is an already encoded JSON body, so its size is known before it is sent.
        """
        return self._bearer_request(method, self._api_url + path, path, params=params, data=data)

    def _send(
        self,
        send: Callable[[], requests.Response],
        *,
        endpoint: str,
        host: str,
        once: bool = False,
    ) -> tuple[requests.Response, _Attempts]:
        """One logical request with the shared retry policy; network errors mapped at the seam.

        ``once``: the request must not be repeated after it may have reached Genesys (see
        ``post_once``); only failures to connect and answers meaning "not processed" repeat.
        """
        started = self._clock()
        tries = 0

        def count() -> None:
            nonlocal tries
            tries += 1
            with self._calls_lock:  # queue pages are counted from several threads
                self.calls += 1

        try:
            response = request_with_retry(
                send,
                policy=self._policy,
                server_wait=self._once_wait if once else _retry_after,
                # Token, GET and the aggregates query are safe to repeat; a send is not.
                network_retry="connect_only" if once else "all",
                sleep=self._sleep,
                clock=self._clock,
                rand=self._rand,
                on_attempt=count,
                time_left=self.time_left,
            )
        except requests.RequestException as exc:
            attempts = _Attempts(tries, self._clock() - started)
            reason = self._mask(f"{type(exc).__name__}: {exc}")[:300]
            if once and _may_have_arrived(exc):
                raise GenesysOutcomeUnknownError(
                    f"{endpoint} was sent to Genesys Cloud but no answer came back ({reason}), "
                    f"so the outcome is unknown: {_UNKNOWN_ADVICE}",
                    status=None,
                ) from exc
            again = "it can simply be sent again" if once else "the report can simply be run again"
            raise GenesysUnavailableError(
                f"could not reach Genesys Cloud ({endpoint} at {host}) after {attempts.count} "
                f"attempts over {attempts.seconds:.1f} s ({reason}). Check the Lambda's network "
                "egress and the genesys.environment / GCNOTIFY_GENESYS_*_URL settings; nothing "
                f"was sent, so {again}.",
                status=None,
            ) from exc
        return response, _Attempts(tries, self._clock() - started)

    def _unavailable(
        self,
        endpoint: str,
        status: int,
        attempts: _Attempts,
        body: Mapping[str, Any] | None,
        retry_after: float | None = None,
    ) -> GenesysUnavailableError:
        return GenesysUnavailableError(
            f"Genesys Cloud still answered {status} to {endpoint} after {attempts.count} "
            f"attempt(s) over {attempts.seconds:.1f} s (rate limited or unavailable)."
            f"{self._genesys_says(body)} Nothing was sent; run the report again later (Lambda "
            "retries a failed invocation). A 429 that persists means other integrations share "
            "this OAuth client's rate limit: give gcnotify its own OAuth client.",
            status=status,
            retry_after=retry_after,
        )

    def _checked_json(self, response: requests.Response, method: str, path: str) -> dict[str, Any]:
        """The JSON object of a 2xx answer, or the error a user can act on."""
        status = response.status_code
        endpoint = f"{method} {path}"
        body = _json_object(response)
        if 200 <= status < 300:
            if body is None:
                raise GenesysRequestError(
                    f"{endpoint} answered {status} but not with a JSON object; check that the "
                    "API URL (GCNOTIFY_GENESYS_API_URL or genesys.environment) points at "
                    "Genesys Cloud.",
                    status=status,
                )
            return body
        said = self._genesys_says(body)
        if status == 403:
            permission = _PERMISSIONS.get(path, "the permission for this endpoint")
            raise GenesysPermissionError(
                f"Genesys Cloud answered 403 Forbidden to {endpoint}: the OAuth client's roles "
                f"lack the permission {permission}. Client-credentials OAuth clients get "
                "permissions from roles, not scopes: add a role holding it to the OAuth client "
                f"(Admin > Integrations > OAuth > Roles), for the queues' divisions.{said}",
                status=403,
            )
        raise GenesysRequestError(
            f"Genesys Cloud rejected {endpoint} with {status}.{said} This is not retried: fix "
            "the request (for example the report's queues, metrics or media_types).",
            status=status,
        )

    def _genesys_says(self, body: Mapping[str, Any] | None) -> str:
        """Genesys's own ErrorBody message and contextId, for support cases."""
        if body is None:
            return ""
        parts = []
        message = body.get("message")
        if isinstance(message, str) and message:
            parts.append(f" Genesys says: {self._mask(message)[:500]}")
        code = body.get("code")
        if isinstance(code, str) and code:
            parts.append(f" (code {self._mask(code)[:100]})")
        context_id = body.get("contextId")
        if isinstance(context_id, str) and context_id:
            parts.append(f" [contextId {self._mask(context_id)[:100]}]")
        return "".join(parts) + ("." if parts else "")

    def _oauth_error(self, response: requests.Response) -> str:
        """The OAuth ``error`` code, when it is a plain code word (never free text)."""
        body = _json_object(response)
        code = body.get("error") if body is not None else None
        if isinstance(code, str) and _OAUTH_ERROR_CODE.match(code):
            return f", error {self._mask(code)!r}"
        return ""

    def _mask(self, text: str) -> str:
        """Replace any credential value the server may echo back."""
        for secret in (self._client_secret, self._token, self._client_id):
            if secret:
                text = text.replace(secret, "***")
        return REDACTOR.mask(text)

    # ------------------------------------------------------- generic requests
    # For the seam's other endpoints (users, WFM, exports, Architect): the same token, retry
    # policy, call counting and error mapping as the queue report's calls.

    def get_json(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        permission: str | None = None,
    ) -> dict[str, Any]:
        """The JSON object ``GET path`` answers; ``permission`` names what a 403 lacks."""
        response = self._bearer_request("GET", self._api_url + path, path, params=params)
        return self._checked_with(response, "GET", path, permission)

    def post_json(
        self,
        path: str,
        body: Mapping[str, Any] | Sequence[Any],
        *,
        permission: str | None = None,
    ) -> dict[str, Any]:
        """The JSON object ``POST path`` with ``body`` answers (2xx, 202 included); a few
        endpoints (the bulk message read) take a JSON array as their body."""
        import json

        payload = json.dumps(body, separators=(",", ":")).encode("utf-8")
        response = self._bearer_request("POST", self._api_url + path, path, data=payload)
        return self._checked_with(response, "POST", path, permission)

    def patch_json(
        self, path: str, body: Mapping[str, Any], *, permission: str | None = None
    ) -> dict[str, Any] | None:
        """The JSON object ``PATCH path`` with ``body`` answers, or None for a 2xx without a body.

        Retried like ``post_json``: callers use it for PATCHes that are safe to repeat (adding or
        removing the same entries twice leaves the same state).
        """
        import json

        payload = json.dumps(body, separators=(",", ":")).encode("utf-8")
        response = self._bearer_request("PATCH", self._api_url + path, path, data=payload)
        if 200 <= response.status_code < 300 and not response.content.strip():
            return None
        return self._checked_with(response, "PATCH", path, permission)

    def post_once(
        self, path: str, body: Mapping[str, Any], *, permission: str | None = None
    ) -> dict[str, Any]:
        """The JSON object ``POST path`` answers, for a POST that must never go out twice.

        Agentless sends have no idempotency key, so nothing that may have reached Genesys is
        repeated here:

        - a failure to connect is retried (the request never left); a read timeout or a reset
          connection after sending raises ``GenesysOutcomeUnknownError`` (``maybe_sent``);
        - 429 and 503 mean "not processed": retried within the policy and ``time_left`` when
          their ``Retry-After`` is at most the policy's ``max_delay``; a longer wait, or one that
          outlasts the budget, raises ``GenesysUnavailableError`` with ``retry_after`` set, so the
          caller re-queues instead of sleeping;
        - 500, 502, 504 (any other 5xx) may come after Genesys processed the request, so they
          raise ``GenesysOutcomeUnknownError`` at once rather than risk a duplicate;
        - a 401 gets a fresh token and one more try, as for every call; other 4xx raise
          ``GenesysRequestError`` or ``GenesysPermissionError`` (naming ``permission``) with the
          ErrorBody ``code``;
        - a 2xx that is not a JSON object raises ``GenesysOutcomeUnknownError``: it was accepted,
          but what became of it cannot be read.
        """
        return self.post_once_answer(path, body, permission=permission)[1]

    def post_once_answer(
        self, path: str, body: Mapping[str, Any], *, permission: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        """``post_once``, with the HTTP status of the answer (senders record it)."""
        import json

        payload = json.dumps(body, separators=(",", ":")).encode("utf-8")
        response = self._bearer_request("POST", self._api_url + path, path, data=payload, once=True)
        status = response.status_code
        endpoint = f"POST {path}"
        answer = _json_object(response)
        if 200 <= status < 300:
            if answer is None:
                raise GenesysOutcomeUnknownError(
                    f"Genesys Cloud answered {status} to {endpoint} but not with a JSON object, "
                    f"so what it did with the request cannot be read: {_UNKNOWN_ADVICE}",
                    status=status,
                )
            return status, answer
        said = self._genesys_says(answer)
        code = _error_code(answer)
        if status == 403:
            needed = permission or "the permission for this endpoint"
            raise GenesysPermissionError(
                f"Genesys Cloud answered 403 Forbidden to {endpoint}: the OAuth client's roles "
                f"lack the permission {needed}. Nothing was sent. Client-credentials OAuth "
                "clients get permissions from roles, not scopes: add a role holding it to the "
                f"OAuth client (Admin > Integrations > OAuth > Roles).{said}",
                status=403,
                code=code,
            )
        raise GenesysRequestError(
            f"Genesys Cloud refused {endpoint} with {status}.{said} Nothing was sent, and it is "
            "not retried: the request itself must change (its addresses, sender or content).",
            status=status,
            code=code,
        )

    def _once_wait(self, response: requests.Response) -> float | None:
        """The wait before repeating a send; ``math.inf`` tells the retry loop never to."""
        if response.status_code not in _NOT_PROCESSED:
            return math.inf  # a 500/502/504 may follow a processed request
        wait = _retry_after(response)
        if wait is not None and wait > self._policy.max_delay:
            return math.inf  # not slept through in this invocation: the caller re-queues
        return wait

    def _once_failure(
        self, endpoint: str, response: requests.Response, attempts: _Attempts
    ) -> GenesysUnavailableError:
        """The error for a send's final 429 or 5xx: not processed, or outcome unknown."""
        status = response.status_code
        answer = _json_object(response)
        said, code = self._genesys_says(answer), _error_code(answer)
        response.close()
        if status not in _NOT_PROCESSED:
            return GenesysOutcomeUnknownError(
                f"Genesys Cloud answered {status} to {endpoint}: the request reached Genesys and "
                f"may have been processed, so the outcome is unknown.{said} {_UNKNOWN_ADVICE}",
                status=status,
                code=code,
            )
        wait = _retry_after(response)
        when = f"after {wait:.0f} s (its Retry-After)" if wait is not None else "later"
        kind = "rate limited" if status == 429 else "unavailable"
        return GenesysUnavailableError(
            f"Genesys Cloud answered {status} to {endpoint} ({kind}) after {attempts.count} "
            f"attempt(s) over {attempts.seconds:.1f} s; it did not process the request.{said} "
            f"Nothing was sent: send it again {when}. A 429 that persists means other "
            "integrations share this OAuth client's rate limit: give gcnotify its own OAuth "
            "client.",
            status=status,
            retry_after=wait,
            code=code,
        )

    def download(self, url: str, *, max_bytes: int, what: str) -> tuple[bytes, str | None]:
        """The bytes (and content type) at ``url``, refused past ``max_bytes``.

        Genesys hands out download links that may point at the API itself or at a storage
        service; the bearer token is sent only to the API's own host, never to a third party.
        """
        from urllib.parse import urlsplit

        absolute = url if urlsplit(url).scheme else self._api_url + url
        same_host = urlsplit(absolute).netloc == urlsplit(self._api_url).netloc
        shown = urlsplit(absolute).path
        response = self._bearer_request(
            "GET", absolute, shown, stream=True, bearer=same_host, accept="*/*"
        )
        with response:
            if not 200 <= response.status_code < 300:
                self._checked_with(response, "GET", shown, None)
            declared = response.headers.get("Content-Length")
            too_big = GenesysRequestError(
                f"the {what} is larger than {max_bytes:,} bytes, more than gcnotify attaches; "
                "it was not downloaded. Narrow it (fewer queues or a shorter window).",
                status=response.status_code,
            )
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise too_big
            chunks: list[bytes] = []
            size = 0
            try:
                for chunk in response.iter_content(chunk_size=65536):
                    size += len(chunk)
                    if size > max_bytes:
                        raise too_big
                    chunks.append(chunk)
            except requests.RequestException as exc:
                raise GenesysUnavailableError(
                    f"the {what} download from Genesys Cloud broke off ({type(exc).__name__}); "
                    "run the report again.",
                    status=None,
                ) from exc
        return b"".join(chunks), response.headers.get("Content-Type")

    def _bearer_request(
        self,
        method: str,
        url: str,
        shown: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: bytes | None = None,
        stream: bool = False,
        bearer: bool = True,
        accept: str = "application/json",
        once: bool = False,
    ) -> requests.Response:
        """One request to an absolute ``url`` (downloads leave the API's paths); a 401 fetches a
        new token and tries exactly once more, 429/5xx that outlast the retries are raised.

        ``once`` maps failures as ``post_once`` documents (a 401 was not processed, so its one
        more try holds for sends too).
        """
        endpoint = f"{method} {shown}"
        for attempt in (1, 2):
            token = self.token() if bearer else None
            headers = {"Accept": accept}
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            if data is not None:
                headers["Content-Type"] = "application/json"
            send = functools.partial(
                self._session.request,
                method,
                url,
                params=params,
                data=data,
                headers=headers,
                timeout=self._timeout,
                stream=stream,
            )
            response, attempts = self._send(send, endpoint=endpoint, host=self._api_url, once=once)
            status = response.status_code
            if once and (status == 429 or status >= 500):
                raise self._once_failure(endpoint, response, attempts)
            if status == 429 or status >= 500:
                raise self._unavailable(
                    endpoint, status, attempts, _json_object(response), _retry_after(response)
                )
            if status != 401 or token is None:
                return response
            response.close()
            self.invalidate_token(token)
            if attempt == 2:
                break
        raise GenesysAuthError(
            f"Genesys Cloud answered 401 Unauthorized to {endpoint} even with a freshly issued "
            "token. The OAuth client may have been disabled or its token revoked, or the API URL "
            "(GCNOTIFY_GENESYS_API_URL or genesys.environment) belongs to another region than "
            "the login URL.",
            status=401,
        )

    def _checked_with(
        self, response: requests.Response, method: str, path: str, permission: str | None
    ) -> dict[str, Any]:
        """``_checked_json``, with the 403 naming ``permission`` when the caller knows it."""
        if response.status_code == 403 and permission is not None:
            said = self._genesys_says(_json_object(response))
            raise GenesysPermissionError(
                f"Genesys Cloud answered 403 Forbidden to {method} {path}: the OAuth client's "
                f"roles lack the permission {permission}. Client-credentials OAuth clients get "
                "permissions from roles, not scopes: add a role holding it to the OAuth client "
                f"(Admin > Integrations > OAuth > Roles).{said}",
                status=403,
            )
        return self._checked_json(response, method, path)


def _retry_after(response: requests.Response) -> float | None:
    return parse_retry_after(response.headers.get("Retry-After"), time.time())


def _may_have_arrived(exc: requests.RequestException) -> bool:
    """True when a failed request may have reached Genesys (not a failure to connect or a TLS
    handshake, which end before anything is sent, nor a malformed URL, which never leaves)."""
    if isinstance(exc, requests.exceptions.SSLError):
        return False
    return isinstance(exc, requests.ConnectionError | requests.Timeout) and not (
        is_connect_failure(exc)
    )


def _error_code(body: Mapping[str, Any] | None) -> str | None:
    """The ErrorBody ``code`` (a short code word such as ``bad.request``), if there is one."""
    code = body.get("code") if body is not None else None
    if isinstance(code, str) and _OAUTH_ERROR_CODE.match(code):
        return code
    return None


def _json_object(response: requests.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _names_filter_limit(body: Mapping[str, Any] | None) -> bool:
    """True when a 400 ErrorBody blames the size of the filter (its predicates or clauses)."""
    if body is None:
        return False
    limit = body.get("limit")
    if isinstance(limit, Mapping):
        key = str(limit.get("key", "")).lower()
        if any(word in key for word in _FILTER_WORDS):
            return True
    text = " ".join(str(body.get(k, "")) for k in ("message", "code")).lower()
    return any(w in text for w in _FILTER_WORDS) and any(w in text for w in _LIMIT_WORDS)


def _close_names(ref: str, by_name: Mapping[str, list[Queue]]) -> list[str]:
    """Real queue names close to ``ref``, matched case-insensitively ('support' → 'Support')."""
    folded: dict[str, list[str]] = {}
    for name in by_name:
        folded.setdefault(name.lower(), []).append(name)
    matches = difflib.get_close_matches(ref.lower(), list(folded), n=3, cutoff=0.6)
    return [name for match in matches for name in folded[match]]


def _entities(listing: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    entities = listing.get("entities")
    if not isinstance(entities, list):
        return []
    return [e for e in entities if isinstance(e, Mapping)]


def _last_linked(listings: Sequence[Mapping[str, Any]]) -> int:
    """Index of the last page of a chain without ``pageCount``: the first with no ``nextUri``
    or no entities (an announced page that came back empty ends the listing too)."""
    for index, listing in enumerate(listings):
        if not listing.get("nextUri") or not _entities(listing):
            return index
    return len(listings) - 1
