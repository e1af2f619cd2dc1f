"""The real emails in a real browser: nothing runs off a phone screen, every number keeps its label.

Headless Chromium cannot open a window narrower than 500 px, so each email is loaded in an
iframe of the exact width inside one host page (its media queries see the iframe's width), and a
script in the host writes what it measured into the DOM, which ``--dump-dom`` prints. One browser
start measures every email at every width.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gcnotify.core.mail import RenderedEmail
from gcnotify.core.model import METRIC_NAMES
from gcnotify.reports.render import Renderer
from gcnotify.runtime.resources import templates_dir
from tests.reports.standup.test_email import closed_last_week, render_pack, standup_pack
from tests.reports.test_delivery_summary import (
    END,
    START,
    api_email,
    record,
    spring,
    summary_report,
    the_window,
)
from tests.reports.test_render import AS_OF, TEN, make_table, report_config, window

PHONE, DESKTOP = 390, 1280
WIDTHS = (PHONE, DESKTOP)
EIGHT = TEN[:8]  # the metrics of the shipped gcnotify.yaml report
LONG_NAMES = [
    "Support",
    "Tech Support Tier 2 — Enterprise Escalations (EMEA & APAC, weekends)",
    'Partners & "Resellers"',
    "Retention-Win-Back-Outbound-Campaign-Callbacks",
    "SpanishSupportOvernightOverflowBackupQueueNumberTwo",
    "Spanish Support",
]
_BROWSER_SECONDS = 60

# Runs in the host page once every iframe has loaded; one result per iframe, in order.
_MEASURE = r"""
const NUMBER = /^(—|-?[\d,]+(\.\d+)?%?|-?\d+:\d\d:\d\d)$/;
function shown(el, win) {
  for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
    const s = win.getComputedStyle(e);
    if (s.display === 'none' || s.visibility !== 'visible' || parseFloat(s.opacity) === 0) {
      return false;
    }
  }
  const r = el.getBoundingClientRect();
  const size = parseFloat(win.getComputedStyle(el).fontSize);
  return r.width > 0 && r.height > 0 && size >= 9;
}
function onTop(el, doc) {
  const r = el.getBoundingClientRect();
  const hit = doc.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return hit !== null && (hit === el || el.contains(hit));
}
function describe(el) {
  const r = el.getBoundingClientRect();
  const text = (el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 40);
  return `<${el.tagName.toLowerCase()} class="${el.className}"> ${Math.round(r.left)}..` +
    `${Math.round(r.right)} "${text}"`;
}
function ownText(el) {
  let text = '';
  for (const n of el.childNodes) if (n.nodeType === 3) text += n.nodeValue;
  return text.trim();
}
function labelOf(el, win, doc) {
  for (const child of el.children) {
    const text = child.textContent.replace(/\s+/g, " ").trim();
    if (/[A-Za-z]/.test(text) && shown(child, win) && onTop(child, doc)) return text;
  }
  return null;
}
function measure(frame) {
  const win = frame.contentWindow, doc = frame.contentDocument, width = win.innerWidth;
  const out = {innerWidth: width, scrollWidth: doc.documentElement.scrollWidth, outside: [],
               numbers: 0, unlabelled: [], mislabelled: [], shownLabels: 0, headers: 0};
  for (const el of doc.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.left < -0.5 || r.right > width + 0.5) out.outside.push(describe(el));
  }
  const inTables = new Set();
  for (const table of doc.querySelectorAll('table')) {
    const heads = [...table.querySelectorAll(':scope > * > tr > th, :scope > tr > th')];
    if (heads.length === 0) continue;
    out.headers += heads.filter(th => shown(th, win)).length;
    const names = heads.map(th => th.textContent.replace(/\s+/g, " ").trim());
    for (const tr of table.querySelectorAll(':scope > * > tr, :scope > tr')) {
      const cells = [...tr.children].filter(c => c.tagName === 'TD');
      cells.forEach(td => inTables.add(td));
      if (cells.length !== names.length) continue;  // a group heading spanning the table
      cells.forEach((td, i) => {
        if (!NUMBER.test(ownText(td))) return;
        out.numbers += 1;
        const label = labelOf(td, win, doc);
        if (label !== null) out.shownLabels += 1;
        if (win.innerWidth > 480) return;
        if (label === null) out.unlabelled.push(describe(td));
        else if (label !== names[i]) out.mislabelled.push(`${describe(td)} is not ${names[i]}`);
      });
    }
  }
  // Numbers outside the data tables (the summary tiles): a shown sibling must say what they are.
  for (const el of doc.body.querySelectorAll('*')) {
    if (inTables.has(el.closest('td')) || !NUMBER.test(ownText(el)) || !shown(el, win)) continue;
    out.numbers += 1;
    const parent = el.parentElement;
    const siblings = [...parent.children].filter(c => c !== el);
    const labelled = siblings.some(c => /[A-Za-z]/.test(c.textContent) && shown(c, win));
    if (!labelled && width <= 480) out.unlabelled.push(describe(el));
  }
  for (const key of ['outside', 'unlabelled', 'mislabelled']) {
    out[key + 'Count'] = out[key].length;
    out[key] = out[key].slice(0, 20);  // enough to see what is wrong
  }
  return out;
}
addEventListener('load', () => {
  const frames = [...document.querySelectorAll('iframe')];
  for (const f of frames) {
    // As tall as its content: every element is inside its viewport, so hit tests see it.
    f.style.height = f.contentDocument.documentElement.scrollHeight + 'px';
  }
  const results = frames.map(f => {
    try { return measure(f); } catch (e) { return {error: String(e)}; }
  });
  const bytes = new TextEncoder().encode(JSON.stringify(results));
  let binary = '';
  for (let i = 0; i < bytes.length; i += 8192) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  document.getElementById('measured').textContent = btoa(binary);
});
"""


def chromium() -> str:
    """Debian's browser, or skip: these tests need a real layout engine."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("chromium not found: install it (Debian: apt-get install -y chromium)")
    return found


