"""Standup packs built from the stand-in's synthetic traffic, for the rendering tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from gcnotify.core.model import Queue
from gcnotify.devserver.aggregates import run_aggregates_query
from gcnotify.devserver.traffic import TrafficModel
from gcnotify.reports.standup.assemble import assemble_pack
from gcnotify.reports.standup.counts import standup_queries
from gcnotify.reports.standup.pack import Column, Section, StandupPack

BUSINESS_DATE = date(2025, 11, 4)  # a Tuesday
TIMEZONE = "America/Chicago"
HOLIDAY = date(2025, 10, 14)  # two Tuesdays before: left out of the four-week average


def queues(count: int) -> list[Queue]:
    return [
        Queue(id=f"00000000-0000-4000-8000-{i:012x}", name=f"Queue {i:02d}")
        for i in range(1, count + 1)
    ]


def answers(qs: list[Queue], granularity: str = "PT30M") -> tuple[dict[str, Any], dict[str, Any]]:
    """The two aggregates answers the stand-in gives for the pack's two queries."""
    model = TrafficModel([q.id for q in qs], seed=7, local_tz=TIMEZONE)
    daily, by_interval = standup_queries(
        business_date=BUSINESS_DATE,
        timezone=TIMEZONE,
        queue_ids=[q.id for q in qs],
        granularity=granularity,
    )
    now = datetime(2025, 11, 5, 12, tzinfo=UTC)
    ids = [q.id for q in qs]
    return (
        run_aggregates_query(daily, model, ids, now=now),
        run_aggregates_query(by_interval, model, ids, now=now),
    )


def occupancy_section() -> Section:
    return Section(
        key="occupancy",
        title="Occupancy",
        columns=(
            Column("queue", "Queue", "text"),
            Column("members", "Members", "count"),
            Column("interacting", "Interacting", "duration"),
            Column("occupancy", "Occupancy", "percent"),
        ),
        rows=({"queue": "Queue 01", "members": 4, "interacting": 3_600_000, "occupancy": 0.75},),
        total={"queue": "Total", "members": 4, "interacting": 3_600_000, "occupancy": 0.75},
        note="Occupancy = INTERACTING ÷ (INTERACTING + IDLE + COMMUNICATING)",
    )


def adherence_unavailable() -> Section:
    return Section(
        key="adherence",
        title="Adherence",
        columns=(),
        unavailable="no WFM management unit holds these queues' members",
    )


def pack(count: int = 3, *, granularity: str = "PT30M", sections: bool = True) -> StandupPack:
    qs = queues(count)
    daily, by_interval = answers(qs, granularity)
    return assemble_pack(
        report_id="support-standup",
        title="Support standup",
        business_date=BUSINESS_DATE,
        timezone=TIMEZONE,
        queues=qs,
        daily_answer=daily,
        interval_answer=by_interval,
        granularity=granularity,
        closed=lambda d: "a holiday (Test Day)" if d == HOLIDAY else d.weekday() >= 5,
        sections=(occupancy_section(), adherence_unavailable()) if sections else (),
        data_as_of=datetime(2025, 11, 5, 7, 30, tzinfo=UTC),
    )
