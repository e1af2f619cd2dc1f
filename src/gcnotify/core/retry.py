"""The retry policy shared by the Genesys and SendGrid seams: how long to wait, and for what.

Both APIs answer 429 and 5xx when they are busy. Retrying blindly either hammers them or hangs a
Lambda until its timeout, so every retry here is bounded twice: by attempts and by total seconds.
Delays use exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
Jitter"); a server-supplied wait (``Retry-After`` or ``X-RateLimit-Reset``) is honoured as a floor.
The loop that applies it to HTTP requests is ``gcnotify.runtime.http``.
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "RETRYABLE_STATUSES",
    "NetworkRetry",
    "RetryPolicy",
    "parse_retry_after",
    "server_wait",
]

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


def server_wait(
    headers: Mapping[str, str], *, now: float, cap: float, reset_header: str | None = None
) -> float | None:
    """Seconds a service asks us to wait (``Retry-After``, else an epoch-seconds reset header
    such as SendGrid's ``X-RateLimit-Reset``), capped so a bogus header cannot hang a Lambda."""
    wait = parse_retry_after(headers.get("Retry-After"), now=now)
    if wait is None and reset_header is not None:
        reset = headers.get(reset_header)
        try:
            wait = max(0.0, float(reset) - now) if reset else None
        except ValueError:
            wait = None
    return None if wait is None else min(wait, cap)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP-date (RFC 9110, 10.2.3)."""
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
    return max(0.0, when.timestamp() - now)
