"""A delivery summary run through the runner: the messages table (moto) read by its day index for
each UTC day the business day overlaps, the mail sent once through the ledger (SendGrid answered
by `responses`, its body checked against the mail/send schema), "No activity", skip, refusals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests
import responses
from moto import mock_aws

from gcnotify.aws.ledger import Ledger, create_ledger_table
from gcnotify.aws.messages import MessageStore, NewMessage, create_messages_table
from gcnotify.aws.once import Once
from gcnotify.aws.suppression import SuppressionTable, create_suppression_table
from gcnotify.core.config import parse_config
from gcnotify.core.model import Config
from gcnotify.genesys.client import GenesysClient
from gcnotify.reports import runner
from gcnotify.reports.events import RunRequest
from gcnotify.reports.render import Renderer
from gcnotify.reports.runner import Services, run_reports
from gcnotify.runtime.resources import templates_dir
from gcnotify.sendgrid.client import SendGridClient
from tests.support import assert_valid

SENDGRID = "https://sendgrid.test"
MAIL_URL = f"{SENDGRID}/v3/mail/send"
DAY = date(2026, 3, 2)  # Monday; New York is UTC-5, so the day is 05:00Z .. 05:00Z next day
RUN_AT = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)


def config(**report: Any) -> Config:
    """One delivery summary report (and whatever ``report`` changes)."""
    base = {
        "id": "delivery-daily",
        "kind": "delivery_summary",
        "title": "Message delivery",
        "timezone": "America/New_York",
        "recipients": {
            "to": ["ops@example.com", "lead@example.com"],
            "cc": ["cc@example.com"],
        },
    }
    return parse_config(
        {
            "genesys": {"environment": "mypurecloud.com"},
            "sendgrid": {"from": {"email": "reports@example.com", "name": "Reports"}},
            "reports": [{**base, **report}],
        }
    )


@dataclass
class Stack:
    messages: MessageStore
    suppression: SuppressionTable
    ledger: Ledger
    client: Any


@contextmanager
def moto_stack() -> Iterator[Stack]:
    """The messages, suppression and ledger tables on moto."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_messages_table(client, "messages")
        create_suppression_table(client, "suppression")
        create_ledger_table(client, "ledger")
        yield Stack(
            MessageStore(client, "messages"),
            SuppressionTable(client, "suppression"),
            Ledger(client, "ledger"),
            client,
        )


@pytest.fixture
def stack(aws_env: None) -> Iterator[Stack]:
    with moto_stack() as tables:
        yield tables


@pytest.fixture
def mail() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.post(MAIL_URL, status=202, headers={"X-Message-Id": "msg-1"})
        yield rsps


def sent_bodies(rsps: responses.RequestsMock) -> list[dict[str, Any]]:
    bodies = []
    for call in rsps.calls:
        if call.request.url == MAIL_URL:
            body = json.loads(call.request.body or b"{}")
            assert_valid("sendgrid-mail-send", body)
            bodies.append(body)
    return bodies


def services(stack: Stack, **changes: Any) -> Services:
    """The runner's seams over moto and `responses`; Genesys is never called by a summary."""
    session = requests.Session()
    values: dict[str, Any] = {
        "genesys": GenesysClient(
            login_url="https://login.genesys.test",
            api_url="https://api.genesys.test",
            client_id="id",
            client_secret="secret-value-1234",
            session=session,
        ),
        "renderer": Renderer(templates_dir()),
        "sendgrid": SendGridClient("SG.test-key", SENDGRID, session=session),
        "now": lambda: RUN_AT,
        "messages": stack.messages,
        "suppression": stack.suppression,
        "once": Once(stack.ledger, now=lambda: RUN_AT),
    }
    values.update(changes)
    return Services(**values)


