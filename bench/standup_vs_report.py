"""A 50-queue standup pack next to a plain queue report of the same queues, each built whole in a
fresh interpreter: from the Genesys answers to the mail/send body, imports included.

The answers come from the stand-in's synthetic traffic and are pickled once, so the timed part is
gcnotify's own: for the queue report, the table, the email and the body; for the standup, the
pack, its email, its PDF and XLSX, and the body with both attached. The message size is the body
as SendGrid receives it (attachments base64-encoded in JSON). Medians of --runs interpreters;
Genesys queries per run are what each builds its numbers from (token and queue lookup aside).

Usage: python bench/standup_vs_report.py [--runs 7] [--queues 50]
"""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gcnotify.core.model import Queue, Recipients, ReportConfig
from gcnotify.core.windows import day_window
from gcnotify.devserver.aggregates import run_aggregates_query
from gcnotify.devserver.traffic import TrafficModel
from gcnotify.reports.metrics import genesys_metrics
from gcnotify.reports.query import build_aggregates_query
from gcnotify.reports.standup.counts import standup_queries
from standup_pack import BUSINESS_DATE, TIMEZONE

BUILD = """
import json, pickle, sys, time
raw = open(sys.argv[1], "rb").read()
kind = sys.argv[2]
start = time.perf_counter()
data = pickle.loads(raw)
from gcnotify.core.model import Address, SendGridSettings
from gcnotify.reports.render import Renderer
from gcnotify.runtime.resources import templates_dir
from gcnotify.sendgrid.client import build_mail_body, encode_body
renderer = Renderer(templates_dir())
sender = SendGridSettings(from_=Address("reports@example.com", "Reports"))
report, window, queues = data["report"], data["window"], data["queues"]
as_of = data["as_of"]
if kind == "report":
    from gcnotify.reports.metrics import build_table
    table = build_table(data["answer"], queues, report.metrics, report.timezone, report.interval)
    email = renderer.render_report(report, window, table, data_as_of=as_of)
else:
    from dataclasses import replace
    from gcnotify.core.mail import Attachment
    from gcnotify.reports.standup.assemble import assemble_pack
    from gcnotify.reports.standup.pdf import build_pdf
    from gcnotify.reports.standup.xlsx import build_xlsx
    pack = assemble_pack(report_id=report.id, title=report.title,
        business_date=window.business_date, timezone=report.timezone, queues=queues,
        daily_answer=data["daily"], interval_answer=data["interval"], granularity="PT30M",
        closed=lambda d: None, data_as_of=as_of)
    email = renderer.render_standup(report, window, pack.comparison, pack.heat, data_as_of=as_of)
    email = replace(email, attachments=(
        Attachment("pack.pdf", build_pdf(pack), "application/pdf"),
        Attachment("pack.xlsx", build_xlsx(pack), "application/vnd.ms-excel")))
body = encode_body(build_mail_body(email, sender=sender, recipients=report.recipients,
    custom_args={"gcnotify_report_id": report.id}))
took = time.perf_counter() - start
print(json.dumps({"seconds": took, "message_bytes": len(body), "html_bytes": len(email.html)}))
"""


def inputs(queue_count: int) -> dict[str, object]:
    queues = [
        Queue(id=f"00000000-0000-4000-8000-{i:012x}", name=f"Queue {i:02d}")
        for i in range(1, queue_count + 1)
    ]
    ids = [q.id for q in queues]
    model = TrafficModel(ids, seed=7, local_tz=TIMEZONE)
    now = datetime(2025, 11, 5, 12, tzinfo=UTC)
    report = ReportConfig(
        id="bench",
        title="Bench",
        timezone=TIMEZONE,
        recipients=Recipients(to=("sup@example.com",)),
        queues=tuple(q.name for q in queues),
    )
    window = day_window(report, BUSINESS_DATE)
    body = build_aggregates_query(
        interval=window.genesys_interval(),
        timezone=TIMEZONE,
        queue_ids=ids,
        genesys_metrics=genesys_metrics(report.metrics),
    )
    daily, by_interval = standup_queries(
        business_date=BUSINESS_DATE, timezone=TIMEZONE, queue_ids=ids, granularity="PT30M"
    )
    return {
        "report": report,
        "window": window,
        "queues": queues,
        "as_of": now,
        "answer": run_aggregates_query(body, model, ids, now=now),
        "daily": run_aggregates_query(daily, model, ids, now=now),
        "interval": run_aggregates_query(by_interval, model, ids, now=now),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--queues", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pickled = Path(tmp) / "inputs.pickle"
        pickled.write_bytes(pickle.dumps(inputs(args.queues)))
        rows = {}
        for kind in ("report", "standup"):
            runs = []
            for _ in range(args.runs):
                out = subprocess.run(
                    [sys.executable, "-c", BUILD, str(pickled), kind],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                runs.append(json.loads(out.stdout))
            rows[kind] = runs
    print(f"{args.queues} queues, fresh interpreter per run, median of {args.runs}; built from the")
    print("Genesys answers to the encoded mail/send body, imports included")
    print(f"{'':>13} | {'build, s':>8} | {'message bytes':>13} | {'HTML bytes':>10} | queries")
    queries = {"report": 1, "standup": 2}
    for kind, runs in rows.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        print(
            f"{'queue report' if kind == 'report' else 'standup pack':>13} | {seconds:8.3f} | "
            f"{int(runs[0]['message_bytes']):>13,} | {int(runs[0]['html_bytes']):>10,} | "
            f"{queries[kind]:>7}"
        )


if __name__ == "__main__":
    main()
