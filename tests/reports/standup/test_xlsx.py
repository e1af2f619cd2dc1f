"""The standup XLSX, read back with openpyxl: sheets, real numbers, formats, frozen headers."""

from __future__ import annotations

import io
from datetime import timedelta
from functools import cache

import pytest
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook

from gcnotify.core.windows import start_of_day
from gcnotify.devserver.traffic import generate
from gcnotify.reports.standup.xlsx import MS_PER_DAY, build_xlsx, sheet_name
from tests.reports.standup import packs


@cache
def _book(count: int = 3) -> Workbook:
    return load_workbook(io.BytesIO(build_xlsx(packs.pack(count))))


def _conversations(count: int) -> list[object]:
    start = start_of_day(packs.BUSINESS_DATE, packs.TIMEZONE)
    end = start_of_day(packs.BUSINESS_DATE + timedelta(days=1), packs.TIMEZONE)
    return list(generate(packs.queues(count), start, end, seed=7, local_tz=packs.TIMEZONE))


def _header(ws: object, label: str) -> int:
    row = next(ws.iter_rows(min_row=1, max_row=1, values_only=True))  # type: ignore[attr-defined]
    return list(row).index(label) + 1


def test_one_sheet_per_section() -> None:
    """Summary, queues, both comparisons, intervals, and each agent section."""
    expected = ["Summary", "Queues", "Last week", "Four weeks", "Intervals", "Occupancy"]
    assert [*expected, "Adherence"] == _book().sheetnames


def test_total_offered_is_the_days_conversations_as_a_number() -> None:
    """The total row's offered cell is a number equal to the day's offered conversations."""
    ws = _book()["Queues"]
    total = ws.cell(ws.max_row, _header(ws, "Offered")).value
    assert (len(_conversations(3)), "Total") == (total, ws.cell(ws.max_row, 1).value)


def test_percentages_are_fractions_formatted_as_percent() -> None:
    """Service level is stored as 0–1 with the 0.0% format."""
    pack = packs.pack(3)
    ws = _book()["Queues"]
    cell = ws.cell(2, _header(ws, "Service level"))
    expected = pack.comparison.rows[0].values["service_level"]
    assert (pytest.approx(expected), "0.0%") == (cell.value, cell.number_format)


def test_durations_are_excel_times() -> None:
    """ASA is a fraction of a day formatted [h]:mm:ss."""
    pack = packs.pack(3)
    ws = _book()["Queues"]
    cell = ws.cell(2, _header(ws, "ASA"))
    expected = pack.comparison.rows[0].values["asa"]
    assert expected is not None
    # openpyxl reads a [h]:mm:ss cell back as a timedelta: the stored number is days.
    days = cell.value / timedelta(days=1)
    approx = pytest.approx(expected / MS_PER_DAY, abs=1e-8)  # openpyxl rounds to the millisecond
    assert (approx, "[h]:mm:ss") == (days, cell.number_format)


def test_header_rows_are_frozen_and_columns_sized() -> None:
    """Each table sheet freezes its header row and label column and sets column widths."""
    book = _book()
    frozen = {name: book[name].freeze_panes for name in ("Queues", "Last week", "Intervals")}
    assert {"Queues": "B2", "Last week": "B2", "Intervals": "B2"} == frozen
    assert 32 == int(book["Queues"].column_dimensions["A"].width)


def test_a_closed_comparison_day_is_explained_on_its_sheet() -> None:
    """The four-week sheet ends with the note naming the day left out."""
    ws = _book()["Four weeks"]
    notes = [c.value for c in ws["A"] if isinstance(c.value, str) and "left out" in c.value]
    expected = (
        "vs 4-week avg: average of 3 of 4 Tuesdays "
        "(left out — Tue 14 Oct 2025: a holiday (Test Day))"
    )
    assert [expected] == notes


def test_every_interval_of_the_day_has_a_row() -> None:
    """48 half hours, offered summing to the day's conversations, one peak."""
    ws = _book()["Intervals"]
    rows = list(ws.iter_rows(min_row=2, max_row=49, values_only=True))
    assert (48, len(_conversations(3)), 1) == (
        len(rows),
        sum(r[2] for r in rows),
        sum(1 for r in rows if r[7] == "peak"),
    )


def test_no_data_is_an_empty_cell_not_zero() -> None:
    """An interval without answers or abandons has an empty service level cell."""
    ws = _book()["Intervals"]
    rows = ws.iter_rows(min_row=2, max_row=49, values_only=True)
    quiet = [r[6] for r in rows if r[3] == 0 and r[4] == 0]
    assert (True, {None}) == (bool(quiet), set(quiet))


def test_the_interval_detail_can_be_left_out() -> None:
    """Without intervals the workbook has no Intervals sheet (the size ladder's second step)."""
    book = load_workbook(io.BytesIO(build_xlsx(packs.pack(1), include_intervals=False)))
    assert "Intervals" not in book.sheetnames


def test_a_section_that_cannot_be_computed_says_why() -> None:
    """The adherence sheet holds the reason, not zeros."""
    ws = _book()["Adherence"]
    assert "Not shown: no WFM management unit holds these queues' members" == ws["A2"].value


def test_sheet_names_are_made_valid_and_unique() -> None:
    """Forbidden characters go, names stop at 31 characters, repeats get a number."""
    taken: set[str] = set()
    first = sheet_name("Occupancy: queue/members [all] of the support floor", taken)
    second = sheet_name("Occupancy: queue/members [all] of the support floor", taken)
    assert ("Occupancy queue members all of", "Occupancy queue members all (2)") == (first, second)


def test_the_same_pack_gives_the_same_bytes_at_any_time() -> None:
    """The workbook's creation time is the data's, not the clock's: a rebuild (the budget's
    slim workbook, a resend) is byte for byte the same file."""
    import time_machine

    from tests.reports.standup import packs

    pack = packs.pack(3)
    with time_machine.travel("2026-03-11 06:00:00+00:00", tick=False):
        first = build_xlsx(pack)
    with time_machine.travel("2026-03-11 06:00:07+00:00", tick=False):
        second = build_xlsx(pack)
    assert first == second
