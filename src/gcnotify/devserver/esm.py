"""A local stand-in for Lambda's SQS event source mapping, so SQS-triggered handlers run on one
machine (tests, the demo, benchmarks) against queues in moto, batch by batch as Lambda feeds them.

What is faithful to Lambda:

- the event: ``{"Records": [...]}``, each record built from ReceiveMessage the way Lambda builds
  it: ``messageId``, ``receiptHandle``, ``body``, ``attributes`` (ApproximateReceiveCount,
  SentTimestamp, SenderId, ApproximateFirstReceiveTimestamp, and for FIFO queues MessageGroupId,
  MessageDeduplicationId, SequenceNumber when SQS returns them), ``messageAttributes`` in
  Lambda's shape (``stringValue``, ``binaryValue`` base64-encoded, ``stringListValues``,
  ``binaryListValues``, ``dataType``), ``md5OfBody``, ``eventSource`` ``"aws:sqs"``,
  ``eventSourceARN`` and ``awsRegion``; a ``LambdaContext`` with the time left;
- the partial batch response (ReportBatchItemFailures on): the messages listed in
  ``batchItemFailures`` stay in the queue and the rest are deleted; ``None``, ``{}``, a missing
  or empty list mean all succeeded. The whole batch fails, nothing deleted, when the handler
  raises, overruns the function timeout, returns what does not serialise to JSON, or lists an
  item whose ``itemIdentifier`` is missing, empty, not a string or not a messageId of the batch;
- visibility is never changed: a message left in the queue reappears when the queue's visibility
  timeout ends and counts one more receive, and SQS itself (moto implements it) moves it to the
  dead-letter queue of the queue's RedrivePolicy once it was received maxReceiveCount times;
  DelaySeconds is SQS's too (moto honours it);
- at most ``max_concurrency`` batches are in the handler at once (ScalingConfig, 2-1000), and a
  batch is received only when a slot is free; ``batching_window`` gathers records until the
  batch is full or the window ends;
- the checks CreateEventSourceMapping makes: batch size 1-10 (the limit without a window), a
  window of 0-300 s and none on a FIFO queue, a function timeout within the visibility timeout.

What is not: Lambda scales its pollers with the backlog and backs off after function errors
(here the concurrency is ``max_concurrency`` from the first poll, and errors never slow it);
Lambda long-polls (here short polls, ``poll_interval`` apart while the queue is empty, so a
serialised moto server is never held by a waiting receive, and no long-poll cost is counted); the
6 MB payload limit, batch sizes above 10, event filtering; a handler past its timeout is not
killed (it finishes, then its batch counts as failed, as Lambda counts a timed-out invocation).

What moto (5.2.5) does differently from SQS: SenderId is one fixed id; a FIFO message carries a
SequenceNumber only when it was sent with an explicit MessageDeduplicationId; and every call walks
the whole queue several times (here a receive of 10 took about 0.1 s with 10 messages queued,
0.25 s with 300 and 7 s with 2,500), so a large run keeps the queue shallow by sending in waves.

moto's SQS model updates a queue's message list without a lock (a delete rebuilds the list and
assigns it back), so calls on one queue from several threads at once can lose an update. A
mapping therefore makes every SQS call from its one polling thread (handlers run on worker
threads). When other threads use the queue while a mapping runs (an intake handler sending to
the sender's queue), serve moto with ``SerializedMotoServer``.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, fields
from types import TracebackType
from typing import Any, Literal, Self, TypeAlias

__all__ = [
    "BatchOutcome",
    "DrainStats",
    "EventSourceMapping",
    "FailureKind",
    "LambdaContext",
    "MappingStats",
    "ResponseVerdict",
    "build_record",
    "judge_response",
]

# boto3's SQS client. Typed Any: the SQS stubs (mypy-boto3-sqs) are not a dev dependency.
SQSClient: TypeAlias = Any
Handler: TypeAlias = Callable[[dict[str, Any], "LambdaContext"], object]
Clock: TypeAlias = Callable[[], float]
FailureKind = Literal["exception", "timeout", "invalid_response"]

_LOG = logging.getLogger(__name__)
# Lambda's order of the system attributes in a record; any other SQS returns follows them.
_ATTRIBUTE_ORDER = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "SenderId",
    "MessageDeduplicationId",
    "ApproximateFirstReceiveTimestamp",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
)
_MAX_BATCH_SIZE = 10
_MAX_BATCHING_WINDOW = 300.0


class LambdaContext:
    """The context Lambda's Python runtime passes a handler: ids, names and the time left.

    ``memory_limit_in_mb`` is a string, as the runtime reads it from its environment.
    """

    def __init__(
        self,
        *,
        aws_request_id: str,
        function_name: str,
        invoked_function_arn: str,
        memory_limit_in_mb: int,
        deadline: float,
        clock: Clock,
    ) -> None:
        self.aws_request_id = aws_request_id
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = invoked_function_arn
        self.memory_limit_in_mb = str(memory_limit_in_mb)
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"local/[$LATEST]{aws_request_id.replace('-', '')}"
        self.identity: object = None
        self.client_context: object = None
        self._deadline = deadline
        self._clock = clock

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds until the function timeout, counted from the invocation's start."""
        return max(0, int((self._deadline - self._clock()) * 1000))


