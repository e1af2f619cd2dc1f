"""The local SQS event source mapping against moto queues: Lambda's event, its partial batch
response, redelivery after the visibility timeout, redrive, delays and bounded concurrency."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from gcnotify.devserver.esm import (
    EventSourceMapping,
    LambdaContext,
    ResponseVerdict,
    judge_response,
)
from tests.support import FakeClock

DEADLINE = 10.0  # seconds any drain here may take before the test fails


@pytest.fixture(scope="module")
def sqs() -> Iterator[Any]:
    """An SQS client on in-process moto, one for the module (each test makes its own queues)."""
    with mock_aws():
        yield boto3.client(
            "sqs",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


def make_queue(sqs: Any, name: str = "work", *, dlq_after: int | None = None, **attrs: str) -> str:
    """A fresh queue, 1 s visibility timeout; a dead-letter queue after ``dlq_after`` receives."""
    stem, fifo, _ = name.partition(".fifo")
    name = f"{stem}-{uuid.uuid4().hex[:12]}{fifo}"
    attributes = {"VisibilityTimeout": "1", **attrs}
    if dlq_after is not None:
        dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        dlq_arn = queue_attribute(sqs, dlq, "QueueArn")
        policy = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": dlq_after}
        attributes["RedrivePolicy"] = json.dumps(policy)
    url: str = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url


def queue_attribute(sqs: Any, url: str, name: str) -> str:
    value: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[name])["Attributes"][name]
    return value


def send(sqs: Any, url: str, *bodies: str, **kwargs: Any) -> list[str]:
    return [sqs.send_message(QueueUrl=url, MessageBody=b, **kwargs)["MessageId"] for b in bodies]


class Recorder:
    """A handler that keeps every event (thread-safe) and answers with ``answer(event, call)``."""

    def __init__(self, answer: Any = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.answer = answer

    def __call__(self, event: dict[str, Any], context: LambdaContext) -> object:
        with self.lock:
            self.events.append(event)
            call = len(self.events)
        return self.answer(event, call) if callable(self.answer) else self.answer

    @property
    def records(self) -> list[dict[str, Any]]:
        return [r for e in self.events for r in e["Records"]]

    def receive_counts(self, body: str) -> list[str]:
        return [
            r["attributes"]["ApproximateReceiveCount"] for r in self.records if r["body"] == body
        ]


def drain(mapping: EventSourceMapping, idle_for: float = 0.1) -> None:
    stats = mapping.drain(idle_for=idle_for, timeout=DEADLINE)
    assert stats.drained, stats


# -- the event ----------------------------------------------------------------------------------


def test_a_record_has_exactly_lambdas_shape(sqs: Any) -> None:
    """Every key of Lambda's SQS record; SQS's attributes; message attributes in Lambda's shape."""
    url = make_queue(sqs)
    (message_id,) = send(
        sqs,
        url,
        '{"to": "+15550100100"}',
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "sms"},
            "tries": {"DataType": "Number", "StringValue": "3"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
        },
    )
    handler = Recorder()
    EventSourceMapping(sqs, url, handler, function_timeout=1).poll_once()

    (event,) = handler.events
    assert ["Records"] == list(event)
    (record,) = event["Records"]
    attributes = record.pop("attributes")
    assert {
        "messageId": message_id,
        "receiptHandle": record["receiptHandle"],
        "body": '{"to": "+15550100100"}',
        "messageAttributes": {
            "kind": {
                "stringValue": "sms",
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "String",
            },
            "tries": {
                "stringValue": "3",
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "Number",
            },
            "blob": {
                "binaryValue": "AP8=",
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "Binary",
            },
        },
        "md5OfBody": hashlib.md5(b'{"to": "+15550100100"}', usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_attribute(sqs, url, "QueueArn"),
        "awsRegion": "us-east-1",
    } == record
    assert [
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    ] == list(attributes)
    assert "1" == attributes["ApproximateReceiveCount"]
    assert int(attributes["SentTimestamp"]) <= int(attributes["ApproximateFirstReceiveTimestamp"])
    assert record["receiptHandle"]
    json.dumps(event)  # what Lambda hands over is JSON


def test_a_fifo_record_carries_its_group_and_deduplication_id(sqs: Any) -> None:
    """FIFO messages add MessageGroupId and MessageDeduplicationId to the record's attributes."""
    url = make_queue(sqs, "work.fifo", FifoQueue="true")
    send(sqs, url, "a", MessageGroupId="customer-1", MessageDeduplicationId="key-1")
    handler = Recorder()
    EventSourceMapping(sqs, url, handler, function_timeout=1).poll_once()

    (record,) = handler.records
    assert "customer-1" == record["attributes"]["MessageGroupId"]
    assert "key-1" == record["attributes"]["MessageDeduplicationId"]
    assert record["eventSourceARN"] == queue_attribute(sqs, url, "QueueArn")


def test_the_context_counts_down_from_the_function_timeout(sqs: Any) -> None:
    """The context names the function and tells the time left since the invocation started."""
    url = make_queue(sqs, VisibilityTimeout="5")
    send(sqs, url, "a")
    clock = FakeClock(start=100.0)
    seen: dict[str, Any] = {}

    def handler(event: dict[str, Any], context: LambdaContext) -> None:
        seen["before"] = context.get_remaining_time_in_millis()
        clock.now += 1.25
        seen["after"] = context.get_remaining_time_in_millis()
        seen["context"] = context

    mapping = EventSourceMapping(
        sqs, url, handler, function_timeout=4, function_name="sender", clock=clock
    )
    outcome = mapping.poll_once()

    assert (4000, 2750) == (seen["before"], seen["after"])
    context = seen["context"]
    assert "sender" == context.function_name
    assert "arn:aws:lambda:us-east-1:123456789012:function:sender" == context.invoked_function_arn
    assert "128" == context.memory_limit_in_mb
    assert outcome.request_id == context.aws_request_id
    assert outcome.failure is None


# -- batches ------------------------------------------------------------------------------------


def test_no_batch_holds_more_than_batch_size(sqs: Any) -> None:
    """Seven messages with batch size 3 arrive as batches of at most 3, each message once."""
    url = make_queue(sqs)
    ids = send(sqs, url, *[f"m{n}" for n in range(7)])
    handler = Recorder()
    mapping = EventSourceMapping(sqs, url, handler, batch_size=3, function_timeout=1)
    stats = mapping.drain(idle_for=0.1, timeout=DEADLINE)

    assert stats.drained
    assert all(len(e["Records"]) <= 3 for e in handler.events)
    assert sorted(ids) == sorted(r["messageId"] for r in handler.records)
    assert (7, 7, 3) == (stats.records, stats.succeeded, stats.max_batch_records)


def test_without_a_window_a_batch_is_what_one_receive_returns(sqs: Any) -> None:
    """No batching window: the handler gets what is visible now, however small the batch."""
    url = make_queue(sqs)
    send(sqs, url, "now")
    send(sqs, url, "later", DelaySeconds=1)
    mapping = EventSourceMapping(sqs, url, Recorder(), batch_size=5, function_timeout=1)
    assert 1 == mapping.poll_once().records


def test_the_batching_window_gathers_records_into_one_batch(sqs: Any) -> None:
    """With a window, messages that become visible during it join the batch until it is full."""
    url = make_queue(sqs, VisibilityTimeout="5")
    send(sqs, url, "now")
    send(sqs, url, "later-1", "later-2", "later-3", "later-4", DelaySeconds=1)
    handler = Recorder()
    mapping = EventSourceMapping(
        sqs, url, handler, batch_size=5, batching_window=4, function_timeout=1
    )
    outcome = mapping.poll_once()

    assert 5 == outcome.records
    assert ["later-1", "later-2", "later-3", "later-4", "now"] == sorted(
        r["body"] for r in handler.records
    )


def test_a_full_batch_ends_the_window_early(sqs: Any) -> None:
    """A batch that is full goes at once, without waiting for the rest of the window."""
    url = make_queue(sqs)
    send(sqs, url, "a", "b")
    mapping = EventSourceMapping(
        sqs, url, Recorder(), batch_size=2, batching_window=300, function_timeout=1
    )
    assert 2 == mapping.poll_once().records


# -- the partial batch response -----------------------------------------------------------------


def test_a_reported_failure_is_redelivered_alone(sqs: Any) -> None:
    """Only the listed message comes back, after the visibility timeout, with receive count 2."""
    url = make_queue(sqs)
    _, b_id, _ = send(sqs, url, "a", "b", "c")

    def answer(event: dict[str, Any], call: int) -> dict[str, Any]:
        failed = [r["messageId"] for r in event["Records"] if r["body"] == "b" and call == 1]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}

    handler = Recorder(answer)
    mapping = EventSourceMapping(sqs, url, handler, function_timeout=1)
    stats = mapping.drain(idle_for=0.1, timeout=DEADLINE)

    assert stats.drained
    assert (["1"], ["1", "2"], ["1"]) == tuple(handler.receive_counts(x) for x in "abc")
    assert (1, 3) == (stats.reported_failures, stats.succeeded)
    assert 0 == stats.whole_batch_failures
    assert [b_id] == [r["messageId"] for r in handler.events[-1]["Records"]]


