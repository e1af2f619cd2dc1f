"""The Genesys Cloud seam over a real requests Session, with HTTP answered by `responses`."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
import responses
from responses import matchers

from gcnotify.core.errors import (
    GenesysAuthError,
    GenesysError,
    GenesysPermissionError,
    GenesysRequestError,
    GenesysUnavailableError,
    QueueNotFoundError,
    ReportError,
)
from gcnotify.core.model import Queue
from gcnotify.core.retry import RetryPolicy
from gcnotify.genesys.client import GenesysClient
from gcnotify.reports.query import build_aggregates_query
from tests.support import FakeClock, assert_valid

LOGIN = "https://login.mypurecloud.test"
API = "https://api.mypurecloud.test"
TOKEN_URL = f"{LOGIN}/oauth/token"
QUEUES_URL = f"{API}/api/v2/routing/queues"
AGG_URL = f"{API}/api/v2/analytics/conversations/aggregates/query"
CLIENT_ID = "7d3c2b1a-client-id-4e5f"
SECRET = "Sup3r-S3cret-client-VALUE-x9"
TOKEN = "tok-FIRST-bearer-9f8e7d6c5b4a"
TOKEN2 = "tok-SECOND-bearer-1a2b3c4d5e6f"

SUPPORT = Queue("c6fc6f57-4c1e-4812-980a-5154f500b5c6", "Support")
BILLING = Queue("0f3e5d7a-9b1c-4e2f-8a6d-3c4b5a697e81", "Billing")
SALES = Queue("5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "Sales EMEA")


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=1000.0)


def make_client(clock: FakeClock, **kwargs: Any) -> GenesysClient:
    return GenesysClient(
        login_url=LOGIN,
        api_url=API,
        client_id=CLIENT_ID,
        client_secret=SECRET,
        session=requests.Session(),
        sleep=clock.sleep,
        clock=clock,
        rand=lambda: 0.5,
        **kwargs,
    )


def add_token(rsps: responses.RequestsMock, token: str = TOKEN, expires_in: int = 86400) -> None:
    body = {"access_token": token, "token_type": "bearer", "expires_in": expires_in}
    assert_valid("genesys-token-response", body)
    rsps.post(TOKEN_URL, json=body)


def error_body(status: int, message: str, code: str = "bad.request") -> dict[str, Any]:
    return {
        "message": message,
        "code": code,
        "status": status,
        "contextId": "ctx-1234-abcd",
        "details": [],
        "errors": [],
    }


def queue_page(
    queues: list[Queue], page: int, page_count: int | None, *, next_uri: bool = True
) -> dict[str, Any]:
    listing: dict[str, Any] = {
        "entities": [{"id": q.id, "name": q.name, "selfUri": f"/x/{q.id}"} for q in queues],
        "pageSize": 100,
        "pageNumber": page,
        "total": 250,
    }
    if page_count is not None:
        listing["pageCount"] = page_count
    if next_uri:
        listing["nextUri"] = f"/api/v2/routing/queues?pageSize=100&pageNumber={page + 1}"
    return listing


def add_queue_pages(rsps: responses.RequestsMock, pages: list[list[Queue]]) -> None:
    for number, queues in enumerate(pages, start=1):
        rsps.get(
            QUEUES_URL,
            match=[matchers.query_param_matcher({"pageSize": "100", "pageNumber": str(number)})],
            json=queue_page(queues, number, len(pages), next_uri=number < len(pages)),
        )


def query_body(*queue_ids: str) -> dict[str, Any]:
    return build_aggregates_query(
        interval="2024-03-10T00:00:00-05:00/2024-03-11T00:00:00-04:00",
        timezone="America/New_York",
        queue_ids=list(queue_ids) or [SUPPORT.id, BILLING.id],
        genesys_metrics=["nOffered", "tAnswered", "tAbandon"],
    )


def aggregates_sent(rsps: responses.RequestsMock) -> list[dict[str, Any]]:
    """Every aggregates body sent, each checked against the request schema."""
    bodies = []
    for call in rsps.calls:
        if call.request.url == AGG_URL:
            assert call.request.body is not None
            body = json.loads(call.request.body)
            assert_valid("genesys-aggregates-query", body)
            bodies.append(body)
    return bodies


def auth_headers(rsps: responses.RequestsMock, url: str) -> list[str | None]:
    return [c.request.headers.get("Authorization") for c in rsps.calls if c.request.url == url]


RESULT = {
    "results": [
        {
            "group": {"queueId": SUPPORT.id},
            "data": [
                {
                    "interval": "2024-03-10T05:00:00.000Z/2024-03-11T04:00:00.000Z",
                    "metrics": [{"metric": "nOffered", "stats": {"count": 42}}],
                }
            ],
        }
    ]
}


# ----------------------------------------------------------------------------- token


def test_token_request_sends_credentials_only_as_basic_auth(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """The token request carries id/secret in the Basic header and only the grant in the form."""
    add_token(rsps)
    assert make_client(clock).token() == TOKEN
    request = rsps.calls[0].request
    expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
    assert request.headers["Authorization"] == expected
    assert parse_qs(str(request.body)) == {"grant_type": ["client_credentials"]}
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_token_form_body_holds_no_credential(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """Neither the client id nor the secret is in the token request body."""
    add_token(rsps)
    make_client(clock).token()
    body = str(rsps.calls[0].request.body)
    assert (SECRET in body, CLIENT_ID in body) == (False, False)


def test_api_calls_send_the_bearer_token(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """An API call is authorised with 'Bearer <access_token>'."""
    add_token(rsps)
    rsps.post(AGG_URL, json=RESULT)
    make_client(clock).query_aggregates(query_body())
    assert [f"Bearer {TOKEN}"] == auth_headers(rsps, AGG_URL)


def test_token_is_cached_across_calls(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """Two queries share one token request."""
    add_token(rsps)
    rsps.post(AGG_URL, json=RESULT)
    client = make_client(clock)
    client.query_aggregates(query_body())
    clock.now += 3600
    client.query_aggregates(query_body())
    assert [c.request.url for c in rsps.calls] == [TOKEN_URL, AGG_URL, AGG_URL]


@pytest.mark.parametrize(
    ("expires_in", "renew_at"),
    [(86400, 86400 - 300), (3600, 3600 - 300), (600, 600 - 60)],
)
def test_token_is_kept_until_the_safety_margin(
    rsps: responses.RequestsMock, clock: FakeClock, expires_in: int, renew_at: int
) -> None:
    """The token is reused until min(300 s, 10 %) before expiry."""
    add_token(rsps, TOKEN, expires_in)
    client = make_client(clock)
    start = clock.now
    client.token()
    clock.now = start + renew_at - 1
    assert client.token() == TOKEN
    assert len(rsps.calls) == 1


@pytest.mark.parametrize(
    ("expires_in", "renew_at"),
    [(86400, 86400 - 300), (3600, 3600 - 300), (600, 600 - 60)],
)
def test_token_is_refreshed_after_the_safety_margin(
    rsps: responses.RequestsMock, clock: FakeClock, expires_in: int, renew_at: int
) -> None:
    """Once inside the safety margin a new token is fetched."""
    add_token(rsps, TOKEN, expires_in)
    add_token(rsps, TOKEN2, expires_in)
    client = make_client(clock)
    start = clock.now
    client.token()
    clock.now = start + renew_at
    assert client.token() == TOKEN2
    assert client.calls == 2


def test_invalidate_token_forces_a_new_token(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """After invalidate_token the next call asks for a new token."""
    add_token(rsps, TOKEN)
    add_token(rsps, TOKEN2)
    client = make_client(clock)
    client.token()
    client.invalidate_token()
    assert client.token() == TOKEN2


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_token_refusal_is_an_auth_error(
    rsps: responses.RequestsMock, clock: FakeClock, status: int
) -> None:
    """Any non-200 (other than 429/5xx) from /oauth/token names the likely causes."""
    rsps.post(TOKEN_URL, status=status, json={"error": "invalid_client"})
    with pytest.raises(GenesysAuthError) as info:
        make_client(clock).token()
    text = str(info.value)
    assert info.value.status == status
    assert all(word in text for word in ("client id/secret", "region", "disabled", str(status)))


def test_token_refusal_is_not_retried(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """A refused token request is a configuration error: one call, no loop."""
    rsps.post(TOKEN_URL, status=401, json={"error": "invalid_client"})
    client = make_client(clock)
    with pytest.raises(GenesysAuthError):
        client.token()
    assert (client.calls, clock.sleeps) == (1, [])


def test_token_endpoint_429_is_retried(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """A busy login service is waited for, not reported as bad credentials."""
    rsps.post(TOKEN_URL, status=429, headers={"Retry-After": "1"})
    add_token(rsps)
    client = make_client(clock)
    assert client.token() == TOKEN
    assert client.calls == 2


def test_token_endpoint_5xx_exhausted_is_unavailable(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """A login service down on every try is 'unavailable', after max attempts."""
    rsps.post(TOKEN_URL, status=503)
    client = make_client(clock, policy=RetryPolicy(max_attempts=3))
    with pytest.raises(GenesysUnavailableError) as info:
        client.token()
    assert (client.calls, info.value.status) == (3, 503)


def test_token_without_access_token_is_an_auth_error(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """A 200 that is not a token response (e.g. a proxy page) is reported, not used."""
    rsps.post(TOKEN_URL, body="<html>login</html>", content_type="text/html")
    with pytest.raises(GenesysAuthError, match="login URL"):
        make_client(clock).token()


# ------------------------------------------------------------------ 401 / 403 / 400


def test_401_gets_a_new_token_and_retries_once(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """A 401 invalidates the token, fetches a fresh one and repeats the call once."""
    add_token(rsps, TOKEN)
    add_token(rsps, TOKEN2)
    rsps.post(AGG_URL, status=401, json=error_body(401, "token expired", "bad.credentials"))
    rsps.post(AGG_URL, json=RESULT)
    client = make_client(clock)
    assert client.query_aggregates(query_body()) == RESULT
    assert [f"Bearer {TOKEN}", f"Bearer {TOKEN2}"] == auth_headers(rsps, AGG_URL)
    assert client.calls == 4


def test_401_twice_is_an_auth_error(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """A 401 with a freshly issued token stops with GenesysAuthError."""
    add_token(rsps, TOKEN)
    add_token(rsps, TOKEN2)
    rsps.post(AGG_URL, status=401, json=error_body(401, "no", "bad.credentials"))
    client = make_client(clock)
    with pytest.raises(GenesysAuthError) as info:
        client.query_aggregates(query_body())
    assert (info.value.status, client.calls) == (401, 4)


def test_403_on_aggregates_names_the_permission(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """A 403 tells which permission the OAuth client's role needs, and that roles grant it."""
    add_token(rsps)
    rsps.post(
        AGG_URL, status=403, json=error_body(403, "Missing permission", "missing.permissions")
    )
    with pytest.raises(GenesysPermissionError) as info:
        make_client(clock).query_aggregates(query_body())
    text = str(info.value)
    assert "analytics:conversationAggregate:view" in text
    assert "/api/v2/analytics/conversations/aggregates/query" in text
    assert "role" in text


