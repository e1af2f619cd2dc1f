"""The SendGrid Event Webhook function: refusals of anything not signed by SendGrid (nothing
recorded, nothing of the body logged), the answer's counts and metrics, and end to end over real
sockets: the stand-in's signed batches for mail the SendGrid stand-in accepted, POSTed to the
handler behind a local function URL, against moto."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from gcnotify.aws.event_ids import PREFIX
from gcnotify.aws.ledger import create_ledger_table
from gcnotify.aws.messages import create_messages_table
from gcnotify.aws.suppression import create_suppression_table
from gcnotify.devserver.sendgrid_events import (
    OUTCOMES,
    FunctionUrl,
    WebhookKey,
    batches,
    encode_batch,
    events_for,
    post_batch,
    signed_headers,
)
from gcnotify.devserver.sendgrid_server import StoredMessage
from gcnotify.handlers import sendgrid_webhook as webhook
from gcnotify.sendgrid.webhook import MAX_BODY_BYTES
from tests.support import assert_valid

KEY = WebhookKey()
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
MARKER = "do-not-log-this-7f3a"  # in every test body: it must never reach a log line


def fn_event(
    body: bytes,
    headers: dict[str, str],
    *,
    method: str = "POST",
    base64_body: bool = True,
) -> dict[str, Any]:
    """A function URL event (payload 2.0) as Lambda builds it: lower-case header names."""
    return {
        "version": "2.0",
        "rawPath": "/",
        "headers": {k.lower(): v for k, v in headers.items()},
        "requestContext": {"http": {"method": method, "path": "/"}},
        "body": base64.b64encode(body).decode() if base64_body else body.decode("utf-8"),
        "isBase64Encoded": base64_body,
    }


def body_of(answer: dict[str, Any]) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(answer["body"])
    return parsed


def report_events(day: str = "2026-11-20") -> list[dict[str, Any]]:
    return [
        {
            "email": "supervisor@example.com",
            "timestamp": int(NOW.timestamp()) - 60,
            "event": "delivered",
            "sg_event_id": "ev-1",
            "sg_message_id": "RMID.filterdrecv-1-0.0",
            "gcnotify_report_id": "support-daily",
            "gcnotify_business_date": day,
            "note": MARKER,
        }
    ]


@pytest.fixture
def local(
    tmp_path: Path, aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """moto tables and a config holding the test key's public half; the handler's environment."""
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    webhook.reset()
    config = {
        "genesys": {"environment": "mypurecloud.com"},
        "sendgrid": {
            "from": {"email": "reports@example.com"},
            "webhook_public_key": KEY.public_key_b64,
        },
        "messaging": {},
    }
    path = tmp_path / "gcnotify.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_ledger_table(client, "ledger")
        create_messages_table(client, "messages")
        create_suppression_table(client, "suppression")
        yield {
            "GCNOTIFY_CONFIG": str(path),
            "GCNOTIFY_LEDGER_TABLE": "ledger",
            "GCNOTIFY_MESSAGES_TABLE": "messages",
            "GCNOTIFY_SUPPRESSION_TABLE": "suppression",
        }
    webhook.reset()


def markers() -> list[str]:
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName="ledger")["Items"]
    return [i["pk"]["S"] for i in items if i["pk"]["S"].startswith(PREFIX)]


def call(environ: dict[str, str], event: dict[str, Any], now: datetime = NOW) -> dict[str, Any]:
    return webhook.handle(event, environ=environ, now=lambda: now)


# ---------------------------------------------------------------------------- refusals

MISSING = "signature or timestamp header missing"


def test_a_signed_post_is_answered_with_its_counts(local: dict[str, str]) -> None:
    """Verified, parsed, looked up: an event for a report never sent is unmatched."""
    body = encode_batch(report_events())
    answer = call(local, fn_event(body, signed_headers(KEY, body, int(NOW.timestamp()))))
    assert 200 == answer["statusCode"]
    assert {
        "status": "ok",
        "received": 1,
        "recorded": 0,
        "duplicates": 0,
        "ignored": 0,
        "malformed": 0,
        "unmatched": 1,
        "suppressed": 0,
        "alerted": 0,
        "retried": 0,
        "failed": 0,
    } == body_of(answer)


def test_a_text_body_is_verified_on_its_utf8_bytes(local: dict[str, str]) -> None:
    """Lambda may pass a JSON body as text (isBase64Encoded false): the same bytes verify."""
    events = report_events()
    events[0]["note"] = "café ☕ " + MARKER
    body = (json.dumps(events, ensure_ascii=False) + "\r\n").encode("utf-8")
    event = fn_event(body, signed_headers(KEY, body, int(NOW.timestamp())), base64_body=False)
    assert 200 == call(local, event)["statusCode"]


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, MISSING),
        ({"X-Twilio-Email-Event-Webhook-Timestamp": "1795446000"}, MISSING),
        ("forged", "signature does not verify"),
        ("stale", "timestamp is 600 s from now (at most 300 s)"),
        ("future", "timestamp is 301 s from now (at most 300 s)"),
        ("other body", "signature does not verify"),
    ],
)
def test_anything_not_signed_by_sendgrid_is_refused_and_nothing_recorded(
    local: dict[str, str],
    headers: Any,
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Unsigned, forged, replayed, from the future or mis-signed: 401, no claim, no body in logs."""
    body = encode_batch(report_events())
    stamp = int(NOW.timestamp())
    if headers == "forged":
        headers = signed_headers(WebhookKey(), body, stamp)
    elif headers == "stale":
        headers = signed_headers(KEY, body, stamp - 600)
    elif headers == "future":
        headers = signed_headers(KEY, body, stamp + 301)
    elif headers == "other body":
        headers = signed_headers(KEY, body.replace(b"delivered", b"bounce"), stamp)
    with caplog.at_level(logging.DEBUG):
        answer = call(local, fn_event(body, headers))
    assert (401, {"status": "refused", "reason": reason}) == (answer["statusCode"], body_of(answer))
    assert [] == markers()
    assert MARKER not in caplog.text
    assert MARKER not in answer["body"]


