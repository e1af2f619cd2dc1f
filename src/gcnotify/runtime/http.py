"""The bounded HTTP retry loop both HTTP seams use, applying ``gcnotify.core.retry``'s policy.

Every retry is bounded twice, by attempts and by total seconds, so a busy API can neither be
hammered nor hang a Lambda until its timeout.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import requests

from gcnotify.core.retry import RETRYABLE_STATUSES, NetworkRetry, RetryPolicy

if TYPE_CHECKING:
    from requests import Response

__all__ = ["is_connect_failure", "request_with_retry"]


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
    time_left: Callable[[], float | None] | None = None,
) -> Response:
    """Call ``send`` until it answers something other than 429/5xx, or the budget runs out.

    Returns the last response (the caller maps a final 429/5xx to its own error). Network errors
    are re-raised once the budget is spent, or at once when they may have reached the server and
    ``network_retry`` is ``"connect_only"``. ``time_left`` (seconds the invocation may still
    spend, or None) caps the budget further: a wait that would outlast it is not started.
    """
    started = clock()

    def over_budget(delay: float) -> bool:
        if clock() - started + delay > policy.max_total_seconds:
            return True
        left = time_left() if time_left is not None else None
        return left is not None and delay > left

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
            if attempt >= policy.max_attempts or over_budget(delay):
                raise
            sleep(delay)
            continue
        if response.status_code not in RETRYABLE_STATUSES:
            return response
        delay = policy.backoff(attempt, server_wait(response), rand)
        if attempt >= policy.max_attempts or over_budget(delay):
            return response
        response.close()
        sleep(delay)
