"""Cold build of a standup pack's attachments: a 50-queue PDF and XLSX, in fresh interpreters.

The pack (50 queues, 29 days of the stand-in's synthetic traffic, the PT30M heat table, one agent
section) is assembled once here and pickled; then each of --runs fresh interpreters loads it and
times, in order: loading the pack (which imports gcnotify's standup modules), the first
``build_pdf`` (reportlab's import included, as on a cold start), the first ``build_xlsx``
(xlsxwriter's import included), then both again warm. Separate fresh interpreters time the two
libraries' imports alone. Medians are printed, numbers only: sizes in bytes, times in
milliseconds. The message size counts the attachments base64-encoded, as a mail/send body
carries them.

Usage: python bench/standup_pack.py [--runs 7] [--queues 50]
"""

from __future__ import annotations

import argparse
import base64
import json
import pickle
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

from gcnotify.core.model import Queue
from gcnotify.devserver.aggregates import run_aggregates_query
from gcnotify.devserver.traffic import TrafficModel
from gcnotify.reports.standup.assemble import assemble_pack
from gcnotify.reports.standup.counts import standup_queries
from gcnotify.reports.standup.pack import Column, Section, StandupPack

BUSINESS_DATE = date(2025, 11, 4)
TIMEZONE = "America/Chicago"

BUILD = """
import json, pickle, sys, time
raw = open(sys.argv[1], "rb").read()
start = time.perf_counter()
pack = pickle.loads(raw)  # imports gcnotify's standup modules, as a cold pack build would
from gcnotify.reports.standup.pdf import build_pdf
from gcnotify.reports.standup.xlsx import build_xlsx
t0 = time.perf_counter()
pdf = build_pdf(pack)
t1 = time.perf_counter()
xlsx = build_xlsx(pack)
t2 = time.perf_counter()
build_pdf(pack)
t3 = time.perf_counter()
build_xlsx(pack)
t4 = time.perf_counter()
print(json.dumps({"gcnotify_load": t0 - start, "pdf_cold": t1 - t0, "xlsx_cold": t2 - t1,
                  "pdf_warm": t3 - t2, "xlsx_warm": t4 - t3, "pdf_bytes": len(pdf),
                  "xlsx_bytes": len(xlsx)}))
open(sys.argv[2], "wb").write(pdf)
open(sys.argv[3], "wb").write(xlsx)
"""

IMPORTS = """
import json, time
t0 = time.perf_counter()
import reportlab.platypus, reportlab.graphics.charts.barcharts, reportlab.pdfbase.ttfonts
t1 = time.perf_counter()
import xlsxwriter
t2 = time.perf_counter()
print(json.dumps({"reportlab_import": t1 - t0, "xlsxwriter_import": t2 - t1}))
"""


def build_pack(queue_count: int) -> StandupPack:
    queues = [
        Queue(id=f"00000000-0000-4000-8000-{i:012x}", name=f"Queue {i:02d}")
        for i in range(1, queue_count + 1)
    ]
    ids = [q.id for q in queues]
    model = TrafficModel(ids, seed=7, local_tz=TIMEZONE)
    daily, by_interval = standup_queries(
        business_date=BUSINESS_DATE, timezone=TIMEZONE, queue_ids=ids, granularity="PT30M"
    )
    now = datetime(2025, 11, 5, 12, tzinfo=UTC)
    occupancy = Section(
        key="occupancy",
        title="Occupancy",
        columns=(
            Column("queue", "Queue", "text"),
            Column("members", "Members", "count"),
            Column("occupancy", "Occupancy", "percent"),
        ),
        rows=tuple(
            {"queue": q.name, "members": 5 + i % 7, "occupancy": 0.5 + (i % 40) / 100}
            for i, q in enumerate(queues)
        ),
        note="Occupancy = INTERACTING ÷ (INTERACTING + IDLE + COMMUNICATING)",
    )
    return assemble_pack(
        report_id="bench-standup",
        title="Bench standup",
        business_date=BUSINESS_DATE,
        timezone=TIMEZONE,
        queues=queues,
        daily_answer=run_aggregates_query(daily, model, ids, now=now),
        interval_answer=run_aggregates_query(by_interval, model, ids, now=now),
        granularity="PT30M",
        closed=lambda d: d.weekday() >= 5,
        sections=(occupancy,),
    )


def _fresh(code: str, *args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], check=True, capture_output=True, text=True
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--queues", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pickled = folder / "pack.pickle"
        pickled.write_bytes(pickle.dumps(build_pack(args.queues)))
        pdf, xlsx = folder / "pack.pdf", folder / "pack.xlsx"
        builds = [_fresh(BUILD, str(pickled), str(pdf), str(xlsx)) for _ in range(args.runs)]
        imports = [_fresh(IMPORTS) for _ in range(args.runs)]
        encoded = len(base64.b64encode(pdf.read_bytes())) + len(base64.b64encode(xlsx.read_bytes()))

    def median_ms(rows: list[dict[str, float]], key: str) -> float:
        return round(1000 * statistics.median(r[key] for r in rows), 1)

    cold = [{"total": r["gcnotify_load"] + r["pdf_cold"] + r["xlsx_cold"]} for r in builds]
    print(f"queues {args.queues}  runs {args.runs}")
    print(f"reportlab_import_ms {median_ms(imports, 'reportlab_import')}")
    print(f"xlsxwriter_import_ms {median_ms(imports, 'xlsxwriter_import')}")
    for key in ("gcnotify_load", "pdf_cold", "xlsx_cold", "pdf_warm", "xlsx_warm"):
        print(f"{key}_ms {median_ms(builds, key)}")
    print(f"cold_total_ms {median_ms(cold, 'total')}")
    print(f"pdf_bytes {int(builds[0]['pdf_bytes'])}")
    print(f"xlsx_bytes {int(builds[0]['xlsx_bytes'])}")
    print(f"attachments_base64_bytes {encoded}")


if __name__ == "__main__":
    main()
