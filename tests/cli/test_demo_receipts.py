"""`gcnotify demo receipts` end to end: the command runs the pipeline on the local stand-ins and
what it prints is what the tables hold — every message in a final class, the opted-out number
and the bounced address suppressed, the rate-limited SMS delivered on attempt 2, the webhook's
repeated events counted once, the delivery summary's figures and its email written."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gcnotify.cli.demo_receipts import SUMMARY_REPORT, demo_messages
from gcnotify.cli.main import main

ROW = re.compile(
    r"^  (?P<key>demo-\S+)\s+(?P<channel>\S+)\s+(?P<to>\S+)\s+(?P<status>\S+)\s+"
    r"(?P<cls>\S+)\s+(?P<code>\S+)\s+(?P<attempt>\d+)$"
)
FINAL = {"delivered", "read", "failed_permanent", "unknown"}


def _table(out: str) -> dict[str, dict[str, str]]:
    """The final messages table the demo prints, by key."""
    section = out.split("Messages (the messages table):\n", 1)[1].split("Suppressions", 1)[0]
    rows = {}
    for line in section.splitlines():
        found = ROW.match(line)
        if found:
            rows[found["key"]] = found.groupdict()
    return rows


def _number(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    assert found is not None, pattern
    return int(found[1])


@pytest.mark.e2e
def test_the_receipts_demo_ends_every_message_in_its_final_class(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(name, "demo")  # the demo sets them; monkeypatch puts them back
    assert 0 == main(["demo", "receipts", "--out", str(tmp_path)])
    out = capsys.readouterr().out

    rows = _table(out)
    assert [m.key for m in demo_messages()] == list(rows)
    assert all(row["status"] in FINAL for row in rows.values()), rows
    assert {k: (r["status"], r["cls"], r["code"], r["attempt"]) for k, r in rows.items()} == {
        "demo-sms-delivered": ("delivered", "delivered", "DeliverySuccess", "1"),
        "demo-wa-read": ("read", "read", "Read", "1"),
        "demo-sms-optout": ("failed_permanent", "failed_permanent", "RecipientOptedOut", "1"),
        "demo-sms-retry": ("delivered", "delivered", "DeliverySuccess", "2"),
        "demo-web-silent": ("unknown", "unknown", "NoFinalReceipt", "1"),
        "demo-email-opened": ("read", "read", "open", "1"),
        "demo-email-deferred": ("delivered", "delivered", "delivered", "1"),
        "demo-email-bounce": ("failed_permanent", "failed_permanent", "bounce:bounce", "1"),
        "demo-email-silent": ("unknown", "unknown", "NoFinalReceipt", "1"),
    }
    # Masked everywhere: no address the demo sent to is printed whole.
    assert {r["to"] for r in rows.values()} >= {"+*******0123", "j***@example.com"}
    for message in demo_messages():
        assert message.to not in out

    # The retry: a guard key of its own, both attempts sent once.
    assert (
        "demo-sms-retry re-sent as attempt 2, sent (send ledger: msg#demo-sms-retry sent, "
        "msg#demo-sms-retry#2 sent)"
    ) in out
    # Suppressions fed back by the receipts, with their sources.
    assert "Suppressions added by receipts: 2" in out
    assert "sms +*******0123: the recipient opted out" in out
    assert "(source receipt:genesys:RecipientOptedOut)" in out
    assert "email g***@example.com: the address bounced permanently" in out

    # The webhook: every distinct event with a delivery meaning recorded once, repeats counted
    # as duplicates, clicks ignored, nothing unmatched or failed.
    events = _number(r"SendGrid Event Webhook: (\d+) events", out)
    clicks = _number(r"click (\d+)", out)
    posted_again = _number(r"; (\d+) posted again", out)
    received = _number(r"received (\d+)", out)
    recorded = _number(r"recorded (\d+)", out)
    duplicates = _number(r"duplicates (\d+)", out)
    ignored = _number(r"ignored (\d+) \(clicks\)", out)
    assert received == events + posted_again
    assert recorded == events - clicks
    assert duplicates >= 1
    assert received == recorded + duplicates + ignored
    assert "unmatched 0, suppressed 1, retried 0, failed 0" in out
    assert _number(r"; \d+ posted again, (\d+) after a later event", out) >= 1

    # The poller: three runs, each with its audit record; the last ages the two silent ones out.
    assert 3 == out.count("    audit record receipts-audit#")
    assert "unknown after final_after 2, SendGrid swept 1" in out
    assert "breaker tripped" not in out
    # The first run screens the five Genesys messages by analytics in one call: two deliveries
    # applied, one on its way, the two failures read by their details for their codes.
    assert "asked 5, Genesys calls 3 " in out
    assert "analytics screen 5 (applied 2, waiting 1, to their details 2)" in out

    # The delivery summary over the day, and the report function's email in --out.
    assert (
        "sent 9, delivered 5 (55.6%), read 2, failed 2 (failed_permanent RecipientOptedOut 1; "
        "failed_permanent bounce:bounce 1), pending 0, unknown 2" in out
    )
    assert f"Report {SUMMARY_REPORT} (the report function, partial day): sent, 9 messages" in out
    day = datetime.now(UTC).date().isoformat()
    html = tmp_path / f"{SUMMARY_REPORT}-{day}.html"
    text = (tmp_path / f"{SUMMARY_REPORT}-{day}.txt").read_text(encoding="utf-8")
    assert html.exists()
    assert "Sent 9 · Delivered 55.6% · Failed 2" in text
    assert out.rstrip().endswith("All 9 messages ended in their final class as planned.")
