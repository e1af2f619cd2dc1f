"""The shared retry loop: bounded attempts and time, Retry-After honoured, jittered backoff."""

from __future__ import annotations

import email.utils

import pytest
import requests
import responses

from gcnotify.core.retry import RetryPolicy, parse_retry_after
from gcnotify.runtime.http import request_with_retry
from tests.support import FakeClock

URL = "https://api.example.test/x"


def call(
    session: requests.Session, clock: FakeClock, policy: RetryPolicy, **kw: object
) -> requests.Response:
    return request_with_retry(
        lambda: session.get(URL, timeout=1),
        policy=policy,
        server_wait=lambda r: parse_retry_after(r.headers.get("Retry-After"), 0.0),
        sleep=clock.sleep,
        clock=clock,
        rand=lambda: 0.5,
        **kw,  # type: ignore[arg-type]
    )


@responses.activate
def test_retry_after_is_honoured() -> None:
    """A 429 with Retry-After: 3 waits at least 3 s, then succeeds."""
    responses.get(URL, status=429, headers={"Retry-After": "3"})
    responses.get(URL, status=200, json={})
    clock = FakeClock()
    response = call(requests.Session(), clock, RetryPolicy())
    assert response.status_code == 200
    assert len(clock.sleeps) == 1
    assert clock.sleeps[0] >= 3


@responses.activate
def test_backoff_grows_exponentially() -> None:
    """Without Retry-After the ceiling doubles each attempt."""
    for _ in range(4):
        responses.get(URL, status=503)
    responses.get(URL, status=200)
    clock = FakeClock()
    call(requests.Session(), clock, RetryPolicy(max_attempts=5, base_delay=1, max_delay=100))
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0]


@responses.activate
def test_attempts_are_bounded() -> None:
    """After max_attempts the last 5xx response is returned to the caller."""
    for _ in range(5):
        responses.get(URL, status=500)
    clock = FakeClock()
    response = call(requests.Session(), clock, RetryPolicy(max_attempts=3))
    assert response.status_code == 500
    assert len(responses.calls) == 3


@responses.activate
def test_total_time_is_bounded() -> None:
    """A Retry-After longer than the time budget is not waited for."""
    responses.get(URL, status=429, headers={"Retry-After": "120"})
    clock = FakeClock()
    response = call(requests.Session(), clock, RetryPolicy(max_total_seconds=60))
    assert response.status_code == 429
    assert clock.sleeps == []


@responses.activate
def test_client_errors_not_retried() -> None:
    """A 400 is returned at once."""
    responses.get(URL, status=400)
    clock = FakeClock()
    assert call(requests.Session(), clock, RetryPolicy()).status_code == 400
    assert len(responses.calls) == 1


@responses.activate
def test_network_error_retried_then_raised() -> None:
    """Timeouts are retried for safe requests and re-raised when the budget is spent."""
    for _ in range(3):
        responses.get(URL, body=requests.exceptions.ReadTimeout("slow"))
    clock = FakeClock()
    with pytest.raises(requests.exceptions.ReadTimeout):
        call(requests.Session(), clock, RetryPolicy(max_attempts=3))
    assert len(responses.calls) == 3


@responses.activate
def test_read_timeout_not_retried_when_connect_only() -> None:
    """A request that may have reached the server is not repeated in connect_only mode."""
    responses.get(URL, body=requests.exceptions.ReadTimeout("lost response"))
    responses.get(URL, status=200)
    with pytest.raises(requests.exceptions.ReadTimeout):
        call(requests.Session(), FakeClock(), RetryPolicy(), network_retry="connect_only")
    assert len(responses.calls) == 1


@responses.activate
def test_connect_timeout_retried_when_connect_only() -> None:
    """A connect timeout never reached the server, so it is safe to retry."""
    responses.get(URL, body=requests.exceptions.ConnectTimeout("no route"))
    responses.get(URL, status=202)
    response = call(requests.Session(), FakeClock(), RetryPolicy(), network_retry="connect_only")
    assert response.status_code == 202


def test_parse_retry_after_forms() -> None:
    """Delta-seconds and HTTP-date forms both parse; junk gives None."""
    assert parse_retry_after("42", 0.0) == 42.0
    assert parse_retry_after("soon", 0.0) is None
    assert parse_retry_after(None, 0.0) is None
    now = 1_800_000_000.0
    http_date = email.utils.formatdate(now + 30, usegmt=True)
    assert pytest.approx(parse_retry_after(http_date, now=now), abs=1) == 30.0


@responses.activate
def test_a_wait_longer_than_the_invocation_has_left_is_not_started() -> None:
    """Retry-After 30 with 10 s of the invocation left: the 429 is returned at once."""
    responses.get(URL, status=429, headers={"Retry-After": "30"})
    responses.get(URL, status=200, json={})
    clock = FakeClock()
    response = call(requests.Session(), clock, RetryPolicy(), time_left=lambda: 10.0)
    assert (429, []) == (response.status_code, clock.sleeps)


@responses.activate
def test_a_wait_within_the_time_left_is_taken() -> None:
    """Retry-After 3 with 10 s left: waited, then the 200."""
    responses.get(URL, status=429, headers={"Retry-After": "3"})
    responses.get(URL, status=200, json={})
    clock = FakeClock()
    response = call(requests.Session(), clock, RetryPolicy(), time_left=lambda: 10.0)
    assert (200, 1) == (response.status_code, len(clock.sleeps))


def test_server_wait_reads_retry_after_then_a_reset_header_and_caps_it() -> None:
    """Retry-After wins; else the reset header's epoch seconds; never past the cap."""
    from gcnotify.core.retry import server_wait

    assert (3.0, 20.0, 60.0, None, None) == (
        server_wait({"Retry-After": "3"}, now=100.0, cap=60.0, reset_header="X-Reset"),
        server_wait({"X-Reset": "120"}, now=100.0, cap=60.0, reset_header="X-Reset"),
        server_wait({"Retry-After": "3600"}, now=100.0, cap=60.0),
        server_wait({"X-Reset": "soon"}, now=100.0, cap=60.0, reset_header="X-Reset"),
        server_wait({"X-Reset": "120"}, now=100.0, cap=60.0),
    )
