"""The receipts poll function: the whole cold start against moto and the Genesys stand-in, its
metrics, a refused run raised, a bad receipts block refused, the deadline honoured."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from gcnotify.aws.messages import MessageStore, NewMessage, create_messages_table
from gcnotify.aws.suppression import create_suppression_table
from gcnotify.core.errors import ConfigError, RunFailedError
from gcnotify.core.model import Queue
from gcnotify.devserver.genesys_server import GenesysStandIn
from gcnotify.devserver.messaging_endpoints import READS_PREFIX, Timeline
from gcnotify.genesys.client import GenesysClient
from gcnotify.genesys.messaging import agentless_message_body, send_agentless_message
from gcnotify.handlers import receipts_poll
from gcnotify.receipts.poller import AUDIT_PREFIX

SECRET_ID = "gcnotify/credentials"
CLIENT_SECRET = "receipts-poll-client-secret-value"
SMS_FROM = "+13175550100"


@dataclass
class Context:
    """The part of Lambda's context the handler reads."""

    millis: int = 300_000

    def get_remaining_time_in_millis(self) -> int:
        return self.millis


@dataclass
class Stack:
    stand_in: GenesysStandIn
    store: MessageStore
    dynamodb: Any
    config: Path
    ahead: list[timedelta]  # how far the stand-in's present runs ahead of the wall clock


def write_config(path: Path, receipts: dict[str, Any] | None) -> Path:
    data: dict[str, Any] = {
        "genesys": {"environment": "mypurecloud.com"},
        "sendgrid": {"from": {"email": "notify@example.com"}},
        "messaging": {
            "senders": {"sms": SMS_FROM},
            "default_timezone": "America/New_York",
            "templates": [{"id": "order-shipped", "channel": "sms", "text": "Shipped. STOP?"}],
        },
    }
    if receipts is not None:
        data["receipts"] = receipts
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def stack(aws_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    queue = Queue("c6fc6f57-4c1e-4812-980a-5154f500b5c6", "Support")
    with (
        mock_aws(),
        GenesysStandIn([queue], client_id="cid", client_secret=CLIENT_SECRET) as stand_in,
    ):
        ahead = [timedelta(0)]
        stand_in.now = lambda: datetime.now(UTC) + ahead[0]
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_messages_table(dynamodb, "messages")
        create_suppression_table(dynamodb, "suppression")
        from gcnotify.aws.ledger import create_ledger_table

        create_ledger_table(dynamodb, "ledger")
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="outbox")["QueueUrl"]
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        secrets.create_secret(
            Name=SECRET_ID,
            SecretString=json.dumps(
                {
                    "genesys_client_id": "cid",
                    "genesys_client_secret": CLIENT_SECRET,
                    "sendgrid_api_key": "SG.receipts-poll-test-key",
                }
            ),
        )
        config = write_config(tmp_path / "gcnotify.yaml", {"max_calls_per_run": 50})
        environ = {
            "GCNOTIFY_CONFIG": str(config),
            "GCNOTIFY_SECRET_ID": SECRET_ID,
            "GCNOTIFY_GENESYS_LOGIN_URL": stand_in.url,
            "GCNOTIFY_GENESYS_API_URL": stand_in.url,
            "GCNOTIFY_MESSAGES_TABLE": "messages",
            "GCNOTIFY_SUPPRESSION_TABLE": "suppression",
            "GCNOTIFY_LEDGER_TABLE": "ledger",
            "GCNOTIFY_OUTBOX_QUEUE_URL": url,
        }
        for key, value in environ.items():
            monkeypatch.setenv(key, value)
        receipts_poll.reset()
        yield Stack(stand_in, MessageStore(dynamodb, "messages"), dynamodb, config, ahead)
        receipts_poll.reset()
        assert [] == stand_in.errors


def sent(stack: Stack, key: str, to: str, timeline: Timeline) -> str:
    """One SMS through the stand-in, recorded sent and awaiting as the sender records it."""
    stack.stand_in.messaging.plan(to, timeline)
    client = GenesysClient(
        login_url=stack.stand_in.url,
        api_url=stack.stand_in.url,
        client_id="cid",
        client_secret=CLIENT_SECRET,
    )
    body = agentless_message_body(channel="sms", from_address=SMS_FROM, to_address=to, text="Hi")
    answer = send_agentless_message(client, body)
    when = datetime.now(UTC) - timedelta(seconds=30)
    stack.store.accept(NewMessage(key, "sms", "order-shipped", when, address=to))
    stack.store.transition(key, ("accepted",), "sending", when)
    stack.store.transition(
        key,
        ("sending",),
        "sent",
        when,
        message_id=answer.message_id,
        conversation_id=answer.conversation_id,
        awaiting="genesys",
        awaiting_since=when.isoformat(),
    )
    return answer.message_id


