"""The stand-in's agentless send and Response Management endpoints over a real socket, through
the real Genesys seam."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from jsonschema import Draft202012Validator

from gcnotify.core.errors import (
    GenesysOutcomeUnknownError,
    GenesysPermissionError,
    GenesysRequestError,
    GenesysUnavailableError,
)
from gcnotify.core.model import Queue
from gcnotify.devserver.genesys_server import GenesysStandIn
from gcnotify.devserver.messaging_endpoints import (
    BULK_MAX,
    EMAILS_PATH,
    FAILURE_CODES,
    MESSAGES_PATH,
    READS_PREFIX,
    Timeline,
    receipt_timeline,
)
from gcnotify.genesys.client import GenesysClient
from gcnotify.genesys.messaging import (
    TemplateCall,
    agentless_email_body,
    agentless_message_body,
    send_agentless_email,
    send_agentless_message,
)
from gcnotify.genesys.receipts import MessageRef, ReceiptReader
from gcnotify.genesys.responses import fetch_response, substitution_problems
from tests.support import FakeClock, schema_errors

pytestmark = pytest.mark.e2e
QUEUES = [Queue("c6fc6f57-4c1e-4812-980a-5154f500b5c6", "Support")]
NOW = datetime(2025, 11, 4, 14, 11, 8, 458000, tzinfo=UTC)
SMS_FROM = "+13178723000"
SMS_TO = "+15557655942"
CONTACT = "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e"
RESPONSE_ID = "4e2f6a8c-0b1d-4e3f-9a5b-7c9d1e3f5a7b"
SCHEMA_OF = {MESSAGES_PATH: "genesys-agentless-message", EMAILS_PATH: "genesys-agentless-email"}


@pytest.fixture
def invalid_bodies() -> list[bool]:
    """Tests that send a wrong body on purpose append True, so the teardown check skips them."""
    return []


@pytest.fixture
def stand_in(invalid_bodies: list[bool]) -> Iterator[GenesysStandIn]:
    with GenesysStandIn(QUEUES, client_id="cid", client_secret="secret-value") as server:
        server.now = lambda: NOW
        yield server
        bodies = [
            (r.path, r.json) for r in server.requests if r.path in SCHEMA_OF and r.method == "POST"
        ]
        if not invalid_bodies:
            # Every body a test sent through the seam is one Genesys accepts.
            assert [] == [
                (p, schema_errors(SCHEMA_OF[p], b))
                for p, b in bodies
                if schema_errors(SCHEMA_OF[p], b)
            ]
        assert [] == server.errors


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=1000.0)


@pytest.fixture
def genesys(stand_in: GenesysStandIn, clock: FakeClock) -> GenesysClient:
    # The fake clock's sleep: retries after Retry-After cost no real time.
    return GenesysClient(
        login_url=stand_in.url,
        api_url=stand_in.url,
        client_id="cid",
        client_secret="secret-value",
        sleep=clock.sleep,
        clock=clock,
        rand=lambda: 0.5,
    )


def sms(text: str = "Your order ORD-998877 has shipped.", to: str = SMS_TO) -> dict[str, Any]:
    return agentless_message_body(channel="sms", from_address=SMS_FROM, to_address=to, text=text)


def response_validator(schema: str, definition: str) -> Any:
    """A validator for one of a schema's $defs (the response shapes some schemas carry)."""
    path = Path(__file__).parents[2] / "src/gcnotify/devserver/schemas" / f"{schema}.schema.json"
    document = json.loads(path.read_text())
    wrapper = {"$defs": document["$defs"], "$ref": f"#/$defs/{definition}"}
    return Draft202012Validator(wrapper, format_checker=Draft202012Validator.FORMAT_CHECKER)


# ---------------------------------------------------------------------- sends


