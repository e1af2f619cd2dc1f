"""External contacts: the phone numbers, email addresses and WhatsApp numbers of a customer.

``GET /api/v2/externalcontacts/contacts/{contactId}`` answers the SDK's ``ExternalContact``:
four ``PhoneNumber`` objects (``cellPhone``, ``workPhone``, ``homePhone``, ``otherPhone``, each
``{display, e164, countryCode, userInput, acceptsSMS, …}``), three email fields (``workEmail``,
``personalEmail``, ``otherEmail``) and ``whatsAppId{phoneNumber, displayName}``. The OAuth client
needs ``externalContacts:contact:view`` (SDK docs ``ExternalContactsApi``; newer SDKs also accept
``relate:contact:view``).

A number is kept only when it is E.164: the ``e164`` field Genesys sets when it could read the
number, else a ``display`` that is already E.164 once spaces and punctuation are dropped. A
number without a country code is never completed with a guessed one. Ephemeral contacts (the
ones Genesys makes for anonymous web messaging guests) are kept 60 days ("Data retention periods and
export functionality by feature", https://help.mypurecloud.com/articles/data-retention-periods-by-feature),
so a contact of an older conversation can be gone: that is ``None``, not an error.

Many contacts are read with ``POST /api/v2/externalcontacts/bulk/contacts`` (SDK
``postExternalcontactsBulkContacts``: ``BulkIdsRequest{entities: [{id}]}`` →
``BulkFetchContactsResponse{results: [{id, success, entity: ExternalContact, error:
BulkErrorEntity{code, message, status, retryable}}], errorCount, errorIndexes}``, same permission).
The SDK states no maximum of ids per request; gcnotify asks for ``BULK_CONTACTS_MAX`` (100) at a
time and halves the batch when Genesys refuses its size (400, 413 or 422), down to single GETs. A
result that failed for another reason than "not found" is read again by its own GET, whose errors
are the client's usual ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gcnotify.core.errors import GenesysRequestError

if TYPE_CHECKING:
    from gcnotify.genesys.client import GenesysClient

__all__ = [
    "BULK_CONTACTS_MAX",
    "BULK_CONTACTS_PATH",
    "CONTACTS_PATH",
    "CONTACT_PERMISSION",
    "ExternalContact",
    "ExternalContacts",
    "e164_of",
    "parse_contact",
]

CONTACTS_PATH = "/api/v2/externalcontacts/contacts/{contact_id}"
BULK_CONTACTS_PATH = "/api/v2/externalcontacts/bulk/contacts"
BULK_CONTACTS_MAX = 100  # ids per bulk request; the SDK states no maximum (not verified)
_SIZE_REFUSED = frozenset({400, 413, 422})  # what a too-large bulk body may be answered with
CONTACT_PERMISSION = "externalContacts:contact:view"
PHONE_FIELDS = ("cellPhone", "workPhone", "homePhone", "otherPhone")
EMAIL_FIELDS = ("workEmail", "personalEmail", "otherEmail")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_DIGITS = re.compile(r"[1-9][0-9]{1,14}")
_PUNCTUATION = re.compile(r"[\s().\-/]")
# Contact ids are UUIDs; anything else would change the request path, so it is refused.
_CONTACT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class ExternalContact:
    """What gcnotify can reach a customer at, in the order Genesys's fields suggest."""

    id: str
    first_name: str | None
    last_name: str | None
    phones: tuple[str, ...]  # E.164, cellPhone first, then work, home, other
    emails: tuple[str, ...]  # workEmail, personalEmail, otherEmail
    whatsapp: tuple[str, ...] = ()  # the WhatsApp account's number, E.164


