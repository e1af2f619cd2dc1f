"""``gcnotify demo notify``: notifications end to end on this machine.

The local Genesys and SendGrid stand-ins and moto (DynamoDB, SQS, Secrets Manager) run on
127.0.0.1; requests go in through the same intake and data-action handlers Lambda runs, and the
outbox is drained into the sender handler by a local event source mapping that delivers batches
the way Lambda's does. Nothing leaves the machine.
"""

from __future__ import annotations

import json
import os
import secrets as pysecrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from gcnotify.cli.demo import DEMO_SECRET_ID, DemoStack, start_stack

__all__ = ["NotifyStack", "http_event", "notify_stack", "run_notify_demo"]

MESSAGES_TABLE = "gcnotify-demo-messages"
SUPPRESSION_TABLE = "gcnotify-demo-suppression"
SHARED_SECRET_KEY = "genesys_data_action_secret"  # noqa: S105 - a key name, not a value
RESPONSE_ID = "4e2f3a4b-5c6d-4e7f-8091-a2b3c4d5e6f7"
WHATSAPP_ID = "0b7c1d2e-3f4a-4b5c-8d6e-7f8091a2b3c4"
DEPLOYMENT_ID = "6a1d2e3f-4a5b-4c6d-9e7f-8091a2b3c4d5"
MAX_RECEIVES = 5


def notify_block(rate: int = 600) -> dict[str, Any]:
    """The demo's messaging block: every channel, a send window, four templates."""
    return {
        "senders": {
            "sms": "+13175550100",
            "whatsapp": WHATSAPP_ID,
            "webmessaging": DEPLOYMENT_ID,
            "email": {"via": "sendgrid", "from": {"email": "notify@example.com", "name": "Ex"}},
        },
        "send_window": {"start": "08:00", "end": "21:00"},
        "default_timezone": "America/New_York",
        "rate_per_minute": {"sms": rate, "whatsapp": rate, "webmessaging": rate, "email": rate},
        "expire_after": "PT24H",
        "intake": {"shared_secret_key": SHARED_SECRET_KEY},
        "templates": [
            {
                "id": "order-shipped",
                "channel": "sms",
                "text": "Your order {{ order_id }} has shipped: {{ tracking_link }}. "
                "Reply STOP to opt out.",
            },
            {
                "id": "chat-followup",
                "channel": "email",
                "subject": "Following up on your chat with {{ brand }}",
                "text": "Hello {{ name }},\nthanks for chatting with {{ brand }}.",
                "html": "<p>Hello {{ name }},</p><p>thanks for chatting with {{ brand }}.</p>",
            },
            {"id": "case-update", "channel": "webmessaging", "text": "Case {{ case }} moved on."},
            {"id": "shipping-whatsapp", "channel": "whatsapp", "genesys_response": RESPONSE_ID},
        ],
    }


@dataclass
class NotifyStack:
    """The demo stack plus the notification pipeline's tables and queues."""

    base: DemoStack
    environ: dict[str, str]
    sqs: Any
    outbox_url: str
    dead_letter_url: str
    shared_secret: str

    @property
    def genesys(self) -> Any:
        return self.base.genesys

    @property
    def sendgrid(self) -> Any:
        return self.base.sendgrid


