"""AWS Lambda entry point of the intake: ``gcnotify.handlers.intake.lambda_handler``.

Two triggers, one path (``gcnotify.messaging.intake.take``):

- the intake queue (SQS, ``ReportBatchItemFailures``): applications in AWS send a request as a
  message; a rejected request is final (logged with every problem, recorded under its key) and
  is not retried; only a request whose table or queue write failed is handed back to SQS;
- the function URL (``AuthType: AWS_IAM``, so AWS has checked the caller's signature): POST a
  request, answered 202 accepted, 200 duplicate, 400 rejected (every problem listed), 413 too
  large.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from gcnotify.core.errors import GcnotifyError
from gcnotify.handlers import notify_state
from gcnotify.handlers.http_event import HttpRequest, answer, is_http_event, read_http
from gcnotify.runtime.log import quiet_sdk_loggers
from gcnotify.runtime.redact import RedactingFilter

__all__ = ["STATUS_CODES", "handle", "lambda_handler"]

logger = logging.getLogger("gcnotify")
quiet_sdk_loggers()
if not any(isinstance(f, RedactingFilter) for f in logger.filters):
    logger.addFilter(RedactingFilter())

STATUS_CODES = {"accepted": 202, "duplicate": 200, "rejected": 400}


def take_one(
    body: str | bytes, *, source: str, environ: Mapping[str, str] | None, now: datetime
) -> Any:
    from gcnotify.messaging.intake import take

    state = notify_state.state(environ)
    return take(
        body,
        settings=state.messaging,
        store=state.store,
        outbox=state.outbox,
        now=now,
        source=source,
    )


def handle(
    event: Mapping[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> dict[str, Any]:
    """An SQS batch or a function URL request."""
    if is_http_event(event):
        request = read_http(event)
        if not isinstance(request, HttpRequest):
            return request
        if request.method != "POST":
            return answer(405, {"status": "rejected", "problems": ["POST a request"]})
        try:
            outcome = take_one(request.body, source="function-url", environ=environ, now=now())
        except GcnotifyError as exc:
            logger.error("request not taken", extra={"error": str(exc)})
            return answer(503, {"status": "error", "problems": ["not taken; retry"]})
        return answer(STATUS_CODES[outcome.status], outcome.answer())
    failures: list[dict[str, str]] = []
    counts: Counter[str] = Counter()
    records = event.get("Records")
    for record in records if isinstance(records, list) else []:
        message_id = str(record.get("messageId", ""))
        try:
            outcome = take_one(
                str(record.get("body", "")), source="intake-queue", environ=environ, now=now()
            )
        except GcnotifyError as exc:
            logger.error("request not taken", extra={"id": message_id, "error": str(exc)})
            failures.append({"itemIdentifier": message_id})
            counts["error"] += 1
            continue
        counts[outcome.status] += 1
        if outcome.status == "rejected":
            logger.warning(
                "request rejected",
                extra={"id": message_id, "key": outcome.key, "problems": list(outcome.problems)},
            )
    logger.info("intake batch", extra={"counts": dict(sorted(counts.items()))})
    return {"batchItemFailures": failures}


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Lambda entry point."""
    return handle(event)
