"""The one place secrets are masked before any text leaves the process.

Providers echo what they were sent: an error body may quote the API key, a proxy may repeat the
Authorization header, a token may reach an exception message. So every value of the secret and
every access token this container was issued is registered here, and every exit — log records,
the invocation's summary and results, ledger records, alert mails and chat posts — passes its
text through ``mask``. Each secret is matched raw and in the escaped forms it takes inside
``repr()``, JSON, URLs and a Basic ``Authorization`` header; any SendGrid-shaped API key is
masked too, ours or not.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = ["MASK", "REDACTOR", "SENDGRID_KEY_PATTERN", "RedactingFilter", "Redactor"]

MASK = "[redacted]"
_KEY_CHARS = r"[A-Za-z0-9_\-]"
# SendGrid API keys: "SG." + 22 characters + "." + 43 characters (lengths vary a little).
SENDGRID_KEY_PATTERN = rf"(?<!{_KEY_CHARS})SG\.{_KEY_CHARS}{{16,}}\.{_KEY_CHARS}{{16,}}"
_SENDGRID_KEY = re.compile(SENDGRID_KEY_PATTERN)
# Shorter values (a region name, "true") would mask ordinary words; real secrets are longer.
_MIN_LENGTH = 8


def _forms(secret: str) -> set[str]:
    """The ways a secret can appear in text: raw, repr/JSON/URL-escaped."""
    forms = {secret, repr(secret)[1:-1], json.dumps(secret)[1:-1], quote(secret, safe="")}
    forms.add(quote_plus(secret))
    forms.add(json.dumps(secret, ensure_ascii=False)[1:-1])
    return {f for f in forms if len(f) >= _MIN_LENGTH}


class Redactor:
    """Secrets registered per container; ``mask`` is safe to call from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._forms: tuple[str, ...] = ()

    def add(self, *secrets: str | None) -> None:
        forms = set(self._forms)
        for secret in secrets:
            if secret and len(secret) >= _MIN_LENGTH:
                forms |= _forms(secret)
        with self._lock:
            # Longest first, so a secret containing another is masked whole.
            self._forms = tuple(sorted(forms, key=len, reverse=True))

    def add_basic_auth(self, user: str, password: str) -> None:
        """The Base64 of ``user:password``, as a Basic Authorization header carries it."""
        self.add(base64.b64encode(f"{user}:{password}".encode()).decode("ascii"))

    def mask(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return _SENDGRID_KEY.sub(MASK, text)

    def mask_all(self, value: Any) -> Any:
        """``mask`` applied to every string inside dicts, lists and tuples (keys included)."""
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, dict):
            return {self.mask_all(k): self.mask_all(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.mask_all(v) for v in value)
        return value

    def contains_secret(self, texts: Iterable[str]) -> bool:
        return any(self.mask(text) != text for text in texts)

    def clear(self) -> None:
        """Forget every secret (tests; a new container starts empty)."""
        with self._lock:
            self._forms = ()


# The container's one redactor: seams register what they load or are issued, exits mask.
REDACTOR = Redactor()


class RedactingFilter(logging.Filter):
    """Masks a record's message, its arguments and its ``extra`` fields before any handler."""

    def __init__(self, redactor: Redactor = REDACTOR) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._redactor.mask(record.getMessage())
        record.args = None
        for name, value in list(vars(record).items()):
            if name in _STANDARD:
                continue
            setattr(record, name, self._redactor.mask_all(value))
        if record.exc_info and record.exc_info[1] is not None:
            # The traceback text is formatted later, by the handler: mask it here once.
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
            record.msg = f"{record.msg}\n{self._redactor.mask(formatted)}"
        return True


_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}