def chromium_command(browser: str, profile: Path, url: str) -> list[str]:
    """Headless and quiet: no network, no first-run work, a throwaway profile."""
    return [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--allow-file-access-from-files",  # lets the host page read its iframes
        f"--user-data-dir={profile}",
        "--window-size=1300,900",
        "--dump-dom",
        url,
    ]


def measure(pages: list[tuple[Path, int]], work: Path) -> list[dict[str, Any]]:
    """Load every ``(html file, viewport width)`` in one headless Chromium; its measurements."""
    frames = "".join(
        f'<iframe src="{path.as_uri()}" width="{width}" height="900" '
        'style="display:block;border:0"></iframe>'
        for path, width in pages
    )
    host = work / "host.html"
    host.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="margin:0">'
        f'{frames}<pre id="measured"></pre><script>{_MEASURE}</script></body></html>',
        encoding="utf-8",
    )
    done = subprocess.run(
        chromium_command(chromium(), work / "profile", host.as_uri()),
        capture_output=True,
        text=True,
        timeout=_BROWSER_SECONDS,
        check=False,
    )
    found = re.search(r'<pre id="measured">([A-Za-z0-9+/=]+)</pre>', done.stdout)
    assert found, (
        f"chromium printed no measurements (exit {done.returncode}): {done.stderr[-2000:]}"
    )
    results: list[dict[str, Any]] = json.loads(base64.b64decode(found.group(1)))
    return results


def daily(r: Renderer) -> RenderedEmail:
    """The shipped report's metrics, three queues, one day."""
    return r.render_report(
        report_config(metrics=EIGHT),
        window(),
        make_table(["Support", "Billing", "Sales"], metrics=EIGHT),
        data_as_of=AS_OF,
    )


def every_metric(r: Renderer) -> RenderedEmail:
    """The widest table there is: all fourteen metrics, long queue names, a long title."""
    return r.render_report(
        report_config(metrics=METRIC_NAMES, title=LONG_NAMES[1]),
        window(),
        make_table(LONG_NAMES, metrics=METRIC_NAMES),
        data_as_of=AS_OF,
    )


def hourly(r: Renderer) -> RenderedEmail:
    """An hourly table of six queues with long names (144 interval rows)."""
    return r.render_report(
        report_config(metrics=EIGHT, interval="PT1H", queues=tuple(LONG_NAMES)),
        window(),
        make_table(LONG_NAMES, "PT1H", metrics=EIGHT),
        data_as_of=AS_OF,
    )


def no_activity(r: Renderer) -> RenderedEmail:
    return r.render_no_activity(report_config(queues=tuple(LONG_NAMES)), window(), data_as_of=AS_OF)


def standup(r: Renderer) -> RenderedEmail:
    """The standup pack of six queues with long names, half-hourly, a holiday in the average."""
    return render_pack(r, standup_pack(LONG_NAMES))


