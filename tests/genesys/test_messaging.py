"""Agentless sends through the Genesys seam: the body builders, ``post_once`` and ``patch_json``
over a real requests Session, with HTTP answered by `responses`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError

from gcnotify.core.errors import (
    GenesysAuthError,
    GenesysOutcomeUnknownError,
    GenesysPermissionError,
    GenesysRequestError,
    GenesysUnavailableError,
)
from gcnotify.core.retry import RetryPolicy
from gcnotify.genesys.client import GenesysClient
from gcnotify.genesys.messaging import (
    EMAILS_PATH,
    MESSAGES_PATH,
    AgentlessResult,
    TemplateCall,
    agentless_email_body,
    agentless_message_body,
    send_agentless_email,
    send_agentless_message,
)
from tests.support import FakeClock, assert_valid, schema_errors

LOGIN = "https://login.mypurecloud.test"
API = "https://api.mypurecloud.test"
TOKEN_URL = f"{LOGIN}/oauth/token"
CLIENT_ID = "7d3c2b1a-client-id-4e5f"
SECRET = "Sup3r-S3cret-client-VALUE-x9"
TOKEN = "tok-FIRST-bearer-9f8e7d6c5b4a"
TOKEN2 = "tok-SECOND-bearer-1a2b3c4d5e6f"
DNC_PATH = "/api/v2/outbound/dnclists/9a1e0c3d/phonenumbers"
DNC_URL = API + DNC_PATH


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


def add_token(rsps: responses.RequestsMock, token: str = TOKEN) -> None:
    rsps.post(TOKEN_URL, json={"access_token": token, "token_type": "bearer", "expires_in": 86400})


def error_body(status: int, message: str, code: str) -> dict[str, Any]:
    return {
        "message": message,
        "code": code,
        "status": status,
        "contextId": "ctx-1234-abcd",
        "details": [],
        "errors": [],
    }


# ---------------------------------------------------------------- patch_json


def test_patch_without_answer_body_is_none(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """A 204 (or 200 with an empty body) to a PATCH is None, and the body went out as JSON."""
    add_token(rsps)
    rsps.patch(DNC_URL, status=204)
    body = {"action": "Add", "phoneNumbers": ["+15550100100"]}
    assert None is make_client(clock).patch_json(DNC_PATH, body)
    sent = rsps.calls[1].request
    assert (body, "application/json") == (json.loads(sent.body), sent.headers["Content-Type"])


def test_patch_with_answer_body_returns_it(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """A PATCH answered with a JSON object returns that object."""
    add_token(rsps)
    rsps.patch(DNC_URL, json={"id": "9a1e0c3d", "version": 4})
    assert {"id": "9a1e0c3d", "version": 4} == make_client(clock).patch_json(DNC_PATH, {})


def test_patch_is_retried_on_503(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """A PATCH is repeatable, so a 503 is retried like a GET."""
    add_token(rsps)
    rsps.patch(DNC_URL, status=503, json=error_body(503, "busy", "service.unavailable"))
    rsps.patch(DNC_URL, status=204)
    client = make_client(clock)
    assert (None, 3) == (client.patch_json(DNC_PATH, {}), client.calls)


def test_patch_403_names_the_permission(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """A 403 to a PATCH names the permission the caller passed."""
    add_token(rsps)
    rsps.patch(DNC_URL, status=403, json=error_body(403, "no", "missing.any.permissions"))
    with pytest.raises(GenesysPermissionError) as info:
        make_client(clock).patch_json(DNC_PATH, {}, permission="outbound:dncList:edit")
    assert "outbound:dncList:edit" in str(info.value)


# ------------------------------------------------------------------ builders

SMS_FROM = "+13178723000"
SMS_TO = "+15557655942"
WA_INTEGRATION = "0b7c5e2a-1f3d-4c6b-9a8e-7d6c5b4a3f2e"
DEPLOYMENT = "6a1d3f5b-7c9e-4b2d-8f0a-1c3e5a7b9d2f"
OPEN_INTEGRATION = "3c5e7a9b-1d2f-4a6c-8e0b-2d4f6a8c0e1b"
CONTACT = "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e"
TEMPLATE = TemplateCall("4e2f6a8c-0b1d-4e3f-9a5b-7c9d1e3f5a7b", {"order_id": "ORD-998877"})

# /work/shared/schemas/examples/genesys-agentless-*.{valid,invalid}.json, copied so the tests
# do not need the shared folder.
MESSAGE_VALID = {
    "fromAddress": "+13178723000",
    "toAddress": "+15557655942",
    "toAddressMessengerType": "sms",
    "textBody": "Hi Jordan, following up on your chat with us yesterday. Reply STOP to opt out.",
    "useExistingActiveConversation": False,
}
MESSAGE_INVALID = {
    "from": "+13178723000",
    "to": "+15557655942",
    "channel": "SMS",
    "templateId": "appointment-reminder",
    "body": "Hi Jordan, following up on your chat with us yesterday.",
}
EMAIL_VALID = {
    "senderType": "Outbound",
    "fromAddress": {"email": "notifications@example.com", "name": "Example Support"},
    "toAddresses": [{"email": "jordan@example.org", "name": "Jordan Lee"}],
    "replyToAddress": {"email": "support@example.com"},
    "subject": "Following up on your chat",
    "textBody": "Hi Jordan, following up on your chat with us yesterday.",
    "htmlBody": "<p>Hi Jordan, following up on your chat with us yesterday.</p>",
}
EMAIL_INVALID = {
    "senderType": "Outbound",
    "fromAddress": "notifications@example.com",
    "toAddresses": [{"email": "jordan@example.org"}, {"email": "sam@example.org"}],
    "subject": "Following up on your chat",
    "body": "Hi Jordan",
}


def channel_body(channel: str) -> dict[str, Any]:
    """A valid body for each channel, built the way the sender builds them."""
    if channel == "sms":
        return agentless_message_body(
            channel="sms", from_address=SMS_FROM, to_address=SMS_TO, text="Your order shipped."
        )
    if channel == "whatsapp":
        return agentless_message_body(
            channel="whatsapp", from_address=WA_INTEGRATION, to_address=SMS_TO, template=TEMPLATE
        )
    if channel == "webmessaging":
        return agentless_message_body(
            channel="webmessaging",
            from_address=DEPLOYMENT,
            to_address=None,
            external_contact_id=CONTACT,
            text="Your order shipped.",
        )
    return agentless_message_body(
        channel="open",
        from_address=OPEN_INTEGRATION,
        to_address="customer-42@example.net",
        external_contact_id=CONTACT,
        text="Your order shipped.",
    )


@pytest.mark.parametrize("channel", ["sms", "whatsapp", "webmessaging", "open"])
def test_every_channel_builds_a_schema_valid_body(channel: str) -> None:
    """Each channel's body passes the agentless message schema."""
    body = channel_body(channel)
    assert_valid("genesys-agentless-message", body)
    assert channel == body["toAddressMessengerType"]


