"""Posts chat messages to Slack and Microsoft Teams incoming webhooks.

A webhook URL grants posting to its channel, so it is a secret: it is held only for the length
of one ``post`` and never appears in an error, a repr or an exception chain (requests puts the
URL's path into its own exception messages, so those are dropped, not chained). Errors name the
channel kind and the secret key that holds the URL instead. The URL, its path and its long parts
(Slack's token, Teams' ``sig``) are also registered with the redactor, so text that quotes them
anywhere else is masked at the exits.

Success is any 2xx: Slack answers 200 ``ok``, Teams Workflows 202 (accepted; the flow then runs
on its own). Slack answers 429 with ``Retry-After``; 429 and 5xx are retried within the policy's
bounds. A post has no idempotency key, so a request that may have reached the service (a read
timeout) is not repeated: the error says the message may have been posted.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import parse_qsl, urlsplit

import requests

from gcnotify import __version__
from gcnotify.chat.messages import (
    CHAT_KINDS,
    ChatKind,
    ChatMessage,
    build_payload,
    encode_payload,
)
from gcnotify.core.errors import ChatError, SecretError
from gcnotify.core.retry import RETRYABLE_STATUSES, RetryPolicy, server_wait
from gcnotify.runtime.http import is_connect_failure, request_with_retry
from gcnotify.runtime.redact import REDACTOR

__all__ = ["DEFAULT_POLICY", "ChatClient", "default_secret_key", "mask_url"]

# Chat alerts are short and best-effort: a few tries within half a minute, not a minute.
DEFAULT_POLICY = RetryPolicy(max_attempts=4, max_total_seconds=30.0)

_USER_AGENT = f"gcnotify/{__version__}"
_SECRET_KEY = re.compile(r"[A-Za-z0-9_.-]{1,128}")
# A service's error code worth quoting: short, and no room in it for a URL or a token.
_ERROR_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,63}")
# Plain http is for the local stand-in only, never for a real webhook.
_LOCAL_HOSTS = frozenset({"127.0.0.1"})
# URL parts this long are tokens or signatures, not words such as "services" or "workflows".
_SECRET_PART_MIN = 16


def default_secret_key(kind: ChatKind) -> str:
    """The secret key that holds ``kind``'s webhook URL unless the caller names another."""
    return f"{kind}_webhook_url"


