"""Genesys Cloud Outbound DNC lists: read a list, export its entries, add numbers or addresses.

Genesys has no call that looks one number up in a DNC list, and applies the lists only to its own
campaigns, so gcnotify reads a list whole through its asynchronous export and writes to it with
PATCH. The calls (SDK ``OutboundApi``):

- ``GET /api/v2/outbound/dnclists/{id}`` → ``DncList{name, contactMethod, dncSourceType, size}``
  (``outbound:dncList:view``);
- ``POST …/{id}/export`` starts an export; ``GET …/{id}/export?download=false`` answers the latest
  ``ExportUri{uri, exportTimestamp}`` (``outbound:dnc:view`` and ``outbound:dncList:view``). There
  is no job id to follow, so the GET is polled (2 s doubling to 30 s, 2 minutes in all) until its
  ``exportTimestamp`` is newer than the moment the export was asked for;
- ``PATCH …/{id}/phonenumbers`` and ``…/emailaddresses`` with ``{action: "Add", phoneNumbers |
  emailAddresses, expirationDateTime?}`` (``outbound:dnc:edit``); Genesys accepts these only on
  Internal (``rds``) lists.

At most ``PATCH_BATCH`` (1,000) entries go in one PATCH. Genesys documents no limit for this body:
1,000 is our choice, the size of other Genesys bulk bodies, so one refused PATCH costs little.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from gcnotify.core.errors import GenesysRequestError, GenesysUnavailableError
from gcnotify.core.values import instant, text_or_none

if TYPE_CHECKING:
    from gcnotify.genesys.client import GenesysClient

__all__ = [
    "DNC_LISTS_PATH",
    "EDIT_PERMISSION",
    "EXPORT_PERMISSION",
    "LIST_PERMISSION",
    "MAX_EXPORT_BYTES",
    "PATCH_BATCH",
    "DncList",
    "DncLists",
    "EntryKind",
    "ExportUri",
    "email_patch_body",
    "format_expiry",
    "parse_export",
    "phone_patch_body",
]

DNC_LISTS_PATH = "/api/v2/outbound/dnclists"
LIST_PERMISSION = "outbound:dncList:view"
EXPORT_PERMISSION = "outbound:dnc:view and outbound:dncList:view"
EDIT_PERMISSION = "outbound:dnc:edit"
PATCH_BATCH = 1000
# A list holds at most about a million entries; its export at ~40 bytes a line fits well inside.
MAX_EXPORT_BYTES = 64 * 1024 * 1024
FIRST_WAIT, MAX_WAIT, MAX_TOTAL = 2.0, 30.0, 120.0
# Genesys stamps the export with its own clock: an export up to a minute older than our request
# (clocks apart, or someone else's export just before) is as fresh as the sync needs.
CLOCK_SKEW = timedelta(seconds=60)

EntryKind = Literal["phone", "email"]

# Header names (lower-cased, letters and digits only) that name the entry column. The export's
# format is not documented, so these are guesses from the API's own field names.
_PHONE_HEADERS = (
    "phonenumber",
    "phonenumbers",
    "dncphonenumber",
    "phone",
    "number",
    "telephonenumber",
    "value",
    "dncvalue",
    "entry",
)
_EMAIL_HEADERS = (
    "emailaddress",
    "emailaddresses",
    "dncemailaddress",
    "email",
    "address",
    "value",
    "dncvalue",
    "entry",
)
_PHONE_VALUE = re.compile(r"\+?[0-9][0-9\s().\-]{5,24}")
_EMAIL_VALUE = re.compile(r"[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+")
_NOT_ALNUM = re.compile(r"[^a-z0-9]")


@dataclass(frozen=True)
class DncList:
    """A DNC list as Genesys describes it; ``size`` is None when Genesys did not say."""

    id: str
    name: str
    contact_method: str | None  # Phone, Email, Any, WhatsApp
    source_type: str | None  # rds (Internal), rds_custom, dnc.com, gryphon
    size: int | None = None

    @property
    def kind(self) -> EntryKind | None:
        """Which entries the list holds, when gcnotify can use them: phone numbers or emails."""
        method = (self.contact_method or "").lower()
        if method == "phone":
            return "phone"
        if method == "email":
            return "email"
        return None

    @property
    def accepts_additions(self) -> bool:
        """Genesys adds entries to Internal lists only ("Only Internal DNC lists may be added
        to")."""
        return self.source_type == "rds"


@dataclass(frozen=True)
class ExportUri:
    """Where the latest export of a list can be downloaded, and when Genesys made it."""

    uri: str
    exported_at: datetime | None


def format_expiry(when: datetime) -> str:
    """``yyyy-MM-ddTHH:mmZ`` in UTC, the only form Genesys takes for ``expirationDateTime``."""
    if when.tzinfo is None:
        raise ValueError("a DNC expiry needs a time zone; pass an aware datetime")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def phone_patch_body(
    numbers: Sequence[str], expires: datetime | None = None, *, action: str = "Add"
) -> dict[str, Any]:
    """A ``DncPatchPhoneNumbersRequest``."""
    body: dict[str, Any] = {"action": action, "phoneNumbers": list(numbers)}
    if expires is not None:
        body["expirationDateTime"] = format_expiry(expires)
    return body


def email_patch_body(
    addresses: Sequence[str], expires: datetime | None = None, *, action: str = "Add"
) -> dict[str, Any]:
    """A ``DncPatchEmailsRequest``."""
    body: dict[str, Any] = {"action": action, "emailAddresses": list(addresses)}
    if expires is not None:
        body["expirationDateTime"] = format_expiry(expires)
    return body


def parse_export(data: bytes, kind: EntryKind, *, what: str = "the DNC list export") -> list[str]:
    """The entries of an export file, as written in it (stripped, not yet normalised).

    The file's format is not documented. What is assumed, and why: it is CSV (Genesys imports DNC
    lists from CSV and exports contact lists as CSV), UTF-8 with or without a byte-order mark,
    and its first row names the columns. The entry column is the one whose header names a phone
    number (or email address), e.g. ``phoneNumber`` or ``Email Address``; failing that, the one
    column whose every value looks like one, which also reads a file without a header row. A
    named column whose values mostly do not look like entries, or no such column at all, is a
    shape we do not know: that is an error naming the columns, never a guess.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise GenesysRequestError(
            f"{what} is not UTF-8 text, so it is not the CSV file gcnotify expects; nothing was "
            "imported. Export the list in Genesys Cloud (Admin > Outbound > DNC Lists) and check "
            "the file.",
            status=None,
        ) from None
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        return []
    looks = _looks_like(kind)
    header, body = rows[0], rows[1:]
    column = _named_column(header, kind)
    if column is not None:
        values = _column(body, column)
        matching = sum(1 for v in values if looks(v))
        if values and matching * 2 < len(values):
            raise _unknown_shape(what, kind, header, f"column {header[column].strip()!r} holds")
        return values
    column = _only_matching_column(rows, looks)
    if column is not None:  # no header row: the first row is an entry too
        return _column(rows, column)
    column = _only_matching_column(body, looks) if body else None
    if column is not None:
        return _column(body, column)
    raise _unknown_shape(what, kind, header, "no column holds")


def _looks_like(kind: EntryKind) -> Callable[[str], bool]:
    pattern = _PHONE_VALUE if kind == "phone" else _EMAIL_VALUE
    if kind == "phone":
        return lambda v: bool(pattern.fullmatch(v)) and sum(c.isdigit() for c in v) >= 6
    return lambda v: bool(pattern.fullmatch(v))


def _named_column(header: Sequence[str], kind: EntryKind) -> int | None:
    names = [_NOT_ALNUM.sub("", cell.lower()) for cell in header]
    for wanted in _PHONE_HEADERS if kind == "phone" else _EMAIL_HEADERS:
        if wanted in names:
            return names.index(wanted)
    return None


def _column(rows: Iterable[Sequence[str]], column: int) -> list[str]:
    return [row[column].strip() for row in rows if len(row) > column and row[column].strip()]


def _only_matching_column(
    rows: Sequence[Sequence[str]], looks: Callable[[str], bool]
) -> int | None:
    width = max(len(row) for row in rows)
    found = [
        index
        for index in range(width)
        if (values := _column(rows, index)) and all(looks(v) for v in values)
    ]
    return found[0] if len(found) == 1 else None


def _unknown_shape(
    what: str, kind: EntryKind, header: Sequence[str], problem: str
) -> GenesysRequestError:
    # Only the header row is named: the rest of the file is customers' addresses.
    columns = ", ".join(repr(cell.strip()[:40]) for cell in header[:12])
    entries = "phone numbers" if kind == "phone" else "email addresses"
    return GenesysRequestError(
        f"{what} has a shape gcnotify does not recognise ({problem} no {entries}; the first row "
        f"is {columns}). Nothing was imported from it and nothing was removed. Open the export "
        "in Genesys Cloud (Admin > Outbound > DNC Lists) and report its header row.",
        status=None,
    )


class DncLists:
    """The DNC list calls over one ``GenesysClient`` (its token, retries and error mapping)."""

    def __init__(
        self,
        client: GenesysClient,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        max_bytes: int = MAX_EXPORT_BYTES,
    ) -> None:
        self._client = client
        self._sleep = sleep
        self._clock = clock
        self._max_bytes = max_bytes

    @property
    def client(self) -> GenesysClient:
        """The Genesys client underneath (its ``time_left`` also bounds the export's polling)."""
        return self._client

    def get_list(self, list_id: str) -> DncList:
        """The list's name, contact method and source type; a missing list says which id."""
        try:
            body = self._client.get_json(
                f"{DNC_LISTS_PATH}/{list_id}", {"includeSize": "true"}, permission=LIST_PERMISSION
            )
        except GenesysRequestError as exc:
            if exc.status == 404:
                raise GenesysRequestError(
                    f"Genesys Cloud has no DNC list {list_id}; check the id in "
                    "messaging.suppression.genesys_dnc_lists (Admin > Outbound > DNC Lists) and "
                    "that the OAuth client's role covers the list's division.",
                    status=404,
                ) from None
            raise
        size = body.get("size")
        return DncList(
            id=str(body.get("id") or list_id),
            name=str(body.get("name") or list_id),
            contact_method=text_or_none(body.get("contactMethod")),
            source_type=text_or_none(body.get("dncSourceType")),
            size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        )

    def start_export(self, list_id: str) -> None:
        """Ask Genesys to export the list; the file appears later (see ``export_uri``)."""
        self._client.post_json(
            f"{DNC_LISTS_PATH}/{list_id}/export", {}, permission=EXPORT_PERMISSION
        )

    def current_export(self, list_id: str) -> ExportUri | None:
        """The latest export of the list, or None when there is none yet."""
        try:
            body = self._client.get_json(
                f"{DNC_LISTS_PATH}/{list_id}/export",
                {"download": "false"},
                permission=EXPORT_PERMISSION,
            )
        except GenesysRequestError as exc:
            if exc.status == 404:
                return None
            raise
        uri = body.get("uri")
        if not isinstance(uri, str) or not uri:
            return None
        return ExportUri(uri, instant(body.get("exportTimestamp")))

    def export_uri(self, list_id: str, *, newer_than: datetime | None) -> ExportUri:
        """Poll until the list's export is newer than ``newer_than``; time out with the fix."""
        started = self._clock()
        wait = FIRST_WAIT
        while True:
            try:
                current = self.current_export(list_id)
            except GenesysUnavailableError as exc:
                if exc.status != 429:
                    raise
                current = None  # rate limited: the client already waited; poll again
            if current is not None and _fresh(current, newer_than):
                return current
            elapsed = self._clock() - started
            left = self._client.time_left() if self._client.time_left is not None else None
            if elapsed + wait > MAX_TOTAL or (left is not None and left < wait):
                raise GenesysUnavailableError(
                    f"Genesys Cloud had not finished exporting DNC list {list_id} after "
                    f"{elapsed:.0f} s; gcnotify waits at most {MAX_TOTAL:.0f} s, less when the "
                    "invocation is about to end. Nothing was imported from it or removed; the "
                    "next sync tries again.",
                    status=None,
                )
            self._sleep(wait)
            wait = min(wait * 2, MAX_WAIT)

    def download_entries(
        self, uri: str, kind: EntryKind = "phone", *, what: str = "the DNC list export"
    ) -> list[str]:
        """The entries of the export file at ``uri`` (see ``parse_export`` for its format)."""
        data, _ = self._client.download(uri, max_bytes=self._max_bytes, what=what)
        return parse_export(data, kind, what=what)

    def export_entries(self, dnc_list: DncList, *, now: datetime) -> list[str]:
        """Export the list, wait for the file, and read it: every entry, as written."""
        kind = dnc_list.kind
        if kind is None:
            raise GenesysRequestError(
                f"DNC list {dnc_list.name!r} ({dnc_list.id}) holds {dnc_list.contact_method or '?'}"
                " entries; gcnotify syncs Phone and Email lists only. Remove it from "
                "messaging.suppression.genesys_dnc_lists.",
                status=None,
            )
        self.start_export(dnc_list.id)
        export = self.export_uri(dnc_list.id, newer_than=now - CLOCK_SKEW)
        return self.download_entries(
            export.uri, kind, what=f"the export of DNC list {dnc_list.name!r} ({dnc_list.id})"
        )

    def add_phone_numbers(
        self, list_id: str, numbers: Sequence[str], expires: datetime | None = None
    ) -> int:
        """Add numbers with PATCH, ``PATCH_BATCH`` at a time; the number of PATCHes sent."""
        return self._patch(list_id, "phonenumbers", numbers, expires, phone_patch_body)

    def add_email_addresses(
        self, list_id: str, addresses: Sequence[str], expires: datetime | None = None
    ) -> int:
        """Add email addresses with PATCH, ``PATCH_BATCH`` at a time; the PATCHes sent."""
        return self._patch(list_id, "emailaddresses", addresses, expires, email_patch_body)

    def _patch(
        self,
        list_id: str,
        what: str,
        values: Sequence[str],
        expires: datetime | None,
        build: Callable[[Sequence[str], datetime | None], dict[str, Any]],
    ) -> int:
        path = f"{DNC_LISTS_PATH}/{list_id}/{what}"
        sent = 0
        for first in range(0, len(values), PATCH_BATCH):
            body = build(values[first : first + PATCH_BATCH], expires)
            self._client.patch_json(path, body, permission=EDIT_PERMISSION)
            sent += 1
        return sent


def _fresh(export: ExportUri, newer_than: datetime | None) -> bool:
    if newer_than is None:
        return True
    return export.exported_at is not None and export.exported_at > newer_than