def e164_of(phone: object) -> str | None:
    """The E.164 form of a ``PhoneNumber`` object, or None when it has none.

    ``e164`` first (Genesys sets it only when it could read the number; WhatsApp ids write it
    without the leading ``+``), else ``display`` when it already is E.164 once spaces, dots,
    dashes and parentheses are dropped. Nothing else is accepted: no country code is guessed.
    """
    if not isinstance(phone, Mapping):
        return None
    e164 = phone.get("e164")
    if isinstance(e164, str):
        text = e164.strip()
        if _E164.fullmatch(text):
            return text
        if _DIGITS.fullmatch(text):
            return "+" + text
    display = phone.get("display")
    if isinstance(display, str):
        compact = _PUNCTUATION.sub("", display)
        if _E164.fullmatch(compact):
            return compact
    return None


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def parse_contact(body: Mapping[str, Any]) -> ExternalContact:
    """An ``ExternalContact`` answer, reduced to what a notification can use."""
    contact_id = body.get("id")
    if not isinstance(contact_id, str) or not contact_id:
        raise GenesysRequestError(
            "an external contact answer has no id; it cannot be used.", status=None
        )
    phones = [e164_of(body.get(name)) for name in PHONE_FIELDS]
    emails: dict[str, str] = {}
    for name in EMAIL_FIELDS:
        email = _text(body.get(name))
        if email is not None and _EMAIL.fullmatch(email):
            emails.setdefault(email.lower(), email)
    whatsapp_id = body.get("whatsAppId")
    whatsapp = e164_of(whatsapp_id.get("phoneNumber")) if isinstance(whatsapp_id, Mapping) else None
    return ExternalContact(
        id=contact_id,
        first_name=_text(body.get("firstName")),
        last_name=_text(body.get("lastName")),
        phones=tuple(dict.fromkeys(p for p in phones if p is not None)),
        emails=tuple(emails.values()),
        whatsapp=(whatsapp,) if whatsapp is not None else (),
    )


class ExternalContacts:
    """External contacts read through a ``GenesysClient``, each fetched once per instance.

    Make one per run: a campaign meets the same customer in many conversations, and a contact
    edited during the run is read as it was the first time.
    """

    def __init__(self, client: GenesysClient, *, batch: int = BULK_CONTACTS_MAX) -> None:
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch}")
        self._client = client
        self._cache: dict[str, ExternalContact | None] = {}
        self.batch = batch  # halved when Genesys refuses a bulk request's size
        self.fetched = 0  # GET requests made (cache misses)
        self.bulk_requests = 0  # bulk POSTs made

    def get(self, contact_id: str) -> ExternalContact | None:
        """The contact, or None when Genesys has none with this id (404)."""
        if not _CONTACT_ID.fullmatch(contact_id):
            raise ValueError(f"{contact_id!r} is not an external contact id")
        if contact_id in self._cache:
            return self._cache[contact_id]
        self.fetched += 1
        path = CONTACTS_PATH.format(contact_id=contact_id)
        try:
            body = self._client.get_json(path, permission=CONTACT_PERMISSION)
        except GenesysRequestError as exc:
            if exc.status != 404:
                raise
            found: ExternalContact | None = None
        else:
            found = parse_contact(body)
        self._cache[contact_id] = found
        return found

    def get_many(self, contact_ids: Iterable[str]) -> dict[str, ExternalContact | None]:
        """Each contact (None when Genesys has none with the id), ``batch`` ids per request."""
        wanted = list(dict.fromkeys(contact_ids))
        for contact_id in wanted:
            if not _CONTACT_ID.fullmatch(contact_id):
                raise ValueError(f"{contact_id!r} is not an external contact id")
        missing = [c for c in wanted if c not in self._cache]
        while missing:
            if self.batch == 1:
                for contact_id in missing:
                    self.get(contact_id)
                break
            chunk, rest = missing[: self.batch], missing[self.batch :]
            try:
                self._fetch_bulk(chunk)
            except GenesysRequestError as exc:
                if exc.status not in _SIZE_REFUSED or len(chunk) == 1:
                    raise
                self.batch = max(1, len(chunk) // 2)
                continue
            missing = rest
        return {c: self._cache[c] for c in wanted}

    def _fetch_bulk(self, chunk: list[str]) -> None:
        self.bulk_requests += 1
        body = {"entities": [{"id": contact_id} for contact_id in chunk]}
        answer = self._client.post_json(BULK_CONTACTS_PATH, body, permission=CONTACT_PERMISSION)
        results = answer.get("results")
        answered: set[str] = set()
        for result in results if isinstance(results, list) else []:
            if not isinstance(result, Mapping):
                continue
            contact_id = result.get("id")
            entity = result.get("entity")
            if not isinstance(contact_id, str) or contact_id not in chunk:
                continue
            if result.get("success") is True and isinstance(entity, Mapping):
                self._cache[contact_id] = parse_contact(entity)
                answered.add(contact_id)
                continue
            error = result.get("error")
            status = error.get("status") if isinstance(error, Mapping) else None
            if status == 404:
                self._cache[contact_id] = None
                answered.add(contact_id)
        for contact_id in chunk:
            if contact_id not in answered:  # failed otherwise, or left out: its own GET
                self.get(contact_id)
