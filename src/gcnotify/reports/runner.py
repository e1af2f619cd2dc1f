"""Run the configured reports for one invocation: plan, fetch, compute, render, then send.

The order inside one report is the guarantee "never a half report": the mail body is built only
after every Genesys call for the report has succeeded and the email has rendered, and the send is
the last step. One report failing is recorded and the next one runs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytz

from gcnotify.aws.once import Blocked
from gcnotify.core.calendar import closed_days
from gcnotify.core.errors import (
    GcnotifyError,
    LedgerError,
    MessageStoreError,
    RecipientsSuppressedError,
)
from gcnotify.core.mail import RenderedEmail
from gcnotify.core.model import Config, Recipients, ReportConfig
from gcnotify.core.windows import (
    MAX_LOOKBACK_DAYS,
    ReportWindow,
    Skip,
    day_is_over,
    day_window,
    is_due,
    local_date,
    plan_window,
)
from gcnotify.reports.events import RunRequest
from gcnotify.reports.metrics import build_table, genesys_metrics
from gcnotify.reports.outputs import write_outputs
from gcnotify.reports.query import build_aggregates_query
from gcnotify.runtime.redact import REDACTOR
from gcnotify.runtime.resources import precomputed_holidays
from gcnotify.sendgrid.client import build_mail_body, unique_recipients

if TYPE_CHECKING:
    from collections.abc import Iterator

    from gcnotify.aws.messages import MessageRecord, MessageStore
    from gcnotify.aws.once import Once
    from gcnotify.aws.suppression import SuppressionTable
    from gcnotify.chat.client import ChatClient
    from gcnotify.genesys.client import GenesysClient
    from gcnotify.reports.render import Renderer
    from gcnotify.reports.standup.pack import StandupPack
    from gcnotify.sendgrid.client import SendGridClient

__all__ = ["NOT_OK", "ReportResult", "Services", "report_key", "run_report", "run_reports"]

logger = logging.getLogger("gcnotify")

Status = Literal[
    "sent",
    "no_activity_sent",
    "skipped_empty",
    "skipped_holiday",
    "already_sent",
    "in_progress",
    "holiday_notice_sent",
    "not_due",
    "skipped_non_business_day",
    "dry_run",
    "failed",
    "unknown",
]
# Statuses a person must look at: the invocation fails (so Lambda retries and alarms fire).
NOT_OK: frozenset[str] = frozenset({"failed", "unknown", "in_progress"})


@dataclass
class ReportResult:
    """One entry of the invocation summary."""

    report: str
    status: Status
    business_date: date | None = None
    window: ReportWindow | None = None
    recipients: int = 0
    sendgrid_message_id: str | None = None
    genesys_api_calls: int = 0
    genesys_aggregates_queries: int = 0  # of those calls, the aggregates queries
    error: str | None = None
    error_type: str | None = None
    outputs: tuple[str, ...] = ()
    subject: str | None = None
    note: str | None = None
    warnings: list[str] = field(default_factory=list)  # sent, but something is missing
    headline: list[tuple[str, str]] = field(default_factory=list)  # a pack's total, for chat
    pack: StandupPack | None = field(default=None, repr=False)  # a standup's, while it is sent
    # Recipients found in the suppression table (email), masked, with why: not sent to.
    left_out: list[dict[str, str]] = field(default_factory=list)
    messages: int | None = None  # a delivery summary's: the messages it counted

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
            "genesys_aggregates_queries": self.genesys_aggregates_queries,
        }
        if self.subject is not None:
            out["subject"] = self.subject
        if self.outputs:
            out["outputs"] = list(self.outputs)
        if self.note is not None:
            out["note"] = self.note
        if self.warnings:
            out["warnings"] = list(self.warnings)
        if self.left_out:
            out["left_out"] = [dict(entry) for entry in self.left_out]
        if self.messages is not None:
            out["messages"] = self.messages
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
    once: Once | None = None  # the exactly-once guard; None only without a ledger table
    chat: ChatClient | None = None  # posts alerts to the config's chat channels
    chat_urls: Mapping[str, str] = field(default_factory=dict)  # secret key -> webhook URL
    # Stores a standup's over-budget files and links them (None without an artifact bucket).
    linker: Callable[[ReportConfig, ReportWindow], Callable[..., Any]] | None = None
    deadline: datetime | None = None  # when this invocation must have finished (Lambda's)
    messages: MessageStore | None = None  # what a delivery summary counts (the messages table)
    suppression: SuppressionTable | None = None  # report recipients found here are left out

    def time_left(self) -> float | None:
        """Seconds until the deadline (None without one): what a retry may still wait."""
        if self.deadline is None:
            return None
        return (self.deadline - self.now()).total_seconds() - RESERVED_SECONDS


# A standup compares the business day with the 28 days before it.
COMPARISON_LOOKBACK_DAYS = 28
# Kept at the end of an invocation for the alerts and the summary log, whatever runs before.
RESERVED_SECONDS = 15.0
# A report is not started with less than this left (beyond the reserve): it could not finish.
MIN_REPORT_SECONDS = 10.0
# Records per read of the messages table's day index (a delivery summary's pages).
DAY_PAGE = 500


def mark_partial(email: RenderedEmail, as_of: datetime, timezone: str) -> RenderedEmail:
    """Say, in the subject and at the top of both bodies, that the day was not over."""
    local = as_of.astimezone(pytz.timezone(timezone))
    notice = (
        f"Partial day: this day was not over when the report was made "
        f"({local:%Y-%m-%d %H:%M} {timezone}); the numbers are not final."
    )
    banner = (
        '<p style="margin:0;padding:12px 16px;background:#fff4e5;color:#663c00;'
        f'font:bold 14px/1.4 Arial,sans-serif;border:1px solid #f0b400">{notice}</p>'
    )
    html, found = re.subn(r"(<body[^>]*>)", lambda m: m.group(1) + banner, email.html, count=1)
    return replace(
        email,
        subject=f"[Partial day] {email.subject}",
        text=f"{notice}\n\n{email.text}",
        html=html if found else banner + html,
    )


def _mail_body(email: RenderedEmail, *, one_each: bool, **kwargs: Any) -> dict[str, Any]:
    body = build_mail_body(email, **kwargs)
    return _one_each(body) if one_each else body


def report_key(report_id: str, business_date: date) -> str:
    """The exactly-once key of one report's send: (report id, business date)."""
    return f"{report_id}#{business_date.isoformat()}"