def test_403_on_queues_names_the_permission(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """A 403 on the queue listing names routing:queue:view."""
    add_token(rsps)
    rsps.get(QUEUES_URL, status=403, json=error_body(403, "Missing permission"))
    with pytest.raises(GenesysPermissionError, match="routing:queue:view"):
        make_client(clock).resolve_queues(["Support"])


def test_400_surfaces_genesys_message_and_context_id(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """A 400 carries Genesys's own message and contextId."""
    add_token(rsps)
    rsps.post(AGG_URL, status=400, json=error_body(400, "Invalid metric 'nHandled'"))
    with pytest.raises(GenesysRequestError) as info:
        make_client(clock).query_aggregates(query_body())
    text = str(info.value)
    assert (info.value.status, "Invalid metric 'nHandled'" in text, "ctx-1234-abcd" in text) == (
        400,
        True,
        True,
    )


def test_400_is_not_retried(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """A client error is sent once: token + one query."""
    add_token(rsps)
    rsps.post(AGG_URL, status=400, json=error_body(400, "Invalid interval"))
    client = make_client(clock)
    with pytest.raises(GenesysRequestError):
        client.query_aggregates(query_body())
    assert client.calls == 2


# ------------------------------------------------------------- retries and network


def test_429_retry_after_is_honoured(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """A 429 with Retry-After: 2 waits at least 2 s, then the retry succeeds."""
    add_token(rsps)
    rsps.post(
        AGG_URL,
        status=429,
        headers={"Retry-After": "2"},
        json=error_body(429, "Rate limit exceeded", "too.many.requests.retry.after"),
    )
    rsps.post(AGG_URL, json=RESULT)
    client = make_client(clock)
    assert client.query_aggregates(query_body()) == RESULT
    assert len(clock.sleeps) == 1
    assert clock.sleeps[0] >= 2
    assert client.calls == 3


def test_500_on_every_try_is_unavailable_after_max_attempts(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """A 500 that never clears stops after max_attempts with an actionable message."""
    add_token(rsps)
    rsps.post(AGG_URL, status=500, json=error_body(500, "Internal error"))
    client = make_client(clock, policy=RetryPolicy(max_attempts=4))
    with pytest.raises(GenesysUnavailableError) as info:
        client.query_aggregates(query_body())
    assert (client.calls, info.value.status) == (1 + 4, 500)
    assert "after 4 attempt(s)" in str(info.value)
    assert "run the report again" in str(info.value)


def test_timeout_then_success(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """A read timeout is retried (the query is safe to repeat) and the retry's answer is used."""
    add_token(rsps)
    rsps.post(AGG_URL, body=requests.exceptions.ReadTimeout("Read timed out."))
    rsps.post(AGG_URL, json=RESULT)
    client = make_client(clock)
    assert client.query_aggregates(query_body()) == RESULT
    assert (client.calls, len(clock.sleeps)) == (3, 1)


def test_network_errors_exhausted_are_unavailable(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """A connection error on every try ends as GenesysUnavailableError, chained to the cause."""
    add_token(rsps)
    rsps.post(AGG_URL, body=requests.exceptions.ConnectionError("connection refused"))
    client = make_client(clock, policy=RetryPolicy(max_attempts=3))
    with pytest.raises(GenesysUnavailableError) as info:
        client.query_aggregates(query_body())
    assert isinstance(info.value.__cause__, requests.exceptions.ConnectionError)
    assert (client.calls, info.value.status) == (4, None)
    assert "after 3 attempts" in str(info.value)


# -------------------------------------------------------------------- aggregates


@pytest.mark.parametrize("answer", [{}, {"results": []}])
def test_empty_aggregates_answer_is_no_data(
    rsps: responses.RequestsMock, clock: FakeClock, answer: dict[str, Any]
) -> None:
    """No results is returned as-is (no data), not raised as an error."""
    add_token(rsps)
    rsps.post(AGG_URL, json=answer)
    assert make_client(clock).query_aggregates(query_body()) == answer


def test_aggregates_body_is_sent_as_given(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """The body built by queries.py reaches Genesys unchanged and schema-valid."""
    add_token(rsps)
    rsps.post(AGG_URL, json=RESULT)
    body = query_body()
    make_client(clock).query_aggregates(body)
    assert [body] == aggregates_sent(rsps)


def test_non_json_success_is_an_error(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """A 200 that is not JSON is never read as 'no activity'."""
    add_token(rsps)
    rsps.post(AGG_URL, body="<html>gateway</html>", content_type="text/html")
    with pytest.raises(GenesysRequestError, match="not with a JSON object"):
        make_client(clock).query_aggregates(query_body())


def test_filter_size_400_splits_queries_and_merges_results(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """A 400 blaming too many predicates halves the queue clause and merges both answers."""
    add_token(rsps)
    too_big = error_body(400, "Too many predicates in filter: maximum is 2", "bad.request")
    part1 = {"results": [{"group": {"queueId": SUPPORT.id}, "data": []}]}
    part2 = {"results": [{"group": {"queueId": SALES.id}, "data": []}]}
    rsps.post(AGG_URL, status=400, json=too_big)
    rsps.post(AGG_URL, json=part1)
    rsps.post(AGG_URL, json=part2)
    client = make_client(clock)
    merged = client.query_aggregates(query_body(SUPPORT.id, BILLING.id, SALES.id))
    sent = aggregates_sent(rsps)
    queues_sent = [[p["value"] for p in b["filter"]["clauses"][0]["predicates"]] for b in sent]
    assert [[SUPPORT.id, BILLING.id, SALES.id], [SUPPORT.id, BILLING.id], [SALES.id]] == (
        queues_sent
    )
    assert [SUPPORT.id, SALES.id] == [r["group"]["queueId"] for r in merged["results"]]
    assert client.calls == 4


def test_error_body_limit_key_also_triggers_a_split(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """An ErrorBody whose limit key names predicates splits even with a vague message."""
    add_token(rsps)
    vague = error_body(400, "Query rejected") | {
        # Illustrative key: ErrorBody.limit is a Limit{key, namespace, value} in the SDK.
        "limit": {"key": "filter.predicates.max", "namespace": "analytics", "value": 1}
    }
    rsps.post(AGG_URL, status=400, json=vague)
    rsps.post(AGG_URL, json={})
    rsps.post(AGG_URL, json=RESULT)
    client = make_client(clock)
    assert client.query_aggregates(query_body(SUPPORT.id, BILLING.id)) == RESULT
    assert len(aggregates_sent(rsps)) == 3


def test_single_queue_filter_limit_400_is_raised(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """One queue cannot be split further, so Genesys's error is raised with its message."""
    add_token(rsps)
    rsps.post(AGG_URL, status=400, json=error_body(400, "Too many predicates in filter"))
    with pytest.raises(GenesysRequestError, match="Too many predicates"):
        make_client(clock).query_aggregates(query_body(SUPPORT.id))


def test_other_400_is_not_split(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """A 400 that does not blame the filter size is raised, not split."""
    add_token(rsps)
    rsps.post(AGG_URL, status=400, json=error_body(400, "Invalid filter dimension 'queue'"))
    client = make_client(clock)
    with pytest.raises(GenesysRequestError):
        client.query_aggregates(query_body(SUPPORT.id, BILLING.id, SALES.id))
    assert client.calls == 2


# ---------------------------------------------------------------- request size

# A report body of N queues costs 360 + 111 × (N − 1) bytes of compact JSON (this query_body):
# 4,502 queues take 499,971 bytes, 4,503 take 500,082, just over the 500,000-byte budget.
FITS_WHOLE = 4502


def many_queue_ids(count: int) -> list[str]:
    return [str(uuid.UUID(int=i)) for i in range(count)]


def queues_per_call(rsps: responses.RequestsMock) -> list[int]:
    return [len(b["filter"]["clauses"][0]["predicates"]) for b in aggregates_sent(rsps)]


def answer_for(request: Any) -> tuple[int, dict[str, str], str]:
    """Echo one empty group per queue asked for, so merged answers can be counted."""
    body = json.loads(request.body)
    groups = [
        {"group": {"queueId": p["value"]}, "data": []}
        for p in body["filter"]["clauses"][0]["predicates"]
    ]
    return 200, {}, json.dumps({"results": groups})


def test_body_at_the_budget_goes_out_in_one_query(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """4,502 queues still fit one body: one query, as for any normal report."""
    add_token(rsps)
    rsps.add_callback(responses.POST, AGG_URL, callback=answer_for)
    client = make_client(clock)
    client.query_aggregates(query_body(*many_queue_ids(FITS_WHOLE)))
    assert ([FITS_WHOLE], 2) == (queues_per_call(rsps), client.calls)


def test_one_queue_more_splits_before_sending(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """4,503 queues would pass the budget: two even queries go out, no 400 needed."""
    add_token(rsps)
    rsps.add_callback(responses.POST, AGG_URL, callback=answer_for)
    client = make_client(clock)
    client.query_aggregates(query_body(*many_queue_ids(FITS_WHOLE + 1)))
    assert ([2252, 2251], 3) == (queues_per_call(rsps), client.calls)


def test_six_thousand_queues_cost_two_queries_under_the_limit(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """A 6,000-queue body (666,249 bytes) goes out as two bodies, each under 512,000 bytes."""
    add_token(rsps)
    rsps.add_callback(responses.POST, AGG_URL, callback=answer_for)
    make_client(clock).query_aggregates(query_body(*many_queue_ids(6000)))
    sizes = [len(c.request.body or b"") for c in rsps.calls if c.request.url == AGG_URL]
    assert (2, True) == (len(sizes), all(size <= 500_000 for size in sizes))


def test_split_answers_are_merged_in_queue_order(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """Every queue's group comes back once, in the order the queues were asked."""
    add_token(rsps)
    rsps.add_callback(responses.POST, AGG_URL, callback=answer_for)
    ids = many_queue_ids(10_000)
    merged = make_client(clock).query_aggregates(query_body(*ids))
    assert ids == [r["group"]["queueId"] for r in merged["results"]]


def test_ten_thousand_queues_cost_three_queries(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """1,110,360 bytes need three bodies: the fewest that each fit, shared out evenly."""
    add_token(rsps)
    rsps.add_callback(responses.POST, AGG_URL, callback=answer_for)
    make_client(clock).query_aggregates(query_body(*many_queue_ids(10_000)))
    assert [3334, 3333, 3333] == queues_per_call(rsps)


def test_body_sent_is_the_body_measured(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """The bytes on the wire are compact JSON with a JSON content type, so the size is exact."""
    add_token(rsps)
    rsps.post(AGG_URL, json=RESULT)
    body = query_body()
    make_client(clock).query_aggregates(body)
    request = rsps.calls[-1].request
    compact = json.dumps(body, separators=(",", ":")).encode()
    assert (compact, "application/json") == (request.body, request.headers["Content-Type"])


def test_oversized_body_that_cannot_be_split_is_a_clear_error(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """A body too large and not split by queue fails before any call, naming the limit."""
    body = query_body(*many_queue_ids(6000))
    body["groupBy"] = ["mediaType"]
    client = make_client(clock)
    with pytest.raises(GenesysRequestError, match=r"512,000 bytes") as info:
        client.query_aggregates(body)
    assert (0, True) == (client.calls, "reports[].queues" in str(info.value))


# ------------------------------------------------------------------------- queues


def test_queue_listing_is_paged_over_three_pages(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """All pages are read, so a queue on the last page resolves."""
    add_token(rsps)
    add_queue_pages(rsps, [[SUPPORT], [BILLING], [SALES]])
    client = make_client(clock)
    assert client.resolve_queues(["Sales EMEA"]) == [SALES]
    assert client.calls == 1 + 3


def test_paging_follows_next_uri_without_page_count(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """Without pageCount, paging goes on while nextUri is present."""
    add_token(rsps)
    for number, queue in enumerate([SUPPORT, BILLING], start=1):
        rsps.get(
            QUEUES_URL,
            match=[matchers.query_param_matcher({"pageSize": "100", "pageNumber": str(number)})],
            json=queue_page([queue], number, None, next_uri=number == 1),
        )
    assert make_client(clock).resolve_queues(["Billing"]) == [BILLING]


def org_queues(count: int) -> list[Queue]:
    return [Queue(f"{i:08x}-0000-4000-8000-{i:012x}", f"Queue {i:04d}") for i in range(count)]


def serve_org(
    rsps: responses.RequestsMock,
    org: list[Queue],
    *,
    page_count: bool = True,
    together: threading.Barrier | None = None,
) -> list[int]:
    """Serve ``org`` 100 queues a page, as Genesys pages it; returns the page numbers asked for.

    ``together``: every page request waits at this barrier, so requests made one after the
    other break it (BrokenBarrierError) and only concurrent ones pass.
    """
    asked: list[int] = []
    pages = max(1, -(-len(org) // 100))

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        number = int(parse_qs(request.url.split("?", 1)[1])["pageNumber"][0])
        asked.append(number)
        if together is not None:
            together.wait()
        chunk = org[(number - 1) * 100 : number * 100]
        listing = queue_page(chunk, number, pages if page_count else None, next_uri=number < pages)
        return 200, {}, json.dumps(listing)

    rsps.add_callback(responses.GET, QUEUES_URL, callback=answer)
    return asked


def test_pages_the_refs_need_are_requested_at_once(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """250 queue names need 3 pages; all three are in flight together (one round trip)."""
    org = org_queues(250)
    add_token(rsps)
    asked = serve_org(rsps, org, together=threading.Barrier(3, timeout=10))
    client = make_client(clock)
    assert org == client.resolve_queues([q.name for q in org])
    assert ([1, 2, 3], 1 + 3) == (sorted(asked), client.calls)


def test_pages_announced_beyond_the_refs_follow_at_once(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """150 names in an org of 350 queues: pages 1-2 first, then 3-4 together; all resolve."""
    org = org_queues(350)
    add_token(rsps)
    asked = serve_org(rsps, org, together=threading.Barrier(2, timeout=10))
    wanted = [org[5], org[120], org[349], *org[200:347]]
    client = make_client(clock)
    assert wanted == client.resolve_queues([q.name for q in wanted])
    assert ([1, 2], [3, 4], 1 + 4) == (sorted(asked[:2]), sorted(asked[2:]), client.calls)


def test_more_refs_than_queues_reads_past_the_end_harmlessly(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """201 refs in an org of 200: page 3 comes back empty and the missing name is reported."""
    org = org_queues(200)
    add_token(rsps)
    asked = serve_org(rsps, org)
    client = make_client(clock)
    with pytest.raises(QueueNotFoundError, match="Ghost"):
        client.resolve_queues([*(q.name for q in org), "Ghost"])
    assert ([1, 2, 3], 1 + 3) == (sorted(asked), client.calls)


@pytest.mark.parametrize(("org_size", "pages_asked"), [(250, [1, 2, 3]), (80, [1, 2])])
def test_next_uri_paging_with_many_refs(
    rsps: responses.RequestsMock, clock: FakeClock, org_size: int, pages_asked: list[int]
) -> None:
    """Without pageCount: the refs' pages at once, then nextUri page by page; a page past the
    last one linked is ignored."""
    org = org_queues(org_size)
    add_token(rsps)
    asked = serve_org(rsps, org, page_count=False)
    names = [q.name for q in org] + [f"Missing {i}" for i in range(150 - org_size)]
    client = make_client(clock)
    if org_size >= 150:
        assert org[:150] == client.resolve_queues(names[:150])
    else:
        with pytest.raises(QueueNotFoundError, match="Missing 0"):
            client.resolve_queues(names)
    assert pages_asked == sorted(asked)


def test_concurrent_401s_fetch_one_new_token(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """Two pages refused at once with the old token: one new token serves both retries."""
    org = org_queues(200)
    tokens = iter([TOKEN, TOKEN2, "tok-THIRD-should-not-be-needed"])
    issued: list[str] = []
    both_refused = threading.Barrier(2, timeout=10)

    def token_answer(request: Any) -> tuple[int, dict[str, str], str]:
        issued.append(next(tokens))
        return 200, {}, json.dumps({"access_token": issued[-1], "expires_in": 86400})

    def page_answer(request: Any) -> tuple[int, dict[str, str], str]:
        number = int(parse_qs(request.url.split("?", 1)[1])["pageNumber"][0])
        if request.headers["Authorization"] == f"Bearer {TOKEN}":
            both_refused.wait()  # both pages hold the old token at the same time
            return 401, {}, json.dumps(error_body(401, "token revoked", "bad.credentials"))
        chunk = org[(number - 1) * 100 : number * 100]
        return 200, {}, json.dumps(queue_page(chunk, number, 2, next_uri=number < 2))

    rsps.add_callback(responses.POST, TOKEN_URL, callback=token_answer)
    rsps.add_callback(responses.GET, QUEUES_URL, callback=page_answer)
    client = make_client(clock)
    assert org == client.resolve_queues([q.name for q in org])
    assert [TOKEN, TOKEN2] == issued


def test_names_and_ids_resolve_in_config_order(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """Names and ids mix in config order; an id-configured queue carries its Genesys name."""
    add_token(rsps)
    add_queue_pages(rsps, [[BILLING, SALES], [SUPPORT]])
    queues = make_client(clock).resolve_queues(["Support", SALES.id, "Billing"])
    assert queues == [SUPPORT, SALES, BILLING]


def test_upper_case_queue_id_resolves(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """A UUID pasted in upper case still finds the queue."""
    add_token(rsps)
    add_queue_pages(rsps, [[SUPPORT]])
    assert make_client(clock).resolve_queues([SUPPORT.id.upper()]) == [SUPPORT]


def test_duplicate_refs_resolve_once(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """A queue named twice, or by name and by id, appears once."""
    add_token(rsps)
    add_queue_pages(rsps, [[SUPPORT, BILLING]])
    queues = make_client(clock).resolve_queues(["Support", "Billing", SUPPORT.id, "Support"])
    assert queues == [SUPPORT, BILLING]


def test_missing_name_suggests_close_matches(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """A wrong-case name fails, suggesting the real name."""
    add_token(rsps)
    add_queue_pages(rsps, [[SUPPORT, BILLING, SALES]])
    with pytest.raises(QueueNotFoundError) as info:
        make_client(clock).resolve_queues(["support", "Billing"])
    assert (info.value.missing, info.value.suggestions) == (("support",), {"support": ["Support"]})
    assert "'Support'" in str(info.value)


def test_suggestions_ignore_letter_case(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """'vip line' is far from 'VIP LINE' letter by letter, yet suggests it."""
    add_token(rsps)
    vip = Queue("22222222-3333-4444-8555-666666666666", "VIP LINE")
    add_queue_pages(rsps, [[SUPPORT, vip]])
    with pytest.raises(QueueNotFoundError) as info:
        make_client(clock).resolve_queues(["vip line"])
    assert info.value.suggestions == {"vip line": ["VIP LINE"]}


def test_every_missing_ref_is_reported(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """All missing names and ids are listed at once; an unknown id gets no name suggestions."""
    add_token(rsps)
    add_queue_pages(rsps, [[SUPPORT, BILLING]])
    unknown_id = "11111111-2222-4333-8444-555555555555"
    with pytest.raises(QueueNotFoundError) as info:
        make_client(clock).resolve_queues(["Biling", unknown_id, "Zzz"])
    assert (("Biling", unknown_id, "Zzz"), {"Biling": ["Billing"]}) == (
        info.value.missing,
        info.value.suggestions,
    )


def test_ambiguous_queue_name_is_an_error(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """Two queues sharing a name are not guessed between."""
    add_token(rsps)
    twin = Queue("99999999-8888-4777-8666-555555555555", "Support")
    add_queue_pages(rsps, [[SUPPORT, twin]])
    with pytest.raises(ReportError, match="use the queue id"):
        make_client(clock).resolve_queues(["Support"])


def test_queue_listing_is_cached_until_cleared(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """Reports in one run share the listing; clear_queue_cache makes the next run re-read it."""
    add_token(rsps)
    add_queue_pages(rsps, [[SUPPORT, BILLING]])
    client = make_client(clock)
    client.resolve_queues(["Support"])
    client.resolve_queues(["Billing"])
    assert client.calls == 2
    client.clear_queue_cache()
    client.resolve_queues(["Billing"])
    assert client.calls == 3


def test_queue_requests_have_no_body(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """The listing is plain GETs with pageSize=100 and increasing pageNumber."""
    add_token(rsps)
    add_queue_pages(rsps, [[SUPPORT], [BILLING]])
    make_client(clock).resolve_queues(["Support"])
    gets = [c.request for c in rsps.calls if c.request.method == "GET"]
    assert [(None, {"pageSize": ["100"], "pageNumber": [str(n)]}) for n in (1, 2)] == [
        (r.body, parse_qs(str(r.url).split("?", 1)[1])) for r in gets
    ]


# ------------------------------------------------------------------- call counting


def test_calls_counter_counts_every_request(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """Token, paged listing, a 429 retry, a 401 refresh and the retried query are all counted."""
    add_token(rsps, TOKEN)
    add_token(rsps, TOKEN2)
    add_queue_pages(rsps, [[SUPPORT], [BILLING]])
    rsps.post(AGG_URL, status=429, headers={"Retry-After": "0"})
    rsps.post(AGG_URL, status=401, json=error_body(401, "expired"))
    rsps.post(AGG_URL, json=RESULT)
    client = make_client(clock)
    queues = client.resolve_queues(["Support", "Billing"])
    client.query_aggregates(query_body(*(q.id for q in queues)))
    assert len(rsps.calls) == client.calls == 7


# ------------------------------------------------------------------------ secrets


def _token_refused(rsps: responses.RequestsMock) -> Callable[[GenesysClient], object]:
    rsps.post(TOKEN_URL, status=401, json={"error": SECRET, "description": f"bad {SECRET}"})
    return lambda c: c.token()


def _token_unavailable(rsps: responses.RequestsMock) -> Callable[[GenesysClient], object]:
    rsps.post(TOKEN_URL, status=503, json={"message": f"down for {CLIENT_ID}"})
    return lambda c: c.token()


def _token_malformed(rsps: responses.RequestsMock) -> Callable[[GenesysClient], object]:
    rsps.post(TOKEN_URL, json={"token": SECRET})
    return lambda c: c.token()


def _unauthorized_twice(rsps: responses.RequestsMock) -> Callable[[GenesysClient], object]:
    add_token(rsps, TOKEN)
    add_token(rsps, TOKEN2)
    rsps.post(AGG_URL, status=401, json=error_body(401, f"bad token {TOKEN}"))
    return lambda c: c.query_aggregates(query_body())


def _forbidden(rsps: responses.RequestsMock) -> Callable[[GenesysClient], object]:
    add_token(rsps)
    rsps.post(AGG_URL, status=403, json=error_body(403, f"token {TOKEN} lacks it", TOKEN))
    return lambda c: c.query_aggregates(query_body())


def _bad_request(rsps: responses.RequestsMock) -> Callable[[GenesysClient], object]:
    add_token(rsps)
    rsps.post(AGG_URL, status=400, json=error_body(400, f"echo {SECRET} {TOKEN}"))
    return lambda c: c.query_aggregates(query_body())


def _server_error(rsps: responses.RequestsMock) -> Callable[[GenesysClient], object]:
    add_token(rsps)
    rsps.post(AGG_URL, status=500, json=error_body(500, f"oops {TOKEN}"))
    return lambda c: c.query_aggregates(query_body())


def _network_error(rsps: responses.RequestsMock) -> Callable[[GenesysClient], object]:
    add_token(rsps)
    rsps.post(AGG_URL, body=requests.exceptions.ConnectionError(f"refused {TOKEN}"))
    return lambda c: c.query_aggregates(query_body())


def _queue_not_found(rsps: responses.RequestsMock) -> Callable[[GenesysClient], object]:
    add_token(rsps)
    add_queue_pages(rsps, [[SUPPORT]])
    return lambda c: c.resolve_queues(["Nope"])


def _forbidden_queues(rsps: responses.RequestsMock) -> Callable[[GenesysClient], object]:
    add_token(rsps)
    rsps.get(QUEUES_URL, status=403, json=error_body(403, f"no {SECRET}"))
    return lambda c: c.resolve_queues(["Support"])


@pytest.mark.parametrize(
    "scenario",
    [
        _token_refused,
        _token_unavailable,
        _token_malformed,
        _unauthorized_twice,
        _forbidden,
        _bad_request,
        _server_error,
        _network_error,
        _queue_not_found,
        _forbidden_queues,
    ],
)
def test_no_credential_in_any_error(
    rsps: responses.RequestsMock,
    clock: FakeClock,
    scenario: Callable[[responses.RequestsMock], Callable[[GenesysClient], object]],
) -> None:
    """No failure path puts the secret, the token or the client id in str, repr or args."""
    action = scenario(rsps)
    client = make_client(clock, policy=RetryPolicy(max_attempts=2))
    with pytest.raises(GenesysError if scenario is not _queue_not_found else ReportError) as info:
        action(client)
    shown = " ".join([str(info.value), repr(info.value), *map(str, info.value.args)])
    leaked = [s for s in (SECRET, TOKEN, TOKEN2, CLIENT_ID) if s in shown]
    assert leaked == []


def test_repr_holds_no_credential(clock: FakeClock) -> None:
    """The client's repr names its URLs only."""
    text = repr(make_client(clock))
    assert (SECRET in text, CLIENT_ID in text, API in text) == (False, False, True)
