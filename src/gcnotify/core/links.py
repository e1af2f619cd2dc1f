"""Signed download tokens: one stored file, and the instant its link stops working.

An S3 presigned URL signed with a Lambda role's temporary credentials dies with them (hours),
so a link in an email carries this token instead, and the download function trades it for a
fresh short-lived presigned URL. The report function signs and the download function verifies,
both with the secret's ``download_signing_key``. The token is signed, not encrypted: it carries
the object key in the clear, and the HMAC-SHA256 makes it unforgeable. No clock here: callers
pass ``now``.

Layout, then URL-safe base64 without padding::

    version (1 byte) | expires, Unix seconds (8 bytes, big-endian) | object key (UTF-8) | HMAC
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from datetime import date, datetime, timedelta

__all__ = [
    "MIN_KEY_BYTES",
    "TokenRefused",
    "download_link",
    "link_expiry",
    "sign_token",
    "verify_token",
]

VERSION = 1
MIN_KEY_BYTES = 32  # secrets.token_urlsafe(32) gives 43 characters
MAX_OBJECT_KEY_BYTES = 1024  # S3's limit
MAX_TOKEN_CHARS = 2048  # longer than any token sign_token makes: refused before decoding
_MAC_BYTES = hashlib.sha256().digest_size
_HEADER = struct.Struct(">BQ")
# Binds the MAC to this use, should the same key ever sign something else.
_DOMAIN = b"gcnotify download link\x00"


class TokenRefused(Exception):
    """The token does not grant a download; ``reason`` says why, for the log (never the token)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _check_key(key: bytes) -> None:
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(
            f"the download signing key is {len(key)} bytes; use at least {MIN_KEY_BYTES} random "
            'bytes, e.g. python -c "import secrets; print(secrets.token_urlsafe(32))"'
        )


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, _DOMAIN + payload, hashlib.sha256).digest()


def _seconds(instant: datetime, name: str) -> int:
    if instant.utcoffset() is None:
        raise ValueError(f"{name} {instant.isoformat()} is naive; pass a timezone-aware datetime")
    return int(instant.timestamp())


def sign_token(object_key: str, expires: datetime, key: bytes) -> str:
    """A URL-safe token naming ``object_key`` that verifies until ``expires`` (whole seconds)."""
    _check_key(key)
    encoded_key = object_key.encode("utf-8")
    if not encoded_key or len(encoded_key) > MAX_OBJECT_KEY_BYTES:
        raise ValueError(
            f"object key must be 1 to {MAX_OBJECT_KEY_BYTES} bytes, got {len(encoded_key)}"
        )
    payload = _HEADER.pack(VERSION, _seconds(expires, "expires")) + encoded_key
    raw = payload + _mac(key, payload)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode(token: str) -> bytes:
    """The token's bytes, refusing every spelling but the one sign_token writes.

    base64 decoders skip stray characters and ignore the unused bits of the last one, so two
    different strings could decode to the same signed bytes; re-encoding closes that gap.
    """
    if not token or len(token) > MAX_TOKEN_CHARS or not token.isascii():
        raise TokenRefused("malformed")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise TokenRefused("malformed") from None
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != token:
        raise TokenRefused("malformed")
    return raw


def verify_token(token: str, key: bytes, now: datetime) -> str:
    """The object key the token names, if its signature is good and ``now`` is before expiry.

    Raises ``TokenRefused`` with the reason: "malformed", "bad signature" or "expired".
    """
    _check_key(key)
    current = _seconds(now, "now")
    raw = _decode(token)
    if len(raw) <= _HEADER.size + _MAC_BYTES:
        raise TokenRefused("malformed")
    payload, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
    # Constant-time, and before anything in the payload is trusted.
    if not hmac.compare_digest(_mac(key, payload), mac):
        raise TokenRefused("bad signature")
    version, expires = _HEADER.unpack_from(payload)
    if version != VERSION:
        raise TokenRefused("malformed")
    if current >= expires:
        raise TokenRefused("expired")
    try:
        return payload[_HEADER.size :].decode("utf-8")
    except UnicodeDecodeError:
        raise TokenRefused("malformed") from None


def link_expiry(day: date, tz: str, margin: timedelta = timedelta(hours=2)) -> datetime:
    """The end of ``day`` in ``tz`` (the next local midnight, DST included) plus ``margin``.

    The links of a report sent on ``day`` live through the recipients' whole day there, wherever
    the function runs; the margin covers a late reader just past midnight.
    """
    from gcnotify.core.windows import start_of_day  # pytz: not needed to verify a token

    if margin < timedelta(0):
        raise ValueError(f"margin {margin} is negative")
    return start_of_day(day + timedelta(days=1), tz) + margin


def download_link(base_url: str, token: str) -> str:
    """The link an email carries: the download function's URL with the token as ``t``."""
    if not base_url.startswith(("https://", "http://")):
        raise ValueError(f"download URL {base_url!r} must start with https://")
    # The token is URL-safe base64: nothing in it needs quoting.
    return f"{base_url.rstrip('/')}/?t={token}"