def test_sms_body_is_the_published_example() -> None:
    """The SMS builder makes the schema's valid example (the default flag left out)."""
    body = agentless_message_body(
        channel="sms",
        from_address=MESSAGE_VALID["fromAddress"],  # type: ignore[arg-type]
        to_address=MESSAGE_VALID["toAddress"],  # type: ignore[arg-type]
        text=MESSAGE_VALID["textBody"],  # type: ignore[arg-type]
    )
    assert {k: v for k, v in MESSAGE_VALID.items() if k != "useExistingActiveConversation"} == body


def test_whatsapp_goes_to_the_digits_with_the_template() -> None:
    """WhatsApp's toAddress is the WhatsApp id (no "+"), and the template's parameters by id."""
    body = channel_body("whatsapp")
    assert ("15557655942", TEMPLATE.response_id) == (
        body["toAddress"],
        body["messagingTemplate"]["responseId"],
    )
    assert [{"id": "order_id", "value": "ORD-998877"}] == body["messagingTemplate"][
        "bodyParameters"
    ]
    assert "textBody" not in body


def test_webmessaging_names_the_contact_not_an_address() -> None:
    """Web messaging has no toAddress; the external contact id is the recipient."""
    body = channel_body("webmessaging")
    assert ("toAddress" in body, CONTACT) == (False, body["externalContactId"])


