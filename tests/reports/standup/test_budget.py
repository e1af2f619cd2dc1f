"""The standup email's size budget: zip, drop the intervals, or link, measured on real bytes."""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from gcnotify.aws.storage import ArtifactStore, client_config
from gcnotify.core.errors import ReportError
from gcnotify.core.links import link_expiry, verify_token
from gcnotify.core.mail import Attachment, RenderedEmail
from gcnotify.core.model import Address, Recipients, SendGridSettings
from gcnotify.reports.standup.budget import (
    NOTES_RESERVE_BYTES,
    BudgetStep,
    FileLink,
    fit_to_budget,
    human_size,
    mail_body_bytes,
    s3_linker,
    zip_attachments,
)
from gcnotify.reports.standup.xlsx import build_xlsx
from gcnotify.sendgrid.client import build_mail_body, encode_body
from tests.reports.standup import packs

PDF_MIME = "application/pdf"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BUDGET = 1_000_000
LIMIT = BUDGET - NOTES_RESERVE_BYTES
EXPIRES = datetime(2026, 3, 11, 1, 0, tzinfo=UTC)
SIGNING_KEY = b"s" * 40


def noise(size: int, seed: int = 7) -> bytes:
    """Random bytes: deflate cannot shrink them."""
    return random.Random(seed).randbytes(size)