def _answer_blocked(
    blocked: Blocked, report: ReportConfig, day: date, result: ReportResult
) -> None:
    """Report a send the guard refused: sent earlier, held by a live run, or outcome unknown."""
    result.status = blocked.status
    result.sendgrid_message_id = blocked.message_id
    result.note = blocked.note
    if blocked.status == "unknown":
        result.error = (
            f"{blocked.note}. In SendGrid Email Activity, search for "
            f"gcnotify_report_id={report.id} gcnotify_business_date={day.isoformat()}; "
            'to send it again: event "force": true, or gcnotify run --force'
        )
        result.error_type = "AmbiguousSendError"


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
    queries_before = services.genesys.aggregates_queries
    result = ReportResult(report=report.id, status="failed")
    try:
        _produce(config, report, request, services, result)
    except GcnotifyError as exc:
        # A send whose answer was lost may have been delivered: unknown, not failed.
        result.status = "unknown" if exc.maybe_sent else "failed"
        result.error = str(exc)
        result.error_type = type(exc).__name__
    except Exception as exc:  # a bug must not stop the other reports; it is still reported
        logger.exception("unexpected error in report %s", report.id)
        result.status = "failed"
        result.error = f"unexpected {type(exc).__name__}; see the function's logs"
        result.error_type = type(exc).__name__
    result.genesys_api_calls = services.genesys.calls - calls_before
    result.genesys_aggregates_queries = services.genesys.aggregates_queries - queries_before
    # Provider texts end up in errors and notes: mask before the result goes anywhere.
    for name in ("error", "note", "subject"):
        value = getattr(result, name)
        if value is not None:
            setattr(result, name, REDACTOR.mask(value))
    return result


