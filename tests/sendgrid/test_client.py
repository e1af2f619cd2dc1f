"""SendGrid seam: mail/send bodies valid against the schema, and the client's status mapping."""

from __future__ import annotations

import base64
import json
import traceback
from typing import Any

import pytest
import requests
import responses
from hypothesis import given, settings
from hypothesis import strategies as st
from urllib3.exceptions import MaxRetryError, NewConnectionError

import gcnotify
from gcnotify.core.errors import (
    SecretError,
    SendGridAuthError,
    SendGridForbiddenError,
    SendGridOutcomeUnknownError,
    SendGridRequestError,
    SendGridTooLargeError,
    SendGridUnavailableError,
)
from gcnotify.core.mail import Attachment, RenderedEmail
from gcnotify.core.model import Address, Recipients, SendGridSettings
from gcnotify.core.retry import RetryPolicy
from gcnotify.sendgrid.client import (
    SendGridClient,
    SendResult,
    build_mail_body,
    encode_body,
    sendgrid_base_url,
    unique_recipients,
)
from tests.support import FakeClock, assert_valid

API_KEY = "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"
BASE = "https://api.sendgrid.com"
URL = f"{BASE}/v3/mail/send"
SENDER = SendGridSettings(from_=Address("reports@example.com", "Contact Center Reports"))
EMAIL = RenderedEmail(
    subject="Support queues — Fri 20 Nov 2026",
    html="<p>Offered: 120</p>",
    text="Offered: 120",
)
ARGS = {"gcnotify_report_id": "support-daily", "gcnotify_business_date": "2026-11-20"}
TO_ONLY = Recipients(to=("supervisor@example.com",))


def body_for(
    email: RenderedEmail = EMAIL,
    recipients: Recipients = TO_ONLY,
    sender: SendGridSettings = SENDER,
    **kw: Any,
) -> dict[str, Any]:
    return build_mail_body(
        email, sender=sender, recipients=recipients, custom_args=kw.pop("custom_args", ARGS), **kw
    )


def make_client(
    clock: FakeClock | None = None, base_url: str = BASE, policy: RetryPolicy | None = None
) -> SendGridClient:
    fake = clock or FakeClock()
    return SendGridClient(
        API_KEY,
        base_url,
        policy=policy or RetryPolicy(),
        sleep=fake.sleep,
        clock=fake,
        wall_clock=fake.wall,
    )


def connection_refused() -> requests.exceptions.ConnectionError:
    """The exception requests raises when nothing listens on the port."""
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] refused")  # type: ignore[arg-type]
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/v3/mail/send", reason))  # type: ignore[arg-type]


def assert_key_absent(err: BaseException) -> None:
    text = "".join(traceback.format_exception(err))
    chain: BaseException | None = err
    while chain is not None:
        text += str(chain) + repr(chain) + repr(chain.args)
        chain = chain.__cause__ or chain.__context__
    assert API_KEY not in text
    assert API_KEY.split(".")[2] not in text


# --- unique_recipients -------------------------------------------------------------------------


def test_unique_recipients_dedupes_case_insensitively_across_lists() -> None:
    """An address in to is dropped from cc and bcc whatever its case; first spelling kept."""
    recipients = Recipients(
        to=("Ana@Example.com", "bo@example.com"),
        cc=("ana@example.com", "cy@example.com", "BO@EXAMPLE.COM"),
        bcc=("CY@example.com", "di@example.com", "ana@EXAMPLE.com"),
    )
    assert Recipients(
        to=("Ana@Example.com", "bo@example.com"),
        cc=("cy@example.com",),
        bcc=("di@example.com",),
    ) == unique_recipients(recipients)


def test_unique_recipients_dedupes_within_one_list_keeping_order() -> None:
    """Repeats inside one list go too, and the remaining order is the configured order."""
    recipients = Recipients(to=("b@x.com", "a@x.com", "B@x.com", "c@x.com"))
    assert ("b@x.com", "a@x.com", "c@x.com") == unique_recipients(recipients).to


