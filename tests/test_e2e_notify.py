"""Notifications end to end over real sockets: the Genesys and SendGrid stand-ins, moto (DynamoDB,
SQS, Secrets Manager) and the local event source mapping driving the handlers as Lambda does."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gcnotify.cli.demo_notify import NotifyStack, http_event, notify_stack, zone_at
from gcnotify.devserver.esm import EventSourceMapping
from gcnotify.devserver.http_base import load_schema_validator
from gcnotify.handlers import data_action, intake, notify_state, sender
from gcnotify.messaging.sender import guard_key

SMS = {"order_id": "ORD-1", "tracking_link": "https://t.example.com/1"}


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[NotifyStack]:
    notify_state.reset()
    with notify_stack(tmp_path, visibility=5) as running:
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
            monkeypatch.setenv(key, running.environ[key])
        yield running
    notify_state.reset()


def day() -> str:
    return zone_at(datetime.now(UTC), range(10, 19))


def sms(key: str, to: str = "+13175550111", **changes: Any) -> dict[str, Any]:
    return {
        "template": "order-shipped",
        "to": to,
        "key": key,
        "variables": SMS,
        "timezone": day(),
        **changes,
    }


def submit(stack: NotifyStack, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    answer = intake.handle(http_event("/", request), environ=stack.environ)
    return answer["statusCode"], json.loads(answer["body"])


def drain(stack: NotifyStack, *, timeout: float = 20, **kwargs: Any) -> Any:
    mapping = EventSourceMapping(
        stack.sqs,
        stack.outbox_url,
        lambda event, context: sender.handle_batch(
            event, environ=stack.environ, deadline=notify_state.deadline_of(context), **kwargs
        ),
        function_timeout=5,
    )
    return mapping.drain(idle_for=0.3, timeout=timeout)


def deliver_once(stack: NotifyStack, receives: int = 1, **kwargs: Any) -> dict[str, Any]:
    """One outbox message, delivered to the sender as Lambda would (for a fixed clock)."""
    (message,) = stack.sqs.receive_message(QueueUrl=stack.outbox_url)["Messages"]
    event = {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {"ApproximateReceiveCount": str(receives)},
                "eventSource": "aws:sqs",
            }
        ]
    }
    answer: dict[str, Any] = sender.handle_batch(event, environ=stack.environ, **kwargs)
    if not answer["batchItemFailures"]:
        stack.sqs.delete_message(QueueUrl=stack.outbox_url, ReceiptHandle=message["ReceiptHandle"])
    return answer


def record(stack: NotifyStack, key: str) -> Any:
    return notify_state.state(stack.environ).store.get(key)


def sends_to(stack: NotifyStack) -> Counter[str]:
    return Counter(str(m["to"]) for m in stack.genesys.messaging.sent)


def test_every_channel_is_sent_once_with_schema_valid_bodies(stack: NotifyStack) -> None:
    requests = [
        sms("k-sms"),
        {
            "template": "chat-followup",
            "to": "jane@example.com",
            "key": "k-email",
            "variables": {"name": "Jane", "brand": "Example"},
            "timezone": day(),
        },
        {
            "template": "case-update",
            "key": "k-web",
            "external_contact_id": "3f1b6a52-9c1d-4e0f-8a7b-2c3d4e5f6a7b",
            "variables": {"case": "C-1"},
            "timezone": day(),
        },
        {
            "template": "shipping-whatsapp",
            "to": "+13175550112",
            "key": "k-wa",
            "variables": {"order_id": "ORD-1"},
            "timezone": day(),
        },
    ]
    for request in requests:
        assert submit(stack, request)[0] == 202
    drain(stack)
    for request in requests:
        found = record(stack, request["key"])
        assert found.status == "sent", (request["key"], found.history)
        assert found.fields["message_id"]
    validator = load_schema_validator("genesys-agentless-message")
    bodies = [m["body"] for m in stack.genesys.messaging.sent]
    assert len(bodies) == 3
    for body in bodies:
        assert not list(validator.iter_errors(body))
    whatsapp = next(b for b in bodies if b["toAddressMessengerType"] == "whatsapp")
    assert whatsapp["toAddress"] == "13175550112"
    assert whatsapp["messagingTemplate"]["bodyParameters"] == [{"id": "order_id", "value": "ORD-1"}]
    web = next(b for b in bodies if b["toAddressMessengerType"] == "webmessaging")
    assert "toAddress" not in web
    assert web["externalContactId"] == "3f1b6a52-9c1d-4e0f-8a7b-2c3d4e5f6a7b"
    (mail,) = stack.sendgrid.messages
    assert mail.body["custom_args"]["gcnotify_key"] == "k-email"
    conversation = record(stack, "k-sms").fields["conversation_id"]
    assert conversation in {m["conversation_id"] for m in stack.genesys.messaging.sent}


def test_the_same_key_submitted_concurrently_sends_one_message(stack: NotifyStack) -> None:
    answers: list[int] = []
    barrier = threading.Barrier(8)

    def post() -> None:
        barrier.wait()
        answers.append(submit(stack, sms("same-key"))[0])

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers).count(202) == 1
    # Queued twice more by hand: SQS may deliver a message more than once.
    outbox = notify_state.state(stack.environ).outbox
    outbox.enqueue("same-key")
    outbox.enqueue("same-key")
    drain(stack)
    assert sends_to(stack)["+13175550111"] == 1
    assert record(stack, "same-key").status == "sent"


def test_a_lost_genesys_answer_is_unknown_and_never_sent_again(stack: NotifyStack) -> None:
    stack.genesys.messaging.lose_next(1)
    submit(stack, sms("lost"))
    drain(stack)
    assert len(stack.genesys.messaging.sent) == 1  # it did reach Genesys
    assert record(stack, "lost").status == "unknown"
    notify_state.state(stack.environ).outbox.enqueue("lost")  # a redelivery
    drain(stack)
    assert len(stack.genesys.messaging.sent) == 1
    ledger = notify_state.state(stack.environ).ledger.lookup(guard_key("lost"))
    assert ledger is not None
    assert ledger.status == "unknown"


def test_a_429_storm_sends_everything_once(stack: NotifyStack) -> None:
    stack.genesys.messaging.throttle(8, retry_after=1)
    numbers = [f"+1317555{i:04d}" for i in range(200, 204)]
    for i, number in enumerate(numbers):
        submit(stack, sms(f"storm-{i}", to=number))
    drain(stack, timeout=40)
    assert sends_to(stack) == Counter(dict.fromkeys(numbers, 1))
    for i in range(len(numbers)):
        assert record(stack, f"storm-{i}").status == "sent"


def test_a_crash_between_claim_and_send_is_unknown_once_the_lease_ends(
    stack: NotifyStack,
) -> None:
    submit(stack, sms("crashed"))
    state = notify_state.state(stack.environ)
    now = datetime.now(UTC)
    state.store.transition("crashed", ("accepted",), "sending", now)
    state.ledger.claim(
        guard_key("crashed"), owner="dead", now=now - timedelta(minutes=20), lease_until=now
    )
    drain(stack)
    assert stack.genesys.messaging.sent == []
    found = record(stack, "crashed")
    assert found.status == "unknown"
    assert "may have gone out" in found.history[-1].detail


def test_a_live_claim_by_another_worker_is_left_to_it(stack: NotifyStack) -> None:
    submit(stack, sms("held"))
    state = notify_state.state(stack.environ)
    now = datetime.now(UTC)
    state.store.transition("held", ("accepted",), "sending", now)
    state.ledger.claim(
        guard_key("held"), owner="other", now=now, lease_until=now + timedelta(minutes=5)
    )
    (message,) = stack.sqs.receive_message(QueueUrl=stack.outbox_url)["Messages"]
    event = {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {"ApproximateReceiveCount": "1"},
            }
        ]
    }
    answer = sender.handle_batch(event, environ=stack.environ)
    assert answer == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
    assert stack.genesys.messaging.sent == []
    assert record(stack, "held").status == "sending"


def test_quiet_hours_defer_to_the_opening_across_a_dst_change(stack: NotifyStack) -> None:
    """On 2026-11-01 New York falls back at 02:00: 08:00 is 13:00 UTC that day, not 12:00."""
    submit(stack, sms("dst", timezone="America/New_York"))
    night = datetime(2026, 11, 1, 5, 0, tzinfo=UTC)  # 01:00 EDT, before the change
    state = notify_state.state(stack.environ)
    # The request was taken now; read it as if it had been taken that night.
    deliver_once(stack, now=lambda: night)
    found = record(stack, "dst")
    assert found.status == "deferred"
    assert found.fields["deferred_until"] == "2026-11-01T13:00:00+00:00"
    assert stack.genesys.messaging.sent == []
    attributes = stack.sqs.get_queue_attributes(
        QueueUrl=stack.outbox_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"  # re-queued, not dropped
    assert state.outbox.calls >= 2


def test_a_number_whose_zone_cannot_be_derived_uses_the_default_zone(
    stack: NotifyStack,
) -> None:
    # An international freephone number: phonenumbers places it in no zone.
    request = sms("freephone", to="+80012345678")
    del request["timezone"]
    submit(stack, request)
    at_3am_new_york = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    deliver_once(stack, now=lambda: at_3am_new_york)
    found = record(stack, "freephone")
    assert found.status == "deferred"
    assert "America/New_York" in found.history[-1].detail


def test_suppressed_and_permanent_failures_end_final_with_their_reason(
    stack: NotifyStack,
) -> None:
    headers = {"x-gcnotify-secret": stack.shared_secret}
    stop = {"address": "+1 (317) 555-0120", "keyword": "stop", "channel": "sms"}
    answer = data_action.handle(http_event("/opt-out", stop, headers), environ=stack.environ)
    assert json.loads(answer["body"])["status"] == "suppressed"
    stack.genesys.messaging.refuse("+13175550121", "InvalidDestination")
    submit(stack, sms("to-stopped", to="+13175550120"))
    submit(stack, sms("to-invalid", to="+13175550121"))
    drain(stack)
    stopped = record(stack, "to-stopped")
    assert stopped.status == "suppressed"
    assert "replied STOP" in stopped.history[-1].detail
    invalid = record(stack, "to-invalid")
    assert invalid.status == "failed_permanent"
    assert invalid.fields["error_code"] == "InvalidDestination"
    assert sends_to(stack)["+13175550120"] == 0
    # An invalid destination is suppressed for later sends, with where that came from.
    entry = notify_state.state(stack.environ).suppression.check("sms", "+13175550121")
    assert entry is not None
    assert "InvalidDestination" in entry.reason
    assert entry.source == "send:to-invalid"


def test_start_lifts_the_suppression(stack: NotifyStack) -> None:
    headers = {"x-gcnotify-secret": stack.shared_secret}
    for keyword in ("STOP", "START"):
        body = {"address": "+13175550130", "keyword": keyword, "channel": "sms"}
        data_action.handle(http_event("/opt-out", body, headers), environ=stack.environ)
    submit(stack, sms("after-start", to="+13175550130"))
    drain(stack)
    assert record(stack, "after-start").status == "sent"


def test_the_last_allowed_receive_records_failed_and_goes_to_the_dead_letter_queue(
    stack: NotifyStack,
) -> None:
    submit(stack, sms("gives-up"))
    stack.genesys.fail_next("/api/v2/conversations/messages/agentless", 503, times=50)
    answer = deliver_once(stack, receives=5)  # the queue's maxReceiveCount
    assert len(answer["batchItemFailures"]) == 1
    found = record(stack, "gives-up")
    assert found.status == "failed_permanent"
    assert "gave up after 5 attempts" in found.history[-1].detail
    assert stack.genesys.messaging.sent == []


def test_the_data_action_refuses_a_wrong_or_missing_secret_and_records_nothing(
    stack: NotifyStack,
) -> None:
    for headers in ({}, {"x-gcnotify-secret": "wrong"}, {"x-gcnotify-secret": ""}):
        answer = data_action.handle(
            http_event("/notify", sms("forged"), headers), environ=stack.environ
        )
        assert answer["statusCode"] == 401
    assert record(stack, "forged") is None
    ok = data_action.handle(
        http_event("/notify", sms("genuine"), {"x-gcnotify-secret": stack.shared_secret}),
        environ=stack.environ,
    )
    assert ok["statusCode"] == 202
    assert record(stack, "genuine").status == "accepted"


def test_oversized_and_bad_requests_are_answered_and_queue_nothing(stack: NotifyStack) -> None:
    huge = http_event("/", {"key": "x" * 10, "variables": {"v": "x" * 400_000}})
    assert intake.handle(huge, environ=stack.environ)["statusCode"] == 413
    status, body = submit(stack, sms("bad", to="317-555-0100", colour="red"))
    assert status == 400
    assert {line.split(":")[0] for line in body["problems"]} == {"to", "colour"}
    drain(stack)
    assert stack.genesys.messaging.sent == []


def test_the_intake_queue_path_answers_lambdas_partial_batch_contract(
    stack: NotifyStack,
) -> None:
    queue = stack.sqs.create_queue(QueueName="intake", Attributes={"VisibilityTimeout": "5"})
    url = queue["QueueUrl"]
    stack.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(sms("via-queue")))
    stack.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(sms("bad-one", variables={})))
    answers: list[Any] = []

    def handler(event: dict[str, Any], context: object) -> Any:
        answers.append(intake.handle(event, environ=stack.environ))
        return answers[-1]

    EventSourceMapping(stack.sqs, url, handler, function_timeout=5).drain(idle_for=0.3, timeout=10)
    assert all(a == {"batchItemFailures": []} for a in answers)  # a rejection is final
    assert record(stack, "via-queue").status == "accepted"
    assert record(stack, "bad-one").status == "rejected"