def closed_reasons(
    report: ReportConfig, services: Services, run_day: date
) -> Callable[[date], str | None]:
    """Why a day was closed (None when open): listed dates, public holidays, and the days the
    report's Genesys Architect schedule group marks as holidays or closed (one lookup per run)."""
    settings = report.holidays
    public = closed_days(settings, precomputed_holidays())
    listed = settings.dates if settings is not None else frozenset()
    group = settings.genesys_schedule_group if settings is not None else None
    architect: dict[date, str] = {}
    if group is not None:
        from gcnotify.genesys.architect import group_closed_days

        first = run_day - timedelta(days=MAX_LOOKBACK_DAYS + COMPARISON_LOOKBACK_DAYS)
        architect = group_closed_days(services.genesys, group, first, run_day)
    country = settings.country if settings is not None else None

    def reason(day: date) -> str | None:
        if day in architect:
            return f"a holiday ({architect[day]}, Genesys schedule group {group})"
        if day in listed:
            return "a listed closed day"
        if public(day):
            return f"a public holiday ({country})"
        return None

    return reason


def _queue_report_email(
    report: ReportConfig, window: ReportWindow, services: Services, result: ReportResult
) -> tuple[RenderedEmail, Status] | None:
    """Collect and render a queue report: one aggregates query for all its queues."""
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
    table = build_table(
        response, queues, report.metrics, report.timezone, report.interval, window=window
    )
    if table.has_data:
        return services.renderer.render_report(report, window, table, data_as_of=data_as_of), "sent"
    if report.on_empty == "skip":
        result.status = "skipped_empty"
        return None
    return services.renderer.render_no_activity(
        report, window, data_as_of=data_as_of
    ), "no_activity_sent"


def _sent_in(store: MessageStore, window: ReportWindow) -> Iterator[MessageRecord]:
    """Every record of the UTC days the window overlaps (the day index), page by page; the
    summary keeps those first sent inside the window."""
    from gcnotify.reports.delivery_summary import utc_days

    for day in utc_days(window.start, window.end):
        start: dict[str, Any] | None = None
        while True:
            page = store.sent_on(day, start=start, limit=DAY_PAGE)
            yield from page.records
            start = page.next_start
            if not start:
                break


def _delivery_summary_email(
    report: ReportConfig, window: ReportWindow, services: Services, result: ReportResult
) -> tuple[RenderedEmail, Status] | None:
    """Count the window's messages and render the summary (or its "No activity" email)."""
    from gcnotify.reports.delivery_summary import summarize

    store = services.messages
    if store is None:
        raise MessageStoreError(
            f"report {report.id} is a delivery summary, which reads the messages table, and "
            "GCNOTIFY_MESSAGES_TABLE is not set. Set it to the stack's MessagesTableName output "
            "(the function needs dynamodb:Query on the table's by_day index)"
        )
    summary = summarize(_sent_in(store, window), window.start, window.end)
    data_as_of = services.now()
    result.messages = summary.total.sent
    if not summary.has_data and report.on_empty == "skip":
        result.status = "skipped_empty"
        return None
    email = services.renderer.render_delivery_summary(
        report, window, summary, data_as_of=data_as_of
    )
    return email, "sent" if summary.has_data else "no_activity_sent"


