"""The standup pack's collect step: the Genesys calls a pack makes, and its attachments.

The queue numbers cost two aggregates queries (the 29 days of comparisons by day, and the day by
interval). Optional parts — agent occupancy, Genesys' own export of a view — are extra calls;
when one cannot be made (a permission missing, a job that fails) the pack says why instead of
stopping or showing zeros, and the failure is returned as a warning so its owner hears of it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from gcnotify.core.errors import GenesysError
from gcnotify.core.mail import Attachment
from gcnotify.reports.standup.assemble import assemble_pack
from gcnotify.reports.standup.counts import standup_queries
from gcnotify.reports.standup.pack import Column, Section, StandupPack

if TYPE_CHECKING:
    from gcnotify.core.model import Queue, ReportConfig, StandupSettings
    from gcnotify.core.windows import ReportWindow
    from gcnotify.genesys.client import GenesysClient
    from gcnotify.reports.standup.compare import Closed

__all__ = ["CollectedPack", "collect_pack", "pack_attachments"]

logger = logging.getLogger("gcnotify")

PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_EXPORT_TYPES = {"PDF": PDF, "CSV": "text/csv"}


@dataclass
class CollectedPack:
    """A pack with what else goes with it: Genesys' export file, and what went wrong."""

    pack: StandupPack
    extra_attachments: list[Attachment] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # partial failures: the owner is alerted


def _members(client: GenesysClient, queues: Sequence[Queue]) -> dict[str, list[str]]:
    from gcnotify.genesys.users import list_queue_members

    return {q.id: [m.user_id for m in list_queue_members(client, q.id)] for q in queues}


ADHERENCE_FORMULA = (
    "Adherence = 1 − time out of adherence ÷ scheduled time; conformance = actual on-queue time "
    "÷ scheduled on-queue time; each from the seconds Genesys WFM's historical adherence reports "
    "per agent, summed over the queue's members before dividing."
)


def _adherence(
    client: GenesysClient,
    *,
    window: ReportWindow,
    queues: Sequence[Queue],
    members: dict[str, list[str]],
    settings: StandupSettings,
    timezone: str,
) -> Section:
    from gcnotify.genesys.wfm import (
        AdherenceItem,
        build_adherence_query,
        run_historical_adherence,
        user_adherence,
    )

    everyone = sorted({user for ids in members.values() for user in ids})
    item = AdherenceItem(
        management_unit_id=settings.management_unit or "",
        start=window.utc_start,
        end=window.utc_end,
        user_ids=tuple(everyone),
    )
    per_user = user_adherence(
        run_historical_adherence(client, build_adherence_query(timezone, [item]))
    )

    def row(label: str, users: Sequence[str]) -> dict[str, str | float | None]:
        found = [per_user[u] for u in users if u in per_user]
        schedule = sum(a.adherence_schedule_s for a in found)
        exception = sum(a.exception_s for a in found)
        planned = sum(a.conformance_schedule_s for a in found)
        actual = sum(a.conformance_actual_s for a in found)
        return {
            "queue": label,
            "agents": len(found),
            "adherence": max(0.0, 1 - exception / schedule) if schedule else None,
            "conformance": actual / planned if planned else None,
        }

    return Section(
        key="adherence",
        title="Schedule adherence",
        columns=(
            Column("queue", "Queue", "text"),
            Column("agents", "Agents", "count"),
            Column("adherence", "Adherence", "percent"),
            Column("conformance", "Conformance", "percent"),
        ),
        rows=tuple(row(q.name, members[q.id]) for q in queues),
        total=row("All queues", everyone),
        note=ADHERENCE_FORMULA,
    )


def _occupancy(
    client: GenesysClient,
    window: ReportWindow,
    queues: Sequence[Queue],
    members: dict[str, list[str]],
    timezone: str,
) -> Section:
    from gcnotify.genesys.users import (
        OCCUPANCY_FORMULA,
        OCCUPANCY_SOURCE,
        RoutingTimes,
        query_routing_times,
    )

    columns = (
        Column("queue", "Queue", "text"),
        Column("members", "Members", "count"),
        Column("occupancy", "Occupancy", "percent"),
    )
    everyone = sorted({user for ids in members.values() for user in ids})
    times = (
        query_routing_times(
            client, interval=window.genesys_interval(), timezone=timezone, user_ids=everyone
        )
        if everyone
        else {}
    )
    rows: list[dict[str, str | float | None]] = []
    for queue in queues:
        part = RoutingTimes.total(times[u] for u in members[queue.id] if u in times)
        rows.append(
            {"queue": queue.name, "members": len(members[queue.id]), "occupancy": part.occupancy}
        )
    total = RoutingTimes.total(times.values())
    return Section(
        key="occupancy",
        title="Agent occupancy",
        columns=columns,
        rows=tuple(rows),
        total={"queue": "All queues", "members": len(everyone), "occupancy": total.occupancy},
        note=f"{OCCUPANCY_FORMULA} {OCCUPANCY_SOURCE}",
    )


