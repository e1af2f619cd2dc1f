"""The standup pack's own steps in the reports pipeline: collect and render (its email, its
attachments), fit the message to its budget, the holiday notice, and the chat summary.

The runner plans the day, holds the exactly-once guard and sends; for a report of kind standup it
calls these in place of the queue report's collect and render. Imported only for a standup, so a
queue report's cold start never loads the pack's modules.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

from markupsafe import escape

from gcnotify.core.errors import GcnotifyError, ReportError
from gcnotify.core.mail import Attachment, RenderedEmail
from gcnotify.core.text import one_line
from gcnotify.runtime.redact import REDACTOR

if TYPE_CHECKING:
    from gcnotify.core.model import ChatChannel, ReportConfig, StandupSettings
    from gcnotify.core.windows import ReportWindow
    from gcnotify.reports.runner import ReportResult, Services
    from gcnotify.reports.standup.pack import StandupPack

__all__ = ["fit_to_budget", "headline_facts", "holiday_notice", "post_summary", "standup_email"]

logger = logging.getLogger("gcnotify")


def holiday_notice(report: ReportConfig, window: ReportWindow, why: str) -> RenderedEmail:
    """The short mail a standup sends instead of an empty pack on a holiday."""
    day = window.subject_date_text()
    line = f"No business day data — {day} was {why}."
    subject = one_line(f"{report.title} — {day}: no business day data")
    html = (
        '<!DOCTYPE html><html><body style="margin:0;padding:16px;font:15px/1.5 Arial,sans-serif;'
        f'color:#222"><h1 style="font-size:18px;margin:0 0 8px">{escape(report.title)}</h1>'
        f'<p style="margin:0">{escape(line)}</p></body></html>'
    )
    return RenderedEmail(subject=subject, html=html, text=f"{report.title}\n\n{line}\n")


def headline_facts(pack: StandupPack) -> list[tuple[str, str]]:
    """Label and text of the pack's total numbers, with the change against last week."""
    from gcnotify.reports.standup.compare import STANDUP_METRICS
    from gcnotify.reports.standup.pack import format_delta, format_value

    total = pack.comparison.total
    facts = []
    for metric in STANDUP_METRICS:
        shown = format_value(metric.kind, total.values.get(metric.name))
        delta = total.deltas.get("same_weekday_last_week", {}).get(metric.name)
        if delta is not None and delta.change is not None:
            shown = f"{shown} ({format_delta(metric, delta, arrows=True)} vs last week)"
        facts.append((metric.label, shown))
    return facts


def fit_to_budget(
    report: ReportConfig,
    *,
    settings: StandupSettings,
    window: ReportWindow,
    email: RenderedEmail,
    body_of: Callable[[RenderedEmail], dict[str, Any]],
    services: Services,
    pack: StandupPack | None,
) -> RenderedEmail:
    """Keep the whole message under ``max_email_bytes``: zip, then drop the XLSX's interval
    detail, then link the files from S3; the email says what was done."""
    from gcnotify.reports.standup.budget import fit_to_budget as fit
    from gcnotify.reports.standup.budget import human_size

    def cannot_link(files: tuple[Attachment, ...]) -> tuple[Any, ...]:
        raise ReportError(
            f"report {report.id}'s email would be over max_email_bytes "
            f"({settings.max_email_bytes:,}) even zipped, and no artifact bucket is configured "
            "to link its files from: deploy the stack's ArtifactBucket and DownloadFunction "
            "(GCNOTIFY_ARTIFACT_BUCKET, GCNOTIFY_DOWNLOAD_URL, download_signing_key in the "
            "secret), or raise max_email_bytes"
        )

    link_files = services.linker(report, window) if services.linker is not None else cannot_link
    xlsx = next((a for a in email.attachments if a.filename.endswith(".xlsx")), None)
    rebuild = None
    if xlsx is not None and pack is not None:
        from gcnotify.reports.standup.collect import XLSX
        from gcnotify.reports.standup.xlsx import build_xlsx

        def rebuild() -> Attachment:
            return Attachment(xlsx.filename, build_xlsx(pack, include_intervals=False), XLSX)

    outcome = fit(
        email,
        body_of=body_of,
        link_files=link_files,
        rebuild_without_intervals=rebuild,
        max_email_bytes=settings.max_email_bytes,
    )
    fitted = outcome.apply(email)
    lines = [*outcome.notes()]
    lines += [
        f"{link.filename} ({human_size(link.size_bytes)}): {link.url} (valid until "
        f"{link.expires:%Y-%m-%d %H:%M %Z})"
        for link in outcome.links
    ]
    if not lines:
        return fitted
    block = "".join(f'<p style="margin:4px 0">{escape(line)}</p>' for line in lines)
    html, found = re.subn(r"(</body>)", lambda m: block + m.group(1), fitted.html, count=1)
    return replace(
        fitted,
        html=html if found else fitted.html + block,
        text=fitted.text + "\n\n" + "\n".join(lines) + "\n",
    )


def standup_email(
    report: ReportConfig,
    *,
    settings: StandupSettings,
    window: ReportWindow,
    closed: Callable[[date], str | None],
    services: Services,
    result: ReportResult,
) -> RenderedEmail:
    """Collect a standup pack (two aggregates queries, then the optional parts), render its
    email and attach its files; partial failures become warnings the owner is alerted to."""
    from gcnotify.reports.standup.collect import collect_pack, pack_attachments

    queues = services.genesys.resolve_queues(report.queues)
    collected = collect_pack(
        client=services.genesys,
        report=report,
        settings=settings,
        window=window,
        queues=queues,
        closed=closed,
        now=services.now,
    )
    result.warnings.extend(collected.warnings)
    pack = collected.pack
    result.headline = headline_facts(pack)
    result.pack = pack
    email = services.renderer.render_standup(
        report,
        window,
        pack.comparison,
        pack.heat,
        data_as_of=pack.data_as_of or services.now(),
        notes=[
            *pack.notes,
            *(f"{s.title}: {s.unavailable}" for s in pack.sections if s.unavailable),
        ],
    )
    files = (*pack_attachments(collected.pack, settings), *collected.extra_attachments)
    return replace(email, attachments=(*email.attachments, *files))


def post_summary(
    report: ReportConfig,
    settings: StandupSettings,
    key: str,
    result: ReportResult,
    services: Services,
) -> None:
    """The pack's headline numbers to each chat channel, once; a failed post never undoes the
    mail: it is logged and becomes a warning, so the owner is alerted."""
    from gcnotify.chat.messages import ChatMessage

    day = result.business_date.isoformat() if result.business_date else ""
    message = ChatMessage(
        title=f"{report.title} — {day}",
        lines=("The standup pack went out by email.",),
        facts=tuple(result.headline),
    )
    chat = services.chat
    if chat is None or services.once is None:
        return
    for channel in settings.chat:
        url = services.chat_urls.get(channel.secret_key)
        if url is None:
            continue

        def post(c: ChatChannel = channel, u: str = url) -> None:
            chat.post(c.kind, u, message, secret_key=c.secret_key)

        try:
            services.once.send(
                f"{key}#chat#{channel.kind}#{channel.secret_key}",
                post,
                deadline=services.deadline,
                attributes={"report_id": report.id, "kind": f"summary-{channel.kind}"},
            )
        except GcnotifyError as exc:
            warning = f"the {channel.kind} summary post failed: {REDACTOR.mask(str(exc))}"
            result.warnings.append(warning)
            logger.error(warning, extra={"report": report.id})