def _deliverable(
    report: ReportConfig, suppression: SuppressionTable | None, result: ReportResult
) -> tuple[Recipients, bool]:
    """The report's recipients without those suppressed for email (each read consistently),
    and whether each must get a personalization of their own.

    Those left out are listed in the result, masked, with the suppression's reason. When every
    ``to`` address is left out, cc moves up to ``to`` (they saw each other anyway); when only bcc
    addresses are left, each gets a copy of their own, so none learns who else received it.
    """
    recipients = unique_recipients(report.recipients)
    if suppression is None:
        return recipients, False
    from gcnotify.campaigns import mask

    kept: dict[str, list[str]] = {"to": [], "cc": [], "bcc": []}
    for where, addresses in kept.items():
        for address in getattr(recipients, where):
            hit = suppression.check("email", address)
            if hit is None:
                addresses.append(address)
                continue
            result.left_out.append(
                {
                    "address": mask(address),
                    "field": where,
                    "reason": REDACTOR.mask(hit.reason),
                    "source": REDACTOR.mask(hit.source),
                    "since": hit.since.isoformat() if hit.since else "",
                }
            )
    if not any(kept.values()):
        listed = "; ".join(
            f"{e['address']} ({e['reason'] or 'no reason given'})" for e in result.left_out
        )
        raise RecipientsSuppressedError(
            f"all {len(result.left_out)} recipient(s) of report {report.id} are in the "
            f"suppression table for email: {listed}. Nothing was sent. Once an address works "
            "again, lift it with gcnotify suppress remove ADDRESS --channel email; or change "
            f"reports[{report.id}].recipients in gcnotify.yaml"
        )
    if result.left_out:
        logger.warning(
            "report %s: %d suppressed recipient(s) left out",
            report.id,
            len(result.left_out),
            extra={"report": report.id, "left_out": result.left_out},
        )
    to, cc, bcc = kept["to"], kept["cc"], kept["bcc"]
    one_each = False
    if not to:
        to, cc = cc, []
    if not to:
        to, bcc, one_each = bcc, [], True
    return Recipients(to=tuple(to), cc=tuple(cc), bcc=tuple(bcc)), one_each


def _one_each(body: dict[str, Any]) -> dict[str, Any]:
    """The same mail as one personalization per ``to`` address: nobody sees the others."""
    (only,) = body["personalizations"]
    return {**body, "personalizations": [{"to": [entry]} for entry in only["to"]]}


