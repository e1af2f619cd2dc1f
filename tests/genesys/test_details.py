"""Conversation details: body builders, sync paging, job lifecycle, cursor paging, the split at
the datalake's availability date."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import responses

from gcnotify.core.errors import (
    GenesysPermissionError,
    GenesysRequestError,
    GenesysUnavailableError,
)
from gcnotify.devserver.http_base import load_schema_validator
from gcnotify.genesys.details import (
    ConversationDetails,
    details_job,
    details_query,
    sync_windows,
)
from tests.genesys.standup_http import API, client, forbidden
from tests.support import FakeClock

SCHEMA = "genesys-conversation-details-query"
QUERY_URL = f"{API}/api/v2/analytics/conversations/details/query"
JOBS_URL = f"{API}/api/v2/analytics/conversations/details/jobs"
JOB_URL = f"{JOBS_URL}/job-1"
RESULTS_URL = f"{JOB_URL}/results"
AVAILABILITY_URL = f"{JOBS_URL}/availability"
START = datetime(2025, 11, 3, tzinfo=UTC)
QUEUE = "c6fc6f57-4c1e-4812-980a-5154f500b5c6"


def _sync_errors(body: Any) -> list[str]:
    return [e.message for e in load_schema_validator(SCHEMA).iter_errors(body)]


def _async_errors(body: Any) -> list[str]:
    root = load_schema_validator(SCHEMA)
    schema = {"$defs": root.schema["$defs"], "$ref": "#/$defs/AsyncConversationQuery"}
    return [e.message for e in root.evolve(schema=schema).iter_errors(body)]


def _conv(n: int, start: datetime) -> dict[str, Any]:
    return {
        "conversationId": f"conv-{n}",
        "conversationStart": start.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "participants": [],
    }


def _page(starts: list[datetime], first: int = 0, total: int | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"totalHits": total if total is not None else len(starts)}
    if starts:
        answer["conversations"] = [_conv(first + i, s) for i, s in enumerate(starts)]
    return answer


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _details(clock: FakeClock, rsps: responses.RequestsMock, **kw: Any) -> ConversationDetails:
    kw.setdefault("page_size", 2)
    return ConversationDetails(
        client(clock, rsps), sleep=clock.sleep, clock=clock, rand=lambda: 1.0, **kw
    )


def _bodies(rsps: responses.RequestsMock, url: str) -> list[Any]:
    return [
        json.loads(c.request.body)
        for c in rsps.calls
        if str(c.request.url).split("?")[0] == url and c.request.body
    ]


# ---------------------------------------------------------------------- bodies


@pytest.mark.parametrize(
    ("message_type", "queue_ids", "open_only"),
    [
        ("webmessaging", (), False),
        (None, (), False),
        ("sms", (QUEUE, "q2", QUEUE), True),
        ("whatsapp", (QUEUE,), False),
    ],
)
def test_both_bodies_are_schema_valid(
    message_type: str | None, queue_ids: tuple[str, ...], open_only: bool
) -> None:
    """Every variant of the sync and async bodies passes the shipped schema."""
    common: dict[str, Any] = {
        "start": START,
        "end": START + timedelta(days=1),
        "media_type": "message",
        "message_type": message_type,
        "queue_ids": queue_ids,
        "open_only": open_only,
    }
    sync = details_query(**common, page_size=50, page_number=3)
    job = details_job(**common)
    assert ([], []) == (_sync_errors(sync), _async_errors(job))
    assert [] != _async_errors(sync)  # the job schema refuses paging: the check can fail


def test_the_sync_body_holds_the_customer_queue_and_open_filters() -> None:
    """Customer predicates in one and-filter, queues as an or-filter, open as notExists."""
    body = details_query(
        start=START,
        end=START + timedelta(hours=6),
        media_type="message",
        message_type="webmessaging",
        queue_ids=(QUEUE, "q2", QUEUE),
        open_only=True,
    )
    assert "2025-11-03T00:00:00.000Z/2025-11-03T06:00:00.000Z" == body["interval"]
    assert [
        {
            "type": "and",
            "predicates": [
                {"type": "dimension", "dimension": "mediaType", "value": "message"},
                {"type": "dimension", "dimension": "messageType", "value": "webmessaging"},
                {"type": "dimension", "dimension": "purpose", "value": "customer"},
            ],
        },
        {
            "type": "or",
            "predicates": [
                {"type": "dimension", "dimension": "queueId", "value": QUEUE},
                {"type": "dimension", "dimension": "queueId", "value": "q2"},
            ],
        },
    ] == body["segmentFilters"]
    assert [
        {
            "type": "and",
            "predicates": [
                {"type": "dimension", "dimension": "conversationEnd", "operator": "notExists"}
            ],
        }
    ] == body["conversationFilters"]
    assert {"pageSize": 100, "pageNumber": 1} == body["paging"]


def test_voice_has_no_message_type_and_no_open_filter() -> None:
    """Without message_type or open_only, neither predicate is sent."""
    body = details_job(
        start=START, end=START + timedelta(days=9), media_type="voice", message_type=None
    )
    assert "conversationFilters" not in body
    assert ["mediaType", "purpose"] == [
        p["dimension"] for p in body["segmentFilters"][0]["predicates"]
    ]
    assert True is body["startOfDayIntervalMatching"]


def test_naive_and_empty_windows_are_refused() -> None:
    """A datetime without zone or an end not after the start is a ValueError."""
    with pytest.raises(ValueError, match="aware"):
        details_query(start=datetime(2025, 11, 3), end=START, media_type="voice", message_type=None)
    with pytest.raises(ValueError, match="not after"):
        details_job(start=START, end=START, media_type="voice", message_type=None)


def test_sync_windows_cut_at_utc_midnight() -> None:
    """Each window touches at most sync_max whole UTC days, so no day is read twice."""
    start = START + timedelta(hours=10)
    windows = sync_windows(start, start + timedelta(days=5), timedelta(days=2))
    assert [
        (start, START + timedelta(days=2)),
        (START + timedelta(days=2), START + timedelta(days=4)),
        (START + timedelta(days=4), START + timedelta(days=5, hours=10)),
    ] == windows


# ---------------------------------------------------------------------- sync


def test_sync_pages_until_a_short_page(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """Full pages are followed by the next pageNumber; a short page ends the read."""
    details = _details(clock, rsps)
    t = START + timedelta(hours=1)
    rsps.post(QUERY_URL, json=_page([t, t], 0, total=99))
    rsps.post(QUERY_URL, json=_page([t, t], 2, total=99))
    rsps.post(QUERY_URL, json=_page([t], 4, total=99))
    found = list(
        details.conversations(
            START, START + timedelta(days=1), media_type="message", message_type="webmessaging"
        )
    )
    assert [f"conv-{n}" for n in range(5)] == [c["conversationId"] for c in found]
    assert [1, 2, 3] == [b["paging"]["pageNumber"] for b in _bodies(rsps, QUERY_URL)]
    assert (3, 0, 1) == (details.last.pages, details.last.jobs, details.last.sync_windows)
    assert 4 == details.last.calls  # the token and three pages


def test_sync_stops_at_total_hits(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """A full last page that reaches totalHits is not followed by an empty one."""
    details = _details(clock, rsps)
    t = START + timedelta(hours=1)
    rsps.post(QUERY_URL, json=_page([t, t], 0, total=4))
    rsps.post(QUERY_URL, json=_page([t, t], 2, total=4))
    found = list(
        details.conversations(
            START, START + timedelta(days=1), media_type="voice", message_type=None
        )
    )
    assert 4 == len(found)
    assert 2 == details.last.pages


def test_sync_drops_conversations_outside_the_window(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """The sync query answers whole days; only conversations started in [start, end) remain."""
    details = _details(clock, rsps, page_size=10)
    inside, before = START + timedelta(hours=7), START + timedelta(hours=2)
    rsps.post(QUERY_URL, json=_page([before, inside]))
    found = list(
        details.conversations(
            START + timedelta(hours=6),
            START + timedelta(hours=12),
            media_type="voice",
            message_type=None,
        )
    )
    assert ["conv-1"] == [c["conversationId"] for c in found]
    assert (1, 1) == (details.last.conversations, details.last.outside)


def test_an_empty_answer_has_no_conversations(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """{"totalHits": 0} without a conversations key is no conversations, one page."""
    details = _details(clock, rsps)
    rsps.post(QUERY_URL, json={"totalHits": 0})
    assert [] == list(
        details.conversations(
            START, START + timedelta(days=1), media_type="voice", message_type=None
        )
    )


def test_a_403_names_the_permission(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """A forbidden query says which permission the OAuth client's roles lack."""
    details = _details(clock, rsps)
    rsps.post(QUERY_URL, status=403, json=forbidden("analytics:conversationDetail:view"))
    with pytest.raises(GenesysPermissionError, match="analytics:conversationDetail:view"):
        list(
            details.conversations(
                START, START + timedelta(days=1), media_type="voice", message_type=None
            )
        )