def test_a_replayed_post_is_refused_once_its_timestamp_is_old(local: dict[str, str]) -> None:
    """A POST accepted now and sent again ten minutes later is refused."""
    body = encode_batch(report_events())
    event = fn_event(body, signed_headers(KEY, body, int(NOW.timestamp())))
    assert 200 == call(local, event)["statusCode"]
    assert 401 == call(local, event, now=NOW + timedelta(minutes=10))["statusCode"]


@pytest.mark.parametrize("base64_body", [True, False])
def test_an_oversized_post_is_refused_before_it_is_decoded(
    local: dict[str, str], base64_body: bool
) -> None:
    """Over 1 MiB (after decoding, or as Base64 text): 413, and its signature is not checked."""
    body = b"[" + b" " * MAX_BODY_BYTES + b"]"
    answer = call(
        local,
        fn_event(body, signed_headers(KEY, body, int(NOW.timestamp())), base64_body=base64_body),
    )
    assert 413 == answer["statusCode"]
    assert [] == markers()


def test_a_body_that_is_not_an_event_array_is_answered_400(local: dict[str, str]) -> None:
    """Signed, but an object: SendGrid retries it (for 24 h), nothing is recorded."""
    body = b'{"event": "delivered"}'
    answer = call(local, fn_event(body, signed_headers(KEY, body, int(NOW.timestamp()))))
    assert (400, "body is not a JSON array of events") == (
        answer["statusCode"],
        body_of(answer)["reason"],
    )


@pytest.mark.parametrize(
    ("event", "status"),
    [
        ({"Records": []}, 400),
        ({**fn_event(b"[]", {}), "body": "not base64!"}, 400),
        (fn_event(b"[]", {}, method="GET"), 405),
    ],
)
def test_requests_that_are_not_webhook_posts_are_refused(
    local: dict[str, str], event: dict[str, Any], status: int
) -> None:
    """Not a function URL request, a body Lambda could not have encoded, a GET."""
    assert status == call(local, event)["statusCode"]


