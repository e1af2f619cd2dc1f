"""Run the configured reports for one invocation: plan, fetch, compute, render, then send.

The order inside one report is the guarantee "never a half report": the mail body is built only
after every Genesys call for the report has succeeded and the email has rendered, and the send is
the last step. One report failing is recorded and the next one runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from gcnotify.core.calendar import closed_days
from gcnotify.core.errors import (
    AmbiguousSendError,
    GcnotifyError,
    LedgerError,
    SendGridOutcomeUnknownError,
)
from gcnotify.core.model import Config, Recipients, ReportConfig
from gcnotify.core.windows import ReportWindow, Skip, local_date, plan_window
from gcnotify.reports.events import RunRequest
from gcnotify.reports.metrics import build_table, genesys_metrics
from gcnotify.reports.outputs import write_outputs
from gcnotify.reports.query import build_aggregates_query
from gcnotify.runtime.resources import precomputed_holidays
from gcnotify.sendgrid.client import build_mail_body, unique_recipients

if TYPE_CHECKING:
    from gcnotify.aws.ledger import Ledger, LedgerRecord
    from gcnotify.core.mail import RenderedEmail
    from gcnotify.genesys.client import GenesysClient
    from gcnotify.reports.render import Renderer
    from gcnotify.sendgrid.client import SendGridClient

__all__ = ["ReportResult", "Services", "run_report", "run_reports", "send_alerts"]

logger = logging.getLogger("gcnotify")

Status = Literal[
    "sent",
    "no_activity_sent",
    "skipped_empty",
    "skipped_holiday",
    "already_sent",
    "dry_run",
    "failed",
]


@dataclass
class ReportResult:
    """One entry of the invocation summary (SPEC §5)."""

    report: str
    status: Status
    business_date: date | None = None
    window: ReportWindow | None = None
    recipients: int = 0
    sendgrid_message_id: str | None = None
    genesys_api_calls: int = 0
    error: str | None = None
    error_type: str | None = None
    outputs: tuple[str, ...] = ()
    subject: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "report": self.report,
            "business_date": self.business_date.isoformat() if self.business_date else None,
            "window": (
                {"start": self.window.utc_start, "end": self.window.utc_end}
                if self.window
                else None
            ),
            "status": self.status,
            "recipients": self.recipients,
            "sendgrid_message_id": self.sendgrid_message_id,
            "genesys_api_calls": self.genesys_api_calls,
        }
        if self.subject is not None:
            out["subject"] = self.subject
        if self.outputs:
            out["outputs"] = list(self.outputs)
        if self.note is not None:
            out["note"] = self.note
        if self.error is not None:
            out["error"] = self.error
            out["error_type"] = self.error_type
        return out


@dataclass
class Services:
    """The I/O seams and the clock one run uses; built once per cold start by the handler."""

    genesys: GenesysClient
    renderer: Renderer
    sendgrid: SendGridClient | None = None
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    out_dir: Path | None = None
    ledger: Ledger | None = None


# A claim younger than this with no recorded outcome belongs to a run that may still be going
# (Lambda's timeout is 5 minutes in template.yaml); an older one was left by a crash.
CLAIM_LEASE = timedelta(minutes=15)


def _existing_send(record: LedgerRecord, now: datetime, result: ReportResult) -> None:
    """Answer from a ledger record that blocks this send: already sent, or ambiguous."""
    if record.status == "sent":
        result.status = "already_sent"
        result.sendgrid_message_id = record.message_id or None
        result.note = f"sent at {record.sent_at}; use force to send again"
        return
    claimed = datetime.fromisoformat(record.claimed_at) if record.claimed_at else None
    if record.error is None and claimed is not None and now - claimed < CLAIM_LEASE:
        result.status = "already_sent"
        result.note = f"another invocation claimed this send at {record.claimed_at}"
        return
    why = f" ({record.error})" if record.error else " and did not finish"
    raise AmbiguousSendError(
        f"an earlier attempt claimed this send at {record.claimed_at}{why}; SendGrid may have "
        f"accepted it, so it is not re-sent automatically. Check SendGrid Email Activity for "
        f"gcnotify_report_id={record.report_id} gcnotify_business_date={record.business_date}; "
        'if it was not delivered, re-run with force (event "force": true, or gcnotify run '
        "--force)"
    )


def _run_day(report: ReportConfig, request: RunRequest, now: datetime) -> tuple[date, bool]:
    """The run's local date R in the report's zone, and whether the user chose the date."""
    if request.report_date is not None:
        return request.report_date + timedelta(days=1), True
    instant = request.scheduled_time or now
    return local_date(instant, report.timezone), False


def run_report(
    config: Config, report: ReportConfig, request: RunRequest, services: Services
) -> ReportResult:
    """Produce and send one report; every failure becomes a ``failed`` result, never a raise."""
    calls_before = services.genesys.calls
    result = ReportResult(report=report.id, status="failed")
    try:
        _produce(config, report, request, services, result)
    except GcnotifyError as exc:
        result.status = "failed"
        result.error = str(exc)
        result.error_type = type(exc).__name__
    except Exception as exc:  # a bug must not stop the other reports; it is still reported
        logger.exception("unexpected error in report %s", report.id)
        result.status = "failed"
        result.error = f"unexpected {type(exc).__name__}; see the function's logs"
        result.error_type = type(exc).__name__
    result.genesys_api_calls = services.genesys.calls - calls_before
    return result


def _produce(
    config: Config,
    report: ReportConfig,
    request: RunRequest,
    services: Services,
    result: ReportResult,
) -> None:
    run_day, explicit = _run_day(report, request, services.now())
    plan = plan_window(
        report,
        run_day,
        closed_days(report.holidays, precomputed_holidays()),
        explicit_date=explicit,
    )
    result.business_date = plan.business_date
    if isinstance(plan, Skip):
        result.status = "skipped_holiday"
        result.error = None
        logger.info("report skipped: %s", plan.reason, extra={"report": report.id})
        return
    window = plan
    result.window = window
    ledger = None if request.dry_run else services.ledger
    if ledger is None and not request.dry_run and not request.force:
        raise LedgerError(
            "GCNOTIFY_LEDGER_TABLE is not set, so nothing would stop this run from sending a "
            "report that was already sent. Set it to the stack's LedgerTable output, or use a dry "
            "run, or force to send without the ledger"
        )
    if ledger is not None and not request.force:
        record = ledger.lookup(report.id, window.business_date)
        if record is not None and record.status != "failed":
            _existing_send(record, services.now(), result)
            return

    queues = services.genesys.resolve_queues(report.queues)
    body = build_aggregates_query(
        interval=window.genesys_interval(),
        timezone=report.timezone,
        queue_ids=[q.id for q in queues],
        genesys_metrics=genesys_metrics(report.metrics),
        media_types=report.media_types,
        granularity=report.interval,
    )
    response = services.genesys.query_aggregates(body)
    data_as_of = services.now()
    table = build_table(response, queues, report.metrics, report.timezone, report.interval)

    email: RenderedEmail
    if table.has_data:
        email = services.renderer.render_report(report, window, table, data_as_of=data_as_of)
        sent_status: Status = "sent"
    elif report.on_empty == "skip":
        result.status = "skipped_empty"
        return
    else:
        email = services.renderer.render_no_activity(report, window, data_as_of=data_as_of)
        sent_status = "no_activity_sent"
    result.subject = email.subject

    recipients = unique_recipients(report.recipients)
    result.recipients = len(recipients.to) + len(recipients.cc) + len(recipients.bcc)
    mail_body = build_mail_body(
        email,
        sender=config.sendgrid,
        recipients=recipients,
        custom_args={
            "gcnotify_report_id": report.id,
            "gcnotify_business_date": window.business_date.isoformat(),
        },
        categories=("gcnotify", report.id),
    )

    if services.out_dir is not None:
        stem = f"{report.id}-{window.business_date.isoformat()}"
        result.outputs = tuple(str(p) for p in write_outputs(services.out_dir, stem, mail_body))

    if request.dry_run:
        result.status = "dry_run"
        return
    if services.sendgrid is None:
        raise GcnotifyError("no SendGrid client is configured for a real send")
    if ledger is not None:
        claim = ledger.claim(
            report.id,
            window.business_date,
            now=services.now(),
            owner=request.execution_id or "manual",
            force=request.force,
        )
        if not claim.won:
            if claim.existing is None:  # deleted between the write and the read: be safe
                raise AmbiguousSendError("the send ledger refused the claim; re-run to retry")
            _existing_send(claim.existing, services.now(), result)
            return
    try:
        sent = services.sendgrid.send(mail_body)
    except SendGridOutcomeUnknownError as exc:
        if ledger is not None:
            ledger.note_unknown_outcome(
                report.id, window.business_date, now=services.now(), error=str(exc)
            )
        raise
    except GcnotifyError as exc:
        if ledger is not None:
            ledger.mark_failed(report.id, window.business_date, now=services.now(), error=str(exc))
        raise
    result.sendgrid_message_id = sent.message_id
    result.status = sent_status
    if ledger is not None:
        try:
            ledger.mark_sent(
                report.id,
                window.business_date,
                now=services.now(),
                message_id=sent.message_id,
                recipients=(*recipients.to, *recipients.cc, *recipients.bcc),
                status=sent_status,
            )
        except GcnotifyError as exc:
            # The mail went out; the claim stays in_progress, so no later run re-sends it.
            result.note = f"sent, but the ledger could not record it: {exc}"
            logger.error(result.note, extra={"report": report.id})


# What a person should do next, by error type; the error message itself names the details.
_ACTIONS = {
    "SecretError": "Fix the Secrets Manager secret as described above.",
    "QueueNotFoundError": "Fix reports[].queues in gcnotify.yaml (or use the queue id), "
    "then redeploy.",
    "GenesysAuthError": "Check genesys_client_id/genesys_client_secret in the secret, "
    "genesys.environment in gcnotify.yaml, and that the OAuth client is active.",
    "GenesysPermissionError": "Add the named permission to the OAuth client's role in "
    "Genesys Cloud Admin, then re-run for this date.",
    "SendGridAuthError": "Create a SendGrid API key with Mail Send permission and update "
    "sendgrid_api_key in the secret, then re-run for this date.",
    "SendGridForbiddenError": "Verify the from address as a SendGrid Sender Identity, "
    "then re-run for this date.",
    "AmbiguousSendError": "Check SendGrid Email Activity; re-run with force only if the "
    "report was not delivered.",
    "SendGridOutcomeUnknownError": "Check SendGrid Email Activity; re-run with force only "
    "if the report was not delivered.",
}
_DEFAULT_ACTION = (
    "Lambda retries the run automatically. If it keeps failing, read the error above and the "
    "function's logs, then re-run for this date (gcnotify run --date YYYY-MM-DD)."
)


def _first_alert(result: ReportResult, services: Services) -> bool:
    """False when the ledger shows this failure was already alerted on (a retried run)."""
    if services.ledger is None or result.business_date is None:
        return True
    try:
        return services.ledger.claim_alert(
            result.report,
            result.business_date,
            result.error_type or "unknown",
            now=services.now(),
        )
    except GcnotifyError:
        return True  # better a second alert than none


def send_alerts(config: Config, results: Sequence[ReportResult], services: Services) -> int:
    """Mail ``alerts.to`` one short plain email per failed report; return how many were sent.

    An alert that cannot be sent is logged, not raised: the invocation already fails loudly.
    """
    if not config.alerts.to or services.sendgrid is None:
        return 0
    sent = 0
    for result in results:
        if result.status != "failed":
            continue
        if not _first_alert(result, services):
            logger.info("alert for %s already sent for this failure", result.report)
            continue
        email = services.renderer.render_alert(
            result.report,
            result.business_date,
            result.error or "unknown error",
            _ACTIONS.get(result.error_type or "", _DEFAULT_ACTION),
        )
        body = build_mail_body(
            email,
            sender=config.sendgrid,
            recipients=unique_recipients(Recipients(to=config.alerts.to)),
            custom_args={"gcnotify_report_id": result.report, "gcnotify_alert": "failure"},
            categories=("gcnotify-alert",),
        )
        try:
            services.sendgrid.send(body)
            sent += 1
        except GcnotifyError as exc:
            logger.error("could not send the failure alert for %s: %s", result.report, exc)
    return sent


def run_reports(config: Config, request: RunRequest, services: Services) -> list[ReportResult]:
    """Run every selected report in config order; failures do not stop the others."""
    wanted: Sequence[str] = request.reports or [r.id for r in config.reports]
    services.genesys.clear_queue_cache()
    results = []
    for report in config.reports:
        if report.id not in wanted:
            continue
        result = run_report(config, report, request, services)
        logger.info(
            "report %s: %s",
            report.id,
            result.status,
            extra={
                "report": report.id,
                "business_date": result.business_date.isoformat() if result.business_date else None,
                "status": result.status,
                "genesys_api_calls": result.genesys_api_calls,
                "error": result.error,
            },
        )
        results.append(result)
    return results
