"""Two-way sync between gcnotify's suppression table and Genesys Cloud Outbound DNC lists.

Genesys applies its DNC lists only to its own campaigns and cannot look one number up, so the
suppression table stays the one place a send is checked, and each configured list is kept in step
with it on a schedule:

- **Import.** Every entry of the list (read through its export) is suppressed on the list's
  channel (``sms`` for a Phone list, ``email`` for an Email list) with source
  ``genesys-dnc:<list id>`` and reason ``on Genesys DNC list <name>``. An address already
  suppressed, whatever the source, is left as it is: a customer's own STOP keeps its who, when
  and why. An address whose latest change is a removal by someone other than a DNC list (a
  customer's START, ``gcnotify suppress remove``) is not re-imported: the person opted back in
  after the entry reached Genesys; it is counted as skipped so the operator sees it.
- **Removal.** An entry that left the list lifts only suppressions whose source is that list,
  never one from another source, and not while another synced list of the channel still holds
  it. Removals wait for a sound export: none on a channel where a list could not be read, and
  none from an empty export of a list Genesys says is not empty.
- **Push.** gcnotify's own opt-outs (active, source not a DNC list: STOP keywords, the command
  line, permanent failures) that a list of their channel lacks are added to it with PATCH Add.
  Genesys accepts additions on Internal lists only; for the others they are counted as skipped.

Every count is per list; a list that fails is reported with its error and the others still sync.
The planning (``plan_list``) is a pure function of the export and the table's entries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gcnotify.aws.suppression import normalise_address
from gcnotify.core.errors import GcnotifyError, SuppressionError
from gcnotify.runtime.redact import REDACTOR

if TYPE_CHECKING:
    from gcnotify.aws.suppression import Suppression, SuppressionTable
    from gcnotify.genesys.dnc import DncList, DncLists

__all__ = [
    "SOURCE_PREFIX",
    "DncSyncResult",
    "ListPlan",
    "ListSyncResult",
    "normalise_entry",
    "plan_list",
    "source_of",
    "sync",
]

SOURCE_PREFIX = "genesys-dnc:"
CHANNELS = {"phone": "sms", "email": "email"}
PAGE = 1000  # entries per read of the table's channel index

NOT_E164 = "not an E.164 number (no country code)"
NOT_EMAIL = "not an email address"
OPTED_BACK_IN = "opted back in after being suppressed: not re-imported"
STILL_LISTED = "still on another synced DNC list: suppression kept"
NOT_INTERNAL = "list is not Internal (rds): Genesys takes no additions, opt-outs not pushed"

_DIGITS = re.compile(r"[1-9][0-9]{10,14}")
_PUNCTUATION = re.compile(r"[\s().\-]")


def source_of(list_id: str) -> str:
    """The suppression source of entries imported from one list."""
    return f"{SOURCE_PREFIX}{list_id}"


def normalise_entry(channel: str, raw: str) -> str | None:
    """An export entry in the table's spelling, or None when it cannot be one.

    A phone entry of 11 to 15 digits without ``+`` is read as E.164 missing its plus (the export
    format is not documented; a country code is what makes the number usable). Ten digits or
    fewer carry no country code and are skipped rather than guessed.
    """
    text = raw.strip()
    if channel == "sms":
        bare = _PUNCTUATION.sub("", text)
        if _DIGITS.fullmatch(bare):
            text = "+" + bare
    try:
        return normalise_address(channel, text)
    except SuppressionError:
        return None


@dataclass(frozen=True)
class ListPlan:
    """What one list's sync will do; addresses in the table's spelling."""

    to_import: tuple[str, ...]
    already_there: int
    to_remove: tuple[str, ...]
    to_push: tuple[str, ...]
    skipped: Mapping[str, int]


def plan_list(
    dnc_list: DncList,
    on_list: Set[str],
    existing: Mapping[str, Suppression],
    *,
    elsewhere: Set[str] = frozenset(),
    removals: bool = True,
    unreadable: Mapping[str, int] | None = None,
) -> ListPlan:
    """Plan one list: ``on_list`` its normalised entries, ``existing`` the channel's table entries
    by address (removed ones included), ``elsewhere`` the entries of the channel's other lists."""
    source = source_of(dnc_list.id)
    skipped: dict[str, int] = dict(unreadable or {})

    def skip(reason: str, count: int = 1) -> None:
        if count:
            skipped[reason] = skipped.get(reason, 0) + count

    to_import: list[str] = []
    already = 0
    for address in sorted(on_list):
        entry = existing.get(address)
        if entry is not None and entry.active:
            already += 1
        elif entry is not None and _opted_back_in(entry):
            skip(OPTED_BACK_IN)
        else:
            to_import.append(address)
    to_remove: list[str] = []
    if removals:
        for address, entry in sorted(existing.items()):
            if not entry.active or entry.source != source or address in on_list:
                continue
            if address in elsewhere:
                skip(STILL_LISTED)
            else:
                to_remove.append(address)
    ours = sorted(
        address
        for address, entry in existing.items()
        if entry.active and not entry.source.startswith(SOURCE_PREFIX) and address not in on_list
    )
    to_push: list[str] = []
    if dnc_list.accepts_additions:
        to_push = ours
    else:
        skip(NOT_INTERNAL, len(ours))
    return ListPlan(tuple(to_import), already, tuple(to_remove), tuple(to_push), skipped)


