"""Failure alerts: one short mail per failed report and business day, sent once.

An alert goes through the same exactly-once guard as a report, keyed by (report, business date,
error type), so Lambda's retries of a failed run do not mail the same alert again, and it is
recorded only once SendGrid accepted it: a failed alert send leaves the key free for the retry.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from functools import partial
from typing import TYPE_CHECKING

from gcnotify.aws.once import Blocked
from gcnotify.chat.messages import ChatMessage
from gcnotify.core.errors import GcnotifyError, LedgerError
from gcnotify.core.model import ChatChannel, Config, Recipients
from gcnotify.runtime.redact import REDACTOR
from gcnotify.sendgrid.client import build_mail_body, unique_recipients

if TYPE_CHECKING:
    from gcnotify.reports.runner import ReportResult, Services

__all__ = [
    "ALERTED",
    "SUPPRESSED_RECIPIENT",
    "alert_key",
    "recipient_alert_key",
    "send_alerts",
    "send_recipient_alert",
]

logger = logging.getLogger("gcnotify")

# Statuses that reach a person now. in_progress does not: another run is still sending, and if
# it never finishes, a later run finds the claim past its lease (unknown) and alerts then.
ALERTED = frozenset({"failed", "unknown"})
# The error type of an alert about a report recipient now suppressed (a hard bounce, …).
SUPPRESSED_RECIPIENT = "RecipientSuppressed"


def _outcome(result: ReportResult) -> str:
    if result.error_type == SUPPRESSED_RECIPIENT:
        return "stopped mailing a recipient"
    return "went out incomplete" if result.error_type == "PackIncomplete" else "failed"


def alert_key(result: ReportResult) -> str:
    day = result.business_date.isoformat() if result.business_date else "no-date"
    return f"alert#{result.report}#{day}#{result.error_type or 'unknown'}"


def recipient_alert_key(address: str, day: date) -> str:
    """One alert per suppressed address and day, whichever reports it was on; the ledger keeps
    a digest of the address, not the address."""
    digest = hashlib.sha256(address.strip().lower().encode("utf-8")).hexdigest()[:20]
    return f"alert#{SUPPRESSED_RECIPIENT}#{digest}#{day.isoformat()}"


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
    "UnexpectedAnswerError": "Nothing was sent. Re-run for this date; if it happens again, "
    "check the report's queues in gcnotify.yaml and Genesys Cloud's status page.",
    "PackIncomplete": "The report went out without the parts named above; re-run with force "
    "for this date once the cause is fixed if the team needs them.",
    "RecipientsSuppressedError": "Nothing was sent: every recipient is in the suppression "
    "table. Once an address works again, lift it (gcnotify suppress remove ADDRESS --channel "
    "email), or change the report's recipients in gcnotify.yaml; then re-run for this date.",
    "OutOfTimeError": "Nothing was sent. Lambda's retry or the next scheduled run picks it up; "
    "if it recurs, give the function a longer Timeout or split the reports.",
    SUPPRESSED_RECIPIENT: "Later report mail leaves this address out. Correct or remove it in "
    "reports[].recipients of gcnotify.yaml; if the address works again, lift the suppression "
    "with gcnotify suppress remove.",
}
_DEFAULT_ACTION = (
    "Lambda retries the run automatically. If it keeps failing, read the error above and the "
    "function's logs, then re-run for this date (gcnotify run --date YYYY-MM-DD)."
)


def send_alerts(config: Config, results: Sequence[ReportResult], services: Services) -> int:
    """Tell people about each failed report: a short plain mail to ``alerts.to`` and a post to
    each ``alerts.chat`` channel, each once per failure; return how many went out now.

    An alert that cannot be built or sent is logged, never raised: the invocation already fails
    loudly, and its summary must still be logged and returned. A mail and a post are
    independent: one failing never stops the other.
    """
    sent = 0
    for result in results:
        if result.status not in ALERTED:
            if not result.warnings:
                continue
            # Sent, but incomplete (a missing export, a failed chat post): the owner hears.
            result = replace(  # noqa: PLW2901 - the alert's view of this result
                result,
                error="sent, but: " + "; ".join(result.warnings),
                error_type="PackIncomplete",
            )
        sent += _deliver(config, result, services, alert_key(result))
    return sent


def send_recipient_alert(
    config: Config,
    services: Services,
    *,
    report_id: str,
    business_date: date | None,
    address: str,
    problem: str,
    day: date,
) -> int:
    """Tell the owner a report recipient was suppressed: the same mail and chat posts as a
    failure alert, once per address and ``day``; how many went out now (never raises)."""
    from gcnotify.reports.runner import ReportResult

    result = ReportResult(
        report=report_id,
        status="failed",
        business_date=business_date,
        error=f"{address}: {problem}",
        error_type=SUPPRESSED_RECIPIENT,
    )
    return _deliver(config, result, services, recipient_alert_key(address, day))


def _deliver(config: Config, result: ReportResult, services: Services, key: str) -> int:
    """The alert's mail and chat posts under ``key``; one failing never stops the others."""
    sent = 0
    sends: list[tuple[str, Callable[[], int]]] = []
    if config.alerts.to and services.sendgrid is not None:
        sends.append(("mail", partial(_send_alert, config, result, services, key)))
    sends.extend(
        (f"{channel.kind} post", partial(_post_alert, result, channel, services, key))
        for channel in config.alerts.chat
    )
    for what, send in sends:
        try:
            sent += send()
        except Exception as exc:
            logger.error(
                "could not send the failure alert (%s) for %s: %s",
                what,
                result.report,
                REDACTOR.mask(str(exc))
                if isinstance(exc, GcnotifyError)
                else f"unexpected {type(exc).__name__}",
            )
    return sent