def test_the_invalid_examples_are_invalid() -> None:
    """The schema refuses both published invalid examples (so the tests below mean something)."""
    assert [] != schema_errors("genesys-agentless-message", MESSAGE_INVALID)
    assert [] != schema_errors("genesys-agentless-email", EMAIL_INVALID)


def test_the_invalid_message_example_cannot_be_built() -> None:
    """The example's upper-case channel "SMS" is refused by the builder too."""
    with pytest.raises(ValueError, match="channel 'SMS'"):
        agentless_message_body(
            channel=MESSAGE_INVALID["channel"],  # type: ignore[arg-type]
            from_address=MESSAGE_INVALID["from"],
            to_address=MESSAGE_INVALID["to"],
            text=MESSAGE_INVALID["body"],
        )


def test_the_invalid_email_example_cannot_be_built() -> None:
    """Two recipients in one send (the example's mistake) are refused."""
    recipients = ", ".join(a["email"] for a in EMAIL_INVALID["toAddresses"])  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="not one email address"):
        agentless_email_body(
            from_email="notifications@example.com",
            from_name="Example Support",
            to_email=recipients,
            subject="Following up on your chat",
            text="Hi Jordan",
        )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"channel": "sms", "to_address": SMS_TO}, "needs text"),
        ({"channel": "sms", "to_address": "15557655942", "text": "x"}, "not E.164"),
        ({"channel": "sms", "to_address": "+1 555 765 5942", "text": "x"}, "not E.164"),
        ({"channel": "sms", "to_address": SMS_TO, "text": "x" * 766}, "over Genesys's 765"),
        ({"channel": "sms", "to_address": SMS_TO, "template": TEMPLATE}, "only WhatsApp"),
        ({"channel": "sms", "to_address": None, "text": "x"}, "needs a to_address"),
        ({"channel": "whatsapp", "to_address": SMS_TO}, "needs a template"),
        ({"channel": "whatsapp", "to_address": "+1555x", "template": TEMPLATE}, "not a phone"),
        (
            {"channel": "whatsapp", "to_address": SMS_TO, "template": TEMPLATE, "text": "x"},
            "cannot also take text",
        ),
        (
            {
                "channel": "whatsapp",
                "to_address": SMS_TO,
                "template": TEMPLATE,
                "external_contact_id": CONTACT,
            },
            "cannot take an external_contact_id",
        ),
        (
            {"channel": "webmessaging", "to_address": SMS_TO, "external_contact_id": CONTACT},
            "cannot take a to_address",
        ),
        ({"channel": "webmessaging", "to_address": None, "text": "x"}, "external_contact_id"),
        ({"channel": "open", "to_address": "c-42", "text": "x" * 2001}, "over Genesys's 2000"),
        ({"channel": "open", "to_address": "c-42", "text": ""}, "needs text"),
    ],
)
def test_impossible_messages_are_refused(kwargs: dict[str, Any], match: str) -> None:
    """Every combination Genesys would refuse is a ValueError naming the problem."""
    with pytest.raises(ValueError, match=match):
        agentless_message_body(from_address=SMS_FROM, **kwargs)


def test_an_empty_sender_is_refused() -> None:
    """A message without a sender never reaches Genesys."""
    with pytest.raises(ValueError, match="from_address"):
        agentless_message_body(channel="sms", from_address=" ", to_address=SMS_TO, text="x")