_ADDRESSES = st.lists(
    st.sampled_from(["a@x.io", "A@x.io", "b@x.io", "B@X.IO", "c@x.io", "d@x.io"]), max_size=6
)


@settings(max_examples=80, deadline=None)
@given(to=_ADDRESSES.filter(bool), cc=_ADDRESSES, bcc=_ADDRESSES)
def test_unique_recipients_property(to: list[str], cc: list[str], bcc: list[str]) -> None:
    """Every address survives exactly once (case-insensitively) and every body validates."""
    result = unique_recipients(Recipients(tuple(to), tuple(cc), tuple(bcc)))
    kept = [a.lower() for a in (*result.to, *result.cc, *result.bcc)]
    assert sorted(set(kept)) == sorted(kept)
    assert {a.lower() for a in (*to, *cc, *bcc)} == set(kept)
    assert_valid(
        "sendgrid-mail-send", body_for(recipients=Recipients(tuple(to), tuple(cc), tuple(bcc)))
    )


# --- build_mail_body ---------------------------------------------------------------------------


def test_minimal_body_is_valid() -> None:
    """A plain report to one address validates against the mail/send schema."""
    assert_valid("sendgrid-mail-send", body_for())


def test_full_body_is_valid() -> None:
    """Attachments, cc, bcc, reply_to, categories and sandbox together still validate."""
    email = RenderedEmail(
        subject="s",
        html="<b>h</b>",
        text="t",
        attachments=(Attachment("intervals.csv", b"queue,offered\r\nSupport,3\r\n", "text/csv"),),
    )
    sender = SendGridSettings(
        from_=Address("reports@example.com", "Reports"),
        reply_to=Address("ops@example.com", "CC Ops"),
    )
    recipients = Recipients(to=("a@example.com",), cc=("b@example.com",), bcc=("c@example.com",))
    body = body_for(email, recipients, sender, categories=("gcnotify", "support"), sandbox=True)
    assert_valid("sendgrid-mail-send", body)


def test_one_personalization_with_each_list() -> None:
    """to, cc and bcc go into one personalization as address objects."""
    recipients = Recipients(to=("a@example.com",), cc=("b@example.com",), bcc=("c@example.com",))
    assert [
        {
            "to": [{"email": "a@example.com"}],
            "cc": [{"email": "b@example.com"}],
            "bcc": [{"email": "c@example.com"}],
        }
    ] == body_for(recipients=recipients)["personalizations"]


def test_empty_cc_and_bcc_are_omitted() -> None:
    """Empty lists are left out rather than sent as []."""
    assert {"to"} == set(body_for()["personalizations"][0])


def test_body_dedupes_recipients_across_lists() -> None:
    """The same address in to and cc (different case) is sent once, in to."""
    recipients = Recipients(to=("Sup@example.com",), cc=("sup@EXAMPLE.com", "x@example.com"))
    personalization = body_for(recipients=recipients)["personalizations"][0]
    assert [{"email": "x@example.com"}] == personalization["cc"]
    assert [{"email": "Sup@example.com"}] == personalization["to"]


def test_content_is_text_then_html() -> None:
    """text/plain comes first, then text/html, as SendGrid requires."""
    assert [
        {"type": "text/plain", "value": "Offered: 120"},
        {"type": "text/html", "value": "<p>Offered: 120</p>"},
    ] == body_for()["content"]


def test_subject_and_from_with_name() -> None:
    """The subject is the rendered one and the sender carries its display name."""
    body = body_for()
    assert "Support queues — Fri 20 Nov 2026" == body["subject"]
    assert {"email": "reports@example.com", "name": "Contact Center Reports"} == body["from"]


def test_from_without_name_and_no_reply_to() -> None:
    """A sender without a name sends only the email; no reply_to unless configured."""
    body = body_for(sender=SendGridSettings(from_=Address("r@example.com")))
    assert {"email": "r@example.com"} == body["from"]
    assert "reply_to" not in body


