"""What the DynamoDB seams share: the client and table, a call counter, and one mapping of any
failure of the AWS SDK or below it (a closed connection included) to the seam's own error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from gcnotify.core.errors import GcnotifyError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["DynamoTable", "error_code"]


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

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self.table = table
        self.calls = 0

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

    def _error(self, action: str, exc: BaseException) -> GcnotifyError:
        return self.error_class(
            f"{self.what} (DynamoDB table {self.table!r}) could not {action} "
            f"({error_code(exc)}); check the table exists ({self.env_var}), the function may "
            f"{self.actions} on it, and DynamoDB is reachable"
        )