@contextmanager
def notify_stack(
    workdir: Path,
    *,
    latency_ms: float = 0.0,
    rate: int = 600,
    visibility: int = 30,
    moto_url: str | None = None,
) -> Iterator[NotifyStack]:
    """Start the stand-ins, create the tables and queues, write a notifications config."""
    import boto3

    from gcnotify.aws.messages import create_messages_table
    from gcnotify.aws.suppression import create_suppression_table

    with start_stack(workdir, latency_ms=latency_ms, moto_url=moto_url) as base:
        session = boto3.session.Session(
            aws_access_key_id="demo",
            aws_secret_access_key="demo",  # noqa: S106 - moto accepts any key
            region_name="us-east-1",
        )
        url = base.moto_url
        dynamodb = session.client("dynamodb", endpoint_url=url)
        create_messages_table(dynamodb, MESSAGES_TABLE)
        create_suppression_table(dynamodb, SUPPRESSION_TABLE)
        sqs = session.client("sqs", endpoint_url=url)
        dlq = sqs.create_queue(QueueName="gcnotify-demo-outbox-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
        outbox = sqs.create_queue(
            QueueName="gcnotify-demo-outbox",
            Attributes={
                "VisibilityTimeout": str(visibility),
                "RedrivePolicy": json.dumps(
                    {
                        "deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"],
                        "maxReceiveCount": str(MAX_RECEIVES),
                    }
                ),
            },
        )["QueueUrl"]
        secrets = session.client("secretsmanager", endpoint_url=url)
        secret = json.loads(secrets.get_secret_value(SecretId=DEMO_SECRET_ID)["SecretString"])
        shared = pysecrets.token_urlsafe(24)
        secret[SHARED_SECRET_KEY] = shared
        secrets.put_secret_value(SecretId=DEMO_SECRET_ID, SecretString=json.dumps(secret))
        base.genesys.messaging.add_response(
            RESPONSE_ID, name="shipping_update", substitutions={"order_id": None}
        )
        config_path = workdir / "demo-notify.yaml"
        config = {
            "genesys": {"environment": "mypurecloud.com"},
            "sendgrid": {"from": {"email": "notify@example.com", "name": "Example Support"}},
            "secret_id": DEMO_SECRET_ID,
            "messaging": notify_block(rate),
        }
        config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        environ = {
            **base.environ,
            "GCNOTIFY_CONFIG": str(config_path),
            "GCNOTIFY_MESSAGES_TABLE": MESSAGES_TABLE,
            "GCNOTIFY_SUPPRESSION_TABLE": SUPPRESSION_TABLE,
            "GCNOTIFY_OUTBOX_QUEUE_URL": outbox,
            "GCNOTIFY_OUTBOX_MAX_RECEIVES": str(MAX_RECEIVES),
        }
        yield NotifyStack(base, environ, sqs, outbox, dlq, shared)