def emf_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]


def test_a_scheduled_run_polls_and_reports(
    stack: Stack,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The cold start builds everything from the environment; the run applies the receipts,
    writes its audit record, logs one line and emits the counts and delivery times."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "gcnotify-receipts-poll")
    sent(stack, "k1", "+15557650001", Timeline(timedelta(0), "delivered", timedelta(seconds=3)))
    sent(
        stack,
        "k2",
        "+15557650002",
        Timeline(timedelta(0), "failed", timedelta(seconds=1), code="InvalidDestination"),
    )
    stack.ahead[0] = timedelta(minutes=1)  # the receipts have come in by now
    caplog.set_level(logging.INFO, logger="gcnotify")
    event = {"scheduled_time": "2026-03-02T14:05:00Z"}
    summary = receipts_poll.lambda_handler(event, Context())
    assert (2, 1, 1, None, "2026-03-02T14:05:00Z") == (
        summary["asked"],
        summary["answered"]["delivered"],
        summary["answered"]["failed_permanent"],
        summary["stopped"],
        summary["scheduled_time"],
    )
    assert summary["calls"] <= 50
    assert ("delivered", "failed_permanent") == tuple(
        record.status for record in (stack.store.get("k1"), stack.store.get("k2")) if record
    )
    audits = stack.dynamodb.scan(TableName="ledger")["Items"]
    assert [True] == [a["pk"]["S"].startswith(AUDIT_PREFIX) for a in audits]
    [line] = [r for r in caplog.records if r.getMessage() == "receipts poll finished"]
    assert CLIENT_SECRET not in caplog.text
    assert CLIENT_SECRET not in json.dumps(summary)
    lines = emf_lines(capsys.readouterr().out)
    totals = next(m for m in lines if "ReceiptsDelivered" in m)
    assert (1, 1, 0) == (
        totals["ReceiptsDelivered"],
        totals["ReceiptsFailed"],
        totals["ReceiptsBreakerTripped"],
    )
    by_class = {m["Class"]: m["ReceiptsFailed"] for m in lines if "Class" in m}
    assert {"failed_permanent": 1} == by_class  # a zero count is not emitted
    [timing] = [m for m in lines if "ReceiptsTimeToDelivery" in m]
    [metric] = timing["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    assert ("Milliseconds", 1) == (metric["Unit"], len(timing["ReceiptsTimeToDelivery"]))
    assert 3000 <= timing["ReceiptsTimeToDelivery"][0] < 60_000
    assert line.levelno == logging.INFO


def test_a_run_genesys_refuses_fails_the_invocation(stack: Stack) -> None:
    """A missing permission: the run stops at once and the invocation raises after logging."""
    sent(stack, "k1", "+15557650001", Timeline(timedelta(0), "pending"))
    stack.stand_in.forbid(READS_PREFIX)
    with pytest.raises(RunFailedError, match="conversation:message:view"):
        receipts_poll.lambda_handler({}, Context())
    assert "sent" == getattr(stack.store.get("k1"), "status", None)


def test_a_bad_receipts_block_is_refused_before_anything_is_read(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(stack.config, {"max_calls_per_run": 0, "poll_evry": "PT5M"})
    with pytest.raises(ConfigError) as info:
        receipts_poll.lambda_handler({}, Context())
    text = str(info.value)
    assert "receipts.max_calls_per_run" in text
    assert "poll_evry" in text
    assert "nothing was polled" in text
    assert 0 == stack.stand_in.count("/")


def test_near_the_deadline_nothing_is_called(stack: Stack) -> None:
    sent(stack, "k1", "+15557650001", Timeline(timedelta(0), "pending"))
    stack.stand_in.clear_requests()
    summary = receipts_poll.lambda_handler({}, Context(millis=5_000))
    assert ("deadline", 0, 0) == (summary["stopped"], summary["calls"], summary["asked"])
    assert 0 == stack.stand_in.count(READS_PREFIX)


def test_without_a_receipts_block_the_defaults_apply(stack: Stack) -> None:
    write_config(stack.config, None)
    summary = receipts_poll.lambda_handler({}, Context())
    assert (500, 0) == (summary["budget_left"], summary["asked"])