def test_a_handler_exception_fails_the_whole_batch(sqs: Any) -> None:
    """An exception deletes nothing: every message of the batch is delivered again."""
    url = make_queue(sqs)
    send(sqs, url, "a", "b", "c")

    def answer(event: dict[str, Any], call: int) -> None:
        if call == 1:
            raise RuntimeError("provider down")

    handler = Recorder(answer)
    stats = EventSourceMapping(sqs, url, handler, function_timeout=1).drain(
        idle_for=0.1, timeout=DEADLINE
    )

    assert stats.drained
    assert (["1", "2"],) * 3 == tuple(handler.receive_counts(x) for x in "abc")
    assert (1, 1, 3) == (stats.handler_exceptions, stats.whole_batch_failures, stats.succeeded)


@pytest.mark.parametrize(
    ("response", "problem"),
    [
        ({"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]}, "is not a messageId"),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, "no itemIdentifier"),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, "no itemIdentifier"),
        ({"batchItemFailures": [{"messageId": "x"}]}, "no itemIdentifier"),
        ({"batchItemFailures": ["x"]}, "no itemIdentifier"),
        ({"batchItemFailures": "x"}, "not a list"),
        ({"batchItemFailures": [{"itemIdentifier": object()}]}, "does not serialise"),
        (["x"], "not an object"),
    ],
)
def test_an_invalid_response_fails_the_whole_batch(
    sqs: Any, response: object, problem: str
) -> None:
    """An answer Lambda cannot read as a partial batch response keeps every message."""
    url = make_queue(sqs)
    send(sqs, url, "a", "b")
    mapping = EventSourceMapping(sqs, url, Recorder(response), function_timeout=1)
    outcome = mapping.poll_once()

    assert "invalid_response" == outcome.failure
    assert problem in (outcome.reason or "")
    assert ((), 2) == (outcome.deleted, len(outcome.retried))
    assert "2" == queue_attribute(sqs, url, "ApproximateNumberOfMessagesNotVisible")
    assert 1 == mapping.stats.invalid_responses


@pytest.mark.parametrize(
    "response",
    [
        None,
        {},
        {"batchItemFailures": []},
        {"batchItemFailures": None},
        {"statusCode": 200},
    ],
)
def test_a_response_without_failures_deletes_the_batch(sqs: Any, response: object) -> None:
    """Null, empty, or no list: all succeeded, and the queue is empty at once."""
    url = make_queue(sqs)
    send(sqs, url, "a", "b")
    outcome = EventSourceMapping(sqs, url, Recorder(response), function_timeout=1).poll_once()

    assert (None, 2, ()) == (outcome.failure, len(outcome.deleted), outcome.retried)
    assert "0" == queue_attribute(sqs, url, "ApproximateNumberOfMessagesNotVisible")
    assert "0" == queue_attribute(sqs, url, "ApproximateNumberOfMessages")


def test_a_reported_item_is_kept_and_the_others_deleted() -> None:
    """The verdict retries exactly the listed, known message ids."""
    verdict = judge_response(
        {"batchItemFailures": [{"itemIdentifier": "b"}, {"itemIdentifier": "b"}]}, ["a", "b", "c"]
    )
    assert ResponseVerdict(retry=frozenset({"b"})) == verdict


def test_an_invocation_past_the_function_timeout_fails_the_whole_batch(sqs: Any) -> None:
    """A handler that overran its timeout has its batch kept, whatever it answered."""
    url = make_queue(sqs, VisibilityTimeout="2")
    send(sqs, url, "a")
    clock = FakeClock()

    def handler(event: dict[str, Any], context: LambdaContext) -> None:
        clock.now += 2.5

    outcome = EventSourceMapping(sqs, url, handler, function_timeout=2, clock=clock).poll_once()

    assert "timeout" == outcome.failure
    assert () == outcome.deleted
    assert "1" == queue_attribute(sqs, url, "ApproximateNumberOfMessagesNotVisible")


# -- redrive, delays, concurrency, draining -----------------------------------------------------


def test_a_message_past_max_receive_count_moves_to_the_dead_letter_queue(sqs: Any) -> None:
    """Failed on each of its maxReceiveCount receives, the message ends in the DLQ, not again."""
    url = make_queue(sqs, dlq_after=2)
    (message_id,) = send(sqs, url, "poison")
    handler = Recorder(
        lambda event, call: {
            "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]
        }
    )
    stats = EventSourceMapping(sqs, url, handler, function_timeout=1).drain(
        idle_for=0.1, timeout=DEADLINE
    )

    assert stats.drained
    assert ["1", "2"] == handler.receive_counts("poison")
    dlq_arn = json.loads(queue_attribute(sqs, url, "RedrivePolicy"))["deadLetterTargetArn"]
    dlq_url = sqs.get_queue_url(QueueName=dlq_arn.rsplit(":", 1)[1])["QueueUrl"]
    moved = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10)["Messages"]
    assert [(message_id, "poison")] == [(m["MessageId"], m["Body"]) for m in moved]


def test_delay_seconds_holds_a_message_back(sqs: Any) -> None:
    """A delayed message is not delivered early, and drain waits for it instead of stopping."""
    url = make_queue(sqs)
    send(sqs, url, "late", DelaySeconds=1)
    handler = Recorder()
    mapping = EventSourceMapping(sqs, url, handler, function_timeout=1)

    assert 0 == mapping.poll_once().records
    assert "1" == queue_attribute(sqs, url, "ApproximateNumberOfMessagesDelayed")
    drain(mapping)
    (record,) = handler.records
    attributes = record["attributes"]
    waited = int(attributes["ApproximateFirstReceiveTimestamp"]) - int(attributes["SentTimestamp"])
    assert waited >= 1000


def test_at_most_max_concurrency_batches_run_at_once(sqs: Any) -> None:
    """With max_concurrency 2, two handlers run side by side (they meet), and never three."""
    url = make_queue(sqs, VisibilityTimeout="5")
    send(sqs, url, *[f"m{n}" for n in range(12)])
    meet = threading.Barrier(2, timeout=3)
    lock = threading.Lock()
    active = [0, 0]  # now, most

    def handler(event: dict[str, Any], context: LambdaContext) -> None:
        with lock:
            active[0] += 1
            active[1] = max(active[1], active[0])
        try:
            meet.wait()  # breaks (and fails the batch) unless a second handler runs meanwhile
            time.sleep(0.02)
        finally:
            with lock:
                active[0] -= 1

    mapping = EventSourceMapping(sqs, url, handler, batch_size=1, function_timeout=5)
    stats = mapping.drain(idle_for=0.1, timeout=DEADLINE)

    assert stats.drained
    assert 2 == active[1]
    assert (12, 0, 2) == (stats.succeeded, stats.handler_exceptions, stats.max_concurrent)


def test_drain_stops_at_its_timeout_when_the_queue_never_empties(sqs: Any) -> None:
    """A message that always fails, with no DLQ, keeps the queue busy: drain gives up, says so."""
    url = make_queue(sqs)
    send(sqs, url, "poison")

    def answer(event: dict[str, Any], call: int) -> None:
        raise ValueError("bad")

    stats = EventSourceMapping(sqs, url, Recorder(answer), function_timeout=1).drain(
        idle_for=0.1, timeout=0.5
    )
    assert not stats.drained
    assert stats.whole_batch_failures >= 1
    assert stats.seconds >= 0.5


def test_drain_of_an_empty_queue_returns(sqs: Any) -> None:
    """Nothing to deliver: drain ends after idle_for with no invocation."""
    url = make_queue(sqs)
    handler = Recorder()
    stats = EventSourceMapping(sqs, url, handler, function_timeout=1).drain(
        idle_for=0.05, timeout=DEADLINE
    )
    assert stats.drained
    assert (0, []) == (stats.batches, handler.events)


def test_a_drain_may_leave_messages_held_back_on_purpose(sqs: Any) -> None:
    """A delayed message keeps drain running unless it is told not to count such messages."""
    url = make_queue(sqs)
    send(sqs, url, "later", DelaySeconds=60)
    handler = Recorder()
    mapping = EventSourceMapping(sqs, url, handler, function_timeout=1)
    waited = mapping.drain(idle_for=0.05, timeout=0.5)
    assert not waited.drained
    quick = mapping.drain(idle_for=0.05, timeout=DEADLINE, count_delayed=False)
    assert quick.drained
    assert handler.events == []
    assert queue_attribute(sqs, url, "ApproximateNumberOfMessagesDelayed") == "1"


def test_the_background_poller_delivers_until_stopped(sqs: Any) -> None:
    """start() polls on its own thread; stop() lets it finish and returns the counts."""
    url = make_queue(sqs)
    send(sqs, url, *[f"m{n}" for n in range(5)])
    handler = Recorder()
    mapping = EventSourceMapping(sqs, url, handler, batch_size=2, function_timeout=1)
    with mapping:
        with pytest.raises(RuntimeError, match="stop"):
            mapping.poll_once()
        deadline = time.monotonic() + DEADLINE
        while mapping.stats.succeeded < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert 5 == mapping.stats.succeeded
    assert 5 == len(handler.records)


def test_the_background_poller_hands_its_error_to_stop(sqs: Any) -> None:
    """A poll that fails (here: the queue is gone) ends the poller; stop() raises it."""
    url = make_queue(sqs)
    mapping = EventSourceMapping(sqs, url, Recorder(), function_timeout=1)
    sqs.delete_queue(QueueUrl=url)
    mapping.start()
    with pytest.raises(ClientError, match=r"NonExistentQueue|QueueDoesNotExist"):
        mapping.stop()


# -- the checks CreateEventSourceMapping makes --------------------------------------------------


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"batch_size": 11}, "batch_size"),
        ({"batch_size": 0}, "batch_size"),
        ({"max_concurrency": 1}, "max_concurrency"),
        ({"batching_window": 301}, "batching_window"),
        ({"function_timeout": 3}, "visibility timeout of 1 s"),
    ],
)
def test_a_mapping_lambda_would_refuse_is_refused(
    sqs: Any, options: dict[str, Any], problem: str
) -> None:
    """Out-of-range settings, or a function timeout above the visibility timeout, are refused."""
    url = make_queue(sqs)
    settings = {"function_timeout": 1, **options}
    with pytest.raises(ValueError, match=problem):
        EventSourceMapping(sqs, url, Recorder(), **settings)


def test_a_fifo_queue_takes_no_batching_window(sqs: Any) -> None:
    """Lambda supports no batching window on FIFO queues."""
    url = make_queue(sqs, "work.fifo", FifoQueue="true")
    with pytest.raises(ValueError, match="FIFO"):
        EventSourceMapping(sqs, url, Recorder(), batching_window=1, function_timeout=1)