def http_event(path: str, body: object, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A function URL event (payload 2.0) as Lambda delivers it."""
    return {
        "version": "2.0",
        "rawPath": path,
        "headers": {"content-type": "application/json", **(headers or {})},
        "requestContext": {"http": {"method": "POST", "path": path}},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


_ZONES = tuple(f"Etc/GMT{offset:+d}" for offset in range(-12, 13))


def zone_at(now: datetime, hours: range) -> str:
    """A zone whose local hour is in ``hours`` now (demo requests inside or outside the window)."""
    import pytz

    for name in _ZONES:
        if now.astimezone(pytz.timezone(name)).hour in hours:
            return name
    raise AssertionError("some whole-hour offset is at any given hour")  # pragma: no cover


def _local_time(now: datetime, zone: str) -> str:
    import pytz

    return now.astimezone(pytz.timezone(zone)).strftime("%H:%M")


def _utc_offset(zone: str) -> str:
    """Etc/GMT-12 is UTC+12: the POSIX sign is the other way round."""
    sign = zone.removeprefix("Etc/GMT")[:1]
    return ("+" if sign == "-" else "-") + zone.removeprefix("Etc/GMT")[1:]


def demo_requests(now: datetime) -> list[tuple[str, dict[str, Any]]]:
    """The handful the demo sends: (what it shows, request)."""
    day, night = zone_at(now, range(10, 19)), zone_at(now, range(1, 5))
    sms = {"order_id": "ORD-998877", "tracking_link": "https://track.example.com/998877"}
    contact = "3f1b6a52-9c1d-4e0f-8a7b-2c3d4e5f6a7b"
    shipped = {"template": "order-shipped", "variables": sms, "timezone": day}
    return [
        ("SMS", {**shipped, "to": "+13175550111", "key": "demo-sms-1"}),
        (
            "email through SendGrid",
            {
                "template": "chat-followup",
                "to": "jane@example.com",
                "key": "demo-email-1",
                "variables": {"name": "Jane", "brand": "Example"},
                "timezone": day,
            },
        ),
        (
            "web messaging to an external contact",
            {
                "template": "case-update",
                "key": "demo-web-1",
                "external_contact_id": contact,
                "variables": {"case": "C-42"},
                "timezone": day,
            },
        ),
        (
            "WhatsApp approved template",
            {
                "template": "shipping-whatsapp",
                "to": "+13175550112",
                "key": "demo-wa-1",
                "variables": {"order_id": "ORD-998877"},
                "timezone": day,
            },
        ),
        ("suppressed: replied STOP", {**shipped, "to": "+13175550113", "key": "demo-sms-stop"}),
        (
            f"deferred: {_local_time(now, night)} in {night} (UTC{_utc_offset(night)})",
            {**shipped, "to": "+13175550114", "key": "demo-sms-night", "timezone": night},
        ),
        ("duplicate key", {**shipped, "to": "+13175550111", "key": "demo-sms-1"}),
        (
            "rejected: missing variable",
            {
                **shipped,
                "to": "+13175550115",
                "key": "demo-sms-bad",
                "variables": {"order_id": "1"},
            },
        ),
    ]


def run_notify_demo(*, out: Path, latency_ms: float = 0.0) -> int:
    """Send the handful, drain the outbox through the sender, print each outcome."""
    from gcnotify.devserver.esm import EventSourceMapping
    from gcnotify.handlers import data_action, intake, notify_state, sender

    with notify_stack(out, latency_ms=latency_ms) as stack:
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
            os.environ[key] = stack.environ[key]
        notify_state.reset()
        env = stack.environ
        secret_header = {"x-gcnotify-secret": stack.shared_secret}
        try:
            stop = data_action.handle(
                http_event(
                    "/opt-out",
                    {"address": "+13175550113", "keyword": "STOP", "channel": "sms"},
                    secret_header,
                ),
                environ=env,
            )
            print(f"Architect flow posts STOP for +13175550113 → {json.loads(stop['body'])}")
            forged = data_action.handle(
                http_event("/notify", {"key": "x"}, {"x-gcnotify-secret": "wrong"}), environ=env
            )
            print(f"A data action with a wrong secret → HTTP {forged['statusCode']}, not recorded")
            now = datetime.now(UTC)
            print("Requests in (intake function URL):")
            for label, request in demo_requests(now):
                answer = intake.handle(http_event("/", request), environ=env)
                body = json.loads(answer["body"])
                problems = f" — {body['problems'][0]}" if body["problems"] else ""
                print(f"  {label}: HTTP {answer['statusCode']} {body['status']}{problems}")
            mapping = EventSourceMapping(
                stack.sqs,
                stack.outbox_url,
                lambda event, context: sender.handle_batch(
                    event, environ=env, deadline=notify_state.deadline_of(context)
                ),
                batch_size=10,
                function_timeout=20,
            )
            mapping.drain(idle_for=0.5, timeout=20, count_delayed=False)
            state = notify_state.state(env)
            print("Outcomes (messages table):")
            for label, request in demo_requests(now):
                if label == "duplicate key":
                    continue
                record = state.store.get(request["key"])
                if record is None:
                    print(f"  {request['key']}: no record")
                    continue
                last = record.history[-1].detail if record.history else ""
                extra = record.fields.get("message_id") or last
                print(f"  {request['key']} ({label}): {record.status} — {str(extra)[:110]}")
            print(
                f"Genesys agentless sends received: {len(stack.genesys.messaging.sent)}; "
                f"SendGrid emails received: {len(stack.sendgrid.messages)}"
            )
        finally:
            notify_state.reset()
    return 0