def collect_pack(
    *,
    client: GenesysClient,
    report: ReportConfig,
    settings: StandupSettings,
    window: ReportWindow,
    queues: Sequence[Queue],
    closed: Closed,
    now: Callable[[], datetime],
) -> CollectedPack:
    """Every Genesys call of one pack, then the pack; only the two queue queries are vital."""
    daily_body, interval_body = standup_queries(
        business_date=window.business_date,
        timezone=report.timezone,
        queue_ids=[q.id for q in queues],
        granularity=settings.intervals,
        media_types=report.media_types,
    )
    daily = client.query_aggregates(daily_body)
    by_interval = client.query_aggregates(interval_body)
    data_as_of = now()
    sections: list[Section] = []
    notes: list[str] = []
    warnings: list[str] = []
    members: dict[str, list[str]] | None = None
    parts = [
        ("occupancy", "Agent occupancy", settings.occupancy),
        ("adherence", "Schedule adherence", settings.adherence),
    ]
    for key, title, wanted in parts:
        if not wanted:
            continue
        try:
            if members is None:
                members = _members(client, queues)
            section = (
                _occupancy(client, window, queues, members, report.timezone)
                if key == "occupancy"
                else _adherence(
                    client,
                    window=window,
                    queues=queues,
                    members=members,
                    settings=settings,
                    timezone=report.timezone,
                )
            )
        except GenesysError as exc:
            # Say why instead of showing zeros (a permission missing, no management unit).
            section = Section(key=key, title=title, columns=(), unavailable=f"not computed: {exc}")
            warnings.append(f"{title.lower()} could not be computed: {exc}")
        sections.append(section)
    extra: list[Attachment] = []
    if settings.genesys_export is not None:
        extra, missing = _genesys_export(client, report, settings, window, queues)
        if missing is not None:
            notes.append(missing)
            warnings.append(missing)
    pack = assemble_pack(
        report_id=report.id,
        title=report.title,
        business_date=window.business_date,
        timezone=report.timezone,
        queues=queues,
        daily_answer=daily,
        interval_answer=by_interval,
        granularity=settings.intervals,
        closed=closed,
        bases=tuple(settings.compare),  # type: ignore[arg-type]
        sections=sections,
        notes=notes,
        data_as_of=data_as_of,
    )
    return CollectedPack(pack=pack, extra_attachments=extra, warnings=warnings)


def _genesys_export(
    client: GenesysClient,
    report: ReportConfig,
    settings: StandupSettings,
    window: ReportWindow,
    queues: Sequence[Queue],
) -> tuple[list[Attachment], str | None]:
    """Genesys' own export of the view, or the sentence saying why it is missing."""
    from gcnotify.genesys.exports import build_export_request, run_export

    export = settings.genesys_export
    if export is None:
        return [], None
    body = build_export_request(
        name=f"gcnotify {report.id} {window.business_date.isoformat()}",
        view_type=export.view,
        export_format=export.format,
        interval=window.genesys_interval(),
        timezone=report.timezone,
        queue_ids=[q.id for q in queues],
        media_types=report.media_types,
    )
    try:
        file = run_export(client, body)
    except GenesysError as exc:
        return [], f"Genesys' own {export.view} export is missing: {exc}"
    suffix = export.format.lower()
    name = f"{report.id}-{window.business_date.isoformat()}-genesys-export.{suffix}"
    attachment = Attachment(name, file.data, file.content_type or _EXPORT_TYPES[export.format])
    if file.partial:
        return [attachment], f"Genesys says its {export.view} export has partial results"
    return [attachment], None


def pack_attachments(
    pack: StandupPack, settings: StandupSettings, *, include_intervals: bool = True
) -> list[Attachment]:
    """The pack's own files, as configured (the libraries load only here)."""
    stem = f"{pack.report_id}-{pack.business_date.isoformat()}"
    files: list[Attachment] = []
    if "pdf" in settings.attachments:
        from gcnotify.reports.standup.pdf import build_pdf

        files.append(Attachment(f"{stem}.pdf", build_pdf(pack), PDF))
    if "xlsx" in settings.attachments:
        from gcnotify.reports.standup.xlsx import build_xlsx

        files.append(
            Attachment(f"{stem}.xlsx", build_xlsx(pack, include_intervals=include_intervals), XLSX)
        )
    return files
