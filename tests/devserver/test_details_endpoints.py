"""The stand-in's conversation details and external contacts endpoints over a real socket,
through the real seams."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gcnotify.core.errors import GenesysRequestError, GenesysUnavailableError
from gcnotify.core.model import Queue
from gcnotify.devserver.conversations import ConversationModel
from gcnotify.devserver.details_endpoints import JOBS_PATH, QUERY_PATH, async_validator
from gcnotify.devserver.genesys_server import GenesysStandIn
from gcnotify.genesys.client import GenesysClient
from gcnotify.genesys.contacts import ExternalContacts
from gcnotify.genesys.details import ConversationDetails
from tests.support import FakeClock, schema_errors

pytestmark = pytest.mark.e2e
QUEUES = [
    Queue("c6fc6f57-4c1e-4812-980a-5154f500b5c6", "Support"),
    Queue("0b9d1a57-2c3e-4f5a-8b6c-7d8e9f0a1b2c", "Billing"),
]
NOW = datetime(2025, 11, 4, 14, 0, tzinfo=UTC)


@pytest.fixture
def stand_in() -> Iterator[GenesysStandIn]:
    with GenesysStandIn(QUEUES, client_id="cid", client_secret="secret-value") as server:
        server.now = lambda: NOW
        server.details.configure(count=3000, days=30, seed=11)
        yield server
        sync = [r.json for r in server.requests if r.path == QUERY_PATH]
        jobs = [r.json for r in server.requests if r.path == JOBS_PATH and r.method == "POST"]
        checker = async_validator()
        # Every body the seam sent is one Genesys accepts.
        assert [] == [
            e for b in sync for e in schema_errors("genesys-conversation-details-query", b)
        ]
        assert [] == [e.message for b in jobs for e in checker.iter_errors(b)]
        assert [] == server.errors


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=1000.0)


@pytest.fixture
def genesys(stand_in: GenesysStandIn, clock: FakeClock) -> GenesysClient:
    return GenesysClient(
        login_url=stand_in.url,
        api_url=stand_in.url,
        client_id="cid",
        client_secret="secret-value",
        sleep=clock.sleep,
        clock=clock,
        rand=lambda: 0.5,
    )


@pytest.fixture
def details(genesys: GenesysClient, clock: FakeClock) -> ConversationDetails:
    return ConversationDetails(genesys, sleep=clock.sleep, clock=clock, rand=lambda: 0.5)


def _expected(
    model: ConversationModel,
    start: datetime,
    end: datetime,
    media_type: str,
    message_type: str | None,
    *,
    open_only: bool = False,
) -> list[str]:
    """The model's own answer: conversations of that media that started in [start, end)."""
    lo, hi = (int(m.timestamp() * 1000) for m in (start, end))
    return [
        model.conversation_id(c)
        for c in model.conversations
        if lo <= c.start_ms < hi
        and (c.media_type, c.message_type) == (media_type, message_type)
        and (c.end_ms is None or not open_only)
    ]


def _ids(found: list[dict[str, Any]]) -> list[str]:
    return [c["conversationId"] for c in found]


def test_a_one_day_window_goes_by_the_sync_query(
    stand_in: GenesysStandIn, details: ConversationDetails
) -> None:
    """A day of web messaging: sync pages only, exactly the model's conversations."""
    start, end = NOW - timedelta(days=1), NOW
    found = list(
        details.conversations(start, end, media_type="message", message_type="webmessaging")
    )
    expected = _expected(stand_in.details.model, start, end, "message", "webmessaging")
    assert expected == _ids(found)
    assert [] != expected
    assert (0, 1) == (details.last.jobs, details.last.sync_windows)
    assert 0 == stand_in.count(JOBS_PATH)


def test_a_thirty_day_window_goes_by_job_then_sync(
    stand_in: GenesysStandIn, details: ConversationDetails
) -> None:
    """30 days of SMS: a job up to the availability date, the sync query after; none twice."""
    start, end = NOW - timedelta(days=30), NOW
    found = list(details.conversations(start, end, media_type="message", message_type="sms"))
    expected = _expected(stand_in.details.model, start, end, "message", "sms")
    assert sorted(expected) == sorted(_ids(found))
    assert len(found) == len(set(_ids(found)))
    assert 1 == details.last.jobs
    assert stand_in.details.availability() == details.last.availability
    assert details.last.sync_windows >= 1  # the hours the datalake does not hold yet


def test_the_same_customer_has_several_conversations(
    stand_in: GenesysStandIn, details: ConversationDetails
) -> None:
    """Customers come back: some external contact appears in several conversations."""
    found = list(
        details.conversations(NOW - timedelta(days=30), NOW, media_type="voice", message_type=None)
    )
    contacts = Counter(
        p["externalContactId"]
        for c in found
        for p in c["participants"]
        if p["purpose"] == "customer" and "externalContactId" in p
    )
    assert max(contacts.values()) >= 3
    without = [
        c
        for c in found
        if not any(
            "externalContactId" in p for p in c["participants"] if p["purpose"] == "customer"
        )
    ]
    assert [] != without  # and some customers have no external contact