def test_without_a_public_key_every_post_is_refused_and_the_fix_logged(
    local: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """No sendgrid.webhook_public_key: 503 (SendGrid retries), and the log says what to set."""
    path = Path(local["GCNOTIFY_CONFIG"])
    config = yaml.safe_load(path.read_text())
    del config["sendgrid"]["webhook_public_key"]
    path.write_text(yaml.safe_dump(config))
    body = encode_batch(report_events())
    with caplog.at_level(logging.ERROR):
        answer = call(local, fn_event(body, signed_headers(KEY, body, int(NOW.timestamp()))))
    assert 503 == answer["statusCode"]
    assert "sendgrid.webhook_public_key is not set" in caplog.text


def test_a_key_off_the_curve_is_a_setup_error(
    local: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """A key of the right form whose point is not on P-256 fails at cold start: 500, logged."""
    path = Path(local["GCNOTIFY_CONFIG"])
    config = yaml.safe_load(path.read_text())
    der = bytearray(base64.b64decode(KEY.public_key_b64))
    der[-1] ^= 1
    config["sendgrid"]["webhook_public_key"] = base64.b64encode(bytes(der)).decode()
    path.write_text(yaml.safe_dump(config))
    body = encode_batch(report_events())
    with caplog.at_level(logging.ERROR):
        answer = call(local, fn_event(body, signed_headers(KEY, body, int(NOW.timestamp()))))
    assert 500 == answer["statusCode"]
    (line,) = [r for r in caplog.records if r.getMessage() == "webhook not set up"]
    assert "sendgrid.webhook_public_key" in line.__dict__["error"]


def test_counts_are_emitted_as_metrics_inside_lambda(
    local: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """One EMF line with the batch's counts (zero counts too), and one per refused POST."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "gcnotify-webhook")
    body = encode_batch(report_events())
    call(local, fn_event(body, signed_headers(KEY, body, int(NOW.timestamp()))))
    call(local, fn_event(body, {}))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [1, 0] == [lines[0]["WebhookEventsUnmatched"], lines[0]["WebhookEventsRecorded"]]
    assert 1 == lines[1]["WebhookPostsRefused"]


# ---------------------------------------------------------------------------- the stand-in


def stored(message_id: str, to: list[str], **args: str) -> StoredMessage:
    return StoredMessage(
        message_id=message_id,
        body={
            "personalizations": [{"to": [{"email": a} for a in to]}],
            "from": {"email": "reports@example.com"},
            "subject": "s",
            "content": [{"type": "text/plain", "value": "x"}],
            "custom_args": args,
            "categories": ["gcnotify-report"],
        },
        received_at=NOW,
    )


def test_the_stand_ins_events_fit_the_event_webhook_schema() -> None:
    """Every outcome's events validate, carry the custom args top-level and the X-Message-Id."""
    addresses = [f"{o}@example.com" for o in OUTCOMES]
    message = stored("XMID42", addresses, gcnotify_report_id="r", gcnotify_business_date="d")
    events = events_for(
        [message], start=1_795_000_000, outcomes=dict(zip(addresses, OUTCOMES, strict=True))
    )
    assert_valid("sendgrid-event-webhook", events)
    assert all(e["sg_message_id"].split(".", 1)[0] == "XMID42" for e in events)
    assert all(e["gcnotify_report_id"] == "r" for e in events)
    kinds = {e["email"]: [x["event"] for x in events if x["email"] == e["email"]] for e in events}
    assert ["processed", "deferred", "deferred", "delivered"] == kinds["deferred@example.com"]
    assert ["processed", "bounce"] == kinds["bounce@example.com"]
    assert ["dropped"] == kinds["dropped@example.com"]
    assert len({e["sg_event_id"] for e in events}) == len(events)


def test_batches_repeat_events_and_mix_their_order() -> None:
    """Duplicates come after their originals; shuffled batches lose the production order."""
    message = stored("X", [f"a{n}@example.com" for n in range(20)])
    events = events_for([message], start=1_795_000_000)
    cut = batches(events, size=15, duplicates=5, shuffle=True, seed=3)
    flat = [e for b in cut for e in b]
    assert [15, 15, 15] == [len(b) for b in cut]
    assert 5 == len(flat) - len({e["sg_event_id"] for e in flat})
    assert [e["sg_event_id"] for e in events] != [e["sg_event_id"] for e in flat[:40]]


def test_the_stand_ins_signature_is_the_documented_one() -> None:
    """Verified by the seam on the exact bytes, trailing CR LF included."""
    from gcnotify.sendgrid.webhook import SignatureVerifier

    body = encode_batch(report_events())
    assert body.endswith(b"]\r\n")
    headers = signed_headers(KEY, body, int(NOW.timestamp()))
    assert SignatureVerifier(KEY.public_key_b64).check(headers, body, now=NOW) is None


def test_the_function_url_passes_exact_bytes_and_lower_case_headers(local: dict[str, str]) -> None:
    """A real POST over a socket reaches the handler as Lambda's event and verifies."""
    seen: list[dict[str, Any]] = []

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        seen.append(event)
        return webhook.handle(event, environ=local)

    with FunctionUrl(handler) as url:
        posted = post_batch(
            url.url, report_events(), key=KEY, timestamp=int(datetime.now(UTC).timestamp())
        )
    assert 200 == posted.status
    assert 1 == posted.body["unmatched"]
    (event,) = seen
    assert encode_batch(report_events()) == base64.b64decode(event["body"])
    assert "x-twilio-email-event-webhook-signature" in event["headers"]
