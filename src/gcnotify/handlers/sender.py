"""AWS Lambda entry point of the sender: ``gcnotify.handlers.sender.lambda_handler``.

Triggered by the outbox queue (SQS event source, ``ReportBatchItemFailures``). Each record is one
message key; the answer lists only the records SQS must deliver again (a temporary failure, a
send another worker holds), each made visible again after its backoff. Records that reached a
final status, were re-queued with a delay (quiet hours, pace, 429) or are not ours are done.

Near the invocation's deadline the remaining records are handed back untouched, so a batch never
outlives its Lambda mid-send. Each batch logs one summary line with the count per outcome and
emits the counts as CloudWatch metrics (``MessagesUnknown`` and ``MessagesFailed`` are alarmed).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from gcnotify.core.errors import GcnotifyError
from gcnotify.handlers import notify_state
from gcnotify.runtime.log import quiet_sdk_loggers
from gcnotify.runtime.redact import RedactingFilter

__all__ = ["handle_batch", "lambda_handler"]

logger = logging.getLogger("gcnotify")
quiet_sdk_loggers()
if not any(isinstance(f, RedactingFilter) for f in logger.filters):
    logger.addFilter(RedactingFilter())

_STOP_BEFORE_DEADLINE = timedelta(seconds=10)  # a send and its records fit well inside this


def _receive_count(record: Mapping[str, Any]) -> int:
    attributes = record.get("attributes")
    raw = attributes.get("ApproximateReceiveCount") if isinstance(attributes, Mapping) else None
    return int(raw) if isinstance(raw, str) and raw.isdigit() else 1


def handle_batch(
    event: Mapping[str, Any],
    *,
    deadline: datetime | None = None,
    environ: Mapping[str, str] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """One SQS batch through the sender; returns Lambda's partial-batch answer."""
    from gcnotify.aws.once import Once
    from gcnotify.aws.queue import parse_queued
    from gcnotify.messaging.preflight import Preflight
    from gcnotify.messaging.sender import Sender
    from gcnotify.messaging.transport import Transport
    from gcnotify.runtime.metrics import emit

    state = notify_state.state(environ)
    genesys, sendgrid = state.providers()

    def time_left() -> float | None:
        return (deadline - now()).total_seconds() if deadline is not None else None

    genesys.time_left = time_left
    sendgrid.time_left = time_left
    preflight = Preflight(genesys)
    sender = Sender(
        settings=state.messaging,
        store=state.store,
        suppression=state.suppression,
        once=Once(state.ledger, now=now),
        pace=state.pace,
        outbox=state.outbox,
        transport=Transport(state.messaging, genesys=genesys, sendgrid=sendgrid),
        now=now,
        sleep=sleep,
        max_receives=state.settings.outbox_max_receives,
        deadline=lambda: deadline,
        preflight=preflight,
    )
    failures: list[dict[str, str]] = []
    counts: Counter[str] = Counter()
    by_channel: Counter[tuple[str, str]] = Counter()
    records = event.get("Records")
    # Stop early enough for a send and its records; a short function gets a quarter of its time.
    margin = _STOP_BEFORE_DEADLINE
    if deadline is not None:
        margin = min(margin, (deadline - now()) / 4)
    for record in records if isinstance(records, list) else []:
        message_id = str(record.get("messageId", ""))
        if deadline is not None and now() >= deadline - margin:
            failures.append({"itemIdentifier": message_id})
            counts["handed_back"] += 1
            continue
        queued = parse_queued(str(record.get("body", "")))
        if queued is None:
            logger.warning(
                "outbox message is not a gcnotify key; dropped", extra={"id": message_id}
            )
            counts["not_ours"] += 1
            continue
        try:
            step = sender.process(queued, receive_count=_receive_count(record))
        except GcnotifyError as exc:  # a table or queue could not be used: nothing was sent
            logger.error("message not processed", extra={"key": queued.key, "error": str(exc)})
            failures.append({"itemIdentifier": message_id})
            counts["error"] += 1
            continue
        counts[step.kind] += 1
        by_channel[(step.channel, step.kind)] += 1
        if step.kind in ("unknown", "failed_permanent"):
            logger.error(step.kind, extra={"key": step.key, "detail": step.detail})
        if step.retry_in is not None:
            failures.append({"itemIdentifier": message_id})
            handle = record.get("receiptHandle")
            if isinstance(handle, str):
                try:
                    state.outbox.retry_in(handle, step.retry_in)
                except GcnotifyError as exc:  # the queue's own visibility timeout applies
                    logger.warning("backoff not set", extra={"key": step.key, "error": str(exc)})
    summary = dict(sorted(counts.items()))
    if preflight.failed:
        summary["preflight_failed"] = len(preflight.failed)
        for why in preflight.failed.values():
            logger.error("template pre-flight failed", extra={"detail": why})
    logger.info("sender batch", extra={"counts": summary, "retried": len(failures)})
    for channel in sorted({c for c, _ in by_channel}):
        emit(
            {
                "MessagesSent": by_channel[(channel, "sent")],
                "MessagesUnknown": by_channel[(channel, "unknown")],
                "MessagesFailed": by_channel[(channel, "failed_permanent")],
                "MessagesDeferred": by_channel[(channel, "deferred")],
                "MessagesSuppressed": by_channel[(channel, "suppressed")],
            },
            dimensions={"Channel": channel},
        )
    # Totals without a dimension, as the alarms read them.
    emit(
        {
            "MessagesUnknown": counts["unknown"],
            "MessagesFailed": counts["failed_permanent"],
            "TemplatePreflightFailed": summary.get("preflight_failed", 0),
        }
    )
    return {"batchItemFailures": failures}


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Lambda entry point."""
    return handle_batch(event, deadline=notify_state.deadline_of(context))