def test_reply_to_included_when_set() -> None:
    """A configured reply_to is sent."""
    sender = SendGridSettings(from_=Address("r@example.com"), reply_to=Address("ops@example.com"))
    assert {"email": "ops@example.com"} == body_for(sender=sender)["reply_to"]


def test_attachment_is_base64_with_disposition() -> None:
    """Attachment bytes are Base64-encoded and marked as attachments."""
    content = bytes(range(256))
    email = RenderedEmail("s", "h", "t", (Attachment("data.bin", content, "application/x-bin"),))
    (attachment,) = body_for(email)["attachments"]
    assert content == base64.b64decode(attachment["content"])
    assert "attachment" == attachment["disposition"]
    assert "application/x-bin" == attachment["type"]
    assert "data.bin" == attachment["filename"]


def test_empty_attachment_rejected() -> None:
    """A zero-byte attachment cannot be sent (SendGrid needs non-empty content)."""
    email = RenderedEmail("s", "h", "t", (Attachment("empty.csv", b"", "text/csv"),))
    with pytest.raises(ValueError, match=r"empty\.csv"):
        body_for(email)


def test_sandbox_is_explicitly_off_by_default() -> None:
    """A real send states sandbox_mode.enable false rather than leaving it out."""
    assert {"sandbox_mode": {"enable": False}} == body_for()["mail_settings"]


def test_sandbox_on_when_asked() -> None:
    """sandbox=True turns sandbox mode on and the body stays valid."""
    body = body_for(sandbox=True)
    assert {"sandbox_mode": {"enable": True}} == body["mail_settings"]
    assert_valid("sendgrid-mail-send", body)


def test_all_tracking_disabled() -> None:
    """Internal reports keep their links as written, no pixel, no unsubscribe footer."""
    assert {
        "click_tracking": {"enable": False, "enable_text": False},
        "open_tracking": {"enable": False},
        "subscription_tracking": {"enable": False},
        "ganalytics": {"enable": False},
    } == body_for()["tracking_settings"]


def test_categories_omitted_when_empty() -> None:
    """SendGrid rejects an empty categories array, so none is sent."""
    assert "categories" not in body_for()


def test_categories_deduplicated_in_order() -> None:
    """Repeated categories are sent once (the schema requires unique items)."""
    body = body_for(categories=("gcnotify", "support", "gcnotify"))
    assert ["gcnotify", "support"] == body["categories"]
    assert_valid("sendgrid-mail-send", body)


def test_more_than_ten_categories_rejected() -> None:
    """Eleven categories exceed SendGrid's limit."""
    with pytest.raises(ValueError, match="at most 10"):
        body_for(categories=tuple(f"c{i}" for i in range(11)))


def test_custom_args_sent_as_given() -> None:
    """custom_args carry the report id and business date for event tracing."""
    assert ARGS == body_for()["custom_args"]


@pytest.mark.parametrize(
    "custom_args", [{"gcnotify_attempt": 1}, {"ok": "x", "flag": True}, {3: "x"}, {"k": None}]
)
def test_non_string_custom_args_rejected(custom_args: dict[Any, Any]) -> None:
    """Non-string keys or values are refused (SendGrid answers 400 'Bad Request')."""
    with pytest.raises(ValueError, match="must map a string to a string"):
        body_for(custom_args=custom_args)


def test_custom_args_over_10000_bytes_rejected() -> None:
    """custom_args totalling 10,000 bytes or more are refused before sending."""
    with pytest.raises(ValueError, match="less than 10000"):
        body_for(custom_args={"big": "x" * 10_000})


def test_empty_to_rejected() -> None:
    """A message without a 'to' address is refused even when cc is set."""
    with pytest.raises(ValueError, match=r"recipients\.to is empty"):
        body_for(recipients=Recipients(to=(), cc=("a@example.com",)))