def standup_left_out(r: Renderer) -> RenderedEmail:
    """The standup pack with last week's day closed: "—" and the reason in every tile."""
    return render_pack(
        r,
        standup_pack(LONG_NAMES[:3], closed=closed_last_week),
        notes=["Agent occupancy and adherence are in the attached PDF and XLSX."],
    )


def delivery_summary(r: Renderer) -> RenderedEmail:
    """Three groups (one with a long campaign and template name), failures of two classes."""
    from gcnotify.reports.delivery_summary import summarize

    long_name = [
        record(
            "long",
            "failed_permanent",
            source="campaign:spring-win-back-outbound-customers-who-called-twice-in-march",
            template="SpanishSupportOvernightOverflowReminderTemplateNumberTwo",
            channel="whatsapp",
            receipt_class="failed_permanent",
            receipt_code="InvalidDestination",
        )
    ]
    summary = summarize([*spring(), *api_email(), *long_name], START, END)
    return r.render_delivery_summary(summary_report(), the_window(), summary, data_as_of=AS_OF)


def delivery_summary_empty(r: Renderer) -> RenderedEmail:
    from gcnotify.reports.delivery_summary import summarize

    summary = summarize([], START, END)
    return r.render_delivery_summary(summary_report(), the_window(), summary, data_as_of=AS_OF)


SAMPLES: dict[str, Callable[[Renderer], RenderedEmail]] = {
    "daily": daily,
    "every-metric": every_metric,
    "hourly": hourly,
    "no-activity": no_activity,
    "standup": standup,
    "standup-left-out": standup_left_out,
    "delivery-summary": delivery_summary,
    "delivery-summary-empty": delivery_summary_empty,
}
REPORTS = ("daily", "every-metric", "hourly", "delivery-summary")
# A client that drops the <style> block (so also the phone layout) sees only the inline look.
UNSTYLED = "daily-without-style"


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], dict[str, Any]]:
    """Every sample email written to a file and measured at every width, in one browser run."""
    work = tmp_path_factory.mktemp("email-layout")
    renderer = Renderer(templates_dir())
    pages, keys = [], []
    for name, build in SAMPLES.items():
        html = build(renderer).html
        path = work / f"{name}.html"
        path.write_text(html, encoding="utf-8")
        for width in WIDTHS:
            pages.append((path, width))
            keys.append((name, width))
        if name == "daily":
            unstyled = work / f"{UNSTYLED}.html"
            unstyled.write_text(re.sub(r"<style>.*?</style>", "", html, flags=re.S), "utf-8")
            pages.append((unstyled, DESKTOP))
            keys.append((UNSTYLED, DESKTOP))
    results = measure(pages, work)
    assert [] == [(key, r["error"]) for key, r in zip(keys, results, strict=True) if "error" in r]
    return dict(zip(keys, results, strict=True))


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", SAMPLES)
def test_viewport_is_the_requested_width(
    measured: dict[tuple[str, int], dict[str, Any]], name: str, width: int
) -> None:
    """The email really was laid out at the width under test (the frame is not clamped)."""
    assert width == measured[name, width].get("innerWidth"), measured[name, width]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", SAMPLES)
def test_nothing_scrolls_sideways(
    measured: dict[tuple[str, int], dict[str, Any]], name: str, width: int
) -> None:
    """The page is no wider than the viewport and every element's box lies inside it."""
    m = measured[name, width]
    assert (True, []) == (m["scrollWidth"] <= m["innerWidth"], m["outside"][:10]), m["scrollWidth"]


@pytest.mark.parametrize("name", SAMPLES)
def test_every_number_has_its_label_on_a_phone(
    measured: dict[tuple[str, int], dict[str, Any]], name: str
) -> None:
    """At 390 px each number shows the label of its column (or tile) beside it."""
    m = measured[name, PHONE]
    assert ([], []) == (m["unlabelled"][:10], m["mislabelled"][:10])


@pytest.mark.parametrize(
    ("name", "numbers"),
    [
        ("daily", 4 + 4 * 8),  # tiles, then three queues and the total
        ("every-metric", 4 + 7 * 14),
        ("hourly", 4 + 7 * 8 + 6 * 24 * 8),  # and every hour of every queue, inline
        # tiles; three groups and the total, eight numbers each; four failure rows
        ("delivery-summary", 4 + 4 * 8 + 4),
    ],
)
def test_label_check_sees_every_number(
    measured: dict[tuple[str, int], dict[str, Any]], name: str, numbers: int
) -> None:
    """The label check looked at each number of the report (it cannot pass by finding none)."""
    assert numbers == measured[name, PHONE]["numbers"]