def test_open_only_keeps_conversations_without_an_end(
    stand_in: GenesysStandIn, details: ConversationDetails
) -> None:
    """open_only: every conversation answered has no conversationEnd, and none is missed."""
    start, end = NOW - timedelta(days=2), NOW
    found = list(
        details.conversations(
            start, end, media_type="message", message_type="webmessaging", open_only=True
        )
    )
    expected = _expected(
        stand_in.details.model, start, end, "message", "webmessaging", open_only=True
    )
    assert expected == _ids(found)
    assert all("conversationEnd" not in c for c in found)


def test_queue_filter_keeps_only_that_queue(
    stand_in: GenesysStandIn, details: ConversationDetails
) -> None:
    """A queue id filter answers only conversations whose ACD segment is in that queue."""
    found = list(
        details.conversations(
            NOW - timedelta(days=2),
            NOW,
            media_type="voice",
            message_type=None,
            queue_ids=(QUEUES[1].id,),
        )
    )
    queues = {
        s["queueId"]
        for c in found
        for p in c["participants"]
        if p["purpose"] == "acd"
        for sess in p["sessions"]
        for s in sess["segments"]
    }
    assert {QUEUES[1].id} == queues


def test_contacts_are_read_with_and_without_phones_and_emails(
    stand_in: GenesysStandIn, genesys: GenesysClient
) -> None:
    """Contacts of the model come back E.164-only; some lack phones, some emails; 404 is None."""
    model = stand_in.details.model
    contacts = ExternalContacts(genesys)
    ids = [cid for i in range(60) if (cid := model.customer(i).contact_id) is not None]
    read = [contacts.get(cid) for cid in ids]
    assert all(c is not None for c in read)
    present = [c for c in read if c is not None]
    assert any(not c.phones for c in present)
    assert any(not c.emails for c in present)
    assert any(c.whatsapp for c in present)
    assert all(p.startswith("+1317") for c in present for p in c.phones)
    assert None is contacts.get("e0c0a000-0000-4000-8000-ffffffffffff")


def test_a_results_page_that_429s_is_read_again(
    stand_in: GenesysStandIn, details: ConversationDetails, clock: FakeClock
) -> None:
    """A 429 on a job's second results page is waited out, that page read again, nothing lost."""
    stand_in.details.availability_lag = timedelta(hours=1)
    details.results_page_size = 20
    start, end = NOW - timedelta(days=10), NOW - timedelta(days=1)
    read = details.conversations(start, end, media_type="email", message_type=None)
    found = [next(read)]  # the job is done and its first page read
    stand_in.fail_next(JOBS_PATH + "/", 429, headers={"Retry-After": "2"})
    found += list(read)
    assert sorted(_expected(stand_in.details.model, start, end, "email", None)) == sorted(
        _ids(found)
    )
    results = [r for r in stand_in.requests if r.path.endswith("/results")]
    assert details.last.pages + 1 == len(results)  # one page asked twice
    assert results[1].query["cursor"] == results[2].query["cursor"]
    assert 2.0 <= max(clock.sleeps)


def test_a_failed_job_raises(stand_in: GenesysStandIn, details: ConversationDetails) -> None:
    """A job the stand-in fails ends the read with its id and FAILED."""
    stand_in.details.fail_next_job("Query exceeded the result limit")
    with pytest.raises(GenesysRequestError, match="ended FAILED: Query exceeded"):
        list(
            details.conversations(
                NOW - timedelta(days=20), NOW, media_type="voice", message_type=None
            )
        )


def test_a_stalled_job_is_cancelled(stand_in: GenesysStandIn, details: ConversationDetails) -> None:
    """A job that never finishes is DELETEd when the budget runs out, and the error says so."""
    stand_in.details.stall_jobs = True
    details.job_budget = 30.0
    with pytest.raises(GenesysUnavailableError, match="it was cancelled"):
        list(
            details.conversations(
                NOW - timedelta(days=20), NOW, media_type="voice", message_type=None
            )
        )
    assert 1 == len(stand_in.details.cancelled)
    assert "CANCELLED" == stand_in.details.job_state(stand_in.details.cancelled[0])


def test_many_contacts_are_read_in_bulk_with_misses_as_404_results(
    stand_in: GenesysStandIn, genesys: GenesysClient
) -> None:
    """The bulk read answers the same contacts as the GETs, in one request per 100 ids."""
    model = stand_in.details.model
    ids = [cid for i in range(150) if (cid := model.customer(i).contact_id) is not None]
    gone = "e0c0a000-0000-4000-8000-ffffffffffff"
    bulk = ExternalContacts(genesys).get_many([*ids, gone])
    single = ExternalContacts(genesys)
    assert {cid: single.get(cid) for cid in ids} == {cid: bulk[cid] for cid in ids}
    assert None is bulk[gone]
    posts = [r for r in stand_in.requests if r.path == "/api/v2/externalcontacts/bulk/contacts"]
    assert [100, len(ids) + 1 - 100] == [len(r.json["entities"]) for r in posts]


def test_a_bulk_read_over_the_stand_ins_maximum_is_refused(
    stand_in: GenesysStandIn, genesys: GenesysClient
) -> None:
    """Over ``bulk_contacts_max`` ids is a 400; the client halves its batch and reads them all."""
    stand_in.details.bulk_contacts_max = 30
    model = stand_in.details.model
    ids = [cid for i in range(80) if (cid := model.customer(i).contact_id) is not None]
    contacts = ExternalContacts(genesys)
    assert all(c is not None for c in contacts.get_many(ids).values())
    assert contacts.batch <= 30 < 2 * contacts.batch  # halved until it fits