def test_exactly_1000_recipients_accepted() -> None:
    """1000 unique recipients across the lists is the limit and still valid."""
    to = tuple(f"u{i}@example.com" for i in range(600))
    cc = tuple(f"c{i}@example.com" for i in range(400))
    assert_valid("sendgrid-mail-send", body_for(recipients=Recipients(to=to, cc=cc)))


def test_more_than_1000_recipients_rejected() -> None:
    """1001 unique recipients across to/cc/bcc exceed SendGrid's per-message limit."""
    to = tuple(f"u{i}@example.com" for i in range(500))
    bcc = tuple(f"b{i}@example.com" for i in range(501))
    with pytest.raises(ValueError, match="1001 unique recipients"):
        body_for(recipients=Recipients(to=to, bcc=bcc))


def test_duplicates_do_not_count_towards_1000() -> None:
    """The limit counts unique addresses, so case variants of 1000 addresses pass."""
    to = tuple(f"u{i}@example.com" for i in range(1000))
    cc = tuple(a.upper() for a in to)
    assert 1000 == len(body_for(recipients=Recipients(to=to, cc=cc))["personalizations"][0]["to"])


@pytest.mark.parametrize("part", ["subject", "html", "text"])
def test_empty_part_rejected(part: str) -> None:
    """An empty subject or body part would be a 400; it is refused here instead."""
    fields = {"subject": "s", "html": "h", "text": "t", part: ""}
    with pytest.raises(ValueError, match=part):
        body_for(RenderedEmail(fields["subject"], fields["html"], fields["text"]))


def test_oversize_email_rejected() -> None:
    """A message of 30 MB or more raises SendGridTooLargeError before any send."""
    email = RenderedEmail("s", "h", "t", (Attachment("big.csv", b"x" * 22_500_000, "text/csv"),))
    with pytest.raises(SendGridTooLargeError, match="less than 30 MB"):
        body_for(email)


def test_just_under_30_mb_accepted() -> None:
    """A message just under the budget is built."""
    email = RenderedEmail("s", "h", "t", (Attachment("big.csv", b"x" * 22_400_000, "text/csv"),))
    assert 30_000_000 > len(encode_body(body_for(email)))


@pytest.mark.parametrize(
    "email",
    [
        RenderedEmail("s", f"<p>{API_KEY}</p>", "t"),
        RenderedEmail("s", "h", f"key: {API_KEY} end"),
        RenderedEmail(API_KEY, "h", "t"),
        RenderedEmail("s", "h", "t", (Attachment("k.csv", API_KEY.encode(), "text/csv"),)),
    ],
    ids=["html", "text", "subject", "attachment"],
)
def test_api_key_in_email_refused_without_echo(email: RenderedEmail) -> None:
    """Content holding an API-key-looking string is refused, and the error hides the string."""
    with pytest.raises(ValueError, match="looks like a SendGrid API key") as info:
        body_for(email)
    assert_key_absent(info.value)


def test_api_key_in_custom_args_refused() -> None:
    """custom_args are echoed into events, so a key there is refused too."""
    with pytest.raises(ValueError, match="custom_args or categories"):
        body_for(custom_args={"k": API_KEY})


def test_short_dotted_names_are_not_keys() -> None:
    """A queue named like 'SG.Sales.Voice' is ordinary text, not a credential."""
    email = RenderedEmail("s", "<td>SG.Sales.Voice</td>", "SG.Support.EN: 12")
    assert "SG.Support.EN: 12" == body_for(email)["content"][0]["value"]


# --- sendgrid_base_url -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("residency", "url"),
    [("global", "https://api.sendgrid.com"), ("eu", "https://api.eu.sendgrid.com")],
)
def test_base_url_by_residency(residency: Any, url: str) -> None:
    """EU data residency uses the EU host; global uses the global one."""
    assert url == sendgrid_base_url(SendGridSettings(SENDER.from_, data_residency=residency))


# --- SendGridClient ----------------------------------------------------------------------------