def mask_url(url: str) -> str:
    """The URL with everything after the host replaced, for a log line that must name it."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return "<webhook URL>"
    if not parts.scheme or not host:
        return "<webhook URL>"
    return f"{parts.scheme}://{host}/…"


@dataclass(frozen=True)
class _Target:
    """Who a post is for, in the words an error may use (never the URL)."""

    kind: ChatKind
    secret_key: str

    @property
    def subject(self) -> str:
        return f"the webhook for {self.kind} (secret key {self.secret_key})"


class ChatClient:
    """POSTs ``ChatMessage`` payloads to webhook URLs.

    A URL that cannot be a webhook is a ``SecretError`` (the value in the secret is wrong);
    every failure of the post itself is a ``ChatError``.
    """

    def __init__(
        self,
        session: requests.Session | None = None,
        *,
        policy: RetryPolicy = DEFAULT_POLICY,
        timeout: tuple[float, float] = (3.05, 10.0),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._session = session if session is not None else requests.Session()
        self._policy = policy
        self._timeout = timeout
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self.calls = 0
        # Seconds the current invocation may still spend (set per run); caps the retries.
        self.time_left: Callable[[], float | None] | None = None

    def __repr__(self) -> str:
        return f"ChatClient(calls={self.calls})"

    def _count(self) -> None:
        self.calls += 1

    def _server_wait(self, response: requests.Response) -> float | None:
        """Seconds the service asks us to wait; capped so a bogus header cannot hang the Lambda."""
        return server_wait(
            response.headers, now=self._wall_clock(), cap=self._policy.max_total_seconds
        )

    def post(
        self,
        kind: ChatKind,
        url: str,
        message: ChatMessage,
        *,
        secret_key: str | None = None,
    ) -> None:
        """Post ``message`` to ``kind``'s webhook at ``url``; return once the service took it.

        ``secret_key`` names the secret key the URL came from (default ``<kind>_webhook_url``),
        so an error can say which value to replace.
        """
        if kind not in CHAT_KINDS:
            raise ValueError(f"unknown chat kind {kind!r}; expected one of {', '.join(CHAT_KINDS)}")
        key = default_secret_key(kind) if secret_key is None else secret_key
        if not _SECRET_KEY.fullmatch(key):
            raise ValueError("secret_key must be a secret key name (letters, digits, _ . -)")
        target = _Target(kind, key)
        _check_url(url, target)
        REDACTOR.add(*_secret_forms(url))
        data = encode_payload(build_payload(kind, message))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Accept": "application/json, text/plain",
            "User-Agent": _USER_AGENT,
        }

        def send() -> requests.Response:
            return self._session.post(
                url, data=data, headers=headers, timeout=self._timeout, allow_redirects=False
            )

        first = self.calls
        failure: requests.RequestException | None = None
        try:
            response = request_with_retry(
                send,
                policy=self._policy,
                server_wait=self._server_wait,
                # A read timeout may follow a message already posted; only never-sent ones repeat.
                network_retry="connect_only",
                sleep=self._sleep,
                clock=self._clock,
                on_attempt=self._count,
                time_left=self.time_left,
            )
        except requests.RequestException as exc:
            failure = exc
        attempts = self.calls - first
        if failure is not None:
            # Raised outside the except block: the requests exception (its message holds the URL)
            # must not ride along as __context__.
            raise _network_error(failure, target, attempts)
        try:
            _check_status(response, target, attempts)
        finally:
            response.close()


def _check_url(url: str, target: _Target) -> None:
    """An https URL with a host (http only to 127.0.0.1); the error never echoes the URL."""
    problem = None
    if not isinstance(url, str) or not url.strip():
        problem = "is empty"
    elif url != url.strip() or any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        problem = "holds spaces, line breaks or control characters"
    else:
        try:
            parts = urlsplit(url)
            host = parts.hostname
            _ = parts.port  # raises ValueError for a port that is not a number
        except ValueError:
            problem = "is not a valid URL"
        else:
            if parts.scheme == "http" and host in _LOCAL_HOSTS:
                pass
            elif parts.scheme != "https":
                problem = "does not start with https://"
            elif not host:
                problem = "has no host name"
            elif parts.username is not None or parts.password is not None:
                problem = "holds a user name or password"
    if problem is not None:
        raise SecretError(
            f"the webhook URL in secret key {target.secret_key} ({target.kind}) {problem}; "
            f"paste the incoming webhook URL exactly as {_console(target.kind)} showed it"
        )


def _secret_forms(url: str) -> list[str]:
    """The URL, its path (as requests' errors quote it) and its token-length parts."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    pieces = [segment for segment in parts.path.split("/") if segment]
    pieces += [value for _, value in parse_qsl(parts.query, keep_blank_values=True)]
    return [url, path, *(p for p in pieces if len(p) >= _SECRET_PART_MIN)]


def _console(kind: ChatKind) -> str:
    return "Slack" if kind == "slack" else "the Teams Workflows app"


def _network_error(exc: requests.RequestException, target: _Target, attempts: int) -> ChatError:
    name = type(exc).__name__
    if isinstance(exc, requests.exceptions.SSLError) or is_connect_failure(exc):
        return ChatError(
            f"could not reach {target.subject} ({name}) after {attempts} attempt(s); nothing "
            "was posted. Check the Lambda's network egress (NAT, proxy, DNS)."
        )
    if isinstance(
        exc,
        requests.exceptions.InvalidURL
        | requests.exceptions.MissingSchema
        | requests.exceptions.InvalidSchema
        | requests.exceptions.InvalidHeader,
    ):
        return ChatError(
            f"{target.subject} is not a usable URL ({name}); nothing was posted. Paste the "
            f"incoming webhook URL exactly as {_console(target.kind)} showed it."
        )
    error = ChatError(
        f"the post to {target.subject} went out but no answer came back ({name}), so it may "
        "have been posted; it was not repeated, to avoid a duplicate message."
    )
    error.maybe_sent = True
    return error


def _check_status(response: requests.Response, target: _Target, attempts: int) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    code = _error_code(response)
    said = f" ({target.kind} said: {code})" if code else ""
    answered = f"{target.subject} answered {status}"
    fix = "create a new incoming webhook and update the secret"
    if 300 <= status < 400:
        _fail(f"{answered}, a redirect: the URL is not a webhook URL; {fix}{said}", status)
    if status in (401, 403):
        _fail(
            f"{answered}: it may not post there (a workspace or tenant policy, or a signature in "
            f"the URL that no longer holds); ask an admin to allow it, or {fix}{said}",
            status,
        )
    if status == 404:
        _fail(f"{answered}: it was deleted or the URL is wrong; {fix}{said}", status)
    if status == 410:
        _fail(
            f"{answered}: its channel was archived; unarchive the channel, or {fix} for another "
            f"channel{said}",
            status,
        )
    if status == 413:
        _fail(f"{answered}: the message is too large; send fewer or shorter lines{said}", status)
    if status in RETRYABLE_STATUSES or status >= 500:
        _fail(
            f"{answered} after {attempts} attempt(s) within the retry budget: the service is "
            f"busy or down; try again later{said}",
            status,
        )
    _fail(f"{answered}: it refused the message as sent; nothing was posted{said}", status)


def _fail(message: str, status: int) -> NoReturn:
    raise ChatError(message, status=status)


def _error_code(response: requests.Response) -> str | None:
    """Slack's short error code (``channel_not_found``) or a JSON ``error.code``, if one fits.

    Only a short identifier is quoted: a free-text body could echo the URL it was sent to.
    """
    try:
        text = response.text.strip()
    except (UnicodeDecodeError, LookupError):
        return None
    if _ERROR_CODE.fullmatch(text):
        return text
    try:
        data = response.json()
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    code = error.get("code") if isinstance(error, dict) else error
    if isinstance(code, str) and _ERROR_CODE.fullmatch(code):
        return code
    return None
