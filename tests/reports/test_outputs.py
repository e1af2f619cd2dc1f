"""Writing an email as .html, .txt and .eml from the SendGrid body."""

from __future__ import annotations

import base64
import email
from datetime import UTC, datetime
from email import policy
from pathlib import Path

from gcnotify.reports.outputs import eml_from_mail_body, write_outputs

BODY = {
    "personalizations": [
        {
            "to": [{"email": "sup@example.com", "name": "Sup"}],
            "cc": [{"email": "cc@example.com"}],
            "subject": "Support — Fri 20 Nov 2026",
            "custom_args": {"gcnotify_report_id": "support-daily"},
        }
    ],
    "from": {"email": "reports@example.com", "name": "Reports"},
    "reply_to": {"email": "ops@example.com"},
    "content": [
        {"type": "text/plain", "value": "Offered 12"},
        {"type": "text/html", "value": "<p>Offered <b>12</b> — é</p>"},
    ],
    "attachments": [
        {
            "content": base64.b64encode(b"a,b\n1,2\n").decode(),
            "type": "text/csv",
            "filename": "x.csv",
            "disposition": "attachment",
        }
    ],
}


def test_eml_round_trips() -> None:
    """The .eml parses back with the same headers, parts and attachment."""
    msg = email.message_from_bytes(eml_from_mail_body(BODY), policy=policy.default)
    assert msg["Subject"] == "Support — Fri 20 Nov 2026"
    assert msg["To"] == "Sup <sup@example.com>"
    assert msg["Cc"] == "cc@example.com"
    assert msg["X-gcnotify-report-id"] == "support-daily"
    html = msg.get_body(("html",))
    assert html is not None
    assert "<b>12</b> — é" in html.get_content()
    attachments = list(msg.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["x.csv"]
    assert attachments[0].get_payload(decode=True) == b"a,b\n1,2\n"


def test_write_outputs(tmp_path: Path) -> None:
    """The three parts, then each attachment as its own file, with their content."""
    paths = write_outputs(tmp_path / "out", "support-daily-2026-11-20", BODY)
    assert [".html", ".txt", ".eml"] == [p.suffix for p in paths[:3]]
    assert "Offered 12" == paths[1].read_text()
    names = [a["filename"] for a in BODY.get("attachments", [])]
    assert names == [p.name for p in paths[3:]]
    for path, attachment in zip(paths[3:], BODY.get("attachments", []), strict=True):
        assert base64.b64decode(attachment["content"]) == path.read_bytes()


def test_eml_carries_date_and_message_id() -> None:
    """Mail clients sort by Date and thread by Message-ID: both are set, the id at our domain."""
    when = datetime(2026, 11, 21, 11, 0, tzinfo=UTC)
    msg = email.message_from_bytes(eml_from_mail_body(BODY, date=when), policy=policy.default)
    assert "Sat, 21 Nov 2026 11:00:00 +0000" == msg["Date"]
    assert msg["Message-ID"].endswith("@" + BODY["from"]["email"].rpartition("@")[2] + ">")
