"""Report recipients in the suppression table (channel email) are left out of every report kind:
the mail goes to the others (its personalizations checked against the mail/send schema), the
result lists who was left out, masked, and why; when nobody is left, nothing is sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import responses

from gcnotify.aws.messages import MessageStore
from gcnotify.core.model import Config
from gcnotify.reports.runner import ReportResult
from tests.genesys.test_client import AGG_URL, SUPPORT, add_queue_pages, add_token, make_client
from tests.reports.test_delivery_summary_run import (
    MAIL_URL,
    RUN_AT,
    Stack,
    config,
    moto_stack,
    run,
    seed,
    sent_bodies,
    services,
)
from tests.support import FakeClock

BOUNCED = datetime(2026, 2, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def stack(aws_env: None) -> Iterator[Stack]:
    with moto_stack() as tables:
        yield tables


def suppress(stack: Stack, address: str, reason: str = "hard-bounce") -> None:
    stack.suppression.add("email", address, reason, "receipt:sendgrid:bounce:bounce", BOUNCED)


def one_message(store: MessageStore) -> None:
    seed(store, "one", datetime(2026, 3, 2, 15, 0, tzinfo=UTC))


def mail_mock() -> responses.RequestsMock:
    rsps = responses.RequestsMock(assert_all_requests_are_fired=False)
    rsps.post(MAIL_URL, status=202, headers={"X-Message-Id": "msg-1"})
    return rsps


def test_one_suppressed_recipient_is_left_out_and_the_others_get_it(stack: Stack) -> None:
    """lead@ hard-bounced: the summary goes to ops@ (to) and cc@ (cc) only; the result lists
    lead@ masked, with the reason, the source and since when."""
    one_message(stack.messages)
    suppress(stack, "lead@example.com")
    with mail_mock() as rsps:
        result = run(config(), services(stack))
        (body,) = sent_bodies(rsps)
    assert [{"to": [{"email": "ops@example.com"}], "cc": [{"email": "cc@example.com"}]}] == body[
        "personalizations"
    ]
    assert ("sent", 2) == (result.status, result.recipients)
    assert [
        {
            "address": "l***@example.com",
            "field": "to",
            "reason": "hard-bounce",
            "source": "receipt:sendgrid:bounce:bounce",
            "since": BOUNCED.isoformat(),
        }
    ] == result.to_dict()["left_out"]


def test_the_ledger_records_only_who_got_it(stack: Stack) -> None:
    """The send's ledger record names the recipients it really went to."""
    one_message(stack.messages)
    suppress(stack, "lead@example.com")
    with mail_mock():
        run(config(), services(stack))
    record = stack.ledger.lookup("delivery-daily#2026-03-02")
    assert record is not None
    item = stack.client.get_item(
        TableName="ledger", Key={"pk": {"S": "delivery-daily#2026-03-02"}}
    )["Item"]
    assert ["ops@example.com", "cc@example.com"] == [v["S"] for v in item["recipients"]["L"]]


def test_a_suppression_matches_whatever_the_case(stack: Stack) -> None:
    """The config's OPS@Example.com is the suppressed ops@example.com."""
    one_message(stack.messages)
    suppress(stack, "ops@example.com")
    cfg = config(recipients={"to": ["OPS@Example.com", "lead@example.com"]})
    with mail_mock() as rsps:
        result = run(cfg, services(stack))
        (body,) = sent_bodies(rsps)
    assert [{"to": [{"email": "lead@example.com"}]}] == body["personalizations"]
    assert ["O***@Example.com"] == [e["address"] for e in result.left_out]


def test_a_lifted_suppression_does_not_leave_anyone_out(stack: Stack) -> None:
    """Removed with gcnotify suppress remove: the address gets the report again."""
    one_message(stack.messages)
    suppress(stack, "lead@example.com")
    stack.suppression.remove("email", "lead@example.com", "fixed", "cli:ops", RUN_AT)
    with mail_mock() as rsps:
        result = run(config(), services(stack))
        (body,) = sent_bodies(rsps)
    assert ([], 3) == (result.left_out, result.recipients)
    assert 2 == len(body["personalizations"][0]["to"])


def test_every_recipient_suppressed_means_nothing_is_sent(stack: Stack) -> None:
    """All three suppressed: failed (RecipientsSuppressedError), no mail, no ledger record, the
    three listed masked, and the message says how to fix it without a full address."""
    one_message(stack.messages)
    for address in ("ops@example.com", "lead@example.com", "cc@example.com"):
        suppress(stack, address, "spam-report")
    with mail_mock() as rsps:
        result = run(config(), services(stack))
        assert [] == sent_bodies(rsps)
    entry = result.to_dict()
    assert ("failed", "RecipientsSuppressedError") == (entry["status"], entry["error_type"])
    assert ["o***@example.com", "l***@example.com", "c***@example.com"] == [
        e["address"] for e in entry["left_out"]
    ]
    assert "all 3 recipient(s) of report delivery-daily" in entry["error"]
    assert "gcnotify suppress remove ADDRESS --channel email" in entry["error"]
    assert "@example.com (spam-report)" in entry["error"]
    assert "ops@example.com" not in json.dumps(entry)
    assert stack.ledger.lookup("delivery-daily#2026-03-02") is None