def test_sms_text_at_the_limit_is_accepted() -> None:
    """765 characters is still one agentless SMS body."""
    body = agentless_message_body(
        channel="sms", from_address=SMS_FROM, to_address=SMS_TO, text="x" * 765
    )
    assert_valid("genesys-agentless-message", body)


def test_template_parameters_are_copied() -> None:
    """Changing the caller's dict after building the call changes nothing that is sent."""
    values = {"order_id": "ORD-1"}
    call = TemplateCall("resp-1", values)
    values["order_id"] = "ORD-2"
    assert {"order_id": "ORD-1"} == dict(call.body_parameters)


def test_email_body_is_the_published_example() -> None:
    """The email builder makes the schema's valid example, and it validates."""
    body = agentless_email_body(
        from_email="notifications@example.com",
        from_name="Example Support",
        to_email="jordan@example.org",
        to_name="Jordan Lee",
        subject="Following up on your chat",
        text="Hi Jordan, following up on your chat with us yesterday.",
        html="<p>Hi Jordan, following up on your chat with us yesterday.</p>",
        reply_to="support@example.com",
    )
    assert EMAIL_VALID == body
    assert_valid("genesys-agentless-email", body)


def test_minimal_email_is_valid() -> None:
    """Without a recipient name, HTML or reply-to the body still validates, with none of them."""
    body = agentless_email_body(
        from_email="n@example.com", from_name="", to_email="j@example.org", subject="S", text="T"
    )
    assert_valid("genesys-agentless-email", body)
    assert ({"email": "n@example.com"}, [{"email": "j@example.org"}]) == (
        body["fromAddress"],
        body["toAddresses"],
    )


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"subject": "Hello\nBcc: x@evil.example"}, "LINE FEED"),
        ({"subject": "s" * 401}, "over Genesys's 400"),
        ({"subject": "  "}, "subject is empty"),
        ({"from_name": "n" * 65}, "over Genesys's 64"),
        ({"to_email": "Jordan <jordan@example.org>"}, "not one email address"),
        ({"from_email": "notifications"}, "not one email address"),
        ({"reply_to": "a@example.com;b@example.com"}, "not one email address"),
        ({"text": ""}, "text body"),
        ({"html": "x" * 3_000_000}, "over Genesys's 3,000,000"),
    ],
)
def test_impossible_emails_are_refused(change: dict[str, Any], match: str) -> None:
    """What Genesys's agentless email refuses (limits, several recipients, header breaks)."""
    kwargs: dict[str, Any] = {
        "from_email": "n@example.com",
        "from_name": "Example Support",
        "to_email": "j@example.org",
        "subject": "S",
        "text": "T",
    } | change
    with pytest.raises(ValueError, match=match):
        agentless_email_body(**kwargs)


# ---------------------------------------------------------------- post_once

MESSAGES_URL = API + MESSAGES_PATH
EMAILS_URL = API + EMAILS_PATH


def message_answer(**extra: Any) -> dict[str, Any]:
    """A SendAgentlessOutboundMessageResponse as Genesys sends it."""
    return {
        "id": "7f3a9c1e5b2d4f6a8c0e2b4d6f8a0c2e",
        "conversationId": "c0a8e2f4-6b1d-4e3f-8a5c-7e9b1d3f5a7c",
        "fromAddress": SMS_FROM,
        "toAddress": SMS_TO,
        "messengerType": "sms",
        "textBody": "Your order shipped.",
        "message": {"id": "7f3a9c1e5b2d4f6a8c0e2b4d6f8a0c2e", "status": "queued"},
        "timestamp": "2025-11-04T14:11:08.458Z",
        "selfUri": "/api/v2/conversations/messages/c0a8/messages/7f3a",
    } | extra


def posts(rsps: responses.RequestsMock, url: str) -> list[Any]:
    return [c.request for c in rsps.calls if c.request.url == url]


def connection_refused() -> requests.exceptions.ConnectionError:
    """The exception requests raises when nothing listens on the port."""
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] refused")  # type: ignore[arg-type]
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/", reason))  # type: ignore[arg-type]