@dataclass(frozen=True)
class BatchOutcome:
    """What one invocation did to its batch: which messages were deleted and which stay.

    ``failure`` is set when the whole batch failed (all its messages stay); messages listed in a
    valid ``batchItemFailures`` stay too but are not a whole-batch failure. ``undeleted`` holds
    the messages SQS refused to delete (they come back like failed ones).
    """

    request_id: str | None
    message_ids: tuple[str, ...]
    deleted: tuple[str, ...] = ()
    retried: tuple[str, ...] = ()
    failure: FailureKind | None = None
    reason: str | None = None
    undeleted: tuple[str, ...] = ()
    error: Exception | None = field(default=None, repr=False, compare=False)

    @property
    def records(self) -> int:
        """How many records the handler was given (0: the queue had nothing to deliver)."""
        return len(self.message_ids)


@dataclass(frozen=True)
class MappingStats:
    """Counts over invocations. A message delivered again counts again in ``records``."""

    batches: int = 0
    records: int = 0
    succeeded: int = 0  # records deleted after their invocation
    reported_failures: int = 0  # records listed in a valid batchItemFailures
    whole_batch_failures: int = 0  # invocations that failed whole (any FailureKind)
    handler_exceptions: int = 0
    timeouts: int = 0
    invalid_responses: int = 0
    delete_failures: int = 0
    max_batch_records: int = 0
    max_concurrent: int = 0  # most invocations seen in the handler at once


@dataclass(frozen=True)
class DrainStats(MappingStats):
    """The counts of one ``drain``; ``drained`` is False when it stopped at its timeout."""

    drained: bool = False
    seconds: float = 0.0


@dataclass(frozen=True)
class ResponseVerdict:
    """A handler's answer read as a partial batch response: what to retry, or why it is invalid."""

    retry: frozenset[str] = frozenset()
    invalid: str | None = None  # set: the whole batch fails


def judge_response(response: object, message_ids: Sequence[str]) -> ResponseVerdict:
    """Read a handler's answer as Lambda reads a partial batch response."""
    try:
        response = json.loads(json.dumps(response))
    except (TypeError, ValueError) as exc:
        return ResponseVerdict(invalid=f"the response does not serialise to JSON ({exc})")
    if response is None:
        return ResponseVerdict()
    if not isinstance(response, dict):
        return ResponseVerdict(
            invalid=f"the response is a JSON {type(response).__name__}, not an object"
        )
    failures = response.get("batchItemFailures")
    if failures is None:
        return ResponseVerdict()
    if not isinstance(failures, list):
        return ResponseVerdict(invalid="batchItemFailures is not a list")
    known = set(message_ids)
    retry: set[str] = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or not identifier:
            return ResponseVerdict(
                invalid=f"a batchItemFailures item has no itemIdentifier: {item!r}"
            )
        if identifier not in known:
            return ResponseVerdict(
                invalid=f"itemIdentifier {identifier!r} is not a messageId of the batch"
            )
        retry.add(identifier)
    return ResponseVerdict(retry=frozenset(retry))