@pytest.mark.parametrize("name", [*REPORTS, UNSTYLED])
def test_desktop_is_a_table_with_column_headings(
    measured: dict[tuple[str, int], dict[str, Any]], name: str
) -> None:
    """At 1280 px the headings are shown and the per-number labels are not, even without CSS."""
    m = measured[name, DESKTOP]
    assert (True, 0) == (m["headers"] > 0, m["shownLabels"])


def test_desktop_without_style_block_does_not_overflow(
    measured: dict[tuple[str, int], dict[str, Any]],
) -> None:
    """With the <style> block dropped the inline-styled desktop layout still fits 1280 px."""
    m = measured[UNSTYLED, DESKTOP]
    assert (True, []) == (m["scrollWidth"] <= m["innerWidth"], m["outside"][:10])


@pytest.mark.parametrize(
    ("name", "numbers"),
    [
        # tiles; the service level chart (6 queues, the total); the table's values (7 rows of 6)
        ("standup", 6 + 7 + 7 * 6),
        # and a "—" in every tile for the closed day (three queues, the total)
        ("standup-left-out", 6 + 6 + 4 + 4 * 6),
    ],
)
def test_label_check_sees_every_standup_number(
    measured: dict[tuple[str, int], dict[str, Any]], name: str, numbers: int
) -> None:
    """The label check looked at each bare number of the standup email (changes carry ▲/▼)."""
    assert numbers == measured[name, PHONE]["numbers"]


def test_standup_desktop_is_a_table_with_column_headings(
    measured: dict[tuple[str, int], dict[str, Any]],
) -> None:
    """At 1280 px the queue table shows its headings and hides the per-number labels."""
    m = measured["standup", DESKTOP]
    assert (True, 0) == (m["headers"] > 0, m["shownLabels"])


@pytest.fixture(scope="module")
def standup_unstyled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The standup email with its <style> block dropped (as some clients do), at 1280 px."""
    work = tmp_path_factory.mktemp("standup-unstyled")
    html = standup(Renderer(templates_dir())).html
    path = work / "standup-without-style.html"
    path.write_text(re.sub(r"<style>.*?</style>", "", html, flags=re.S), "utf-8")
    (result,) = measure([(path, DESKTOP)], work)
    return result


def test_standup_without_style_block_does_not_overflow(standup_unstyled: dict[str, Any]) -> None:
    """With the <style> block dropped the inline-styled standup still fits and hides its labels."""
    m = standup_unstyled
    assert (True, [], 0) == (
        m["scrollWidth"] <= m["innerWidth"],
        m["outside"][:10],
        m["shownLabels"],
    )


# Runs in the host page: the width of each email's 600 px frame, in order.
_FRAME_WIDTHS = r"""
addEventListener('load', () => {
  const widths = [...document.querySelectorAll('iframe')].map(
    f => f.contentDocument.querySelector('table.wrap').getBoundingClientRect().width);
  document.getElementById('measured').textContent = widths.join(',');
});
"""


def frame_widths(pages: list[Path], work: Path) -> list[float]:
    """The laid-out width of each email's frame at 1280 px, in one headless Chromium."""
    frames = "".join(
        f'<iframe src="{path.as_uri()}" width="{DESKTOP}" height="900"></iframe>' for path in pages
    )
    host = work / "widths.html"
    host.write_text(
        f'<!DOCTYPE html><html><body>{frames}<pre id="measured"></pre>'
        f"<script>{_FRAME_WIDTHS}</script></body></html>",
        encoding="utf-8",
    )
    done = subprocess.run(
        chromium_command(chromium(), work / "profile", host.as_uri()),
        capture_output=True,
        text=True,
        timeout=_BROWSER_SECONDS,
        check=False,
    )
    found = re.search(r'<pre id="measured">([\d.,]+)</pre>', done.stdout)
    assert found, f"chromium printed no widths (exit {done.returncode}): {done.stderr[-2000:]}"
    return [float(w) for w in found.group(1).split(",")]


def test_standup_frame_stays_600_px_wide_on_desktop(tmp_path: Path) -> None:
    """Long queue names wrap or break inside their cells instead of widening the email."""
    renderer = Renderer(templates_dir())
    pages = []
    for name in ("standup", "standup-left-out"):
        path = tmp_path / f"{name}.html"
        path.write_text(SAMPLES[name](renderer).html, encoding="utf-8")
        pages.append(path)
    assert [600.0, 600.0] == frame_widths(pages, tmp_path)
