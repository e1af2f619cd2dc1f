"""The receipts seam: calls planned by conversation, bulk and details reads, errors returned,
and a lost-response send looked for by its recipient."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from jsonschema import Draft202012Validator

from gcnotify.core.errors import GenesysPermissionError, GenesysUnavailableError
from gcnotify.genesys.receipts import (
    BULK_MAX,
    RECEIPT_PERMISSION,
    SCREEN_MAX,
    SCREEN_PATH,
    MessageRef,
    ReceiptCall,
    ReceiptReader,
    bulk_path,
    details_path,
    find_query,
    plan_calls,
    screen_calls,
)
from tests.genesys.standup_http import API, bodies, client, forbidden
from tests.support import FakeClock, assert_valid

CONV = "8d4f1e2a-3b5c-4d6e-9f70-1a2b3c4d5e6f"
OTHER = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
SENT_AT = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
# The SDK's body of the bulk read: "list[str] messageIds", at most 1,000 (no shipped schema).
BULK_BODY = Draft202012Validator(
    {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1, "maxItems": 1000}
)


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=100.0)


@pytest.fixture
def reader(clock: FakeClock, rsps: responses.RequestsMock) -> ReceiptReader:
    return ReceiptReader(client(clock, rsps), clock=clock)


def data(message_id: str, status: str = "delivery-success", **extra: Any) -> dict[str, Any]:
    return {
        "id": message_id,
        "timestamp": "2026-03-02T14:00:00.000Z",
        "direction": "outbound",
        "messengerType": "sms",
        "status": status,
        "normalizedReceipts": [],
        "conversationId": CONV,
    } | extra


# ---------------------------------------------------------------- the plan


def test_lone_messages_are_read_by_their_details() -> None:
    """A conversation with one pending message, or a record without a conversation id."""
    plan = plan_calls([MessageRef("m1", CONV), MessageRef("m2", OTHER), MessageRef("m3")])
    assert [
        ReceiptCall("details", ("m1",)),
        ReceiptCall("details", ("m2",)),
        ReceiptCall("details", ("m3",)),
    ] == plan


def test_a_conversation_with_several_is_read_in_bulk_at_its_first_place() -> None:
    refs = [MessageRef("a1", CONV), MessageRef("b1", OTHER), MessageRef("a2", CONV)]
    assert [ReceiptCall("bulk", ("a1", "a2"), CONV), ReceiptCall("details", ("b1",))] == (
        plan_calls(refs)
    )


def test_bulk_calls_hold_at_most_1000_ids_and_each_id_once() -> None:
    refs = [MessageRef(f"m{n}", CONV) for n in range(2500)] + [MessageRef("m7", CONV)]
    plan = plan_calls(refs)
    assert [1000, 1000, 500] == [len(c.message_ids) for c in plan]
    assert {"bulk"} == {c.kind for c in plan}
    assert 2500 == len({m for c in plan for m in c.message_ids})
    assert [4, 4, 2] == [len(c.message_ids) for c in plan_calls(refs[:10], bulk_max=4)]
    with pytest.raises(ValueError, match="bulk_max"):
        plan_calls(refs, bulk_max=BULK_MAX + 1)


# ---------------------------------------------------------------- details


def test_details_answer_the_message(reader: ReceiptReader, rsps: responses.RequestsMock) -> None:
    rsps.get(f"{API}{details_path('m1')}", json=data("m1"))
    [result] = reader.read_all([MessageRef("m1", CONV)])
    assert (["m1"], (), (), None) == (
        list(result.messages),
        result.missing,
        result.unasked,
        result.error,
    )
    assert "delivery-success" == result.messages["m1"]["status"]


def test_a_message_genesys_does_not_hold_is_missing(
    reader: ReceiptReader, rsps: responses.RequestsMock
) -> None:
    rsps.get(
        f"{API}{details_path('gone')}",
        status=404,
        json={"message": "Message gone not found", "code": "not.found", "status": 404},
    )
    [result] = reader.read_all([MessageRef("gone")])
    assert ({}, ("gone",), None) == (result.messages, result.missing, result.error)


def test_a_429_storm_is_waited_out_with_retry_after(
    reader: ReceiptReader, rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    url = f"{API}{details_path('m1')}"
    for _ in range(2):
        rsps.get(url, status=429, headers={"Retry-After": "3"}, json={"status": 429})
    rsps.get(url, json=data("m1"))
    [result] = reader.read_all([MessageRef("m1")])
    assert (None, [3.25, 3.25]) == (result.error, clock.sleeps)
    assert 6.5 == pytest.approx(result.seconds)  # the latency a poller records: the waits


def test_a_429_that_persists_is_returned_with_its_retry_after(
    reader: ReceiptReader, rsps: responses.RequestsMock
) -> None:
    """The client's retries run out: the error comes back on the result, never raised."""
    rsps.get(f"{API}{details_path('m1')}", status=429, headers={"Retry-After": "5"}, json={"a": 1})
    [result] = reader.read_all([MessageRef("m1")])
    assert isinstance(result.error, GenesysUnavailableError)
    assert (429, 5.0, {}) == (result.error.status, result.error.retry_after, result.messages)