# ---------------------------------------------------------------------- async


def _long_read(details: ConversationDetails, days: int = 30) -> list[dict[str, Any]]:
    return list(
        details.conversations(
            START,
            START + timedelta(days=days),
            media_type="message",
            message_type="webmessaging",
            queue_ids=(QUEUE,),
        )
    )


def test_a_job_is_polled_then_read_by_cursor(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """QUEUED, PENDING, FULFILLED with backoff; then results pages chained by cursor."""
    details = _details(clock, rsps)
    rsps.get(AVAILABILITY_URL, json={"dataAvailabilityDate": "2025-12-10T00:00:00Z"})
    rsps.post(JOBS_URL, json={"jobId": "job-1"}, status=202)
    for state in ("QUEUED", "PENDING", "FULFILLED"):
        rsps.get(JOB_URL, json={"state": state, "submissionDate": "2025-12-03T10:00:00Z"})
    t = START + timedelta(days=3)
    rsps.get(RESULTS_URL, json={"conversations": [_conv(0, t), _conv(1, t)], "cursor": "c1"})
    rsps.get(RESULTS_URL, json={"conversations": [_conv(2, t)], "cursor": "c2"})
    rsps.get(RESULTS_URL, json={"conversations": [], "dataAvailabilityDate": "2025-12-10Z"})
    found = _long_read(details)
    assert ["conv-0", "conv-1", "conv-2"] == [c["conversationId"] for c in found]
    assert [1.0, 2.0, 4.0] == clock.sleeps  # rand 1.0: the full backoff
    cursors = [
        c.request.params.get("cursor") for c in rsps.calls if "/results" in str(c.request.url)
    ]
    assert [None, "c1", "c2"] == cursors
    assert [] == _async_errors(_bodies(rsps, JOBS_URL)[0])
    assert (1, 3, 3) == (details.last.jobs, details.last.polls, details.last.pages)


def test_a_failed_job_names_its_id_and_state(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """FAILED raises a GenesysRequestError with the job id, state and Genesys's reason."""
    details = _details(clock, rsps)
    rsps.get(AVAILABILITY_URL, json={"dataAvailabilityDate": "2025-12-10T00:00:00Z"})
    rsps.post(JOBS_URL, json={"jobId": "job-1"})
    rsps.get(JOB_URL, json={"state": "FAILED", "errorMessage": "too much data"})
    with pytest.raises(GenesysRequestError, match=r"job job-1 .* ended FAILED: too much data"):
        _long_read(details)


def test_a_job_that_never_completes_is_cancelled(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """Still PENDING when the budget runs out: DELETE cancels it and the error says so."""
    details = _details(clock, rsps, job_budget=20.0)
    rsps.get(AVAILABILITY_URL, json={"dataAvailabilityDate": "2025-12-10T00:00:00Z"})
    rsps.post(JOBS_URL, json={"jobId": "job-1"})
    rsps.get(JOB_URL, json={"state": "PENDING"})
    rsps.delete(JOB_URL, status=202)
    with pytest.raises(GenesysUnavailableError, match=r"still PENDING .* it was cancelled"):
        _long_read(details)
    assert 20.0 >= sum(clock.sleeps)
    assert ["DELETE"] == [c.request.method for c in rsps.calls if c.request.method == "DELETE"]


def test_the_budget_follows_the_invocation_time_left(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """With 40 s left in the invocation, the job is abandoned within 10 s (30 s kept back)."""
    details = _details(clock, rsps)
    details._client.time_left = lambda: 40.0
    rsps.get(AVAILABILITY_URL, json={"dataAvailabilityDate": "2025-12-10T00:00:00Z"})
    rsps.post(JOBS_URL, json={"jobId": "job-1"})
    rsps.get(JOB_URL, json={"state": "QUEUED"})
    rsps.delete(JOB_URL, status=500)
    with pytest.raises(GenesysUnavailableError, match="cancelling it failed too"):
        _long_read(details)
    # Polls after 1, 2 and 4 s; the next 8 s would pass 10 s. Later sleeps retry the DELETE.
    assert ([1.0, 2.0, 4.0], 3) == (clock.sleeps[:3], details.last.polls)


def test_a_results_page_that_429s_is_retried(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """A 429 on a results page waits its Retry-After and reads the same page again."""
    details = _details(clock, rsps)
    rsps.get(AVAILABILITY_URL, json={"dataAvailabilityDate": "2025-12-10T00:00:00Z"})
    rsps.post(JOBS_URL, json={"jobId": "job-1"})
    rsps.get(JOB_URL, json={"state": "FULFILLED"})
    t = START + timedelta(days=1)
    rsps.get(RESULTS_URL, json={"conversations": [_conv(0, t)], "cursor": "c1"})
    rsps.get(
        RESULTS_URL,
        status=429,
        headers={"Retry-After": "3"},
        json={"message": "Rate limit exceeded", "code": "too.many.requests.retry.after"},
    )
    rsps.get(RESULTS_URL, json={"conversations": [_conv(1, t)]})
    found = _long_read(details)
    assert ["conv-0", "conv-1"] == [c["conversationId"] for c in found]
    assert any(s >= 3.0 for s in clock.sleeps[1:])
    cursors = [
        c.request.params.get("cursor") for c in rsps.calls if "/results" in str(c.request.url)
    ]
    assert [None, "c1", "c1"] == cursors


def test_the_window_is_split_at_the_availability_date(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """Up to dataAvailabilityDate by job, the days after it by the sync query."""
    details = _details(clock, rsps, page_size=10)
    available = START + timedelta(days=27, hours=6)
    rsps.get(AVAILABILITY_URL, json={"dataAvailabilityDate": "2025-11-30T06:00:00.000Z"})
    rsps.post(JOBS_URL, json={"jobId": "job-1"})
    rsps.get(JOB_URL, json={"state": "FULFILLED"})
    # The job answers one conversation after the availability date: it belongs to the sync part.
    rsps.get(
        RESULTS_URL,
        json={"conversations": [_conv(0, START + timedelta(days=2)), _conv(9, available)]},
    )
    # The sync query answers the whole of Nov 30: the conversation before 06:00 is the job's.
    day_27 = [START + timedelta(days=27, hours=h) for h in (2, 8)]
    rsps.post(QUERY_URL, json=_page([*day_27, START + timedelta(days=28, hours=1)], 0))
    rsps.post(QUERY_URL, json=_page([START + timedelta(days=29, hours=23)], 3))
    found = _long_read(details)
    assert ["conv-0", "conv-1", "conv-2", "conv-3"] == [c["conversationId"] for c in found]
    job_body = _bodies(rsps, JOBS_URL)[0]
    assert "2025-11-03T00:00:00.000Z/2025-11-30T06:00:00.000Z" == job_body["interval"]
    assert [
        "2025-11-30T06:00:00.000Z/2025-12-02T00:00:00.000Z",
        "2025-12-02T00:00:00.000Z/2025-12-03T00:00:00.000Z",
    ] == [b["interval"] for b in _bodies(rsps, QUERY_URL)]
    assert (1, 2, available) == (
        details.last.jobs,
        details.last.sync_windows,
        details.last.availability,
    )


def test_a_window_entirely_after_availability_needs_no_job(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """When the datalake holds none of the window yet, the sync query reads all of it."""
    details = _details(clock, rsps, page_size=10)
    rsps.get(AVAILABILITY_URL, json={"dataAvailabilityDate": "2025-11-01T00:00:00Z"})
    rsps.post(QUERY_URL, json=_page([]))
    rsps.post(QUERY_URL, json=_page([]))
    assert [] == _long_read(details, days=4)
    assert (0, 2) == (details.last.jobs, details.last.sync_windows)
