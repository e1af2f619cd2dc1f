"""Bounded, ``Retry-After``-aware retries shared by the Genesys and SendGrid seams.

Both APIs answer 429 and 5xx when they are busy. Retrying blindly either hammers them or hangs a
Lambda until its timeout, so every retry here is bounded twice: by attempts and by total seconds.
Delays use exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
Jitter"); a server-supplied wait (``Retry-After`` or ``X-RateLimit-Reset``) is honoured as a floor.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import requests

if TYPE_CHECKING:
    from requests import Response

__all__ = ["RetryPolicy", "is_connect_failure", "parse_retry_after", "request_with_retry"]

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})

# "all": the request is safe to repeat (token, GET, aggregates query).
# "connect_only": the request must not be repeated once it may have reached the server
# (mail/send has no idempotency key, so a read timeout after sending could mean it was accepted).
NetworkRetry = Literal["all", "connect_only"]


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to retry: at most ``max_attempts`` tries within ``max_total_seconds``."""

    max_attempts: int = 5
    max_total_seconds: float = 60.0
    base_delay: float = 0.5
    max_delay: float = 20.0

    def backoff(self, attempt: int, server_wait: float | None, rand: Callable[[], float]) -> float:
        """Seconds to wait before try ``attempt + 1`` (``attempt`` counts from 1)."""
        if server_wait is not None:
            # Honour the server's wait and add a little jitter so parallel callers spread out.
            return server_wait + min(1.0, self.base_delay) * rand()
        ceiling: float = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return ceiling * rand()


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def is_connect_failure(exc: requests.RequestException) -> bool:
    """True when the request certainly never reached the server."""
    return isinstance(exc, requests.exceptions.ConnectTimeout) or (
        isinstance(exc, requests.exceptions.ConnectionError)
        and not isinstance(exc, requests.exceptions.ReadTimeout)
        and "NewConnectionError" in repr(exc.args)
    )


def request_with_retry(
    send: Callable[[], Response],
    *,
    policy: RetryPolicy,
    server_wait: Callable[[Response], float | None],
    network_retry: NetworkRetry = "all",
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rand: Callable[[], float] = random.random,
    on_attempt: Callable[[], None] | None = None,
) -> Response:
    """Call ``send`` until it answers something other than 429/5xx, or the budget runs out.

    Returns the last response (the caller maps a final 429/5xx to its own error). Network errors
    are re-raised once the budget is spent, or at once when they may have reached the server and
    ``network_retry`` is ``"connect_only"``.
    """
    started = clock()
    attempt = 0
    while True:
        attempt += 1
        if on_attempt is not None:
            on_attempt()
        try:
            response = send()
        except (requests.ConnectionError, requests.Timeout) as exc:
            # Other RequestExceptions (InvalidURL, MissingSchema…) are config mistakes: no retry.
            if network_retry == "connect_only" and not is_connect_failure(exc):
                raise
            delay = policy.backoff(attempt, None, rand)
            if (
                attempt >= policy.max_attempts
                or clock() - started + delay > policy.max_total_seconds
            ):
                raise
            sleep(delay)
            continue
        if response.status_code not in RETRYABLE_STATUSES:
            return response
        delay = policy.backoff(attempt, server_wait(response), rand)
        if attempt >= policy.max_attempts or clock() - started + delay > policy.max_total_seconds:
            return response
        response.close()
        sleep(delay)