def _opted_back_in(entry: Suppression) -> bool:
    last = entry.history[-1] if entry.history else None
    return (
        last is not None and last.action == "removed" and not last.source.startswith(SOURCE_PREFIX)
    )


@dataclass
class ListSyncResult:
    """The counts of one list's sync; ``error`` says why it stopped, if it did."""

    list_id: str
    name: str | None = None
    channel: str | None = None
    entries: int = 0
    imported: int = 0
    already_there: int = 0
    removed: int = 0
    pushed: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "list_id": self.list_id,
            "name": self.name,
            "channel": self.channel,
            "entries": self.entries,
            "imported": self.imported,
            "already_there": self.already_there,
            "removed": self.removed,
            "pushed": self.pushed,
            "skipped": dict(self.skipped),
            "error": REDACTOR.mask(self.error) if self.error is not None else None,
        }


@dataclass(frozen=True)
class DncSyncResult:
    """Every configured list's counts, in config order."""

    lists: tuple[ListSyncResult, ...]

    @property
    def ok(self) -> bool:
        return all(result.error is None for result in self.lists)

    def to_dict(self) -> dict[str, Any]:
        totals = {
            name: sum(getattr(r, name) for r in self.lists)
            for name in ("imported", "already_there", "removed", "pushed")
        }
        return {
            "ok": self.ok,
            "failed": [r.list_id for r in self.lists if r.error is not None],
            "totals": totals,
            "lists": [r.to_dict() for r in self.lists],
        }


@dataclass
class _Fetched:
    result: ListSyncResult
    dnc_list: DncList | None = None
    on_list: frozenset[str] = frozenset()
    unreadable: dict[str, int] = field(default_factory=dict)
    sound: bool = False  # the export can be trusted for removals


def sync(
    lists: Sequence[str], genesys: DncLists, table: SuppressionTable, now: datetime
) -> DncSyncResult:
    """Import, remove and push for every list in ``lists`` (DNC list ids), in that order."""
    fetched = [_fetch(list_id, genesys, now) for list_id in dict.fromkeys(lists)]
    run = _Run(genesys, table, now, fetched)
    existing: dict[str, dict[str, Suppression]] = {}
    for item in fetched:
        if item.dnc_list is None or item.result.error is not None:
            continue
        channel = CHANNELS[item.dnc_list.kind or "phone"]
        try:
            if channel not in existing:
                existing[channel] = _table_entries(table, channel)
            run.apply(item, existing[channel])
        except GcnotifyError as exc:
            item.result.error = str(exc)
    return DncSyncResult(tuple(f.result for f in fetched))


