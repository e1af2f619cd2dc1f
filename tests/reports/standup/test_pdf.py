"""The standup PDF, read back: numbers from the synthetic traffic, pages, headers, fonts."""

from __future__ import annotations

import io
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from functools import cache

import pytest
from pypdf import PdfReader

from gcnotify.core.windows import start_of_day
from gcnotify.devserver.traffic import generate
from gcnotify.reports.standup.pdf import build_pdf
from tests.reports.standup import packs


@cache
def _fifty() -> bytes:
    return build_pdf(packs.pack(50))


def _pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def _offered_that_day(count: int) -> int:
    start = start_of_day(packs.BUSINESS_DATE, packs.TIMEZONE)
    end = start_of_day(packs.BUSINESS_DATE + timedelta(days=1), packs.TIMEZONE)
    return len(generate(packs.queues(count), start, end, seed=7, local_tz=packs.TIMEZONE))


def test_the_headline_shows_the_days_offers_from_the_traffic() -> None:
    """The total offered printed is the number of conversations offered that local day."""
    lines = _pages(build_pdf(packs.pack(3)))[0].splitlines()
    assert f"{_offered_that_day(3):,}" == lines[lines.index("Offered") + 1]


def test_every_queue_is_listed() -> None:
    """All 50 queue names appear in the document."""
    text = "\n".join(_pages(_fifty()))
    assert [] == [q.name for q in packs.queues(50) if q.name not in text]


def test_a_long_pack_spans_pages_with_the_header_on_each() -> None:
    """Every page holding queue rows also holds the table header."""
    pages = _pages(_fifty())
    with_rows = [text for text in pages if "Queue 2" in text or "Queue 4" in text]
    assert len(pages) > 2
    assert [] == [i for i, text in enumerate(with_rows) if "Abandon %" not in text]


def test_the_fonts_are_embedded() -> None:
    """Every font the pages use carries its font file (a TrueType subset)."""
    reader = PdfReader(io.BytesIO(build_pdf(packs.pack(2))))
    missing = []
    for page in reader.pages:
        for name, ref in page["/Resources"]["/Font"].items():
            font = ref.get_object()
            if "/DescendantFonts" in font:
                font = font["/DescendantFonts"][0].get_object()
            descriptor = font.get("/FontDescriptor")
            if descriptor is None or "/FontFile2" not in descriptor.get_object():
                missing.append(name)
    assert [] == missing


@pytest.mark.parametrize(("size", "points"), [("A4", (595, 842)), ("Letter", (612, 792))])
def test_the_page_size_is_the_one_asked_for(size: str, points: tuple[int, int]) -> None:
    """A4 and Letter pages have their own dimensions."""
    reader = PdfReader(io.BytesIO(build_pdf(packs.pack(1), page_size=size)))  # type: ignore[arg-type]
    box = reader.pages[0].mediabox
    assert points == (round(box.width), round(box.height))


def test_markup_in_a_queue_name_prints_as_text() -> None:
    """A queue named with tags shows them literally."""
    pack = packs.pack(1)
    row = replace(pack.comparison.rows[0], label="<b>VIP</b> & co")
    pack = replace(pack, comparison=replace(pack.comparison, rows=(row,)), title="<i>x</i>")
    text = "\n".join(_pages(build_pdf(pack)))
    assert ("<b>VIP</b> & co" in text, "<i>x</i>" in text) == (True, True)


def test_a_section_that_cannot_be_computed_says_why() -> None:
    """The adherence section prints its reason instead of a table of zeros."""
    text = "\n".join(_pages(build_pdf(packs.pack(1))))
    assert "Not shown: no WFM management unit holds these queues' members" in text


def test_the_peak_interval_is_marked() -> None:
    """The busiest interval's row carries the word 'peak'."""
    pack = packs.pack(3)
    assert pack.heat is not None
    assert pack.heat.peak is not None
    lines = "\n".join(_pages(build_pdf(pack))).splitlines()
    assert lines[lines.index("peak") - 6].startswith(f"{pack.heat.peak.label}–")


def test_a_holiday_left_out_is_named() -> None:
    """The four-week note says how many days were used and which one was left out."""
    text = _pages(build_pdf(packs.pack(1)))[0]
    assert "average of 3 of 4 Tuesdays (left out — Tue 14 Oct 2025: a holiday (Test Day))" in text


def test_the_same_pack_gives_the_same_bytes() -> None:
    """No timestamp or random id: a re-run attaches the identical file."""
    pack = packs.pack(1)
    assert build_pdf(pack) == build_pdf(pack)


def test_a_pack_without_queues_renders() -> None:
    """No queue rows (a config mistake caught elsewhere) still gives a valid document."""
    pack = packs.pack(1)
    pack = replace(pack, comparison=replace(pack.comparison, rows=()), heat=None, sections=())
    assert 1 <= len(_pages(build_pdf(pack)))


def test_importing_the_renderers_does_not_import_their_libraries() -> None:
    """reportlab and xlsxwriter load only when a pack is built (cold start)."""
    code = (
        "import sys, gcnotify.reports.standup.pdf, gcnotify.reports.standup.xlsx\n"
        "print(sorted(m for m in ('reportlab', 'xlsxwriter') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "[]" == out.stdout.strip()


def test_queue_fixture_names_are_unique() -> None:
    """The fixture's queues have distinct names, so 'every queue listed' means something."""
    names = [q.name for q in packs.queues(50)]
    assert len(names) == len(set(names))
