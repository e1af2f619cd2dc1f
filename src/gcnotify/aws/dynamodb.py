"""What the DynamoDB seams share: the client and table, a call counter, one consistent read of
one item or of many (BatchGetItem), and one mapping of any failure of the AWS SDK or below it (a
closed connection included) to the seam's own error."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from gcnotify.core.errors import GcnotifyError
from gcnotify.core.retry import RetryPolicy

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import KeysAndAttributesTypeDef

__all__ = ["BATCH_GET_KEYS", "BATCH_RETRY", "DynamoTable", "error_code"]

BATCH_GET_KEYS = 100  # DynamoDB's most keys in one BatchGetItem
# Keys DynamoDB leaves unprocessed (throttled, or past its 16 MB answer) are asked again after a
# jittered backoff: about 10 s of waiting at most, so a throttled table fails the run, not the
# Lambda's timeout.
BATCH_RETRY = RetryPolicy(max_attempts=8, max_total_seconds=20.0, base_delay=0.1, max_delay=5.0)


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ClientError, else the exception's class name."""
    response = getattr(exc, "response", None)
    error = response.get("Error") if isinstance(response, Mapping) else None
    code = error.get("Code") if isinstance(error, Mapping) else None
    return str(code) if code else type(exc).__name__


class DynamoTable:
    """One DynamoDB table behind one seam; subclasses say what it is for and how to fix it."""

    error_class: ClassVar[type[GcnotifyError]] = GcnotifyError
    what: ClassVar[str] = "table"  # e.g. "send ledger"
    env_var: ClassVar[str] = ""  # the variable naming the table
    actions: ClassVar[str] = "GetItem/PutItem/UpdateItem"  # what the function must be allowed

    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        *,
        batch_retry: RetryPolicy = BATCH_RETRY,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self.table = table
        self.calls = 0
        self._batch_retry = batch_retry
        self._sleep = sleep
        self._clock = clock

    def _get_item(self, key: str) -> dict[str, Any] | None:
        """The item at ``pk`` = ``key``, read consistently (a claim just written is seen)."""
        self.calls += 1
        try:
            response = self._client.get_item(
                TableName=self.table, Key={"pk": {"S": key}}, ConsistentRead=True
            )
        except Exception as exc:
            raise self._error("be read", exc) from None
        item = response.get("Item")
        return dict(item) if item else None

    def _put_new(self, item: Mapping[str, Any], action: str) -> bool:
        """Write ``item`` unless an item with its ``pk`` exists (a conditional PutItem): False
        then, True when written; any other failure is the seam's error, saying what ``action``
        could not be done."""
        self.calls += 1
        try:
            self._client.put_item(
                TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise self._error(action, exc) from None
        return True

    def _batch_get(
        self, keys: Iterable[str], projection: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """The items that exist at these ``pk`` values, by ``pk``, read as ``_get_item`` reads
        (consistently), ``BATCH_GET_KEYS`` a call instead of one call each.

        Only ``projection``'s attributes (and ``pk``) come back. A repeated key is asked once
        (DynamoDB refuses a batch with duplicates).
        """
        unique = list(dict.fromkeys(keys))
        wanted = dict.fromkeys(["pk", *projection])
        names = {f"#a{i}": name for i, name in enumerate(wanted)}
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(unique), BATCH_GET_KEYS):
            request: KeysAndAttributesTypeDef = {
                "Keys": [{"pk": {"S": key}} for key in unique[start : start + BATCH_GET_KEYS]],
                "ConsistentRead": True,
                "ProjectionExpression": ", ".join(names),
                "ExpressionAttributeNames": names,
            }
            found |= self._batch_get_all(request)
        return found

    def _batch_get_all(self, request: KeysAndAttributesTypeDef) -> dict[str, dict[str, Any]]:
        """One batch of keys, with what DynamoDB left unprocessed asked again after a backoff."""
        policy = self._batch_retry
        asked = len(request["Keys"])
        started = self._clock()
        found: dict[str, dict[str, Any]] = {}
        attempt = 0
        while True:
            attempt += 1
            self.calls += 1
            try:
                response: Any = self._client.batch_get_item(RequestItems={self.table: request})
            except Exception as exc:
                raise self._error("be read in a batch", exc) from None
            for item in response.get("Responses", {}).get(self.table, []):
                pk = item.get("pk", {}).get("S") if isinstance(item, dict) else None
                if isinstance(pk, str):
                    found[pk] = dict(item)
            left = response.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys") or []
            if not left:
                return found
            delay = policy.backoff(attempt, None, random.random)
            spent = self._clock() - started
            if attempt >= policy.max_attempts or spent + delay > policy.max_total_seconds:
                raise self.error_class(
                    f"{self.what} (DynamoDB table {self.table!r}) left {len(left)} of {asked} "
                    f"keys unread after {attempt} BatchGetItem tries in {spent:.1f} s: the table "
                    "is throttled; run again later, or raise the table's read capacity"
                )
            self._sleep(delay)
            request = {**request, "Keys": left}

    def _error(self, action: str, exc: BaseException) -> GcnotifyError:
        return self.error_class(
            f"{self.what} (DynamoDB table {self.table!r}) could not {action} "
            f"({error_code(exc)}); check the table exists ({self.env_var}), the function may "
            f"{self.actions} on it, and DynamoDB is reachable"
        )
