"""Provider event ids seen once: a marker item per event in the ledger table.

SendGrid posts an event again when an answer is lost or late (it retries for 24 hours), so the
webhook claims each ``sg_event_id`` with a conditional PutItem before it acts on it: the first
claim wins, every later one is a duplicate. A marker lives ``TTL`` (3 days, well past SendGrid's
retry window) and then DynamoDB's TTL removes it. Markers share the ledger table's key space
under their own prefix, ``sgevent#<id>``, and hold nothing but the time they were seen.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from gcnotify.aws.dynamodb import DynamoTable, error_code
from gcnotify.core.errors import LedgerError

__all__ = ["PREFIX", "TTL", "EventIds"]

PREFIX = "sgevent#"
TTL = timedelta(days=3)
_KIND = "sendgrid-event"


class EventIds(DynamoTable):
    """The ledger table, seen as a set of event ids; every call is one single-item write."""

    error_class = LedgerError
    what = "send ledger"
    env_var = "GCNOTIFY_LEDGER_TABLE"
    actions = "PutItem/DeleteItem"

    def claim(self, event_id: str, *, now: datetime) -> bool:
        """True the first time ``event_id`` is claimed, False for a duplicate."""
        item = {
            "pk": {"S": PREFIX + event_id},
            "kind": {"S": _KIND},
            "seen_at": {"S": now.isoformat()},
            "expires_at": {"N": str(int((now + TTL).timestamp()))},
        }
        return self._put_new(item, "record the event id")

    def release(self, event_id: str) -> None:
        """Forget a claim whose event could not be applied, so SendGrid's retry applies it.

        Only a marker is ever deleted (the condition checks its kind): never a send record.
        """
        self.calls += 1
        try:
            self._client.delete_item(
                TableName=self.table,
                Key={"pk": {"S": PREFIX + event_id}},
                ConditionExpression="kind = :kind",
                ExpressionAttributeValues={":kind": {"S": _KIND}},
            )
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return
            raise self._error("release the event id", exc) from None