def test_an_sms_reaches_genesys_once(genesys: GenesysClient, stand_in: GenesysStandIn) -> None:
    """The send answers the ids and queued; the stand-in holds exactly that one message."""
    result = send_agentless_message(genesys, sms())
    [sent] = stand_in.messaging.sent
    assert (result.message_id, result.conversation_id, "queued", 200) == (
        sent["id"],
        sent["conversation_id"],
        result.status,
        result.raw_status,
    )
    assert (SMS_TO, "sms", "Your order ORD-998877 has shipped.", "2025-11-04T14:11:08.458Z") == (
        sent["to"],
        sent["channel"],
        sent["text"],
        sent["time"],
    )


def test_the_message_answer_has_the_real_shape(stand_in: GenesysStandIn) -> None:
    """SendAgentlessOutboundMessageResponse: ids, addresses, messenger type, text, MessageData."""
    token = requests.post(
        stand_in.url + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("cid", "secret-value"),
        timeout=5,
    ).json()["access_token"]
    answer = requests.post(
        stand_in.url + MESSAGES_PATH,
        json=sms("hello"),
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    body = answer.json()
    assert 200 == answer.status_code
    assert {
        "id",
        "conversationId",
        "fromAddress",
        "toAddress",
        "messengerType",
        "textBody",
        "useExistingActiveConversation",
        "message",
        "timestamp",
        "selfUri",
    } == set(body)
    assert ("outbound", "queued", body["id"]) == (
        body["message"]["direction"],
        body["message"]["status"],
        body["message"]["id"],
    )


@pytest.mark.parametrize(
    ("kwargs", "to"),
    [
        (
            {
                "channel": "whatsapp",
                "from_address": "0b7c5e2a-1f3d-4c6b-9a8e-7d6c5b4a3f2e",
                "to_address": SMS_TO,
                "template": TemplateCall(RESPONSE_ID, {"order_id": "ORD-1"}),
            },
            "15557655942",
        ),
        (
            {
                "channel": "webmessaging",
                "from_address": "6a1d3f5b-7c9e-4b2d-8f0a-1c3e5a7b9d2f",
                "to_address": None,
                "external_contact_id": CONTACT,
                "text": "Your chat transcript is ready.",
            },
            CONTACT,
        ),
        (
            {
                "channel": "open",
                "from_address": "3c5e7a9b-1d2f-4a6c-8e0b-2d4f6a8c0e1b",
                "to_address": "customer-42@example.net",
                "text": "Hello",
            },
            "customer-42@example.net",
        ),
    ],
)
def test_every_other_channel_is_accepted(
    genesys: GenesysClient, stand_in: GenesysStandIn, kwargs: dict[str, Any], to: str
) -> None:
    """WhatsApp, web messaging and Open bodies from the builder are accepted and recorded."""
    send_agentless_message(genesys, agentless_message_body(**kwargs))
    [sent] = stand_in.messaging.sent
    assert (to, kwargs["channel"]) == (sent["to"], sent["channel"])


def test_an_email_reaches_genesys_once(genesys: GenesysClient, stand_in: GenesysStandIn) -> None:
    """The agentless email is recorded once; its answer is an AgentlessEmailSendResponseDto."""
    body = agentless_email_body(
        from_email="notify@example.com",
        from_name="Example Support",
        to_email="jordan@example.org",
        subject="Following up on your chat",
        text="Hi Jordan",
    )
    result = send_agentless_email(genesys, body)
    [sent] = stand_in.messaging.sent
    assert (result.message_id, None, "jordan@example.org", "email", "Hi Jordan") == (
        sent["id"],
        result.status,
        sent["to"],
        sent["channel"],
        sent["text"],
    )
    [request] = [r for r in stand_in.requests if r.path == EMAILS_PATH]
    assert request.json == sent["body"]
    raw = genesys_answer(stand_in, EMAILS_PATH, body)
    validator = response_validator("genesys-agentless-email", "AgentlessEmailSendResponseDto")
    assert [] == [e.message for e in validator.iter_errors(raw)]


def genesys_answer(stand_in: GenesysStandIn, path: str, body: dict[str, Any]) -> Any:
    """The raw JSON the stand-in answers to ``body`` on ``path``."""
    token = requests.post(
        stand_in.url + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("cid", "secret-value"),
        timeout=5,
    ).json()["access_token"]
    return requests.post(
        stand_in.url + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=5
    ).json()


def test_a_send_without_a_token_is_401(stand_in: GenesysStandIn) -> None:
    """The send endpoints need a bearer token like every API path."""
    answer = requests.post(stand_in.url + MESSAGES_PATH, json=sms(), timeout=5)
    assert (401, "bad.credentials") == (answer.status_code, answer.json()["code"])
    assert [] == stand_in.messaging.sent


def test_latency_applies_to_sends(genesys: GenesysClient, stand_in: GenesysStandIn) -> None:
    """The stand-in's latency knob delays the send answers too."""
    waits: list[float] = []
    stand_in.sleep = waits.append
    stand_in.latency = 0.08
    send_agentless_message(genesys, sms())
    assert [0.08, 0.08] == waits  # the token request, then the send


# ---------------------------------------------------------------------- faults


def test_a_short_throttle_is_waited_out(
    genesys: GenesysClient, stand_in: GenesysStandIn, clock: FakeClock
) -> None:
    """429 with Retry-After 1: the client waits and sends again; one message in the end."""
    stand_in.messaging.throttle(1, retry_after=1)
    send_agentless_message(genesys, sms())
    assert (1, 2, [1.25]) == (
        len(stand_in.messaging.sent),
        stand_in.count(MESSAGES_PATH),
        clock.sleeps,
    )


def test_a_long_throttle_is_handed_back(genesys: GenesysClient, stand_in: GenesysStandIn) -> None:
    """429 with Retry-After 60: raised with retry_after, Genesys's 429 code, nothing sent."""
    stand_in.messaging.throttle(1, retry_after=60)
    with pytest.raises(GenesysUnavailableError) as info:
        send_agentless_message(genesys, sms())
    assert (60.0, 429, "too.many.requests.retry.after", False) == (
        info.value.retry_after,
        info.value.status,
        info.value.code,
        info.value.maybe_sent,
    )
    assert ([], 1) == (stand_in.messaging.sent, stand_in.count(MESSAGES_PATH))


def test_a_lost_answer_is_unknown_and_the_message_went_out(
    genesys: GenesysClient, stand_in: GenesysStandIn
) -> None:
    """The connection closes after the send is accepted: unknown, and it is not sent again."""
    stand_in.messaging.lose_next()
    with pytest.raises(GenesysOutcomeUnknownError) as info:
        send_agentless_message(genesys, sms())
    assert (True, 1, 1) == (
        info.value.maybe_sent,
        len(stand_in.messaging.sent),
        stand_in.count(MESSAGES_PATH),
    )
    send_agentless_message(genesys, sms("next one"))  # the next send is answered again
    assert 2 == len(stand_in.messaging.sent)


def test_a_lost_email_answer_is_unknown(genesys: GenesysClient, stand_in: GenesysStandIn) -> None:
    """lose_next applies to agentless email too."""
    stand_in.messaging.lose_next()
    body = agentless_email_body(
        from_email="n@example.com", from_name="N", to_email="j@example.org", subject="S", text="T"
    )
    with pytest.raises(GenesysOutcomeUnknownError):
        send_agentless_email(genesys, body)
    assert ["j@example.org"] == [s["to"] for s in stand_in.messaging.sent]


@pytest.mark.parametrize(
    ("address", "to"),
    [("+15557655942", "+15557655942"), ("15557655942", "+15557655942")],
)
def test_a_refused_address_fails_with_its_code(
    genesys: GenesysClient, stand_in: GenesysStandIn, address: str, to: str
) -> None:
    """refuse(): the ErrorBody code comes back on the error; nothing is recorded as sent."""
    stand_in.messaging.refuse(address, "RecipientOptedOut")
    with pytest.raises(GenesysRequestError) as info:
        send_agentless_message(genesys, sms(to=to))
    assert ("RecipientOptedOut", 400, []) == (
        info.value.code,
        info.value.status,
        stand_in.messaging.sent,
    )


def test_a_refusal_can_carry_another_status(
    genesys: GenesysClient, stand_in: GenesysStandIn
) -> None:
    """An email refused with 403 is a permission error with the stand-in's code."""
    stand_in.messaging.refuse("Blocked@Example.org", "missing.any.permissions", status=403)
    body = agentless_email_body(
        from_email="n@example.com",
        from_name="N",
        to_email="blocked@example.org",
        subject="S",
        text="T",
    )
    with pytest.raises(GenesysPermissionError) as info:
        send_agentless_email(genesys, body)
    assert "missing.any.permissions" == info.value.code


def test_sms_to_a_number_not_e164_is_invalid_destination(
    genesys: GenesysClient, stand_in: GenesysStandIn, invalid_bodies: list[bool]
) -> None:
    """A body the builder would refuse, sent anyway: 400 InvalidDestination, not sent."""
    invalid_bodies.append(True)
    body = sms() | {"toAddress": "5557655942"}
    with pytest.raises(GenesysRequestError) as info:
        send_agentless_message(genesys, body)
    assert ("InvalidDestination", 400, []) == (
        info.value.code,
        info.value.status,
        stand_in.messaging.sent,
    )


def test_a_body_off_the_schema_is_400_with_its_path(
    genesys: GenesysClient, stand_in: GenesysStandIn, invalid_bodies: list[bool]
) -> None:
    """A WhatsApp body without its template: 400 bad.request naming what is missing."""
    invalid_bodies.append(True)
    body = {"fromAddress": "wa-1", "toAddress": "15557655942", "toAddressMessengerType": "whatsapp"}
    with pytest.raises(GenesysRequestError) as info:
        send_agentless_message(genesys, body)
    assert ("bad.request", []) == (info.value.code, stand_in.messaging.sent)
    assert "messagingTemplate" in str(info.value)


def test_an_email_body_off_the_schema_is_400_with_its_path(
    genesys: GenesysClient, stand_in: GenesysStandIn, invalid_bodies: list[bool]
) -> None:
    """Two recipients in one agentless email: 400 naming toAddresses."""
    invalid_bodies.append(True)
    body = {
        "senderType": "Outbound",
        "fromAddress": {"email": "n@example.com"},
        "toAddresses": [{"email": "a@example.org"}, {"email": "b@example.org"}],
    }
    with pytest.raises(GenesysRequestError, match="toAddresses"):
        send_agentless_email(genesys, body)


# ------------------------------------------------------------------ responses


def test_a_served_response_is_fetched_and_checked(
    genesys: GenesysClient, stand_in: GenesysStandIn
) -> None:
    """add_response() serves a WhatsApp MessagingTemplate the seam reads and checks."""
    stand_in.messaging.add_response(
        RESPONSE_ID,
        "Order shipped",
        substitutions={"order_id": None, "carrier": "our courier"},
        whatsapp_name="order_shipped",
    )
    template = fetch_response(genesys, RESPONSE_ID)
    assert ("MessagingTemplate", "order_shipped", "en_US") == (
        template.response_type,
        template.whatsapp_name,
        template.language,
    )
    assert [("order_id", None), ("carrier", "our courier")] == [
        (s.id, s.default) for s in template.substitutions
    ]
    assert [] == substitution_problems(template, ["order_id"])
    assert 1 == len(substitution_problems(template, []))


def test_the_response_carries_its_substitutions_schema(
    genesys: GenesysClient, stand_in: GenesysStandIn
) -> None:
    """With expand=substitutionsSchema the schema lists the substitutions without default."""
    stand_in.messaging.add_response(RESPONSE_ID, "R", substitutions={"a": None, "b": "x"})
    answer = genesys.get_json(
        f"/api/v2/responsemanagement/responses/{RESPONSE_ID}", {"expand": "substitutionsSchema"}
    )
    assert (["a"], {"a", "b"}) == (
        answer["substitutionsSchema"]["required"],
        set(answer["substitutionsSchema"]["properties"]),
    )
    plain = genesys.get_json(f"/api/v2/responsemanagement/responses/{RESPONSE_ID}")
    assert "substitutionsSchema" not in plain


def test_a_footer_response_is_not_a_whatsapp_template(
    genesys: GenesysClient, stand_in: GenesysStandIn
) -> None:
    """A response of another type, without a WhatsApp definition, fails the check."""
    stand_in.messaging.add_response(
        RESPONSE_ID, "Footer", response_type="Footer", whatsapp_name=None
    )
    [problem] = substitution_problems(fetch_response(genesys, RESPONSE_ID), [])
    assert "is Footer" in problem


def test_an_unknown_response_is_404(genesys: GenesysClient) -> None:
    """An id the stand-in does not serve: the seam says it does not exist in this org."""
    with pytest.raises(GenesysRequestError, match="does not exist in this Genesys Cloud org"):
        fetch_response(genesys, "not-a-response")


# ------------------------------------------------------------------ receipts


class Now:
    """The stand-in's present, moved forward by the test."""

    def __init__(self, start: datetime = NOW) -> None:
        self.value = start

    def __call__(self) -> datetime:
        return self.value

    def advance(self, **kwargs: float) -> None:
        self.value += timedelta(**kwargs)


@pytest.fixture
def now(stand_in: GenesysStandIn) -> Now:
    moving = Now()
    stand_in.now = moving
    return moving


def details(stand_in: GenesysStandIn, genesys: GenesysClient, message_id: str) -> dict[str, Any]:
    [result] = ReceiptReader(genesys).read_all([MessageRef(message_id)])
    assert result.error is None
    return dict(result.messages[message_id])


def statuses(data: Mapping[str, Any]) -> list[tuple[str, bool]]:
    return [(r["status"], r["isFinalReceipt"]) for r in data["normalizedReceipts"]]


def test_timelines_are_deterministic_and_realistic() -> None:
    """The same seed, sequence, channel and time give the same timeline; over 4,000 messages
    the outcomes and every failure code show up in about their shares."""
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert receipt_timeline(7, 12, "sms", at) == receipt_timeline(7, 12, "sms", at)
    lines = [receipt_timeline(7, n, "sms", at) for n in range(4000)]
    outcomes = Counter(line.outcome for line in lines)
    codes = Counter(line.code for line in lines if line.outcome == "failed")
    assert 0.80 < outcomes["delivered"] / 4000 < 0.88
    assert 0.08 < outcomes["failed"] / 4000 < 0.14
    assert 0.03 < outcomes["pending"] / 4000 < 0.07
    assert set(FAILURE_CODES) == set(codes)
    assert all(timedelta(seconds=1) <= line.sent_after <= timedelta(seconds=8) for line in lines)
    assert all(line.read_after is None for line in lines)  # SMS has no read receipts
    whatsapp = [receipt_timeline(7, n, "whatsapp", at) for n in range(400)]
    assert any(line.read_after is not None for line in whatsapp)


def test_a_message_goes_queued_sent_delivered(
    genesys: GenesysClient, stand_in: GenesysStandIn, now: Now
) -> None:
    """MessageData over time: queued, then a Sent receipt, then Delivered (final for SMS)."""
    stand_in.messaging.plan(
        SMS_TO, Timeline(timedelta(seconds=3), "delivered", timedelta(minutes=4))
    )
    sent = send_agentless_message(genesys, sms())
    data = details(stand_in, genesys, sent.message_id)
    assert ("queued", [], sent.conversation_id, SMS_TO, "outbound") == (
        data["status"],
        data["normalizedReceipts"],
        data["conversationId"],
        data["toAddress"],
        data["direction"],
    )
    now.advance(seconds=3)
    assert [("Sent", False)] == statuses(details(stand_in, genesys, sent.message_id))
    now.advance(minutes=4)
    data = details(stand_in, genesys, sent.message_id)
    assert ("delivery-success", [("Sent", False), ("Delivered", True)]) == (
        data["status"],
        statuses(data),
    )
    assert "2025-11-04T14:15:11.458Z" == data["normalizedReceipts"][1]["channel"]["time"]
    assert data == stand_in.messaging.message_data(sent.message_id)


def test_a_failure_carries_its_reason_code(
    genesys: GenesysClient, stand_in: GenesysStandIn, now: Now
) -> None:
    """delivery-failed with a final Failed receipt and the reason's code and message."""
    stand_in.messaging.plan(
        SMS_TO,
        Timeline(timedelta(seconds=1), "failed", timedelta(seconds=30), code="RecipientOptedOut"),
    )
    sent = send_agentless_message(genesys, sms())
    now.advance(seconds=31)
    data = details(stand_in, genesys, sent.message_id)
    failed = data["normalizedReceipts"][-1]
    assert ("delivery-failed", "Failed", True, "RecipientOptedOut") == (
        data["status"],
        failed["status"],
        failed["isFinalReceipt"],
        failed["reasons"][0]["code"],
    )


def test_whatsapp_is_delivered_then_read(
    genesys: GenesysClient, stand_in: GenesysStandIn, now: Now
) -> None:
    """On a channel with read receipts Delivered is not final; Read is."""
    stand_in.messaging.plan(
        "15557655942",
        Timeline(timedelta(seconds=2), "delivered", timedelta(minutes=1), timedelta(minutes=10)),
    )
    body = agentless_message_body(
        channel="whatsapp",
        from_address="0b7c5e2a-1f3d-4c6b-9a8e-7d6c5b4a3f2e",
        to_address=SMS_TO,
        template=TemplateCall(RESPONSE_ID, {"order_id": "ORD-1"}),
    )
    sent = send_agentless_message(genesys, body)
    now.advance(minutes=2)
    assert [("Sent", False), ("Delivered", False)] == statuses(
        details(stand_in, genesys, sent.message_id)
    )
    now.advance(minutes=10)
    data = details(stand_in, genesys, sent.message_id)
    assert ("read", ("Read", True)) == (data["status"], statuses(data)[-1])


def test_a_pending_message_never_gets_a_final_receipt(
    genesys: GenesysClient, stand_in: GenesysStandIn, now: Now
) -> None:
    stand_in.messaging.plan(SMS_TO, Timeline(timedelta(seconds=1), "pending"))
    sent = send_agentless_message(genesys, sms())
    now.advance(days=5)
    data = details(stand_in, genesys, sent.message_id)
    assert ("sent", [("Sent", False)]) == (data["status"], statuses(data))


def test_the_speed_factor_shortens_every_duration(
    genesys: GenesysClient, stand_in: GenesysStandIn, now: Now
) -> None:
    """At speed 60 a ten-minute timeline has run out after ten seconds."""
    stand_in.messaging.receipt_speed = 60
    stand_in.messaging.plan(
        SMS_TO, Timeline(timedelta(seconds=30), "delivered", timedelta(minutes=9))
    )
    sent = send_agentless_message(genesys, sms())
    now.advance(seconds=9)
    assert "sent" == details(stand_in, genesys, sent.message_id)["status"]
    now.advance(seconds=1)
    assert "delivery-success" == details(stand_in, genesys, sent.message_id)["status"]


def test_an_unknown_status_is_served_as_is(
    genesys: GenesysClient, stand_in: GenesysStandIn, now: Now
) -> None:
    stand_in.messaging.plan(
        SMS_TO, Timeline(timedelta(seconds=1), "delivered", timedelta(seconds=5), status="held")
    )
    sent = send_agentless_message(genesys, sms())
    now.advance(seconds=6)
    assert "held" == details(stand_in, genesys, sent.message_id)["status"]


def test_bulk_reads_the_asked_messages_of_one_conversation(
    genesys: GenesysClient, stand_in: GenesysStandIn, now: Now
) -> None:
    """useExistingActiveConversation puts sends to one recipient into one conversation; the bulk
    read answers the asked ids it holds and leaves out the others."""
    first = send_agentless_message(genesys, sms("one") | {"useExistingActiveConversation": True})
    second = send_agentless_message(genesys, sms("two") | {"useExistingActiveConversation": True})
    other = send_agentless_message(genesys, sms("three", to="+15557650000"))
    assert first.conversation_id == second.conversation_id != other.conversation_id
    assert first.conversation_id is not None
    ids = [first.message_id, second.message_id, other.message_id]
    listing = genesys.post_json(f"{READS_PREFIX}{first.conversation_id}/messages/bulk", ids)
    assert {first.message_id, second.message_id} == {e["id"] for e in listing["entities"]}
    [request] = [r for r in stand_in.requests if r.path.endswith("/bulk")]
    assert ids == request.json
    # A conversation idle for longer than it stays active gets no further message.
    now.advance(hours=25)
    later = send_agentless_message(genesys, sms("four") | {"useExistingActiveConversation": True})
    assert later.conversation_id != first.conversation_id


def test_bulk_refuses_more_than_1000_ids(genesys: GenesysClient, stand_in: GenesysStandIn) -> None:
    sent = send_agentless_message(genesys, sms())
    path = f"{READS_PREFIX}{sent.conversation_id}/messages/bulk"
    with pytest.raises(GenesysRequestError, match="1,000"):
        genesys.post_json(path, [sent.message_id] * (BULK_MAX + 1))
    with pytest.raises(GenesysRequestError, match="list of message ids"):
        genesys.post_json(path, {"ids": [sent.message_id]})


def test_unknown_messages_and_conversations_are_404(
    genesys: GenesysClient, stand_in: GenesysStandIn
) -> None:
    """An id Genesys does not hold, or a message read under another conversation, is 404; the
    seam reports such messages as missing."""
    sent = send_agentless_message(genesys, sms())
    for path in (
        f"{READS_PREFIX}no-such-message/details",
        f"{READS_PREFIX}{uuid.uuid4()}/messages/{sent.message_id}",
        f"{READS_PREFIX}{uuid.uuid4()}",
    ):
        with pytest.raises(GenesysRequestError, match=r"not found \(code not\.found\)") as info:
            genesys.get_json(path)
        assert 404 == info.value.status
    own = genesys.get_json(f"{READS_PREFIX}{sent.conversation_id}/messages/{sent.message_id}")
    assert sent.message_id == own["id"]
    stand_in.messaging.forget(sent.message_id)
    [result] = ReceiptReader(genesys).read_all([MessageRef(sent.message_id)])
    assert ((sent.message_id,), None) == (result.missing, result.error)


def test_the_conversation_lists_its_messages(
    genesys: GenesysClient, stand_in: GenesysStandIn, now: Now
) -> None:
    """MessageConversation: the customer participant with each message's id, status, time and,
    for a failure, its ErrorBody."""
    stand_in.messaging.plan(
        SMS_TO, Timeline(timedelta(seconds=1), "failed", timedelta(seconds=2), code="ServerError")
    )
    sent = send_agentless_message(genesys, sms())
    now.advance(seconds=5)
    conversation = genesys.get_json(f"{READS_PREFIX}{sent.conversation_id}")
    [customer] = conversation["participants"]
    [message] = customer["messages"]
    assert ("customer", SMS_TO, sent.message_id, "delivery-failed", "ServerError") == (
        customer["purpose"],
        customer["address"],
        message["messageId"],
        message["messageStatus"],
        message["errorInfo"]["code"],
    )


def test_reads_past_the_rate_are_429_with_retry_after(
    genesys: GenesysClient, stand_in: GenesysStandIn, clock: FakeClock
) -> None:
    """Three reads in ten seconds: the fourth waits out Retry-After (the client sleeps it) and is
    answered; the rate counts on the stand-in's clock."""
    stand_in.messaging.rate_clock = clock
    sent = send_agentless_message(genesys, sms())
    stand_in.messaging.receipt_rate = (3, 10.0)
    for _ in range(3):
        details(stand_in, genesys, sent.message_id)
    assert [] == clock.sleeps
    details(stand_in, genesys, sent.message_id)
    [throttled] = [r for r in stand_in.requests if r.path.endswith("/details")][3:4]
    assert throttled.method == "GET"
    assert 1 == len(clock.sleeps)
    assert 10.0 <= clock.sleeps[0] <= 11.0


def test_a_storm_is_waited_out(
    genesys: GenesysClient, stand_in: GenesysStandIn, clock: FakeClock
) -> None:
    """storm(2): two 429s with Retry-After 2, then the answer."""
    sent = send_agentless_message(genesys, sms())
    stand_in.messaging.storm(2, retry_after=2)
    details(stand_in, genesys, sent.message_id)
    assert [2.25, 2.25] == clock.sleeps
    assert 3 == stand_in.count(f"{READS_PREFIX}{sent.message_id}/details")


def test_a_read_with_the_wrong_method_is_405(
    genesys: GenesysClient, stand_in: GenesysStandIn
) -> None:
    sent = send_agentless_message(genesys, sms())
    with pytest.raises(GenesysRequestError) as info:
        genesys.get_json(f"{READS_PREFIX}{sent.conversation_id}/messages/bulk")
    assert 405 == info.value.status


def test_a_lost_send_shows_in_the_details_query_after_the_lag(
    genesys: GenesysClient, stand_in: GenesysStandIn, now: Now
) -> None:
    """The answer is lost; the conversation details query names its conversation once analytics
    has caught up, and the seam finds the message by its recipient."""
    stand_in.messaging.plan(
        SMS_TO, Timeline(timedelta(seconds=5), "delivered", timedelta(minutes=10))
    )
    stand_in.messaging.lose_next()
    with pytest.raises(GenesysOutcomeUnknownError):
        send_agentless_message(genesys, sms())
    send_agentless_message(genesys, sms(to="+15557650000"))  # another recipient: not found
    [lost] = [s for s in stand_in.messaging.sent if s["to"] == SMS_TO]
    reader = ReceiptReader(genesys)

    def find() -> list[str]:
        found = reader.find_sent(
            channel="sms",
            to_address=SMS_TO,
            from_address=SMS_FROM,
            start=NOW - timedelta(minutes=5),
            end=NOW + timedelta(minutes=1),
        )
        return [f.message_id for f in found]

    assert [] == find()  # analytics has not caught up yet
    now.advance(seconds=stand_in.messaging.analytics_lag.total_seconds())
    assert [lost["id"]] == find()
    [query] = [r.json for r in stand_in.requests if r.path.endswith("/details/query")][-1:]
    assert [] == schema_errors("genesys-conversation-details-query", query)
    answer = genesys.post_json("/api/v2/analytics/conversations/details/query", query)
    [conversation] = answer["conversations"]
    session = conversation["participants"][0]["sessions"][0]
    assert (lost["conversation_id"], "outbound", SMS_TO, "Sent") == (
        conversation["conversationId"],
        session["direction"],
        session["addressTo"],
        session["deliveryStatus"],
    )