def _produce(
    config: Config,
    report: ReportConfig,
    request: RunRequest,
    services: Services,
    result: ReportResult,
) -> None:
    # Not due yet costs nothing: no Genesys call, no ledger read.
    scheduled = request.scheduled_time if request.report_date is None else None
    if scheduled is not None and not is_due(report, scheduled):
        result.status = "not_due"
        result.note = (
            f"due at {report.send_at:%H:%M} {report.timezone}; a later scheduled run sends it"
        )
        return
    run_day, explicit = _run_day(report, request, services.now())
    closed = closed_reasons(report, services, run_day)
    plan = plan_window(report, run_day, lambda day: closed(day) is not None, explicit_date=explicit)
    result.business_date = plan.business_date
    holiday: str | None = None
    if isinstance(plan, Skip):
        settings = report.standup
        if settings is None or plan.status != "skipped_holiday" or settings.on_holiday == "skip":
            result.status = plan.status
            result.error = None
            result.note = plan.reason
            logger.info("report skipped: %s", plan.reason, extra={"report": report.id})
            return
        holiday = closed(plan.business_date) or "a holiday"
        window = day_window(report, plan.business_date)
    else:
        window = plan
    result.window = window
    once = None if request.dry_run else services.once
    if once is None and not request.dry_run and not request.force:
        raise LedgerError(
            "GCNOTIFY_LEDGER_TABLE is not set, so nothing would stop this run from sending a "
            "report that was already sent. Set it to the stack's LedgerTableName output, or use a "
            "dry run, or force to send without the ledger"
        )
    key = report_key(report.id, window.business_date)
    partial_as_of: datetime | None = None
    if request.allow_partial and not day_is_over(window.last_day, report.timezone, services.now()):
        # A partial day is its own send: it must never count as (or block) the day's report.
        partial_as_of = services.now()
        key = f"{key}#partial#{partial_as_of.astimezone(UTC):%Y%m%dT%H%M%S}"
    if once is not None and not request.force:
        blocked = once.check(key)
        if blocked is not None:
            _answer_blocked(blocked, report, window.business_date, result)
            return

    # Before anything is fetched: a report nobody may receive costs no Genesys call.
    recipients, one_each = _deliverable(report, services.suppression, result)

    email: RenderedEmail
    sent_status: Status = "sent"
    if holiday is not None:
        from gcnotify.reports.standup.run import holiday_notice

        email = holiday_notice(report, window, holiday)
        sent_status = "holiday_notice_sent"
    elif report.standup is not None:
        from gcnotify.reports.standup.run import standup_email

        email = standup_email(
            report,
            settings=report.standup,
            window=window,
            closed=closed,
            services=services,
            result=result,
        )
    else:
        made = (
            _delivery_summary_email(report, window, services, result)
            if report.kind == "delivery_summary"
            else _queue_report_email(report, window, services, result)
        )
        if made is None:
            return
        email, sent_status = made
    if partial_as_of is not None:
        email = mark_partial(email, partial_as_of, report.timezone)
    result.subject = email.subject

    result.recipients = len(recipients.to) + len(recipients.cc) + len(recipients.bcc)
    body_of = partial(
        _mail_body,
        one_each=one_each,
        sender=config.sendgrid,
        recipients=recipients,
        custom_args={
            "gcnotify_report_id": report.id,
            "gcnotify_business_date": window.business_date.isoformat(),
        },
        categories=("gcnotify", report.id),
    )
    if report.standup is not None and email.attachments:
        from gcnotify.reports.standup.run import fit_to_budget

        email = fit_to_budget(
            report,
            settings=report.standup,
            window=window,
            email=email,
            body_of=body_of,
            services=services,
            pack=result.pack,
        )
    mail_body = body_of(email)

    if services.out_dir is not None:
        stem = f"{report.id}-{window.business_date.isoformat()}"
        result.outputs = tuple(str(p) for p in write_outputs(services.out_dir, stem, mail_body))

    if request.dry_run:
        result.status = "dry_run"
        return
    if services.sendgrid is None:
        raise GcnotifyError("no SendGrid client is configured for a real send")
    sendgrid = services.sendgrid
    if once is None:  # forced, with no ledger configured
        result.sendgrid_message_id = sendgrid.send(mail_body).message_id
        result.status = sent_status
        return
    outcome = once.send(
        key,
        lambda: sendgrid.send(mail_body).message_id,
        deadline=services.deadline,
        force=request.force,
        attributes={"report_id": report.id, "business_date": window.business_date.isoformat()},
        sent_attributes={
            "recipients": [*recipients.to, *recipients.cc, *recipients.bcc],
            "report_status": sent_status,
        },
    )
    if isinstance(outcome, Blocked):
        _answer_blocked(outcome, report, window.business_date, result)
        return
    result.sendgrid_message_id = outcome.message_id
    result.status = sent_status
    if outcome.note is not None:
        result.note = outcome.note
        logger.error(outcome.note, extra={"report": report.id})
    if report.standup is not None and report.standup.chat and result.headline:
        from gcnotify.reports.standup.run import post_summary

        post_summary(report, report.standup, key, result, services)


def run_reports(config: Config, request: RunRequest, services: Services) -> list[ReportResult]:
    """Run every selected report in config order; failures do not stop the others."""
    wanted: Sequence[str] = request.reports or [r.id for r in config.reports]
    services.genesys.clear_queue_cache()
    results = []
    for report in config.reports:
        if report.id not in wanted:
            continue
        left = services.time_left()
        if left is not None and left < MIN_REPORT_SECONDS:
            result = ReportResult(
                report=report.id,
                status="failed",
                error=(
                    f"out of time: not started, {max(left, 0) + RESERVED_SECONDS:.0f} s of the "
                    f"invocation were left, and a report needs {MIN_REPORT_SECONDS:.0f} s beyond "
                    f"the {RESERVED_SECONDS:.0f} s kept for the alerts; nothing was sent. Lambda's "
                    "retry or the next scheduled run picks it up (or: gcnotify run --report ID "
                    "--date YYYY-MM-DD)"
                ),
                error_type="OutOfTimeError",
            )
        else:
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