def test_when_every_to_is_suppressed_cc_moves_up(stack: Stack) -> None:
    """to: both suppressed, cc left: cc@ becomes the to address (SendGrid needs one)."""
    one_message(stack.messages)
    suppress(stack, "ops@example.com")
    suppress(stack, "lead@example.com")
    with mail_mock() as rsps:
        result = run(config(), services(stack))
        (body,) = sent_bodies(rsps)
    assert [{"to": [{"email": "cc@example.com"}]}] == body["personalizations"]
    assert ("sent", ["to", "to"]) == (result.status, [e["field"] for e in result.left_out])


def test_only_bcc_left_gives_each_a_copy_of_their_own(stack: Stack) -> None:
    """to and cc suppressed, two bcc left: one personalization each, so neither sees the other."""
    one_message(stack.messages)
    suppress(stack, "ops@example.com")
    cfg = config(recipients={"to": ["ops@example.com"], "bcc": ["a@example.com", "b@example.com"]})
    with mail_mock() as rsps:
        result = run(cfg, services(stack))
        (body,) = sent_bodies(rsps)
    assert [
        {"to": [{"email": "a@example.com"}]},
        {"to": [{"email": "b@example.com"}]},
    ] == body["personalizations"]
    assert 2 == result.recipients


def test_without_a_suppression_table_nobody_is_left_out(stack: Stack) -> None:
    """No GCNOTIFY_SUPPRESSION_TABLE: every configured recipient gets the report."""
    one_message(stack.messages)
    suppress(stack, "lead@example.com")
    with mail_mock() as rsps:
        result = run(config(), services(stack, suppression=None))
        (body,) = sent_bodies(rsps)
    assert ([], 2) == (result.left_out, len(body["personalizations"][0]["to"]))


def queue_config() -> Config:
    """A queue report over one queue, three recipients."""
    from gcnotify.core.config import parse_config

    return parse_config(
        {
            "genesys": {"environment": "mypurecloud.com"},
            "sendgrid": {"from": {"email": "reports@example.com"}},
            "reports": [
                {
                    "id": "support-daily",
                    "title": "Support",
                    "timezone": "America/New_York",
                    "queues": [SUPPORT.name],
                    "recipients": {
                        "to": ["ops@example.com", "lead@example.com"],
                        "bcc": ["audit@example.com"],
                    },
                }
            ],
        }
    )


def queue_run(stack: Stack, rsps: responses.RequestsMock) -> ReportResult:
    add_token(rsps)
    add_queue_pages(rsps, [[SUPPORT]])
    rsps.post(AGG_URL, json={"results": []})
    genesys = make_client(FakeClock(start=1000.0))
    result: ReportResult = run(queue_config(), services(stack, genesys=genesys))
    return result


def test_a_queue_report_leaves_suppressed_recipients_out_too(stack: Stack) -> None:
    """The rule is the runner's, for every kind: a queue report (here its No activity email)
    goes to ops@ and audit@ (bcc), and lists lead@ as left out."""
    suppress(stack, "lead@example.com", "dropped")
    with mail_mock() as rsps:
        result = queue_run(stack, rsps)
        (body,) = sent_bodies(rsps)
    assert [
        {"to": [{"email": "ops@example.com"}], "bcc": [{"email": "audit@example.com"}]}
    ] == body["personalizations"]
    assert ("no_activity_sent", ["l***@example.com"], ["dropped"]) == (
        result.status,
        [e["address"] for e in result.left_out],
        [e["reason"] for e in result.left_out],
    )


def test_a_queue_report_nobody_may_receive_costs_no_genesys_call(stack: Stack) -> None:
    """All suppressed: refused before the queue lookup and the query (no Genesys call at all)."""
    for address in ("ops@example.com", "lead@example.com", "audit@example.com"):
        suppress(stack, address)
    with mail_mock() as rsps:
        genesys = make_client(FakeClock(start=1000.0))
        result = run(queue_config(), services(stack, genesys=genesys))
        calls = [c.request.url for c in rsps.calls]
    assert ("failed", 0, []) == (result.status, result.genesys_api_calls, calls)


def test_the_alert_says_what_to_do_when_nobody_may_receive_it(stack: Stack) -> None:
    """The failure alert (to alerts.to) names the suppressed report and how to fix it."""
    from dataclasses import replace

    from gcnotify.core.model import AlertSettings
    from gcnotify.reports.alerts import send_alerts

    one_message(stack.messages)
    for address in ("ops@example.com", "lead@example.com", "cc@example.com"):
        suppress(stack, address)
    cfg = replace(config(), alerts=AlertSettings(to=("oncall@example.com",)))
    with mail_mock() as rsps:
        svc = services(stack)
        result = run(cfg, svc)
        assert 1 == send_alerts(cfg, [result], svc)
        (alert,) = sent_bodies(rsps)
    text = alert["content"][0]["value"]
    assert [{"to": [{"email": "oncall@example.com"}]}] == alert["personalizations"]
    assert "gcnotify suppress remove ADDRESS --channel email" in text
    assert "Lambda retries the run automatically" not in text
