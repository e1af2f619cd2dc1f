"""From the pack's two aggregates answers to the ``StandupPack`` every renderer reads.

Pure, so the runner's collect step is: resolve queues, send the two bodies from
``standup_queries``, then call ``assemble_pack`` with the answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from gcnotify.core.model import Queue
from gcnotify.reports.standup.compare import BASES, BasisKey, Closed, compare_days, heat_table
from gcnotify.reports.standup.counts import counts_by_day, counts_by_interval
from gcnotify.reports.standup.pack import Section, StandupPack

__all__ = ["assemble_pack"]


def assemble_pack(
    *,
    report_id: str,
    title: str,
    business_date: date,
    timezone: str,
    queues: Sequence[Queue],
    daily_answer: Mapping[str, Any],
    interval_answer: Mapping[str, Any] | None,
    granularity: str,
    closed: Closed,
    bases: Sequence[BasisKey] = BASES,
    sections: Sequence[Section] = (),
    notes: Sequence[str] = (),
    data_as_of: datetime | None = None,
) -> StandupPack:
    """The pack for one business day; ``interval_answer`` None leaves the heat table out."""
    ids = [q.id for q in queues]
    comparison = compare_days(
        business_date=business_date,
        queues=queues,
        daily=counts_by_day(daily_answer, ids, timezone),
        closed=closed,
        bases=bases,
    )
    heat = None
    if interval_answer is not None:
        heat = heat_table(
            business_date=business_date,
            timezone=timezone,
            granularity=granularity,
            buckets=counts_by_interval(interval_answer, ids),
        )
    return StandupPack(
        report_id=report_id,
        title=title,
        business_date=business_date,
        timezone=timezone,
        comparison=comparison,
        heat=heat,
        sections=tuple(sections),
        data_as_of=data_as_of,
        notes=tuple(notes),
    )