@responses.activate
def test_send_posts_body_with_headers() -> None:
    """The POST carries Bearer auth, JSON headers, a gcnotify User-Agent and the exact body."""
    responses.post(URL, status=202, headers={"X-Message-Id": "moW00FY9Sqyr2r5ekgRDLg"})
    body = body_for()
    make_client().send(body)
    request = responses.calls[0].request
    assert f"Bearer {API_KEY}" == request.headers["Authorization"]
    assert "application/json" == request.headers["Accept"]
    assert "application/json" == request.headers["Content-Type"]
    assert f"gcnotify/{gcnotify.__version__}" == request.headers["User-Agent"]
    assert body == json.loads(request.body)  # type: ignore[arg-type]


@responses.activate
def test_202_returns_message_id() -> None:
    """A 202 gives the X-Message-Id after exactly one call."""
    responses.post(URL, status=202, headers={"X-Message-Id": "moW00FY9Sqyr2r5ekgRDLg"})
    client = make_client()
    assert SendResult(202, "moW00FY9Sqyr2r5ekgRDLg") == client.send(body_for())
    assert 1 == client.calls


@responses.activate
def test_sandbox_200_without_message_id() -> None:
    """Sandbox mode answers 200; a missing X-Message-Id is None, not an error."""
    responses.post(URL, status=200)
    assert SendResult(200, None) == make_client().send(body_for(sandbox=True))


@responses.activate
def test_eu_base_url_used() -> None:
    """An EU client posts to the EU host."""
    eu = sendgrid_base_url(SendGridSettings(SENDER.from_, data_residency="eu"))
    responses.post("https://api.eu.sendgrid.com/v3/mail/send", status=202)
    assert 202 == make_client(base_url=eu).send(body_for()).status


@responses.activate
def test_401_is_auth_error() -> None:
    """401 says the key is wrong or revoked and where to fix it."""
    responses.post(URL, status=401, json={"errors": [{"message": "Permission denied"}]})
    with pytest.raises(SendGridAuthError, match="update the secret's sendgrid_api_key") as info:
        make_client().send(body_for())
    assert 401 == info.value.status


@responses.activate
def test_403_is_forbidden_with_sendgrid_message() -> None:
    """403 names the from address and quotes SendGrid's own message."""
    message = "The from address does not match a verified Sender Identity."
    responses.post(
        URL, status=403, json={"errors": [{"message": message, "field": "from", "help": None}]}
    )
    with pytest.raises(SendGridForbiddenError) as info:
        make_client().send(body_for())
    assert f"from: {message}" in str(info.value)
    assert "'reports@example.com'" in str(info.value)


@responses.activate
def test_413_html_page_is_too_large() -> None:
    """An nginx HTML 413 page maps to SendGridTooLargeError without dumping the HTML."""
    page = "<html><head><title>413 Request Entity Too Large</title></head><body>nginx</body></html>"
    responses.post(URL, status=413, body=page, content_type="text/html")
    with pytest.raises(SendGridTooLargeError, match="HTTP 413") as info:
        make_client().send(body_for())
    assert "<html>" not in str(info.value)


@responses.activate
def test_400_joins_sendgrid_errors() -> None:
    """Every SendGrid error of a 400 is reported, with its field when it has one."""
    responses.post(
        URL,
        status=400,
        json={
            "errors": [
                {"message": "Invalid email.", "field": "personalizations.0.to.0.email"},
                {"message": "Bad Request", "field": None, "help": None},
            ]
        },
    )
    with pytest.raises(SendGridRequestError) as info:
        make_client().send(body_for())
    assert str(info.value) == (
        "SendGrid rejected the request (HTTP 400): personalizations.0.to.0.email: Invalid email.; "
        "Bad Request. Nothing was sent."
    )