def test_a_403_names_the_permission(reader: ReceiptReader, rsps: responses.RequestsMock) -> None:
    rsps.get(f"{API}{details_path('m1')}", status=403, json=forbidden("conversation:message:view"))
    [result] = reader.read_all([MessageRef("m1")])
    assert isinstance(result.error, GenesysPermissionError)
    assert RECEIPT_PERMISSION in str(result.error)


# ---------------------------------------------------------------- bulk


def test_bulk_sends_the_ids_and_sorts_out_the_answer(
    reader: ReceiptReader, rsps: responses.RequestsMock
) -> None:
    """Asked and answered: found; asked, left out: missing; answered, never asked: unasked."""
    rsps.post(
        f"{API}{bulk_path(CONV)}",
        json={"entities": [data("a1"), data("a3", "sent"), data("stranger")]},
    )
    [result] = reader.read_all([MessageRef(m, CONV) for m in ("a1", "a2", "a3")])
    assert (["a1", "a3"], ("a2",), ["stranger"]) == (
        sorted(result.messages),
        result.missing,
        [e["id"] for e in result.unasked],
    )
    [body] = bodies(rsps, "/bulk")
    assert ["a1", "a2", "a3"] == body
    assert [] == [e.message for e in BULK_BODY.iter_errors(body)]


def test_a_bulk_read_of_a_gone_conversation_is_all_missing(
    reader: ReceiptReader, rsps: responses.RequestsMock
) -> None:
    rsps.post(f"{API}{bulk_path(CONV)}", status=404, json={"code": "not.found", "status": 404})
    result = reader.read(ReceiptCall("bulk", ("a1", "a2"), CONV))
    assert (("a1", "a2"), None) == (result.missing, result.error)


def test_a_bulk_read_is_refused_before_it_is_sent_when_it_cannot_be_right(
    reader: ReceiptReader, rsps: responses.RequestsMock
) -> None:
    with pytest.raises(ValueError, match="1 to 1000"):
        reader.read(ReceiptCall("bulk", tuple(f"m{n}" for n in range(1001)), CONV))
    with pytest.raises(ValueError, match="conversation id"):
        reader.read(ReceiptCall("bulk", ("m1", "m2")))
    assert [] == [c for c in rsps.calls if "/bulk" in str(c.request.url)]


# ---------------------------------------------------------------- lost responses


def conversation_of(*messages: tuple[str, datetime]) -> dict[str, Any]:
    return {
        "id": CONV,
        "participants": [
            {"id": "p1", "purpose": "agent", "messages": []},
            {
                "id": "p2",
                "purpose": "customer",
                "messages": [
                    {"messageId": m, "messageStatus": "sent", "messageTime": at.isoformat()}
                    for m, at in messages
                ],
            },
        ],
    }


def test_the_find_query_is_a_valid_details_query() -> None:
    body = find_query(
        channel="sms",
        to_address="+15557655942",
        from_address="+13178723000",
        start=SENT_AT - timedelta(minutes=1),
        end=SENT_AT + timedelta(minutes=10),
    )
    assert_valid("genesys-conversation-details-query", body)
    assert "2026-03-02T13:59:00.000Z/2026-03-02T14:10:00.000Z" == body["interval"]
    web = find_query(
        channel="webmessaging",
        to_address=None,
        external_contact_id="c-1",
        start=SENT_AT,
        end=SENT_AT + timedelta(minutes=1),
    )
    assert_valid("genesys-conversation-details-query", web)
    dimensions = {p["dimension"]: p["value"] for p in web["segmentFilters"][0]["predicates"]}
    assert {"externalContactId": "c-1", "messageType": "webmessaging"}.items() <= (
        dimensions.items()
    )
    with pytest.raises(ValueError, match="to_address or its external_contact_id"):
        find_query(channel="sms", to_address=None, start=SENT_AT, end=SENT_AT)


def test_a_lost_send_is_found_by_its_recipient(
    reader: ReceiptReader, rsps: responses.RequestsMock
) -> None:
    """The details query names the conversation; its messages inside the window that nobody
    knows yet are read by their details. A known id, or one sent outside, is left alone."""
    rsps.post(
        f"{API}/api/v2/analytics/conversations/details/query",
        json={"conversations": [{"conversationId": CONV}], "totalHits": 1},
    )
    rsps.get(
        f"{API}/api/v2/conversations/messages/{CONV}",
        json=conversation_of(
            ("known", SENT_AT),
            ("lost", SENT_AT + timedelta(seconds=2)),
            ("old", SENT_AT.replace(hour=9)),
        ),
    )
    rsps.get(f"{API}{details_path('lost')}", json=data("lost", "sent"))
    found = reader.find_sent(
        channel="sms",
        to_address="+15557655942",
        from_address="+13178723000",
        start=SENT_AT - timedelta(minutes=1),
        end=SENT_AT + timedelta(minutes=10),
        known=["known"],
    )
    assert [("lost", CONV, "sent")] == [
        (f.message_id, f.conversation_id, f.message["status"]) for f in found
    ]
    [query] = bodies(rsps, "/details/query")
    assert_valid("genesys-conversation-details-query", query)
    assert not any("details/known" in str(c.request.url) for c in rsps.calls)


