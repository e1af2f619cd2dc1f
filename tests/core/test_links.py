"""Signed download tokens: round trip, tampering, expiry, wrong key, and the links' lifetime."""

from __future__ import annotations

import base64
import string
from datetime import UTC, date, datetime, timedelta

import pytest

from gcnotify.core.links import (
    TokenRefused,
    download_link,
    link_expiry,
    sign_token,
    verify_token,
)

KEY = b"k" * 16 + b"0123456789abcdef0123"  # 36 bytes
OTHER_KEY = b"o" * 36
OBJECT = "standup/support-standup/2026-03-10/standup-2026-03-10.xlsx"
EXPIRES = datetime(2026, 3, 11, 1, 0, tzinfo=UTC)
BEFORE = EXPIRES - timedelta(hours=3)
ALPHABET = string.ascii_letters + string.digits + "-_"


def reason(token: str, key: bytes = KEY, now: datetime = BEFORE) -> str:
    with pytest.raises(TokenRefused) as info:
        verify_token(token, key, now)
    return info.value.reason


def test_round_trip_gives_back_the_object_key() -> None:
    """A token verifies, before its expiry and with its key, to the object key it was signed for."""
    assert OBJECT == verify_token(sign_token(OBJECT, EXPIRES, KEY), KEY, BEFORE)


def test_round_trip_keeps_a_non_ascii_key() -> None:
    """An object key is UTF-8 in the token, so any S3 key survives the trip."""
    assert "standup/é/ü.pdf" == verify_token(
        sign_token("standup/é/ü.pdf", EXPIRES, KEY), KEY, BEFORE
    )


def test_token_is_url_safe() -> None:
    """The token needs no quoting in a URL: URL-safe base64 characters only, no padding."""
    token = sign_token(OBJECT, EXPIRES, KEY)
    assert "" == token.strip(ALPHABET)


def test_any_character_changed_is_refused() -> None:
    """Changing any one character of the token, to any other, is refused."""
    token = sign_token(OBJECT, EXPIRES, KEY)
    accepted = []
    for i, char in enumerate(token):
        for other in ALPHABET.replace(char, ""):
            tampered = token[:i] + other + token[i + 1 :]
            try:
                verify_token(tampered, KEY, BEFORE)
            except TokenRefused:
                continue
            accepted.append((i, other))
    assert [] == accepted


def test_any_byte_changed_is_refused() -> None:
    """Flipping any bit of any byte of the signed bytes (re-encoded) is refused."""
    token = sign_token(OBJECT, EXPIRES, KEY)
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    accepted = []
    for i in range(len(raw)):
        for bit in range(8):
            changed = bytearray(raw)
            changed[i] ^= 1 << bit
            tampered = base64.urlsafe_b64encode(bytes(changed)).rstrip(b"=").decode()
            try:
                verify_token(tampered, KEY, BEFORE)
            except TokenRefused:
                continue
            accepted.append((i, bit))
    assert [] == accepted


def test_a_changed_byte_is_a_bad_signature() -> None:
    """A well-formed token whose payload was edited fails on its signature."""
    token = sign_token(OBJECT, EXPIRES, KEY)
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[12] ^= 0x01  # inside the object key
    assert "bad signature" == reason(base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode())


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t + "=",  # padding sign_token never writes
        lambda t: t[:10] + "." + t[10:],  # a character base64 decoders would skip
        lambda t: t[:-1],  # truncated
        lambda t: t + "A",  # extended
        lambda t: "",
        lambda t: t[:20],
    ],
)
def test_another_spelling_is_refused(change: object) -> None:
    """Only the exact string sign_token wrote verifies: no padding, stray or missing characters."""
    token = sign_token(OBJECT, EXPIRES, KEY)
    with pytest.raises(TokenRefused):
        verify_token(change(token), KEY, BEFORE)  # type: ignore[operator]