@responses.activate
def test_400_is_not_retried() -> None:
    """A validation error is sent once: repeating it cannot help."""
    responses.post(URL, status=400, json={"errors": [{"message": "bad"}]})
    client = make_client()
    with pytest.raises(SendGridRequestError):
        client.send(body_for())
    assert 1 == client.calls


@responses.activate
def test_500_then_202_retried_once() -> None:
    """A 500 is retried; the following 202 is the single result after two calls."""
    responses.post(URL, status=500)
    responses.post(URL, status=202, headers={"X-Message-Id": "abc"})
    client = make_client()
    assert SendResult(202, "abc") == client.send(body_for())
    assert 2 == client.calls
    assert 2 == len(responses.calls)


@responses.activate
def test_429_waits_until_rate_limit_reset() -> None:
    """A 429 with X-RateLimit-Reset sleeps until the reset before retrying."""
    clock = FakeClock(wall=1_800_000_000.0)
    responses.post(URL, status=429, headers={"X-RateLimit-Reset": "1800000007"})
    responses.post(URL, status=202, headers={"X-Message-Id": "abc"})
    assert "abc" == make_client(clock).send(body_for()).message_id
    assert 1 == len(clock.sleeps)
    assert 7.0 <= clock.sleeps[0] < 8.0


@responses.activate
def test_429_retry_after_wins_over_reset() -> None:
    """Retry-After, when present, sets the wait."""
    clock = FakeClock()
    responses.post(URL, status=429, headers={"Retry-After": "3", "X-RateLimit-Reset": "1800000050"})
    responses.post(URL, status=202)
    make_client(clock).send(body_for())
    assert 3.0 <= clock.sleeps[0] < 4.0


@responses.activate
def test_far_reset_gives_up_instead_of_hanging() -> None:
    """A reset beyond the retry budget ends at once with the wait SendGrid asked for."""
    clock = FakeClock(wall=1_800_000_000.0)
    responses.post(URL, status=429, headers={"X-RateLimit-Reset": "1800003600"})
    with pytest.raises(SendGridUnavailableError, match="asked to wait 60 s") as info:
        make_client(clock).send(body_for())
    assert [] == clock.sleeps
    assert 429 == info.value.status


@responses.activate
def test_persistent_503_exhausts_to_unavailable() -> None:
    """5xx until the attempt budget is spent raises SendGridUnavailableError."""
    for _ in range(3):
        responses.post(URL, status=503)
    client = make_client(policy=RetryPolicy(max_attempts=3))
    with pytest.raises(SendGridUnavailableError, match="after 3 attempt") as info:
        client.send(body_for())
    assert 3 == client.calls
    assert not isinstance(info.value, SendGridOutcomeUnknownError)


@responses.activate
def test_read_timeout_not_retried_outcome_unknown() -> None:
    """A read timeout may hide an accepted send: one call only, and the error says so."""
    responses.post(URL, body=requests.exceptions.ReadTimeout("Read timed out."))
    responses.post(URL, status=202)
    client = make_client()
    with pytest.raises(SendGridOutcomeUnknownError) as info:
        client.send(body_for())
    assert 1 == len(responses.calls)
    assert 1 == client.calls
    text = str(info.value)
    assert "outcome is unknown" in text
    assert "not retried" in text
    assert "Email Activity" in text
    assert "gcnotify_report_id=support-daily" in text


@responses.activate
def test_connection_reset_after_send_is_outcome_unknown() -> None:
    """A connection dropped mid-request is not repeated either."""
    aborted = requests.exceptions.ConnectionError("('Connection aborted.', RemoteDisconnected())")
    responses.post(URL, body=aborted)
    client = make_client()
    with pytest.raises(SendGridOutcomeUnknownError):
        client.send(body_for())
    assert 1 == client.calls


@responses.activate
def test_connection_refused_then_202_retried() -> None:
    """Connection refused never reached SendGrid, so it is retried."""
    responses.post(URL, body=connection_refused())
    responses.post(URL, status=202, headers={"X-Message-Id": "abc"})
    client = make_client()
    assert SendResult(202, "abc") == client.send(body_for())
    assert 2 == client.calls


