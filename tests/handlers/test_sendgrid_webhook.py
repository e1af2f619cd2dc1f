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
import time_machine
import yaml
from moto import mock_aws

from gcnotify.aws.event_ids import PREFIX
from gcnotify.aws.ledger import create_ledger_table
from gcnotify.aws.messages import create_messages_table
from gcnotify.aws.suppression import create_suppression_table
from gcnotify.devserver.sendgrid_events import (
    OUTCOMES,
    FunctionUrl,
    Outcome,
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
        "delivered": 0,
        "read": 0,
        "failures": 0,
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


# ---------------------------------------------------------------------------- end to end


def _with_key(config_path: str) -> None:
    path = Path(config_path)
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["sendgrid"]["webhook_public_key"] = KEY.public_key_b64
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


@pytest.fixture
def notify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The notification stack (stand-ins, moto server, tables, outbox) with the webhook's key."""
    from gcnotify.cli.demo_notify import notify_stack
    from gcnotify.handlers import notify_state

    notify_state.reset()
    webhook.reset()
    with notify_stack(tmp_path, visibility=5) as running:
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
            monkeypatch.setenv(key, running.environ[key])
        _with_key(running.environ["GCNOTIFY_CONFIG"])
        yield running
    notify_state.reset()
    webhook.reset()


def _drain(stack: Any) -> None:
    from gcnotify.devserver.esm import EventSourceMapping
    from gcnotify.handlers import notify_state, sender

    mapping = EventSourceMapping(
        stack.sqs,
        stack.outbox_url,
        lambda event, context: sender.handle_batch(
            event, environ=stack.environ, deadline=notify_state.deadline_of(context)
        ),
        function_timeout=5,
    )
    mapping.drain(idle_for=0.3, timeout=20, count_delayed=False)


def _post_all(url: str, cut: list[list[dict[str, Any]]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for events in cut:
        posted = post_batch(url, events, key=KEY, timestamp=int(datetime.now(UTC).timestamp()))
        assert 200 == posted.status, posted.body
        for name, value in posted.body.items():
            if isinstance(value, int):
                total[name] = total.get(name, 0) + value
    return total


def _status(store: Any, key: str) -> str:
    record = store.get(key)
    assert record is not None
    return str(record.status)


OUTCOME_OF: dict[str, Outcome] = {
    "delivered@example.com": "delivered",
    "deferred@example.com": "deferred",
    "bounce@example.com": "bounce",
    "blocked@example.com": "blocked",
    "opened@example.com": "opened",
    "spam@example.com": "spamreport",
}


@pytest.mark.e2e
def test_notification_emails_reach_their_final_class_from_signed_posts(notify: Any) -> None:
    """Six emails sent through the pipeline; their events, shuffled, repeated and signed, are
    POSTed over a socket: each record ends in its class, duplicates counted once, the bounced
    and spam-reporting addresses suppressed, the blocked one sent again and then delivered."""
    from gcnotify.cli.demo_notify import http_event, zone_at
    from gcnotify.handlers import intake, notify_state

    zone = zone_at(datetime.now(UTC), range(10, 19))
    for n, address in enumerate(OUTCOME_OF):
        request = {
            "template": "chat-followup",
            "to": address,
            "key": f"mail-{n}",
            "variables": {"name": "Jo", "brand": "Example"},
            "timezone": zone,
        }
        answer = intake.handle(http_event("/", request), environ=notify.environ)
        assert 202 == answer["statusCode"], answer["body"]
    _drain(notify)
    first = list(notify.sendgrid.messages)
    assert 6 == len(first)
    start = int(datetime.now(UTC).timestamp()) - 600
    events = events_for(first, start=start, outcomes=OUTCOME_OF)
    cut = batches(events, size=4, duplicates=5, shuffle=True, seed=7)
    with FunctionUrl(lambda event: webhook.handle(event, environ=notify.environ)) as url:
        total = _post_all(url.url, cut)
        store = notify_state.state(notify.environ).store
        suppression = notify_state.state(notify.environ).suppression
        statuses = {a: _status(store, f"mail-{n}") for n, a in enumerate(OUTCOME_OF)}
        assert {
            "delivered@example.com": "delivered",
            "deferred@example.com": "delivered",
            "bounce@example.com": "failed_permanent",
            "blocked@example.com": "failed_temporary",
            "opened@example.com": "read",
            "spam@example.com": "delivered",
        } == statuses
        posted = [e for events_ in cut for e in events_]
        clicks = [e for e in posted if e["event"] == "click"]  # no delivery meaning
        counted = [e for e in posted if e["event"] != "click"]
        distinct = len({e["sg_event_id"] for e in counted})
        assert (distinct, len(counted) - distinct, len(clicks), 0, 0) == (
            total["recorded"],
            total["duplicates"],
            total["ignored"],
            total["unmatched"],
            total["failed"],
        )
        assert len(counted) - distinct > 0  # the batches did repeat events
        assert 2 == total["suppressed"]
        assert suppression.check("email", "bounce@example.com") is not None
        assert suppression.check("email", "spam@example.com") is not None
        assert suppression.check("email", "blocked@example.com") is None
        # The block was queued again, 60 s out: attempt 2 goes as a new message, delivered.
        with time_machine.travel(datetime.now(UTC) + timedelta(seconds=61), tick=True):
            _drain(notify)
            retry = [m for m in notify.sendgrid.messages if m not in first]
            assert ["blocked@example.com"] == [r for m in retry for r in m.recipients]
            again = events_for(retry, start=start + 300)
            assert 0 == _post_all(url.url, [again])["unmatched"]
    record = store.get("mail-3")
    assert record is not None
    assert ("delivered", 2) == (record.status, record.fields["attempt"])
    assert retry[0].message_id == record.fields["message_id"]


@pytest.fixture
def reports(stack: Any) -> Iterator[Any]:
    """The report stack with a suppression table and the webhook's key in its config."""
    from gcnotify.handlers import report

    client = boto3.client("dynamodb", endpoint_url=stack.moto_url)
    create_suppression_table(client, "suppression")
    stack.environ["GCNOTIFY_SUPPRESSION_TABLE"] = "suppression"
    _with_key(stack.environ["GCNOTIFY_CONFIG"])
    webhook.reset()
    report.reset_cold_start()
    yield stack
    webhook.reset()


@pytest.mark.e2e
def test_a_report_recipient_that_hard_bounces_is_suppressed_and_the_owner_alerted_once(
    reports: Any,
) -> None:
    """The report goes out; its recipient's hard bounce comes back signed: the address is
    suppressed (source report:<id>), alerts.to gets one mail, a second bounce that day none."""
    from gcnotify.aws.suppression import SuppressionTable
    from gcnotify.handlers import report

    summary = report.handle(
        {"scheduled_time": "2026-11-23T11:00:00Z", "execution_id": "e1"}, environ=reports.environ
    )
    assert summary["ok"]
    sent = list(reports.sendgrid.messages)
    start = int(datetime.now(UTC).timestamp()) - 600
    events = events_for(sent, start=start, outcomes={"supervisor@example.com": "bounce"})
    with FunctionUrl(lambda event: webhook.handle(event, environ=reports.environ)) as url:
        total = _post_all(url.url, batches(events, size=5, duplicates=2, seed=1))
        assert (1, 1, 2, 0) == (
            total["suppressed"],
            total["alerted"],
            total["duplicates"],
            total["unmatched"],
        )
        table = SuppressionTable(
            boto3.client("dynamodb", endpoint_url=reports.moto_url), "suppression"
        )
        entry = table.check("email", "supervisor@example.com")
        assert entry is not None
        assert ("hard-bounce", "report:support-daily") == (entry.reason, entry.source)
        alerts = [m for m in reports.sendgrid.messages if m.custom_args.get("gcnotify_alert")]
        (alert,) = alerts
        assert ("cc-ops@example.com",) == alert.recipients
        assert "report support-daily stopped mailing a recipient" in (alert.subject or "")
        assert "supervisor@example.com" in (alert.text or "")
        # Another bounce of the same address the same day (a new event): suppressed again,
        # no second mail; the alert mail's own events are ignored.
        bounce = next(e for e in events if e["event"] == "bounce")
        later = {**bounce, "sg_event_id": "another-bounce", "timestamp": start + 60}
        own = events_for(alerts, start=start + 120)
        again = _post_all(url.url, [[later, *own]])
        assert (1, 0, len(own)) == (again["suppressed"], again["alerted"], again["ignored"])
    assert 1 == sum(1 for m in reports.sendgrid.messages if m.custom_args.get("gcnotify_alert"))