def _post_alert(result: ReportResult, channel: ChatChannel, services: Services, key: str) -> int:
    """1 when the post went out now, 0 when it went out before (or chat is not wired)."""
    chat = services.chat
    url = services.chat_urls.get(channel.secret_key)
    if chat is None or url is None:
        return 0
    day = result.business_date.isoformat() if result.business_date else "no date"
    message = ChatMessage(
        title=f"gcnotify: report {result.report} {_outcome(result)}",
        lines=(
            REDACTOR.mask(result.error or "unknown error")[:1500],
            _ACTIONS.get(result.error_type or "", _DEFAULT_ACTION),
        ),
        facts=(
            ("Report", result.report),
            ("Business date", day),
            ("Status", result.status),
            ("Error", result.error_type or "unknown"),
        ),
        severity="error",
    )

    def post() -> None:
        chat.post(channel.kind, url, message, secret_key=channel.secret_key)

    if services.once is None:
        post()
        return 1
    try:
        outcome = services.once.send(
            f"{key}#{channel.kind}#{channel.secret_key}",
            post,
            deadline=services.deadline,
            attributes={"report_id": result.report, "kind": f"alert-{channel.kind}"},
        )
    except LedgerError:
        post()  # the ledger is down: better a second post than none
        return 1
    if isinstance(outcome, Blocked):
        logger.info("%s alert for %s: %s", channel.kind, result.report, outcome.note)
        return 0
    return 1


def _send_alert(config: Config, result: ReportResult, services: Services, key: str) -> int:
    """1 when the alert went out now, 0 when the guard says it went out before."""
    sendgrid = services.sendgrid
    if sendgrid is None:  # checked by the caller
        return 0
    email = services.renderer.render_alert(
        result.report,
        result.business_date,
        REDACTOR.mask(result.error or "unknown error"),
        _ACTIONS.get(result.error_type or "", _DEFAULT_ACTION),
        outcome=_outcome(result),
    )
    body = build_mail_body(
        email,
        sender=config.sendgrid,
        recipients=unique_recipients(Recipients(to=config.alerts.to)),
        custom_args={"gcnotify_report_id": result.report, "gcnotify_alert": "failure"},
        categories=("gcnotify-alert",),
    )
    if services.once is None:
        sendgrid.send(body)
        return 1
    try:
        outcome = services.once.send(
            key,
            lambda: sendgrid.send(body).message_id,
            deadline=services.deadline,
            attributes={"report_id": result.report, "kind": "alert"},
        )
    except LedgerError:
        sendgrid.send(body)  # the ledger is down: better a second alert than none
        return 1
    if isinstance(outcome, Blocked):
        logger.info("alert for %s: %s", result.report, outcome.note)
        return 0
    return 1
