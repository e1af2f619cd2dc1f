"""Write an email as files a person can open: ``.html``, ``.txt`` and a MIME ``.eml``.

Built from the SendGrid request body itself, so what is written is exactly what was (or, in a dry
run, would have been) sent, not a second rendering of it.
"""

from __future__ import annotations

import base64
import email.utils
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.headerregistry import Address as EmailAddress
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

__all__ = ["eml_from_mail_body", "write_outputs"]


def _addresses(items: Sequence[Mapping[str, str]]) -> list[EmailAddress]:
    out = []
    for item in items:
        user, _, domain = item["email"].partition("@")
        out.append(EmailAddress(display_name=item.get("name", ""), username=user, domain=domain))
    return out


def _content(body: Mapping[str, Any], mime: str) -> str:
    for part in body.get("content", []):
        if part.get("type") == mime:
            return str(part.get("value", ""))
    return ""


def eml_from_mail_body(
    body: Mapping[str, Any], *, date: datetime | None = None, message_id: str | None = None
) -> bytes:
    """A multipart/alternative message (plus attachments) equivalent to a mail/send body.

    ``Date`` and ``Message-ID`` are set as a mail server would (mail clients sort and thread
    by them): ``date`` defaults to now, ``message_id`` to a fresh id at the sender's domain.
    """
    personalization = body["personalizations"][0]
    msg = EmailMessage(policy=SMTP)
    msg["Subject"] = personalization.get("subject") or body.get("subject", "")
    msg["Date"] = email.utils.format_datetime(date or datetime.now(UTC))
    domain = str(body["from"]["email"]).rpartition("@")[2] or None
    msg["Message-ID"] = message_id or email.utils.make_msgid("gcnotify", domain=domain)
    msg["From"] = _addresses([body["from"]])
    msg["To"] = _addresses(personalization["to"])
    if personalization.get("cc"):
        msg["Cc"] = _addresses(personalization["cc"])
    if body.get("reply_to"):
        msg["Reply-To"] = _addresses([body["reply_to"]])
    for key, value in sorted(
        {**body.get("custom_args", {}), **personalization.get("custom_args", {})}.items()
    ):
        msg[f"X-{key.replace('_', '-')}"] = value
    msg.set_content(_content(body, "text/plain"))
    msg.add_alternative(_content(body, "text/html"), subtype="html")
    for attachment in body.get("attachments", []):
        maintype, _, subtype = attachment.get("type", "application/octet-stream").partition("/")
        msg.add_attachment(
            base64.b64decode(attachment["content"]),
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=attachment["filename"],
        )
    return msg.as_bytes()


def write_outputs(out_dir: Path, stem: str, body: Mapping[str, Any]) -> list[Path]:
    """Write ``<stem>.html``, ``<stem>.txt``, ``<stem>.eml`` and each attachment as its own
    file; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    html = out_dir / f"{stem}.html"
    text = out_dir / f"{stem}.txt"
    eml = out_dir / f"{stem}.eml"
    html.write_text(_content(body, "text/html"), encoding="utf-8")
    text.write_text(_content(body, "text/plain"), encoding="utf-8")
    eml.write_bytes(eml_from_mail_body(body))
    paths = [html, text, eml]
    for attachment in body.get("attachments", []):
        # A name from our own builders, but never trusted with a path: keep the last part.
        name = Path(str(attachment["filename"])).name or "attachment"
        path = out_dir / name
        path.write_bytes(base64.b64decode(attachment["content"]))
        paths.append(path)
    return paths