def text(size: int) -> bytes:
    """CSV-like text: deflate shrinks it many times over."""
    line = b"2026-03-10T09:30,Support Voice,offered,41,answered,39,abandoned,2\n"
    return (line * (size // len(line) + 1))[:size]


def pdf(content: bytes) -> Attachment:
    return Attachment("standup-2026-03-10.pdf", content, PDF_MIME)


def xlsx(content: bytes) -> Attachment:
    return Attachment("standup-2026-03-10.xlsx", content, XLSX_MIME)


def email(*attachments: Attachment, html: str = "<p>Standup</p>") -> RenderedEmail:
    return RenderedEmail("Standup 2026-03-10", html, "Standup", tuple(attachments))


def body_of(message: RenderedEmail) -> Mapping[str, Any]:
    return build_mail_body(
        message,
        sender=SendGridSettings(from_=Address("reports@example.com", "Reports")),
        recipients=Recipients(to=("supervisors@example.com",)),
        custom_args={"gcnotify_report": "support-standup", "gcnotify_date": "2026-03-10"},
    )


class Linker:
    """Records the files it was asked to link and links each to a fixed URL."""

    def __init__(self) -> None:
        self.calls: list[tuple[Attachment, ...]] = []

    def __call__(self, files: tuple[Attachment, ...]) -> tuple[FileLink, ...]:
        self.calls.append(files)
        return tuple(
            FileLink(f.filename, f"https://dl.example.com/?t={i}", len(f.content), EXPIRES)
            for i, f in enumerate(files)
        )


class Rebuild:
    """Returns the slim XLSX and counts the calls."""

    def __init__(self, slim: Attachment) -> None:
        self.slim = slim
        self.calls = 0

    def __call__(self) -> Attachment:
        self.calls += 1
        return self.slim


def unzip(attachment: Attachment) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(attachment.content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


# --- measuring -------------------------------------------------------------------------------


def test_measure_is_the_built_body_byte_for_byte() -> None:
    """The size measured is len() of the encoded mail/send body, attachments base64 in JSON."""
    message = email(pdf(noise(10_001)), Attachment("Übersicht März.xlsx", text(5_000), XLSX_MIME))
    assert len(encode_body(body_of(message))) == mail_body_bytes(message, body_of)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 299_999])
def test_measure_counts_base64_padding(size: int) -> None:
    """Each content length rounds up to whole base64 quads, as sent."""
    message = email(pdf(noise(size)))
    assert len(encode_body(body_of(message))) == mail_body_bytes(message, body_of)


def test_measure_without_attachments_is_the_bare_body() -> None:
    """An email without attachments measures as its body."""
    assert len(encode_body(body_of(email()))) == mail_body_bytes(email(), body_of)


# --- the steps -------------------------------------------------------------------------------


def test_under_budget_nothing_changes() -> None:
    """An email within budget keeps its attachments, with no step and no link."""
    message = email(pdf(noise(200_000)), xlsx(noise(100_000, seed=8)))
    linker = Linker()
    outcome = fit_to_budget(message, body_of=body_of, link_files=linker, max_email_bytes=BUDGET)
    assert (message.attachments, (), (), []) == (
        outcome.attachments,
        outcome.links,
        outcome.steps,
        linker.calls,
    )


def test_compressible_files_are_zipped_into_one_attachment() -> None:
    """Over budget with text that compresses, the files travel as one .zip."""
    files = (pdf(text(900_000)), xlsx(text(400_000)))
    outcome = fit_to_budget(
        email(*files), body_of=body_of, link_files=Linker(), max_email_bytes=BUDGET
    )
    (archive,) = outcome.attachments
    assert ("standup-2026-03-10.zip", "application/zip") == (archive.filename, archive.mime_type)
    assert {f.filename: f.content for f in files} == unzip(archive)


def test_the_zipped_email_fits_the_budget() -> None:
    """The zipped email, measured as sent, is within the budget less the notes' room."""
    message = email(pdf(text(900_000)), xlsx(text(400_000)))
    outcome = fit_to_budget(message, body_of=body_of, link_files=Linker(), max_email_bytes=BUDGET)
    assert outcome.email_bytes == mail_body_bytes(outcome.apply(message), body_of)
    assert outcome.email_bytes <= LIMIT


def test_the_zip_step_says_its_sizes() -> None:
    """The zip step holds the files' bytes before and the zip's after, and the email's both."""
    files = (pdf(text(900_000)), xlsx(text(400_000)))
    message = email(*files)
    outcome = fit_to_budget(message, body_of=body_of, link_files=Linker(), max_email_bytes=BUDGET)
    (step,) = outcome.steps
    assert (
        "zipped",
        1_300_000,
        len(outcome.attachments[0].content),
        mail_body_bytes(message, body_of),
        outcome.email_bytes,
    ) == (step.kind, step.files_before, step.files_after, step.email_before, step.email_after)


def test_intervals_are_dropped_when_zipping_is_not_enough() -> None:
    """Random bytes do not compress; the slim XLSX, zipped with the PDF, fits."""
    slim = xlsx(noise(100_000, seed=9))
    rebuild = Rebuild(slim)
    outcome = fit_to_budget(
        email(pdf(noise(300_000)), xlsx(noise(600_000, seed=8))),
        body_of=body_of,
        link_files=Linker(),
        rebuild_without_intervals=rebuild,
        max_email_bytes=BUDGET,
    )
    assert (("zipped", "intervals_dropped"), 1) == (
        tuple(s.kind for s in outcome.steps),
        rebuild.calls,
    )
    assert {"standup-2026-03-10.pdf": noise(300_000), slim.filename: slim.content} == unzip(
        outcome.attachments[0]
    )
    assert outcome.email_bytes <= LIMIT


def test_the_interval_step_measures_from_the_first_zip() -> None:
    """Dropping the intervals is measured against the zip it replaces."""
    outcome = fit_to_budget(
        email(pdf(noise(300_000)), xlsx(noise(600_000, seed=8))),
        body_of=body_of,
        link_files=Linker(),
        rebuild_without_intervals=Rebuild(xlsx(noise(100_000, seed=9))),
        max_email_bytes=BUDGET,
    )
    zipped, dropped = outcome.steps
    assert (zipped.files_after, zipped.email_after) == (dropped.files_before, dropped.email_before)
    assert dropped.files_after < dropped.files_before


def test_files_are_linked_when_nothing_else_fits() -> None:
    """Random bytes too large even zipped and without intervals are linked, nothing attached."""
    linker = Linker()
    files = (pdf(noise(700_000)), xlsx(noise(600_000, seed=8)))
    outcome = fit_to_budget(
        email(*files),
        body_of=body_of,
        link_files=linker,
        rebuild_without_intervals=Rebuild(xlsx(noise(500_000, seed=9))),
        max_email_bytes=BUDGET,
    )
    assert ((), ("linked",), 2) == (
        outcome.attachments,
        tuple(s.kind for s in outcome.steps),
        len(outcome.links),
    )


def test_linked_files_are_the_originals_with_full_detail() -> None:
    """The files linked are the ones first attached, the XLSX with its intervals."""
    linker = Linker()
    files = (pdf(noise(700_000)), xlsx(noise(600_000, seed=8)))
    fit_to_budget(
        email(*files),
        body_of=body_of,
        link_files=linker,
        rebuild_without_intervals=Rebuild(xlsx(noise(500_000, seed=9))),
        max_email_bytes=BUDGET,
    )
    assert [files] == linker.calls


def test_the_linked_email_is_measured_without_attachments() -> None:
    """Once linked, the email's size is its bare body, and the step keeps the expiry."""
    message = email(pdf(noise(1_500_000)))
    outcome = fit_to_budget(message, body_of=body_of, link_files=Linker(), max_email_bytes=BUDGET)
    (step,) = outcome.steps
    bare = mail_body_bytes(email(), body_of)
    assert (bare, 1_500_000, 0, bare, EXPIRES) == (
        outcome.email_bytes,
        step.files_before,
        step.files_after,
        step.email_after,
        step.expires,
    )


def test_a_file_over_sendgrids_limit_alone_is_linked_without_zipping() -> None:
    """A file that alone makes the body 30 MB or more goes straight to links."""
    rebuild = Rebuild(xlsx(noise(1_000, seed=9)))
    linker = Linker()
    huge = pdf(noise(23_000_000))  # 30.7 MB as base64
    outcome = fit_to_budget(
        email(huge, xlsx(text(10_000))),
        body_of=body_of,
        link_files=linker,
        rebuild_without_intervals=rebuild,
    )
    assert (("linked",), 0, 1) == (
        tuple(s.kind for s in outcome.steps),
        rebuild.calls,
        len(linker.calls),
    )


def test_an_email_over_budget_without_attachments_is_an_error() -> None:
    """When even the bare email is too large, nothing is zipped, stored or sent."""
    linker = Linker()
    message = email(pdf(text(10_000)), html="<p>" + "x" * 1_000_000 + "</p>")
    with pytest.raises(ReportError, match=r"1\.0 MB without any attachment.*max_email_bytes"):
        fit_to_budget(message, body_of=body_of, link_files=linker, max_email_bytes=BUDGET)
    assert [] == linker.calls


def test_a_budget_over_sendgrids_limit_is_refused() -> None:
    """max_email_bytes above 30 MB could never be sent."""
    with pytest.raises(ValueError, match="at most 30000000"):
        fit_to_budget(email(), body_of=body_of, link_files=Linker(), max_email_bytes=30_000_001)


def test_a_rebuilt_xlsx_must_replace_an_attachment() -> None:
    """A rebuild under another file name is a wiring mistake, refused."""
    with pytest.raises(ValueError, match="replaces no attachment"):
        fit_to_budget(
            email(pdf(noise(700_000)), xlsx(noise(600_000, seed=8))),
            body_of=body_of,
            link_files=Linker(),
            rebuild_without_intervals=Rebuild(Attachment("other.xlsx", b"x", XLSX_MIME)),
            max_email_bytes=BUDGET,
        )


def test_repeated_attachment_names_are_refused() -> None:
    """Two attachments of one name cannot share a zip or a folder."""
    with pytest.raises(ValueError, match="repeat"):
        fit_to_budget(
            email(pdf(b"a"), pdf(b"b")),
            body_of=body_of,
            link_files=Linker(),
            max_email_bytes=BUDGET,
        )


def test_with_the_real_workbook_the_slim_one_is_zipped() -> None:
    """With the XLSX builder's own rebuild, the zip holds the workbook without intervals."""
    pack = packs.pack(12)
    full = xlsx(build_xlsx(pack))
    slim = xlsx(build_xlsx(pack, include_intervals=False))
    report = pdf(noise(50_000))
    slim_zip = zip_attachments((report, slim), "standup-2026-03-10.zip")
    budget = mail_body_bytes(email(slim_zip), body_of) + NOTES_RESERVE_BYTES
    outcome = fit_to_budget(
        email(report, full),
        body_of=body_of,
        link_files=Linker(),
        rebuild_without_intervals=lambda: xlsx(build_xlsx(pack, include_intervals=False)),
        max_email_bytes=budget,
    )
    assert ("zipped", "intervals_dropped") == tuple(s.kind for s in outcome.steps)
    assert slim.content == unzip(outcome.attachments[0])[slim.filename]


# --- zip -------------------------------------------------------------------------------------


def test_the_zip_is_deflated() -> None:
    """Every entry is stored with deflate."""
    archive = zip_attachments((pdf(text(10_000)),), "a.zip")
    with zipfile.ZipFile(io.BytesIO(archive.content)) as opened:
        assert [zipfile.ZIP_DEFLATED] == [i.compress_type for i in opened.infolist()]


def test_the_same_files_make_the_same_zip() -> None:
    """No clock inside: the same files give the same bytes."""
    files = (pdf(text(10_000)), xlsx(noise(1_000)))
    assert zip_attachments(files, "a.zip").content == zip_attachments(files, "a.zip").content


def test_the_zip_entries_carry_the_given_time() -> None:
    """``modified`` dates the entries, so the files show the report's time when unpacked."""
    archive = zip_attachments((pdf(b"x"),), "a.zip", modified=datetime(2026, 3, 10, 7, 30))
    with zipfile.ZipFile(io.BytesIO(archive.content)) as opened:
        assert [(2026, 3, 10, 7, 30, 0)] == [i.date_time for i in opened.infolist()]


# --- what the email says ---------------------------------------------------------------------


def test_the_zip_sentence_gives_both_sizes() -> None:
    """The zip step reads as the email says it."""
    step = BudgetStep("zipped", 3_100_000, 1_200_000, 4_200_000, 1_650_000)
    assert "The attachments were zipped (3.1 MB → 1.2 MB)." == step.sentence()


def test_the_interval_sentence_says_what_was_left_out() -> None:
    """The interval step names the spreadsheet's interval detail and the sizes."""
    step = BudgetStep("intervals_dropped", 12_400_000, 8_100_000, 16_600_000, 10_900_000)
    expected = (
        "The interval detail was left out of the spreadsheet to keep this email small enough "
        "to deliver (12.4 MB → 8.1 MB)."
    )
    assert expected == step.sentence()


def test_the_link_sentence_says_until_when_in_the_report_zone() -> None:
    """The links' expiry is shown in the report's zone, as computed by the caller."""
    expires = link_expiry(date(2026, 3, 10), "Europe/Berlin", timedelta(hours=2))
    step = BudgetStep("linked", 31_200_000, 0, 41_700_000, 30_000, expires=expires)
    expected = (
        "The files (31.2 MB) are too large to attach; they are linked below, valid until "
        "2026-03-11 02:00 CET."
    )
    assert expected == step.sentence()


def test_notes_are_the_steps_sentences() -> None:
    """The outcome's notes are its steps' sentences, in order."""
    outcome = fit_to_budget(
        email(pdf(text(900_000)), xlsx(text(400_000))),
        body_of=body_of,
        link_files=Linker(),
        max_email_bytes=BUDGET,
    )
    assert tuple(s.sentence() for s in outcome.steps) == outcome.notes()


@pytest.mark.parametrize(
    ("size", "shown"),
    [(512, "512 bytes"), (840_000, "840 kB"), (3_140_000, "3.1 MB"), (30_000_000, "30.0 MB")],
)
def test_sizes_read_as_mail_clients_show_them(size: int, shown: str) -> None:
    """Decimal kB and MB."""
    assert shown == human_size(size)


# --- storing and linking through S3 ----------------------------------------------------------


@pytest.fixture
def s3(aws_env: None) -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1", config=client_config())
        client.create_bucket(Bucket="gcnotify-artifacts")
        yield client


def link_with_s3(s3: Any) -> tuple[FileLink, ...]:
    linker = s3_linker(
        ArtifactStore(s3, "gcnotify-artifacts"),
        report_id="support-standup",
        business_date=date(2026, 3, 10),
        signing_key=SIGNING_KEY,
        download_url="https://abc.lambda-url.eu-west-1.on.aws/",
        expires=EXPIRES,
    )
    return linker((pdf(noise(1_000)), xlsx(noise(2_000, seed=8))))


def test_s3_linker_stores_each_file_encrypted_under_the_report_and_date(s3: Any) -> None:
    """Each file is one SSE-S3 object under standup/<report>/<date>/."""
    link_with_s3(s3)
    listed = s3.list_objects_v2(Bucket="gcnotify-artifacts")["Contents"]
    keys = [o["Key"] for o in listed]
    assert [
        "standup/support-standup/2026-03-10/standup-2026-03-10.pdf",
        "standup/support-standup/2026-03-10/standup-2026-03-10.xlsx",
    ] == keys
    assert ["AES256", "AES256"] == [
        s3.head_object(Bucket="gcnotify-artifacts", Key=k)["ServerSideEncryption"] for k in keys
    ]


def test_s3_linker_links_carry_a_token_for_their_object(s3: Any) -> None:
    """Each link's token verifies, with the key, to the object holding that file."""
    links = link_with_s3(s3)
    named = [
        verify_token(link.url.split("?t=", 1)[1], SIGNING_KEY, EXPIRES - timedelta(hours=1))
        for link in links
    ]
    assert [
        "standup/support-standup/2026-03-10/standup-2026-03-10.pdf",
        "standup/support-standup/2026-03-10/standup-2026-03-10.xlsx",
    ] == named
    assert all(link.url.startswith("https://abc.lambda-url.eu-west-1.on.aws/?t=") for link in links)


def test_s3_linker_links_say_the_file_and_its_expiry(s3: Any) -> None:
    """A link names its file, its size and when it stops working."""
    links = link_with_s3(s3)
    assert [
        ("standup-2026-03-10.pdf", 1_000, EXPIRES),
        ("standup-2026-03-10.xlsx", 2_000, EXPIRES),
    ] == [(link.filename, link.size_bytes, link.expires) for link in links]
