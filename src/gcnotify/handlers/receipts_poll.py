"""AWS Lambda entry point of the Genesys receipts poller:
``gcnotify.handlers.receipts_poll.lambda_handler``.

EventBridge Scheduler runs it every ``receipts.poll_every`` (``rate(n minutes)`` in
template.yaml); the event's content is not used beyond logging its ``scheduled_time``. Once per
container it loads the config (the ``messaging:`` block and the ``receipts:`` block, validated),
and on first use the messages, suppression and ledger tables, the outbox and the Genesys client
from the credentials secret (``handlers.notify_state``). Each invocation is one poll run
(``receipts.poller.poll``) bounded by the Lambda deadline (``handlers.lambda_context``): calls stop
``DEADLINE_RESERVE`` seconds before it.

It logs one ``receipts poll finished`` line (the result, addresses never in it), emits the counts
as CloudWatch metrics (delivered, read, failed by class, unknown, Genesys calls, the breaker, the
time from send to delivery in milliseconds) and answers the result. A run that Genesys refused
outright (the OAuth client's credentials or permissions) raises ``RunFailedError`` after that,
so the error alarm fires; a tripped breaker does not (Genesys is busy: the next scheduled run
starts fresh, and ``ReceiptsBreakerTripped`` is the metric to alarm on).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from gcnotify.core.errors import ConfigError, RunFailedError
from gcnotify.handlers import notify_state
from gcnotify.handlers.lambda_context import deadline_of
from gcnotify.runtime.log import quiet_sdk_loggers
from gcnotify.runtime.redact import REDACTOR, RedactingFilter

if TYPE_CHECKING:
    from gcnotify.receipts.settings import ReceiptSettings

__all__ = ["emit_metrics", "handle", "lambda_handler", "receipt_settings", "reset"]

logger = logging.getLogger("gcnotify")
quiet_sdk_loggers()
if not any(isinstance(f, RedactingFilter) for f in logger.filters):
    logger.addFilter(RedactingFilter())

_EMF_VALUES_MAX = 100  # values of one metric in one EMF line
_settings: ReceiptSettings | None = None


def reset() -> None:
    """Forget the cached settings and seams (tests; a new container does this)."""
    global _settings  # noqa: PLW0603 - the per-container cache is module state by design
    _settings = None
    notify_state.reset()


def receipt_settings(state: notify_state.NotifyState) -> ReceiptSettings:
    """The ``receipts:`` block, validated once per container (the defaults when it is absent)."""
    global _settings  # noqa: PLW0603
    if _settings is None:
        from gcnotify.receipts.settings import ReceiptSettings, load_receipts

        raw = state.config.blocks.get("receipts")
        source = str(state.settings.config_path)
        if raw is None:
            _settings = ReceiptSettings()
        elif isinstance(raw, ReceiptSettings):
            _settings = raw
        else:
            try:
                _settings = load_receipts(raw, source=source)
            except ConfigError as exc:
                raise ConfigError(exc.problems, source, note="nothing was polled") from None
    return _settings


def _time_left(deadline: datetime | None) -> Callable[[], float | None] | None:
    if deadline is None:
        return None

    def left() -> float | None:
        return (deadline - datetime.now(UTC)).total_seconds()

    return left


def handle(
    event: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    deadline: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """One poll run against this container's seams; the result, masked."""
    from gcnotify.aws.audit import AuditLog
    from gcnotify.core.errors import LedgerError
    from gcnotify.genesys.receipts import ReceiptReader
    from gcnotify.receipts.poller import poll

    state = notify_state.state(environ)
    settings = receipt_settings(state)
    genesys, _ = state.providers()
    ledger = state.ledger
    audit = AuditLog(state.client("dynamodb", LedgerError), ledger.table)
    result = poll(
        store=state.store,
        reader=ReceiptReader(genesys),
        settings=settings,
        suppression=state.suppression,
        outbox=state.outbox,
        audit=audit,
        now=now,
        time_left=_time_left(deadline),
        sleep=sleep,
    )
    summary = result.to_dict()
    scheduled = event.get("scheduled_time") if isinstance(event, Mapping) else None
    if isinstance(scheduled, str):
        summary["scheduled_time"] = scheduled[:64]
    summary = cast("dict[str, Any]", REDACTOR.mask_all(summary))
    level = logging.WARNING if result.stopped in ("breaker", "error") else logging.INFO
    logger.log(level, "receipts poll finished", extra={"summary": summary})
    emit_metrics(summary, result.delivery_ms)
    return summary


def emit_metrics(summary: Mapping[str, Any], delivery_ms: list[int]) -> None:
    """The run's counts as EMF lines: totals, failures by class, and the delivery times."""
    from gcnotify.runtime.metrics import emit

    answered = summary["answered"]
    emit(
        {
            "ReceiptsDelivered": answered["delivered"],
            "ReceiptsRead": answered["read"],
            "ReceiptsFailed": answered["failed_permanent"] + answered["failed_temporary"],
            "ReceiptsUnknown": answered["unknown"] + summary["unknown_after_final_after"],
            "ReceiptsUnknownCodes": summary["unknown_codes"],
            "ReceiptsIgnored": summary["ignored"],
            "ReceiptsRetried": summary["retried"],
            "ReceiptsGenesysCalls": summary["calls"],
            "ReceiptsBreakerTripped": int(summary["breaker"]["tripped"]),
        }
    )
    for cls in ("failed_permanent", "failed_temporary"):
        emit({"ReceiptsFailed": answered[cls]}, dimensions={"Class": cls})
    for start in range(0, len(delivery_ms), _EMF_VALUES_MAX):
        chunk: list[int | float] = list(delivery_ms[start : start + _EMF_VALUES_MAX])
        emit(
            {"ReceiptsTimeToDelivery": chunk},
            units={"ReceiptsTimeToDelivery": "Milliseconds"},
        )


def lambda_handler(event: object, context: object) -> dict[str, Any]:
    """Lambda entry point; raises ``RunFailedError`` when Genesys refused the run outright."""
    summary = handle(event if isinstance(event, Mapping) else None, deadline=deadline_of(context))
    if summary["stopped"] == "error":
        raise RunFailedError(
            f"the receipts poll stopped: {summary['error']} The next scheduled run tries again; "
            "nothing was lost (every message still waiting stays in the awaiting index)."
        )
    return summary