def seed(
    store: MessageStore,
    key: str,
    at: datetime,
    status: str = "delivered",
    *,
    source: str = "campaign:spring",
    template: str = "order-shipped",
    channel: str = "sms",
    address: str = "+13175550100",
    delivered_after: float | None = 30,
    **fields: str | int | bool,
) -> None:
    """A message first sent at ``at``, as the sender and the receipts leave it: ``sent_day``
    (the UTC date) and ``sent_at`` on the move to sending, then its final status."""
    store.accept(
        NewMessage(
            key=key,
            channel=channel,
            template=template,
            received_at=at - timedelta(seconds=1),
            address=address,
            fields={"source": source},
        )
    )
    store.transition(
        key,
        ("accepted",),
        "sending",
        at,
        sent_day=at.astimezone(UTC).date().isoformat(),
        sent_at=at.isoformat(),
    )
    if status == "sending":
        return
    if status in ("failed_permanent", "unknown"):
        store.transition(key, ("sending",), status, at, **fields)  # type: ignore[arg-type]
        return
    store.transition(key, ("sending",), "sent", at + timedelta(seconds=1))
    if status == "sent":
        return
    delivered = at + timedelta(seconds=delivered_after or 0)
    store.transition(
        key,
        ("sent",),
        status,  # type: ignore[arg-type]
        delivered,
        delivered_at=delivered.isoformat(),
        receipt_class=status,
        **fields,
    )


def run(cfg: Config, svc: Services, **request: Any) -> Any:
    (result,) = run_reports(cfg, RunRequest(report_date=DAY, **request), svc)
    return result


def test_the_summary_reads_both_utc_days_of_the_business_day(
    stack: Stack, mail: responses.RequestsMock
) -> None:
    """Monday in New York is 05:00Z Monday to 05:00Z Tuesday: a message at 04:59Z Monday (Sunday
    evening there) and one at 05:00Z Tuesday are left out; 05:00Z Monday and 04:30Z Tuesday
    count. The mail goes once, to every recipient, with the figures."""
    seed(stack.messages, "sunday-evening", datetime(2026, 3, 2, 4, 59, tzinfo=UTC))
    seed(stack.messages, "first", datetime(2026, 3, 2, 5, 0, tzinfo=UTC), delivered_after=20)
    seed(stack.messages, "late", datetime(2026, 3, 3, 4, 30, tzinfo=UTC), delivered_after=40)
    seed(stack.messages, "tuesday", datetime(2026, 3, 3, 5, 0, tzinfo=UTC))
    seed(
        stack.messages,
        "bounced",
        datetime(2026, 3, 2, 15, 0, tzinfo=UTC),
        "failed_permanent",
        source="api",
        template="receipt",
        channel="email",
        address="jane@example.com",
        receipt_class="failed_permanent",
        receipt_code="bounce:bounce",
    )
    result = run(config(), services(stack))
    (body,) = sent_bodies(mail)
    html = body["content"][1]["value"]
    assert ("sent", 3, 3) == (result.status, result.messages, result.recipients)
    assert [{"email": "ops@example.com"}, {"email": "lead@example.com"}] == body[
        "personalizations"
    ][0]["to"]
    assert {"gcnotify_report_id": "delivery-daily", "gcnotify_business_date": "2026-03-02"} == (
        body["custom_args"]
    )
    # campaign spring: 2 sent, both delivered, p50 0:00:20 and p90 0:00:40 (nearest rank)
    assert "<td><b hidden>p50</b>0:00:20</td><td><b hidden>p90</b>0:00:40</td>" in html
    assert "Permanent: bounce:bounce" in html
    assert "msg-1" == result.sendgrid_message_id


