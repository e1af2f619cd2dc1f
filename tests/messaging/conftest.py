"""Fixtures of the messaging pipeline tests: its tables and outbox queue in moto."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from gcnotify.aws.ledger import Ledger, create_ledger_table
from gcnotify.aws.messages import MessageStore, create_messages_table
from gcnotify.aws.queue import Outbox
from gcnotify.aws.suppression import SuppressionTable, create_suppression_table
from gcnotify.messaging.settings import MessagingSettings, parse_messaging

WHATSAPP = "0b7c1d2e-3f4a-4b5c-8d6e-7f8091a2b3c4"
WEB = "6a1d2e3f-4a5b-4c6d-9e7f-8091a2b3c4d5"
RESPONSE = "4e2f3a4b-5c6d-4e7f-8091-a2b3c4d5e6f7"

BLOCK: dict[str, Any] = {
    "senders": {
        "sms": "+13175550100",
        "whatsapp": WHATSAPP,
        "webmessaging": WEB,
        "email": {"via": "sendgrid", "from": {"email": "notify@example.com", "name": "Example"}},
    },
    "default_timezone": "America/New_York",
    "send_window": {"start": "08:00", "end": "21:00"},
    "rate_per_minute": {"sms": 6000, "whatsapp": 6000, "webmessaging": 6000, "email": 6000},
    "intake": {"shared_secret_key": "genesys_data_action_secret"},
    "templates": [
        {
            "id": "order-shipped",
            "channel": "sms",
            "text": "Your order {{ order_id }} has shipped. Reply STOP to opt out.",
        },
        {
            "id": "chat-followup",
            "channel": "email",
            "subject": "Following up on your chat with {{ brand }}",
            "text": "Hello {{ name }}, thanks for chatting with {{ brand }}.",
            "html": "<p>Hello {{ name }}, thanks for chatting with {{ brand }}.</p>",
        },
        {"id": "web-nudge", "channel": "webmessaging", "text": "Your case {{ case }} moved."},
        {"id": "shipping-whatsapp", "channel": "whatsapp", "genesys_response": RESPONSE},
    ],
}


def settings_of(block: dict[str, Any] | None = None) -> MessagingSettings:
    found: list[tuple[str, str]] = []
    parsed = parse_messaging(block or BLOCK, lambda p, m: found.append((p, m)))
    assert found == []
    assert parsed is not None
    return parsed


@dataclass
class Tables:
    """The pipeline's AWS parts on one moto account."""

    store: MessageStore
    suppression: SuppressionTable
    ledger: Ledger
    outbox: Outbox
    sqs: Any

    def queued(self) -> list[dict[str, Any]]:
        """Every message in the outbox (delayed ones included), without consuming them."""
        import json

        found = []
        response = self.sqs.receive_message(
            QueueUrl=self.outbox.queue_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=0,
            AttributeNames=["All"],
        )
        for message in response.get("Messages", []):
            found.append(json.loads(message["Body"]))
        return found


@pytest.fixture
def tables(aws_env: None) -> Iterator[Tables]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        create_messages_table(dynamodb, "messages")
        create_suppression_table(dynamodb, "suppression")
        create_ledger_table(dynamodb, "ledger")
        url = sqs.create_queue(QueueName="outbox")["QueueUrl"]
        yield Tables(
            MessageStore(dynamodb, "messages"),
            SuppressionTable(dynamodb, "suppression"),
            Ledger(dynamodb, "ledger"),
            Outbox(sqs, url),
            sqs,
        )