def _fetch(list_id: str, genesys: DncLists, now: datetime) -> _Fetched:
    item = _Fetched(ListSyncResult(list_id))
    try:
        dnc_list = genesys.get_list(list_id)
        item.dnc_list = dnc_list
        item.result.name = dnc_list.name
        if dnc_list.kind is not None:
            item.result.channel = CHANNELS[dnc_list.kind]
        raw = genesys.export_entries(dnc_list, now=now)
    except GcnotifyError as exc:
        item.result.error = str(exc)
        return item
    channel = CHANNELS[dnc_list.kind or "phone"]
    entries: set[str] = set()
    for value in raw:
        address = normalise_entry(channel, value)
        if address is None:
            reason = NOT_E164 if channel == "sms" else NOT_EMAIL
            item.unreadable[reason] = item.unreadable.get(reason, 0) + 1
        else:
            entries.add(address)
    item.on_list = frozenset(entries)
    item.result.entries = len(raw)
    if not raw and dnc_list.size:
        item.result.error = (
            f"the export of DNC list {dnc_list.name!r} ({list_id}) was empty, but Genesys says "
            f"the list holds {dnc_list.size} entr{'y' if dnc_list.size == 1 else 'ies'}; nothing "
            "was imported or removed. The next sync tries again; if it persists, check the list "
            "in Genesys Cloud."
        )
        return item
    item.sound = True
    return item


def _table_entries(table: SuppressionTable, channel: str) -> dict[str, Suppression]:
    """Every entry of the channel, removed ones included, by address."""
    found: dict[str, Suppression] = {}
    cursor: str | None = None
    while True:
        page = table.list(channel, limit=PAGE, cursor=cursor, include_removed=True)
        found.update((entry.address, entry) for entry in page.items)
        cursor = page.cursor
        if cursor is None:
            return found


@dataclass(frozen=True)
class _Run:
    """One sync's seams and lists, shared by every list's step."""

    genesys: DncLists
    table: SuppressionTable
    now: datetime
    fetched: Sequence[_Fetched]

    @property
    def blind(self) -> bool:
        """A list that could not be read may hold any channel's entries: no removals at all."""
        return any(f.dnc_list is None for f in self.fetched)

    def apply(self, item: _Fetched, existing: dict[str, Suppression]) -> None:
        """Plan one list and carry it out, keeping ``existing`` current for the next list."""
        dnc_list = item.dnc_list
        if dnc_list is None:
            return
        result = item.result
        channel = CHANNELS[dnc_list.kind or "phone"]
        peers = [
            f
            for f in self.fetched
            if f is not item and f.dnc_list is not None and f.result.channel == channel
        ]
        elsewhere = frozenset(address for f in peers for address in f.on_list)
        removals = item.sound and not self.blind and all(f.sound for f in peers)
        plan = plan_list(
            dnc_list,
            item.on_list,
            existing,
            elsewhere=elsewhere,
            removals=removals,
            unreadable=item.unreadable,
        )
        result.already_there = plan.already_there
        result.skipped = dict(plan.skipped)
        source = source_of(dnc_list.id)
        for address in plan.to_import:
            reason = f"on Genesys DNC list {dnc_list.name}"
            existing[address] = self.table.add(channel, address, reason, source, self.now)
            result.imported += 1
        for address in plan.to_remove:
            removed = self.table.remove(
                channel, address, f"no longer on Genesys DNC list {dnc_list.name}", source, self.now
            )
            if removed is not None:
                existing[address] = removed
                result.removed += 1
        if plan.to_push:
            if dnc_list.kind == "email":
                self.genesys.add_email_addresses(dnc_list.id, plan.to_push)
            else:
                self.genesys.add_phone_numbers(dnc_list.id, plan.to_push)
            result.pushed = len(plan.to_push)
