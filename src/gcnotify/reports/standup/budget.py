"""The standup email's size budget, so an email with attachments never bounces.

SendGrid refuses a mail/send body of 30 MB or more, and receiving servers often bounce much less
(10 MB is a common limit), so a standup report has ``max_email_bytes``. The body is measured as
it will be sent, attachments base64-encoded inside the JSON. Over budget, in this order:

a. zip the attachments into one ``.zip`` (deflate);
b. rebuild the XLSX without its interval detail, and zip again;
c. store the files in S3 and link them in the email instead of attaching them.

A file that alone would put the email over SendGrid's 30 MB goes straight to (c). The decision is
pure: the mail body, the XLSX rebuild and the storing of files are callables the caller passes,
so it is tested with real bytes and no AWS. What was done comes back as steps with their sizes,
for the email to say.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Literal

from gcnotify.core.errors import ReportError, SendGridTooLargeError
from gcnotify.core.links import download_link, sign_token
from gcnotify.core.mail import Attachment, RenderedEmail
from gcnotify.sendgrid.client import MAX_MESSAGE_BYTES, encode_body

if TYPE_CHECKING:
    from gcnotify.aws.storage import ArtifactStore

__all__ = [
    "DEFAULT_MAX_EMAIL_BYTES",
    "NOTES_RESERVE_BYTES",
    "BudgetOutcome",
    "BudgetStep",
    "FileLink",
    "StepKind",
    "fit_to_budget",
    "human_size",
    "mail_body_bytes",
    "s3_linker",
    "zip_attachments",
]

DEFAULT_MAX_EMAIL_BYTES = 10_000_000
# Room left for what the budget adds to the email afterwards: the notes saying what was done and
# one link per file (a token is about 150 characters), in both the HTML and the text part.
NOTES_RESERVE_BYTES = 20_000
ZIP_MIME = "application/zip"
# zipfile cannot store times before 1980; a fixed time also makes the same files the same zip.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)

StepKind = Literal["zipped", "intervals_dropped", "linked"]
BodyOf = Callable[[RenderedEmail], Mapping[str, Any]]
LinkFiles = Callable[[tuple[Attachment, ...]], tuple["FileLink", ...]]


def human_size(size: int) -> str:
    """Decimal units, as mail clients show them: ``3.1 MB``, ``840 kB``, ``512 bytes``."""
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    if size >= 1_000:
        return f"{size / 1_000:.0f} kB"
    return f"{size} bytes"


@dataclass(frozen=True)
class FileLink:
    """A file stored instead of attached: its name, its download link, until when it works."""

    filename: str
    url: str
    size_bytes: int
    expires: datetime


@dataclass(frozen=True)
class BudgetStep:
    """One step taken, with the attachments' bytes and the whole mail body's bytes around it.

    ``files_after`` is 0 for ``linked``: nothing is attached any more.
    """

    kind: StepKind
    files_before: int
    files_after: int
    email_before: int
    email_after: int
    expires: datetime | None = None  # linked: when the links stop working

    def sentence(self) -> str:
        """What the email says about this step."""
        sizes = f"({human_size(self.files_before)} → {human_size(self.files_after)})"
        if self.kind == "zipped":
            return f"The attachments were zipped {sizes}."
        if self.kind == "intervals_dropped":
            return (
                "The interval detail was left out of the spreadsheet to keep this email small "
                f"enough to deliver {sizes}."
            )
        until = self.expires.strftime("%Y-%m-%d %H:%M %Z").strip() if self.expires else "…"
        return (
            f"The files ({human_size(self.files_before)}) are too large to attach; they are "
            f"linked below, valid until {until}."
        )


@dataclass(frozen=True)
class BudgetOutcome:
    """What to send: the attachments, the links instead of them, and the steps that led here.

    ``steps`` describe the email as sent: when the files end up linked, they are the originals
    (full detail), so the only step is ``linked``. ``email_bytes`` is the body measured with
    ``attachments``, before the notes and links are added (``NOTES_RESERVE_BYTES`` is kept for
    them).
    """

    attachments: tuple[Attachment, ...]
    links: tuple[FileLink, ...]
    steps: tuple[BudgetStep, ...]
    email_bytes: int

    def notes(self) -> tuple[str, ...]:
        return tuple(step.sentence() for step in self.steps)

    def apply(self, email: RenderedEmail) -> RenderedEmail:
        """``email`` with these attachments (render the notes and links into it separately)."""
        return replace(email, attachments=self.attachments)


def _base64_length(size: int) -> int:
    return 4 * ((size + 2) // 3)


def _entry_bytes(attachment: Attachment) -> int:
    """One attachment's JSON in the body: the entry with empty content, plus its base64 (whose
    characters JSON never escapes)."""
    entry = {
        "content": "",
        "type": attachment.mime_type,
        "filename": attachment.filename,
        "disposition": "attachment",
    }
    return len(encode_body(entry)) + _base64_length(len(attachment.content))


def mail_body_bytes(email: RenderedEmail, body_of: BodyOf) -> int:
    """The encoded mail/send body's size, byte for byte, without base64-encoding the files.

    ``body_of`` builds the body (``build_mail_body`` with the report's sender and recipients);
    it is called on the email without attachments, which the entries are then added to, as
    ``build_mail_body`` writes them. A body of 30 MB or more is measured too, where
    ``build_mail_body`` itself would refuse it.
    """
    base = len(encode_body(body_of(replace(email, attachments=()))))
    if not email.attachments:
        return base
    entries = sum(_entry_bytes(a) for a in email.attachments) + len(email.attachments) - 1
    return base + len(',"attachments":[]') + entries


def _unique(files: Sequence[Attachment]) -> None:
    names = [a.filename for a in files]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(
            f"attachment name(s) {', '.join(repeated)} repeat; a zip needs unique ones"
        )


def zip_attachments(
    files: Sequence[Attachment], filename: str, *, modified: datetime | None = None
) -> Attachment:
    """The files in one deflated ``.zip``, in their order; ``modified`` dates every entry."""
    if not files:
        raise ValueError("no attachments to zip")
    _unique(files)
    stamp = _ZIP_EPOCH if modified is None else modified.timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for attachment in files:
            info = zipfile.ZipInfo(attachment.filename, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, attachment.content)
    return Attachment(filename=filename, content=buffer.getvalue(), mime_type=ZIP_MIME)


def _total(files: Sequence[Attachment]) -> int:
    return sum(len(a.content) for a in files)


def _without_intervals(
    files: tuple[Attachment, ...], rebuild: Callable[[], Attachment]
) -> tuple[Attachment, ...]:
    slim = rebuild()
    if slim.filename not in {a.filename for a in files}:
        raise ValueError(
            f"the rebuilt spreadsheet {slim.filename!r} replaces no attachment; give it the "
            "name of the XLSX it replaces"
        )
    return tuple(slim if a.filename == slim.filename else a for a in files)


def fit_to_budget(
    email: RenderedEmail,
    *,
    body_of: BodyOf,
    link_files: LinkFiles,
    rebuild_without_intervals: Callable[[], Attachment] | None = None,
    max_email_bytes: int = DEFAULT_MAX_EMAIL_BYTES,
    reserve_bytes: int = NOTES_RESERVE_BYTES,
    zip_filename: str | None = None,
    modified: datetime | None = None,
) -> BudgetOutcome:
    """Decide how ``email``'s attachments travel so its mail/send body stays within budget.

    ``rebuild_without_intervals`` returns the XLSX without its interval detail, under the same
    filename (step b is skipped without it). ``link_files`` stores files and returns one link
    each (``s3_linker``); it is called only when attaching cannot fit. Raises ``ReportError``
    when the email is over budget even without attachments, and ``ValueError`` for a budget
    above SendGrid's 30 MB.
    """
    if not reserve_bytes < max_email_bytes <= MAX_MESSAGE_BYTES:
        raise ValueError(
            f"max_email_bytes must be above {reserve_bytes} and at most {MAX_MESSAGE_BYTES} "
            f"(SendGrid's limit), got {max_email_bytes}"
        )
    # SendGrid accepts less than MAX_MESSAGE_BYTES, so a budget of exactly that is one byte less.
    limit = min(max_email_bytes, MAX_MESSAGE_BYTES - 1) - reserve_bytes
    try:
        bare = mail_body_bytes(replace(email, attachments=()), body_of)
    except SendGridTooLargeError as exc:
        raise _too_large_bare(None, max_email_bytes) from exc
    if bare > limit:
        raise _too_large_bare(bare, max_email_bytes)
    files = email.attachments
    _unique(files)
    original = mail_body_bytes(email, body_of)
    if original <= limit:
        return BudgetOutcome(files, (), (), original)

    def measure(attachments: tuple[Attachment, ...]) -> int:
        return mail_body_bytes(replace(email, attachments=attachments), body_of)

    # A file SendGrid could not take even alone is not squeezed (seconds of CPU for 30 MB+).
    ceiling = MAX_MESSAGE_BYTES - reserve_bytes
    if all(measure((a,)) < ceiling for a in files):
        name = zip_filename or f"{PurePath(files[0].filename).stem}.zip"
        zipped = zip_attachments(files, name, modified=modified)
        zipped_bytes = measure((zipped,))
        step_a = BudgetStep("zipped", _total(files), len(zipped.content), original, zipped_bytes)
        if zipped_bytes <= limit:
            return BudgetOutcome((zipped,), (), (step_a,), zipped_bytes)
        if rebuild_without_intervals is not None:
            slim = zip_attachments(
                _without_intervals(files, rebuild_without_intervals), name, modified=modified
            )
            slim_bytes = measure((slim,))
            step_b = BudgetStep(
                "intervals_dropped",
                len(zipped.content),
                len(slim.content),
                zipped_bytes,
                slim_bytes,
            )
            if slim_bytes <= limit:
                return BudgetOutcome((slim,), (), (step_a, step_b), slim_bytes)

    links = link_files(files)
    if len(links) != len(files):
        raise ValueError(f"link_files returned {len(links)} links for {len(files)} files")
    expires = min(link.expires for link in links)
    step_c = BudgetStep("linked", _total(files), 0, original, bare, expires=expires)
    return BudgetOutcome((), tuple(links), (step_c,), bare)


def _too_large_bare(size: int | None, budget: int) -> ReportError:
    measured = f"is {human_size(size)}" if size is not None else "is over SendGrid's 30 MB"
    return ReportError(
        f"the standup email {measured} without any attachment, over its max_email_bytes of "
        f"{human_size(budget)} (less the room for notes and links); nothing was sent. Report "
        "fewer queues in it, or raise max_email_bytes (at most 30 MB)"
    )


def s3_linker(
    store: ArtifactStore,
    *,
    report_id: str,
    business_date: date,
    signing_key: bytes,
    download_url: str,
    expires: datetime,
) -> LinkFiles:
    """``link_files`` for ``fit_to_budget``: each file stored (SSE-S3) under the report's and
    date's prefix, linked through the download function with a token valid until ``expires``."""
    from gcnotify.aws.storage import artifact_key

    def link(files: tuple[Attachment, ...]) -> tuple[FileLink, ...]:
        keys = [artifact_key(report_id, business_date, a.filename) for a in files]
        if len(set(keys)) != len(keys):
            raise ValueError(
                "two attachments map to one object key (names differing only in characters S3 "
                f"keys avoid): {', '.join(a.filename for a in files)}"
            )
        links = []
        for key, attachment in zip(keys, files, strict=True):
            stored = store.put(
                key,
                attachment.content,
                content_type=attachment.mime_type,
                filename=attachment.filename,
            )
            token = sign_token(stored.key, expires, signing_key)
            links.append(
                FileLink(
                    filename=attachment.filename,
                    url=download_link(download_url, token),
                    size_bytes=stored.size_bytes,
                    expires=expires,
                )
            )
        return tuple(links)

    return link