def test_nothing_found_yet_is_an_empty_answer(
    reader: ReceiptReader, rsps: responses.RequestsMock
) -> None:
    rsps.post(f"{API}/api/v2/analytics/conversations/details/query", json={"totalHits": 0})
    assert [] == reader.find_sent(
        channel="sms", to_address="+15557655942", start=SENT_AT, end=SENT_AT + timedelta(minutes=5)
    )
    [query] = bodies(rsps, "/details/query")
    assert "and" == query["segmentFilters"][0]["type"]


# ---------------------------------------------------------------- the analytics screen


def analytics(
    conversation_id: str, *statuses: str, start: str = "2026-03-02T14:00:00.000Z"
) -> dict[str, Any]:
    """An ``AnalyticsConversation``: a customer session per status given."""
    return {
        "conversationId": conversation_id,
        "conversationStart": start,
        "originatingDirection": "outbound",
        "participants": [
            {
                "participantId": f"p-{conversation_id}",
                "purpose": "customer",
                "sessions": [
                    {
                        "mediaType": "message",
                        "messageType": "sms",
                        "direction": "outbound",
                        "deliveryStatus": status,
                        "deliveryStatusChangeDate": f"2026-03-02T14:0{n}:00.000Z",
                    }
                    for n, status in enumerate(statuses)
                ],
            }
        ],
    }


def screen_ids(rsps: responses.RequestsMock) -> list[list[str]]:
    """The ids each screen request listed (one comma-separated ``id`` parameter)."""
    out = []
    for call in rsps.calls:
        parts = urlsplit(str(call.request.url))
        if parts.path == SCREEN_PATH:
            [ids] = parse_qs(parts.query)["id"]
            out.append(ids.split(","))
    return out


def test_screen_calls_list_100_conversations_each() -> None:
    refs = [MessageRef(f"m{n}", f"c{n}") for n in range(250)] + [MessageRef("lone")]
    calls = screen_calls(refs)
    assert [100, 100, 50] == [len(c.message_ids) for c in calls]
    assert all(c.kind == "screen" for c in calls)
    assert ("m100", "c100") == (calls[1].message_ids[0], calls[1].conversation_ids[0])
    assert 100 == SCREEN_MAX
    with pytest.raises(ValueError, match="size"):
        screen_calls(refs, size=101)


def test_the_screen_reads_each_conversation_s_delivery_status(
    reader: ReceiptReader, rsps: responses.RequestsMock
) -> None:
    """One GET for the conversations; a message analytics does not show is missing (its
    details decide); sessions that disagree give no status."""
    rsps.get(
        f"{API}{SCREEN_PATH}",
        json={
            "conversations": [
                analytics(CONV, "DeliverySuccess"),
                analytics(OTHER, "Sent", "DeliveryFailed"),
                analytics("not-asked", "Read"),
            ]
        },
    )
    [call] = screen_calls([MessageRef("m1", CONV), MessageRef("m2", OTHER), MessageRef("m3", "c3")])
    result = reader.read(call)
    assert [[CONV, OTHER, "c3"]] == screen_ids(rsps)
    assert (None, ("m3",), {}) == (result.error, result.missing, result.messages)
    one, two = result.screened["m1"], result.screened["m2"]
    assert ("DeliverySuccess", datetime(2026, 3, 2, 14, 0, tzinfo=UTC)) == (one.status, one.changed)
    assert (None, None, SENT_AT) == (two.status, two.changed, two.started)


def test_a_screen_size_refused_is_halved_down_to_one_id(
    reader: ReceiptReader, rsps: responses.RequestsMock
) -> None:
    """414 for four ids, 400 for two, then one a call; an id refused alone is left out."""

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        [ids] = parse_qs(urlsplit(request.url).query)["id"]
        listed = ids.split(",")
        if len(listed) > 1 or listed == ["bad"]:
            return 414 if len(listed) > 2 else 400, {}, '{"status": 400, "code": "bad.request"}'
        return 200, {}, json.dumps({"conversations": [analytics(listed[0], "Read")]})

    rsps.add_callback(responses.GET, f"{API}{SCREEN_PATH}", callback=answer)
    shown = reader.screen(["a", "b", "bad", "d"])
    assert ["a", "b", "d"] == sorted(shown)
    assert [4, 2, 1, 1, 2, 1, 1] == [len(ids) for ids in screen_ids(rsps)]


def test_a_screen_that_fails_otherwise_returns_its_error(
    reader: ReceiptReader, rsps: responses.RequestsMock
) -> None:
    rsps.get(f"{API}{SCREEN_PATH}", status=403, json=forbidden("analytics:conversationDetail:view"))
    [call] = screen_calls([MessageRef("m1", CONV)])
    result = reader.read(call)
    assert isinstance(result.error, GenesysPermissionError)
    assert "analytics:conversationDetail:view" in str(result.error)
    assert ({}, ()) == (result.screened, result.missing)