def test_a_send_returns_ids_and_status(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """A 200 gives the message id, the conversation id, the status and the HTTP status."""
    add_token(rsps)
    rsps.post(MESSAGES_URL, json=message_answer())
    body = channel_body("sms")
    result = send_agentless_message(make_client(clock), body)
    assert (
        AgentlessResult(
            "7f3a9c1e5b2d4f6a8c0e2b4d6f8a0c2e",
            "c0a8e2f4-6b1d-4e3f-8a5c-7e9b1d3f5a7c",
            "queued",
            200,
        )
        == result
    )
    [sent] = posts(rsps, MESSAGES_URL)
    assert (body, f"Bearer {TOKEN}") == (json.loads(sent.body), sent.headers["Authorization"])


def test_an_email_send_returns_its_ids(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """An agentless email's answer has no delivery status; its ids and HTTP status are kept."""
    add_token(rsps)
    rsps.post(
        EMAILS_URL,
        status=202,
        json={"id": "e-1", "conversationId": "conv-1", "senderType": "Outbound"},
    )
    result = send_agentless_email(make_client(clock), EMAIL_VALID)
    assert AgentlessResult("e-1", "conv-1", None, 202) == result


def test_429_with_a_short_retry_after_is_retried(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """A 429 was not processed: after its short Retry-After the send goes again, once."""
    add_token(rsps)
    rsps.post(
        MESSAGES_URL,
        status=429,
        headers={"Retry-After": "2"},
        json=error_body(429, "Rate limit exceeded", "too.many.requests.retry.after"),
    )
    rsps.post(MESSAGES_URL, json=message_answer())
    result = send_agentless_message(make_client(clock), channel_body("sms"))
    assert ("queued", 2, [2.25]) == (result.status, len(posts(rsps, MESSAGES_URL)), clock.sleeps)


def test_429_with_a_long_retry_after_is_raised_for_requeue(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """A wait past the policy's max_delay is not slept through: raised with retry_after."""
    add_token(rsps)
    rsps.post(
        MESSAGES_URL,
        status=429,
        headers={"Retry-After": "42"},
        json=error_body(429, "Retry the request in [42] seconds", "too.many.requests.retry.after"),
    )
    with pytest.raises(GenesysUnavailableError) as info:
        send_agentless_message(make_client(clock), channel_body("sms"))
    error = info.value
    assert (42.0, 429, "too.many.requests.retry.after", False) == (
        error.retry_after,
        error.status,
        error.code,
        error.maybe_sent,
    )
    assert not isinstance(error, GenesysOutcomeUnknownError)
    assert (1, []) == (len(posts(rsps, MESSAGES_URL)), clock.sleeps)
    assert "after 42 s" in str(error)


def test_429_past_the_time_left_is_raised(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """A short Retry-After that the invocation cannot wait out is raised, not slept."""
    add_token(rsps)
    rsps.post(MESSAGES_URL, status=429, headers={"Retry-After": "5"})
    client = make_client(clock)
    client.time_left = lambda: 3.0
    with pytest.raises(GenesysUnavailableError) as info:
        send_agentless_message(client, channel_body("sms"))
    assert (5.0, []) == (info.value.retry_after, clock.sleeps)


def test_503_is_retried(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """A 503 means not processed, so it is retried like a 429."""
    add_token(rsps)
    rsps.post(MESSAGES_URL, status=503, json=error_body(503, "busy", "service.unavailable"))
    rsps.post(MESSAGES_URL, json=message_answer())
    client = make_client(clock)
    assert "queued" == send_agentless_message(client, channel_body("sms")).status
    assert 2 == len(posts(rsps, MESSAGES_URL))


def test_503_on_every_try_is_unavailable_not_unknown(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """Persistent 503s end as GenesysUnavailableError: nothing was sent (maybe_sent False)."""
    add_token(rsps)
    rsps.post(MESSAGES_URL, status=503, json=error_body(503, "busy", "service.unavailable"))
    client = make_client(clock, policy=RetryPolicy(max_attempts=3))
    with pytest.raises(GenesysUnavailableError) as info:
        send_agentless_message(client, channel_body("sms"))
    assert (503, False, 3) == (
        info.value.status,
        info.value.maybe_sent,
        len(posts(rsps, MESSAGES_URL)),
    )


@pytest.mark.parametrize("status", [500, 502, 504])
def test_other_5xx_is_outcome_unknown_and_not_retried(
    rsps: responses.RequestsMock, clock: FakeClock, status: int
) -> None:
    """A 500/502/504 may follow a processed send: unknown, maybe_sent, never repeated."""
    add_token(rsps)
    rsps.post(MESSAGES_URL, status=status, json=error_body(status, "oops", "internal.server.error"))
    with pytest.raises(GenesysOutcomeUnknownError) as info:
        send_agentless_message(make_client(clock), channel_body("sms"))
    assert (True, status, 1) == (
        info.value.maybe_sent,
        info.value.status,
        len(posts(rsps, MESSAGES_URL)),
    )
    assert "not retried" in str(info.value)


@pytest.mark.parametrize(
    "failure",
    [
        requests.exceptions.ReadTimeout("Read timed out. (read timeout=30.0)"),
        requests.exceptions.ConnectionError("('Connection aborted.', RemoteDisconnected())"),
    ],
)
def test_lost_answer_is_outcome_unknown(
    rsps: responses.RequestsMock, clock: FakeClock, failure: Exception
) -> None:
    """A read timeout or reset after sending: unknown, maybe_sent, not retried."""
    add_token(rsps)
    rsps.post(MESSAGES_URL, body=failure)
    with pytest.raises(GenesysOutcomeUnknownError) as info:
        send_agentless_message(make_client(clock), channel_body("sms"))
    assert (True, None, 1) == (
        info.value.maybe_sent,
        info.value.status,
        len(posts(rsps, MESSAGES_URL)),
    )
    assert "conversation details" in str(info.value)


def test_connect_failures_are_retried_then_unavailable(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """Failures to connect never sent anything: retried, then GenesysUnavailableError."""
    add_token(rsps)
    rsps.post(MESSAGES_URL, body=connection_refused())
    client = make_client(clock, policy=RetryPolicy(max_attempts=3))
    with pytest.raises(GenesysUnavailableError) as info:
        send_agentless_message(client, channel_body("sms"))
    assert (False, 3) == (info.value.maybe_sent, len(posts(rsps, MESSAGES_URL)))
    assert not isinstance(info.value, GenesysOutcomeUnknownError)
    assert "it can simply be sent again" in str(info.value)


def test_a_connect_timeout_then_success(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """A connect timeout is retried and the retry's answer is used."""
    add_token(rsps)
    rsps.post(MESSAGES_URL, body=requests.exceptions.ConnectTimeout("connect timed out"))
    rsps.post(MESSAGES_URL, json=message_answer())
    assert "queued" == send_agentless_message(make_client(clock), channel_body("sms")).status


def test_400_carries_the_error_code(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """A 400 is a GenesysRequestError with Genesys's code and message, not retried."""
    add_token(rsps)
    rsps.post(
        MESSAGES_URL,
        status=400,
        json=error_body(400, "The recipient opted out", "RecipientOptedOut"),
    )
    with pytest.raises(GenesysRequestError) as info:
        send_agentless_message(make_client(clock), channel_body("sms"))
    assert ("RecipientOptedOut", 400, False, 1) == (
        info.value.code,
        info.value.status,
        info.value.maybe_sent,
        len(posts(rsps, MESSAGES_URL)),
    )
    assert "The recipient opted out" in str(info.value)


@pytest.mark.parametrize(
    ("send", "url", "permission"),
    [
        (send_agentless_message, MESSAGES_URL, "conversation:message:create"),
        (send_agentless_email, EMAILS_URL, "conversation:agentlessEmail:send"),
    ],
)
def test_403_names_the_permission(
    rsps: responses.RequestsMock,
    clock: FakeClock,
    send: Callable[[GenesysClient, dict[str, Any]], AgentlessResult],
    url: str,
    permission: str,
) -> None:
    """A 403 names the send endpoint's permission and keeps the ErrorBody code."""
    add_token(rsps)
    rsps.post(url, status=403, json=error_body(403, "missing", "missing.any.permissions"))
    with pytest.raises(GenesysPermissionError) as info:
        send(make_client(clock), channel_body("sms") if url == MESSAGES_URL else EMAIL_VALID)
    assert (403, "missing.any.permissions") == (info.value.status, info.value.code)
    assert permission in str(info.value)


def test_401_gets_a_fresh_token_and_one_more_try(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    """A 401 was not processed: a new token, then the send goes once more."""
    add_token(rsps, TOKEN)
    add_token(rsps, TOKEN2)
    rsps.post(MESSAGES_URL, status=401, json=error_body(401, "expired", "bad.credentials"))
    rsps.post(MESSAGES_URL, json=message_answer())
    send_agentless_message(make_client(clock), channel_body("sms"))
    assert [f"Bearer {TOKEN}", f"Bearer {TOKEN2}"] == [
        r.headers["Authorization"] for r in posts(rsps, MESSAGES_URL)
    ]


def test_401_twice_is_an_auth_error(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """A fresh token refused too is a GenesysAuthError, after exactly two sends."""
    add_token(rsps, TOKEN)
    add_token(rsps, TOKEN2)
    rsps.post(MESSAGES_URL, status=401, json=error_body(401, "expired", "bad.credentials"))
    with pytest.raises(GenesysAuthError):
        send_agentless_message(make_client(clock), channel_body("sms"))
    assert 2 == len(posts(rsps, MESSAGES_URL))


def test_token_fetch_is_still_retried(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """The token request is safe to repeat: its 503 is retried before the one send."""
    rsps.post(TOKEN_URL, status=503)
    add_token(rsps)
    rsps.post(MESSAGES_URL, json=message_answer())
    send_agentless_message(make_client(clock), channel_body("sms"))
    assert (2, 1) == (len(posts(rsps, TOKEN_URL)), len(posts(rsps, MESSAGES_URL)))


@pytest.mark.parametrize(
    "answer",
    [
        {"body": "<html>ok</html>", "content_type": "text/html"},
        {"json": {"conversationId": "conv-1"}},
        {"json": {"id": ""}},
    ],
)
def test_a_2xx_without_a_message_id_is_outcome_unknown(
    rsps: responses.RequestsMock, clock: FakeClock, answer: dict[str, Any]
) -> None:
    """Accepted but untraceable (no JSON, or no id): unknown, maybe_sent, not retried."""
    add_token(rsps)
    rsps.post(MESSAGES_URL, **answer)
    with pytest.raises(GenesysOutcomeUnknownError) as info:
        send_agentless_message(make_client(clock), channel_body("sms"))
    assert (True, 200, 1) == (
        info.value.maybe_sent,
        info.value.status,
        len(posts(rsps, MESSAGES_URL)),
    )


def test_post_once_returns_the_answer(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """post_once is the JSON object of the answer."""
    add_token(rsps)
    rsps.post(MESSAGES_URL, json=message_answer())
    assert message_answer() == make_client(clock).post_once(MESSAGES_PATH, channel_body("sms"))


def test_the_token_never_appears_in_errors(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """An error body echoing the bearer token is masked in the message."""
    add_token(rsps)
    rsps.post(MESSAGES_URL, status=500, json=error_body(500, f"bad token {TOKEN}", "x"))
    with pytest.raises(GenesysOutcomeUnknownError) as info:
        send_agentless_message(make_client(clock), channel_body("sms"))
    assert TOKEN not in str(info.value)
