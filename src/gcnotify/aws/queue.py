"""The outbox queue: the SQS queue between intake and the sender, carrying only message keys.

A queued message is ``{"key": ..., "attempt": n}``; the request itself lives in the messages
table, so a message redelivered, re-queued or duplicated by SQS costs one read and never a
second send (the exactly-once guard decides that). Delays are SQS ``DelaySeconds`` (at most 15
minutes): a message held for longer is re-queued hop by hop, re-checking the policy each time,
instead of sleeping inside a Lambda.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gcnotify.aws.dynamodb import error_code
from gcnotify.core.errors import QueueError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

__all__ = ["MAX_DELAY_SECONDS", "MAX_VISIBILITY_SECONDS", "Outbox", "QueuedKey", "parse_queued"]

MAX_DELAY_SECONDS = 900  # SQS's longest DelaySeconds
MAX_VISIBILITY_SECONDS = 43_200  # SQS's longest visibility timeout (12 hours)


@dataclass(frozen=True)
class QueuedKey:
    """One outbox message: whose request, and how many hops it has made (re-queues)."""

    key: str
    attempt: int = 1


def parse_queued(body: str) -> QueuedKey | None:
    """The key an outbox message carries, or None for a body that is not ours."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    key = data.get("key")
    attempt = data.get("attempt", 1)
    if not isinstance(key, str) or not key:
        return None
    if not isinstance(attempt, int) or isinstance(attempt, bool) or attempt < 1:
        attempt = 1
    return QueuedKey(key, attempt)


class Outbox:
    """Sends keys to the outbox queue; ``calls`` counts SQS calls, every failure is a QueueError."""

    env_var = "GCNOTIFY_OUTBOX_QUEUE_URL"

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self.queue_url = queue_url
        self.calls = 0

    def enqueue(self, key: str, *, delay_seconds: int = 0, attempt: int = 1) -> None:
        """Queue ``key``; ``delay_seconds`` is clamped to what SQS allows."""
        delay = max(0, min(MAX_DELAY_SECONDS, int(delay_seconds)))
        body = json.dumps({"key": key, "attempt": attempt}, separators=(",", ":"))
        self.calls += 1
        try:
            self._client.send_message(QueueUrl=self.queue_url, MessageBody=body, DelaySeconds=delay)
        except Exception as exc:
            raise self._error("take the message", exc) from None

    def retry_in(self, receipt_handle: str, seconds: int) -> None:
        """Make a received message visible again after ``seconds``: its backoff."""
        wait = max(0, min(MAX_VISIBILITY_SECONDS, int(seconds)))
        self.calls += 1
        try:
            self._client.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=wait
            )
        except Exception as exc:
            raise self._error("change a message's visibility", exc) from None

    def _error(self, action: str, exc: BaseException) -> QueueError:
        return QueueError(
            f"the outbox queue ({self.queue_url}) could not {action} ({error_code(exc)}); check "
            f"the queue exists ({self.env_var}), the function may use it, and SQS is reachable"
        )
