"""Pure message types shared by the renderer and the SendGrid sender.

Kept separate from both so render.py does no HTTP and sendgrid.py does no templating.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Attachment:
    """A file attached to the report email (e.g. the CSV of the table)."""

    filename: str
    content: bytes
    mime_type: str


@dataclass(frozen=True)
class RenderedEmail:
    """A fully rendered email; the HTML is already autoescaped."""

    subject: str
    html: str
    text: str
    attachments: tuple[Attachment, ...] = ()