def test_a_second_run_sends_nothing(stack: Stack, mail: responses.RequestsMock) -> None:
    """The summary goes through the ledger like every report: the re-run is already_sent."""
    seed(stack.messages, "one", datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    first = run(config(), services(stack))
    again = run(config(), services(stack))
    assert ("sent", "already_sent", 1) == (first.status, again.status, len(sent_bodies(mail)))


def test_a_day_without_messages_sends_no_activity(
    stack: Stack, mail: responses.RequestsMock
) -> None:
    """Nothing sent that day: the "No activity" email, status no_activity_sent, 0 messages."""
    seed(stack.messages, "other-day", datetime(2026, 3, 5, 15, 0, tzinfo=UTC))
    result = run(config(), services(stack))
    (body,) = sent_bodies(mail)
    assert ("no_activity_sent", 0) == (result.status, result.messages)
    assert "No activity" in body["content"][1]["value"]


def test_on_empty_skip_sends_nothing(stack: Stack, mail: responses.RequestsMock) -> None:
    """on_empty: skip: an empty day is skipped_empty and nothing is sent."""
    result = run(config(on_empty="skip"), services(stack))
    assert ("skipped_empty", []) == (result.status, sent_bodies(mail))


def test_many_messages_are_read_page_by_page(
    stack: Stack, mail: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More messages than one index page holds (3 here, 500 shipped): every one is counted."""
    monkeypatch.setattr(runner, "DAY_PAGE", 3)
    at = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    for i in range(8):
        seed(stack.messages, f"k{i:04d}", at + timedelta(seconds=i), "sent")
    calls = stack.messages.calls
    result = run(config(), services(stack))
    assert ("sent", 8) == (result.status, result.messages)
    assert 3 + 1 == stack.messages.calls - calls  # three pages of Monday, one of Tuesday
    assert "<td><b hidden>Sent</b>8</td>" in sent_bodies(mail)[0]["content"][1]["value"]


def test_without_the_messages_table_the_summary_fails_with_the_fix(
    stack: Stack, mail: responses.RequestsMock
) -> None:
    """No GCNOTIFY_MESSAGES_TABLE: failed, naming the variable, and nothing is sent."""
    result = run(config(), services(stack, messages=None))
    assert ("failed", "MessageStoreError", []) == (
        result.status,
        result.error_type,
        sent_bodies(mail),
    )
    assert "GCNOTIFY_MESSAGES_TABLE" in (result.error or "")


def test_the_result_lists_the_messages_counted(stack: Stack, mail: responses.RequestsMock) -> None:
    """The summary entry carries ``messages``; a queue report's would not."""
    seed(stack.messages, "one", datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    entry = run(config(), services(stack)).to_dict()
    assert (1, "sent") == (entry["messages"], entry["status"])
    assert "left_out" not in entry


def test_a_dry_run_reads_but_sends_nothing(stack: Stack, mail: responses.RequestsMock) -> None:
    """dry_run: the summary is built from the table, nothing is sent or recorded."""
    seed(stack.messages, "one", datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    result = run(config(), services(stack), dry_run=True)
    assert ("dry_run", 1, []) == (result.status, result.messages, sent_bodies(mail))
    assert stack.ledger.lookup("delivery-daily#2026-03-02") is None


def test_receipts_applied_by_the_receipts_pipeline_are_counted(
    stack: Stack, mail: responses.RequestsMock
) -> None:
    """Records moved by receipts.apply_receipt (the poller's and the webhook's one path): a
    Genesys delivery after 25 s, a Genesys opt-out, a SendGrid hard bounce and one still waiting
    are 4 sent, 1 delivered (p50 0:00:25), 2 failed by code, 1 pending."""
    from gcnotify.receipts import (
        ReceiptSettings,
        apply_receipt,
        classify_genesys_status,
        classify_sendgrid,
    )

    at = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    seed(stack.messages, "delivered", at, "sent")
    seed(stack.messages, "opted-out", at, "sent")
    seed(stack.messages, "waiting", at, "sent")
    seed(
        stack.messages,
        "bounced",
        at,
        "sent",
        source="api",
        template="receipt",
        channel="email",
        address="jane@example.com",
    )
    receipts = {
        "delivered": classify_genesys_status(
            "delivery-success", final=True, at=at + timedelta(seconds=25)
        ),
        "opted-out": classify_genesys_status(
            "delivery-failed", [("RecipientOptedOut", "opted out")], final=True, at=at
        ),
        "bounced": classify_sendgrid(
            {
                "event": "bounce",
                "type": "bounce",
                "email": "jane@example.com",
                "timestamp": int((at + timedelta(seconds=9)).timestamp()),
                "reason": "550 5.1.1 no such user",
                "sg_event_id": "e1",
            }
        ),
    }
    for key, receipt in receipts.items():
        record = stack.messages.get(key)
        assert record is not None
        assert receipt is not None
        apply_receipt(
            record,
            receipt,
            store=stack.messages,
            suppression=stack.suppression,
            settings=ReceiptSettings(),
            now=at + timedelta(minutes=1),
            source="test",
        )
    result = run(config(), services(stack))
    (body,) = sent_bodies(mail)
    text = body["content"][0]["value"]
    assert ("sent", 4) == (result.status, result.messages)
    assert "Sent 4 · Delivered 25.0% · Failed 2 · Delivery p50 0:00:25" in text
    assert "Permanent: RecipientOptedOut" in text
    assert "Permanent: bounce:bounce" in text