def test_a_minute_after_expiry_is_refused() -> None:
    """A token is refused as expired a minute after its expiry."""
    assert "expired" == reason(sign_token(OBJECT, EXPIRES, KEY), now=EXPIRES + timedelta(minutes=1))


def test_the_expiry_instant_itself_is_refused() -> None:
    """The expiry is the first instant the token no longer works."""
    assert "expired" == reason(sign_token(OBJECT, EXPIRES, KEY), now=EXPIRES)


def test_a_second_before_expiry_still_works() -> None:
    """Up to the last second before its expiry the token verifies."""
    token = sign_token(OBJECT, EXPIRES, KEY)
    assert OBJECT == verify_token(token, KEY, EXPIRES - timedelta(seconds=1))


def test_wrong_key_is_refused() -> None:
    """A token signed with another key fails on its signature."""
    assert "bad signature" == reason(sign_token(OBJECT, EXPIRES, OTHER_KEY))


def test_expired_token_with_wrong_key_reports_the_signature() -> None:
    """The signature is checked first: a forged token never learns whether it expired."""
    token = sign_token(OBJECT, EXPIRES, OTHER_KEY)
    assert "bad signature" == reason(token, now=EXPIRES + timedelta(days=1))


def test_short_key_is_refused() -> None:
    """A key under 32 bytes is refused for signing: it could be guessed."""
    with pytest.raises(ValueError, match="at least 32"):
        sign_token(OBJECT, EXPIRES, b"short-key")


def test_naive_expiry_is_refused() -> None:
    """An expiry without a time zone is ambiguous, so it is refused."""
    with pytest.raises(ValueError, match="naive"):
        sign_token(OBJECT, EXPIRES.replace(tzinfo=None), KEY)


def test_naive_now_is_refused() -> None:
    """A naive ``now`` is refused rather than read in some zone."""
    with pytest.raises(ValueError, match="naive"):
        verify_token(sign_token(OBJECT, EXPIRES, KEY), KEY, BEFORE.replace(tzinfo=None))


def test_empty_object_key_is_refused() -> None:
    """A token must name an object."""
    with pytest.raises(ValueError, match="object key"):
        sign_token("", EXPIRES, KEY)


def test_links_live_until_the_end_of_the_local_day_plus_margin() -> None:
    """The end of the day in the report's zone (local midnight) plus the margin."""
    expires = link_expiry(date(2026, 3, 10), "Europe/Berlin", timedelta(hours=2))
    assert datetime(2026, 3, 11, 1, 0, tzinfo=UTC) == expires


def test_link_expiry_follows_daylight_saving() -> None:
    """On the night clocks spring forward, the day ends at 00:00 of the new offset."""
    expires = link_expiry(date(2026, 3, 28), "Europe/Berlin", timedelta(0))
    assert datetime(2026, 3, 28, 23, 0, tzinfo=UTC) == expires
    summer = link_expiry(date(2026, 3, 29), "Europe/Berlin", timedelta(0))
    assert datetime(2026, 3, 29, 22, 0, tzinfo=UTC) == summer


def test_negative_margin_is_refused() -> None:
    """A margin cannot end the links before the day does."""
    with pytest.raises(ValueError, match="negative"):
        link_expiry(date(2026, 3, 10), "Europe/Berlin", timedelta(minutes=-1))


def test_download_link_puts_the_token_in_t() -> None:
    """The link is the function URL with the token as its ``t`` parameter."""
    token = sign_token(OBJECT, EXPIRES, KEY)
    url = download_link("https://abc.lambda-url.eu-west-1.on.aws/", token)
    assert f"https://abc.lambda-url.eu-west-1.on.aws/?t={token}" == url


def test_download_link_needs_an_http_url() -> None:
    """A base URL without a scheme would make a broken link in every email."""
    with pytest.raises(ValueError, match="https://"):
        download_link("abc.lambda-url.eu-west-1.on.aws", "token")