@responses.activate
def test_connect_timeout_then_202_retried() -> None:
    """A connect timeout is retried like a refused connection."""
    responses.post(URL, body=requests.exceptions.ConnectTimeout("connect timed out"))
    responses.post(URL, status=202)
    assert 202 == make_client().send(body_for()).status


@responses.activate
def test_connection_refused_exhausted_is_unavailable_not_unknown() -> None:
    """When every connect fails, the error says nothing was sent."""
    for _ in range(2):
        responses.post(URL, body=connection_refused())
    client = make_client(policy=RetryPolicy(max_attempts=2))
    with pytest.raises(SendGridUnavailableError, match="nothing was sent") as info:
        client.send(body_for())
    assert not isinstance(info.value, SendGridOutcomeUnknownError)
    assert 2 == client.calls


@responses.activate
def test_oversize_body_not_sent() -> None:
    """send() refuses a body of 30 MB or more without any HTTP call."""
    body = body_for()
    body["content"][1]["value"] = "x" * 30_000_000
    client = make_client()
    with pytest.raises(SendGridTooLargeError):
        client.send(body)
    assert 0 == client.calls
    assert 0 == len(responses.calls)


@responses.activate
def test_body_containing_the_key_not_sent() -> None:
    """The client's own key inside a body is refused, whatever it looks like."""
    client = SendGridClient("plain-test-key-42", BASE)
    body = body_for()
    body["custom_args"]["note"] = "plain-test-key-42"
    with pytest.raises(ValueError, match="API key") as info:
        client.send(body)
    assert "plain-test-key-42" not in str(info.value)
    assert 0 == len(responses.calls)


def _fail(status: int, **kw: Any) -> None:
    responses.post(URL, status=status, **kw)


FAILURES: dict[str, list[Any]] = {
    "401": [lambda: _fail(401, json={"errors": [{"message": "denied"}]})],
    "403": [lambda: _fail(403, json={"errors": [{"message": "blocked", "field": None}]})],
    "413": [lambda: _fail(413, body="<html>413</html>", content_type="text/html")],
    "400": [lambda: _fail(400, json={"errors": [{"message": "bad", "field": "content"}]})],
    "404-text": [lambda: _fail(404, body="not found", content_type="text/plain")],
    "429": [lambda: _fail(429, headers={"X-RateLimit-Reset": "1900000000"})],
    "500": [lambda: _fail(500)] * 2,
    "read-timeout": [lambda: responses.post(URL, body=requests.exceptions.ReadTimeout("t"))],
    "refused": [lambda: responses.post(URL, body=connection_refused())] * 2,
    "ssl": [lambda: responses.post(URL, body=requests.exceptions.SSLError("bad cert"))],
}


@pytest.mark.parametrize("name", sorted(FAILURES))
@responses.activate
def test_api_key_never_in_failures(name: str) -> None:
    """No failure path puts the API key in a message, repr, args or traceback."""
    for register in FAILURES[name]:
        register()
    client = make_client(policy=RetryPolicy(max_attempts=2))
    with pytest.raises(Exception) as info:  # noqa: PT011 - each path raises its own type
        client.send(body_for())
    assert_key_absent(info.value)
    assert API_KEY not in repr(client)


@pytest.mark.parametrize("bad", ["", " ", f"{API_KEY}\n", f"Bearer {API_KEY}", "SG.ab\x00c"])
def test_malformed_key_rejected_without_echo(bad: str) -> None:
    """A key with whitespace or control characters is refused up front, naming only the key."""
    with pytest.raises(SecretError, match="sendgrid_api_key") as info:
        SendGridClient(bad, BASE)
    assert_key_absent(info.value)


def test_client_repr_hides_key() -> None:
    """repr shows the host and call count, never the key."""
    assert "SendGridClient(base_url='https://api.sendgrid.com', calls=0)" == repr(make_client())