def build_record(message: Mapping[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """One SQS message as ReceiveMessage returned it, as a record of Lambda's SQS event."""
    attributes: Mapping[str, str] = message.get("Attributes", {})
    ordered = {name: attributes[name] for name in _ATTRIBUTE_ORDER if name in attributes}
    ordered.update({k: v for k, v in attributes.items() if k not in ordered})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": ordered,
        "messageAttributes": {
            name: _lambda_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def _lambda_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        out["binaryValue"] = _b64(value["BinaryValue"])
    out["stringListValues"] = list(value.get("StringListValues", []))
    out["binaryListValues"] = [_b64(item) for item in value.get("BinaryListValues", [])]
    out["dataType"] = value["DataType"]
    return out


def _b64(value: bytes | str) -> str:
    raw = value.encode() if isinstance(value, str) else value
    return base64.b64encode(raw).decode("ascii")


@dataclass(frozen=True)
class _Invocation:
    messages: tuple[Mapping[str, Any], ...]
    request_id: str
    response: object
    error: Exception | None
    seconds: float


class _Tally:
    """Mutable counts behind a MappingStats; one for the mapping's life, one per drain."""

    def __init__(self) -> None:
        self.counts = dict.fromkeys((f.name for f in fields(MappingStats)), 0)

    def add(self, outcome: BatchOutcome) -> None:
        c = self.counts
        c["batches"] += 1
        c["records"] += outcome.records
        c["max_batch_records"] = max(c["max_batch_records"], outcome.records)
        c["succeeded"] += len(outcome.deleted)
        c["delete_failures"] += len(outcome.undeleted)
        if outcome.failure is None:
            c["reported_failures"] += len(outcome.retried)
            return
        c["whole_batch_failures"] += 1
        key = {"exception": "handler_exceptions", "timeout": "timeouts"}
        c[key.get(outcome.failure, "invalid_responses")] += 1


class EventSourceMapping:
    """Polls one queue and invokes ``handler`` with batches, as an SQS event source mapping does.

    ``poll_once`` handles one batch on the calling thread; ``drain`` runs the mapping until the
    queue has stayed empty (nothing visible, in flight or delayed) for ``idle_for`` seconds;
    ``start``/``stop`` (or ``with``) run it on a background thread. ``clock`` (monotonic
    seconds) times the invocations, the batching window and ``drain``, so it must advance.
    """

    def __init__(
        self,
        sqs: SQSClient,
        queue_url: str,
        handler: Handler,
        *,
        batch_size: int = 10,
        max_concurrency: int = 2,
        batching_window: float = 0.0,
        function_timeout: float = 3.0,
        function_name: str = "gcnotify-local",
        memory_limit_in_mb: int = 128,
        poll_interval: float = 0.02,
        clock: Clock = time.monotonic,
    ) -> None:
        if not 1 <= batch_size <= _MAX_BATCH_SIZE:
            raise ValueError(f"batch_size {batch_size} is outside 1-{_MAX_BATCH_SIZE}")
        if max_concurrency < 2:
            raise ValueError(f"max_concurrency {max_concurrency} is below 2, Lambda's minimum")
        if not 0 <= batching_window <= _MAX_BATCHING_WINDOW:
            raise ValueError(f"batching_window {batching_window} is outside 0-300 seconds")
        if function_timeout <= 0 or poll_interval <= 0:
            raise ValueError("function_timeout and poll_interval must be positive")
        self._sqs = sqs
        self._queue_url = queue_url
        self._handler = handler
        self._batch_size = batch_size
        self._max_concurrency = max_concurrency
        self._batching_window = batching_window
        self._function_timeout = function_timeout
        self._function_name = function_name
        self._memory = memory_limit_in_mb
        self._poll_interval = poll_interval
        self._clock = clock

        attributes = sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["QueueArn", "VisibilityTimeout", "FifoQueue"]
        )["Attributes"]
        self.queue_arn: str = attributes["QueueArn"]
        _, _, _, self.region, account, _ = self.queue_arn.split(":", 5)
        self.function_arn = f"arn:aws:lambda:{self.region}:{account}:function:{function_name}"
        visibility = int(attributes["VisibilityTimeout"])
        if function_timeout > visibility:
            raise ValueError(
                f"function_timeout {function_timeout} s exceeds the queue's visibility timeout of "
                f"{visibility} s; Lambda refuses this mapping: raise the queue's VisibilityTimeout "
                "or lower function_timeout"
            )
        if batching_window and attributes.get("FifoQueue") == "true":
            raise ValueError("a FIFO queue takes no batching_window; Lambda supports none there")

        self._lock = threading.Lock()
        self._total = _Tally()
        self._tallies: list[_Tally] = [self._total]
        self._in_handler = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    # -- public API -----------------------------------------------------------------------------

    @property
    def stats(self) -> MappingStats:
        """Counts since the mapping was made."""
        with self._lock:
            return MappingStats(**self._total.counts)

    def poll_once(self) -> BatchOutcome:
        """Receive one batch and handle it on this thread; an empty outcome when none came."""
        self._refuse_if_running("poll_once")
        messages = self._receive_batch(lambda: None)
        if not messages:
            return BatchOutcome(request_id=None, message_ids=())
        return self._settle(self._invoke(messages))

    def drain(self, *, idle_for: float, timeout: float, count_delayed: bool = True) -> DrainStats:
        """Run until the queue stayed empty for ``idle_for`` seconds, or ``timeout`` passed.

        Empty means ApproximateNumberOfMessages, …NotVisible and (with ``count_delayed``)
        …Delayed all 0, with no batch in the handler. Without ``count_delayed``, messages held
        back on purpose (a deferral, a re-queue for later) do not keep the drain running.
        Batches still in the handler at the timeout finish and are settled.
        """
        self._refuse_if_running("drain")
        tally = _Tally()
        start = self._clock()
        empty_since: float | None = None
        drained = False

        def idle() -> bool:
            nonlocal empty_since, drained
            now = self._clock()
            if not self._queue_is_empty(count_delayed=count_delayed):
                empty_since = None
                return False
            empty_since = now if empty_since is None else empty_since
            drained = now - empty_since >= idle_for
            return drained

        with self._lock:
            self._tallies.append(tally)
        try:
            self._loop(stop=lambda: self._clock() - start >= timeout, idle=idle)
        finally:
            with self._lock:
                self._tallies.remove(tally)
        return DrainStats(**tally.counts, drained=drained, seconds=self._clock() - start)

    def start(self) -> None:
        """Poll on a background thread until ``stop``."""
        self._refuse_if_running("start")
        self._stop.clear()
        self._error = None
        self._thread = threading.Thread(target=self._background, name="esm-poller", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> MappingStats:
        """Stop polling; batches in the handler finish and are settled. Re-raises a poll error."""
        if self._thread is None:
            return self.stats
        self._stop.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"the poller did not stop within {timeout} s: a handler still runs")
        self._thread = None
        self._stop.clear()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return self.stats

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- the poller -----------------------------------------------------------------------------

    def _refuse_if_running(self, what: str) -> None:
        if self._thread is not None:
            raise RuntimeError(f"{what}() while the mapping polls in the background: stop() first")

    def _background(self) -> None:
        try:
            self._loop(stop=self._stop.is_set, idle=None)
        except BaseException as exc:  # handed to stop(), which re-raises it
            self._error = exc

    def _loop(self, *, stop: Callable[[], bool], idle: Callable[[], bool] | None) -> None:
        """Receive while a slot is free, settle finished batches; every SQS call on this thread."""
        running: set[Future[_Invocation]] = set()
        pool = ThreadPoolExecutor(self._max_concurrency, thread_name_prefix="esm-handler")
        try:
            while not stop():
                self._settle_done(running)
                if len(running) < self._max_concurrency:
                    messages = self._receive_batch(lambda: self._settle_done(running))
                    if messages:
                        running.add(pool.submit(self._invoke, messages))
                        continue
                if not running and idle is not None and idle():
                    return
                if running:
                    wait(running, timeout=self._poll_interval, return_when=FIRST_COMPLETED)
                else:
                    self._stop.wait(self._poll_interval)
        finally:
            wait(running)
            pool.shutdown()
            self._settle_done(running)

    def _receive_batch(self, between: Callable[[], None]) -> tuple[Mapping[str, Any], ...]:
        """One batch: one receive, or receives until full or the batching window ends."""
        messages: list[Mapping[str, Any]] = []
        window_end = self._clock() + self._batching_window
        while True:
            answer = self._sqs.receive_message(
                QueueUrl=self._queue_url,
                MaxNumberOfMessages=self._batch_size - len(messages),
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            )
            messages.extend(answer.get("Messages", []))
            left = window_end - self._clock()
            if len(messages) >= self._batch_size or left <= 0:
                return tuple(messages)
            if self._stop.is_set():
                return tuple(messages)
            between()
            self._stop.wait(min(self._poll_interval, left))

    def _queue_is_empty(self, *, count_delayed: bool = True) -> bool:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        if count_delayed:
            names.append("ApproximateNumberOfMessagesDelayed")
        attributes = self._sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=names)
        return all(int(attributes["Attributes"].get(name, "0")) == 0 for name in names)

    def _invoke(self, messages: tuple[Mapping[str, Any], ...]) -> _Invocation:
        """Call the handler once (on a worker thread); never raises."""
        request_id = str(uuid.uuid4())
        event = {
            "Records": [
                build_record(m, queue_arn=self.queue_arn, region=self.region) for m in messages
            ]
        }
        start = self._clock()
        context = LambdaContext(
            aws_request_id=request_id,
            function_name=self._function_name,
            invoked_function_arn=self.function_arn,
            memory_limit_in_mb=self._memory,
            deadline=start + self._function_timeout,
            clock=self._clock,
        )
        with self._lock:
            self._in_handler += 1
            for tally in self._tallies:
                tally.counts["max_concurrent"] = max(
                    tally.counts["max_concurrent"], self._in_handler
                )
        response: object = None
        error: Exception | None = None
        try:
            response = self._handler(event, context)
        except Exception as exc:  # Lambda records a function error; the batch fails whole
            error = exc
        finally:
            with self._lock:
                self._in_handler -= 1
        return _Invocation(messages, request_id, response, error, self._clock() - start)

    def _settle_done(self, running: set[Future[_Invocation]]) -> None:
        for future in [f for f in running if f.done()]:
            running.discard(future)
            self._settle(future.result())

    def _settle(self, invocation: _Invocation) -> BatchOutcome:
        """Delete what succeeded, as Lambda does after an invocation; the rest stays."""
        ids = tuple(m["MessageId"] for m in invocation.messages)
        failure: FailureKind | None = None
        reason: str | None = None
        retry: frozenset[str] = frozenset()
        if invocation.seconds > self._function_timeout:
            failure = "timeout"
            reason = (
                f"the invocation ran {invocation.seconds:.3f} s, past the function timeout of "
                f"{self._function_timeout} s"
            )
        elif invocation.error is not None:
            failure = "exception"
            reason = f"the handler raised {type(invocation.error).__name__}: {invocation.error}"
        else:
            verdict = judge_response(invocation.response, ids)
            if verdict.invalid is not None:
                failure, reason = "invalid_response", verdict.invalid
            retry = verdict.retry
        if failure is not None:
            retry = frozenset(ids)
            _LOG.warning("a batch of %d records failed whole: %s", len(ids), reason)
        to_delete = [m for m in invocation.messages if m["MessageId"] not in retry]
        undeleted = self._delete(to_delete)
        outcome = BatchOutcome(
            request_id=invocation.request_id,
            message_ids=ids,
            deleted=tuple(m["MessageId"] for m in to_delete if m["MessageId"] not in undeleted),
            retried=tuple(i for i in ids if i in retry),
            failure=failure,
            reason=reason,
            undeleted=undeleted,
            error=invocation.error,
        )
        with self._lock:
            for tally in self._tallies:
                tally.add(outcome)
        return outcome

    def _delete(self, messages: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
        """DeleteMessageBatch; the message ids SQS refused to delete."""
        if not messages:
            return ()
        answer = self._sqs.delete_message_batch(
            QueueUrl=self._queue_url,
            Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)
            ],
        )
        failed = tuple(
            messages[int(entry["Id"])]["MessageId"] for entry in answer.get("Failed", [])
        )
        if failed:
            _LOG.warning(
                "SQS refused to delete %d messages; they will be delivered again", len(failed)
            )
        return failed
