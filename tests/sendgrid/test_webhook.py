"""The Signed Event Webhook seam: signatures checked on the exact bytes, refusals, parsing, and
the ``sendgrid.webhook_public_key`` config key."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gcnotify.core.config import parse_config
from gcnotify.core.errors import ConfigError
from gcnotify.sendgrid.webhook import (
    MAX_BODY_BYTES,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    EventBatch,
    Refusal,
    SignatureVerifier,
    parse_events,
    x_message_id,
)

# The real SendGrid-signed fixture of the official library (sendgrid-python,
# test/unit/test_eventwebhook.py): its public key, signature, timestamp and body bytes.
OFFICIAL_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe6"
    "2gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
)
OFFICIAL_SIGNATURE = (
    "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15Tl"
    "uLtEZtM="
)
OFFICIAL_TIMESTAMP = "1600112502"
OFFICIAL_BODY = (
    b'[{"email":"hello@world.com","event":"dropped","reason":"Bounced Address",'
    b'"sg_event_id":"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",'
    b'"sg_message_id":"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",'
    b'"smtp-id":"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>","timestamp":1600112492}]'
    b"\r\n"
)
OFFICIAL_NOW = datetime.fromtimestamp(int(OFFICIAL_TIMESTAMP) + 20, UTC)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
BODY = (
    json.dumps(
        [
            {
                "email": "Jane@Example.com",
                "timestamp": 1795435200,
                "event": "delivered",
                "sg_event_id": "ZGVsaXZlcmVk",
                "sg_message_id": "abcXYZ.filterdrecv-1-2.0",
                "gcnotify_key": "order-1",
                "note": "café ☕",  # non-ASCII bytes are signed as sent
            }
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    + "\r\n"
).encode("utf-8")


def spki_b64(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")


PRIVATE = ec.generate_private_key(ec.SECP256R1())
OTHER = ec.generate_private_key(ec.SECP256R1())
VERIFIER = SignatureVerifier(spki_b64(PRIVATE))


def sign(body: bytes, timestamp: str, key: ec.EllipticCurvePrivateKey = PRIVATE) -> str:
    raw = key.sign(timestamp.encode("utf-8") + body, ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(raw).decode("ascii")


def headers(
    body: bytes = BODY, at: datetime = NOW, override: dict[str, str] | None = None
) -> dict[str, str]:
    stamp = str(int(at.timestamp()))
    out = {SIGNATURE_HEADER: sign(body, stamp), TIMESTAMP_HEADER: stamp}
    out.update(override or {})
    return out


# ---------------------------------------------------------------------------- the official fixture


def test_the_official_fixture_verifies_on_its_exact_bytes() -> None:
    """SendGrid's own signed POST verifies, trailing CR LF included."""
    verifier = SignatureVerifier(OFFICIAL_KEY)
    fixture = {SIGNATURE_HEADER: OFFICIAL_SIGNATURE, TIMESTAMP_HEADER: OFFICIAL_TIMESTAMP}
    assert verifier.check(fixture, OFFICIAL_BODY, now=OFFICIAL_NOW) is None


def test_the_official_fixture_fails_without_its_trailing_crlf() -> None:
    """The raw bytes are signed: stripping the CR LF breaks the signature."""
    verifier = SignatureVerifier(OFFICIAL_KEY)
    fixture = {SIGNATURE_HEADER: OFFICIAL_SIGNATURE, TIMESTAMP_HEADER: OFFICIAL_TIMESTAMP}
    stripped = OFFICIAL_BODY.rstrip(b"\r\n")
    assert Refusal(401, "signature does not verify") == verifier.check(
        fixture, stripped, now=OFFICIAL_NOW
    )


def test_the_official_fixture_fails_once_re_serialised() -> None:
    """Parsing and dumping the JSON again changes the bytes, so it no longer verifies."""
    verifier = SignatureVerifier(OFFICIAL_KEY)
    fixture = {SIGNATURE_HEADER: OFFICIAL_SIGNATURE, TIMESTAMP_HEADER: OFFICIAL_TIMESTAMP}
    again = (json.dumps(json.loads(OFFICIAL_BODY)) + "\r\n").encode()
    assert verifier.check(fixture, again, now=OFFICIAL_NOW) is not None


def test_the_official_fixture_parses_to_its_event() -> None:
    """The fixture's dropped event, its id and the X-Message-Id in its sg_message_id."""
    batch = parse_events(OFFICIAL_BODY)
    assert isinstance(batch, EventBatch)
    (event,) = batch.events
    assert ("dropped", "hello@world.com", "LRzXl_NHStOGhQ4kofSm_A") == (
        event.event,
        event.email,
        event.x_message_id,
    )
    assert datetime(2020, 9, 14, 19, 41, 32, tzinfo=UTC) == event.at


# ---------------------------------------------------------------------------- our own signatures


def test_a_signed_fresh_post_verifies() -> None:
    """A body signed with the configured key, now, passes."""
    assert VERIFIER.check(headers(), BODY, now=NOW) is None


def test_header_names_match_in_any_case() -> None:
    """A local server keeps SendGrid's spelling; function URLs lower-case it: both verify."""
    stamp = str(int(NOW.timestamp()))
    given = {
        "X-Twilio-Email-Event-Webhook-Signature": sign(BODY, stamp),
        "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
    }
    assert VERIFIER.check(given, BODY, now=NOW) is None


def test_a_post_signed_with_another_key_is_refused() -> None:
    """A forgery: well-formed, but not made with SendGrid's key."""
    stamp = str(int(NOW.timestamp()))
    forged = {SIGNATURE_HEADER: sign(BODY, stamp, OTHER), TIMESTAMP_HEADER: stamp}
    assert Refusal(401, "signature does not verify") == VERIFIER.check(forged, BODY, now=NOW)


def test_a_changed_body_is_refused() -> None:
    """One byte changed after signing."""
    changed = BODY.replace(b"delivered", b"delivereD")
    assert Refusal(401, "signature does not verify") == VERIFIER.check(headers(), changed, now=NOW)


def test_a_changed_timestamp_is_refused() -> None:
    """The timestamp is signed too: a new one with the old signature fails."""
    given = headers(override={TIMESTAMP_HEADER: str(int(NOW.timestamp()) + 1)})
    assert Refusal(401, "signature does not verify") == VERIFIER.check(given, BODY, now=NOW)


@pytest.mark.parametrize("seconds", [301, -301, 86_400])
def test_a_timestamp_more_than_300_s_from_now_is_refused(seconds: int) -> None:
    """A replay (old timestamp) or a clock far ahead, correctly signed, is refused."""
    signed_at = NOW - timedelta(seconds=seconds)
    refusal = VERIFIER.check(headers(at=signed_at), BODY, now=NOW)
    assert refusal is not None
    assert (401, f"timestamp is {abs(seconds)} s from now (at most 300 s)") == (
        refusal.status,
        refusal.reason,
    )


@pytest.mark.parametrize("seconds", [300, -300, 0])
def test_a_timestamp_within_300_s_is_accepted(seconds: int) -> None:
    """The bound itself is inside the window, either way."""
    assert VERIFIER.check(headers(at=NOW - timedelta(seconds=seconds)), BODY, now=NOW) is None


MISSING = "signature or timestamp header missing"
NOT_SECONDS = "timestamp header is not Unix seconds"
SIG, TS = SIGNATURE_HEADER, TIMESTAMP_HEADER


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ({}, MISSING),
        ({SIG: "MEUCIQ=="}, MISSING),
        ({TS: "1795435200"}, MISSING),
        ({SIG: "", TS: "1795435200"}, MISSING),
        ({SIG: "MEUCIQ==", TS: "now"}, NOT_SECONDS),
        ({SIG: "MEUCIQ==", TS: "-1"}, NOT_SECONDS),
        ({SIG: "MEUCIQ==", TS: "1795435200.5"}, NOT_SECONDS),
    ],
)
def test_missing_or_malformed_headers_are_refused(given: dict[str, str], reason: str) -> None:
    """Unsigned or half-signed POSTs never reach the signature check."""
    assert Refusal(401, reason) == VERIFIER.check(given, BODY, now=NOW)


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        ("not base64!", "signature header is not Base64"),
        ("QUJD", "signature does not verify"),  # Base64, but not a DER signature
        ("A" * 500, "signature header is not a signature"),
    ],
)
def test_a_malformed_signature_is_refused(signature: str, reason: str) -> None:
    """Whatever the header holds, the answer is a refusal, never an exception."""
    given = headers(override={SIGNATURE_HEADER: signature})
    assert Refusal(401, reason) == VERIFIER.check(given, BODY, now=NOW)


def test_an_oversized_body_is_refused_before_its_signature_is_checked() -> None:
    """Over 1 MiB: 413, even with a valid signature and without reading the headers."""
    big = b"[" + b" " * MAX_BODY_BYTES + b"]"
    assert Refusal(413, "body over 1,048,576 bytes") == VERIFIER.check(headers(big), big, now=NOW)
    assert Refusal(413, "body over 1,048,576 bytes") == VERIFIER.check({}, big, now=NOW)


def test_a_body_at_the_limit_is_checked() -> None:
    """Exactly MAX_BODY_BYTES is allowed (SendGrid's batches stop at 768 kB)."""
    body = b"[" + b" " * (MAX_BODY_BYTES - 2) + b"]"
    assert VERIFIER.check(headers(body), body, now=NOW) is None


# ---------------------------------------------------------------------------- the key


@pytest.mark.parametrize(
    "key",
    [
        "not base64 at all!",
        base64.b64encode(b"random bytes, not a key").decode(),
        spki_b64(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        spki_b64(ec.generate_private_key(ec.SECP384R1())),
    ],
)
def test_a_verifier_with_a_bad_key_is_a_config_error_naming_the_key(key: str) -> None:
    """A key that is not P-256 fails at cold start, saying which key and where to copy it."""
    with pytest.raises(ConfigError) as caught:
        SignatureVerifier(key)
    assert "sendgrid.webhook_public_key" in str(caught.value)
    assert "Verification Key" in str(caught.value)


def test_a_point_off_the_curve_fails_where_the_key_is_loaded() -> None:
    """The config checks the key's form; loading it also checks the point is on P-256."""
    der = bytearray(base64.b64decode(OFFICIAL_KEY))
    der[-1] ^= 1  # y no longer fits x
    with pytest.raises(ConfigError):
        SignatureVerifier(base64.b64encode(bytes(der)).decode())


CONFIG: dict[str, Any] = {
    "genesys": {"environment": "mypurecloud.com"},
    "messaging": {},
}


def config_with(key: object) -> Any:
    sendgrid: dict[str, Any] = {"from": {"email": "reports@example.com"}}
    if key is not None:
        sendgrid["webhook_public_key"] = key
    return parse_config({**CONFIG, "sendgrid": sendgrid})


def test_the_config_keeps_a_p256_public_key() -> None:
    """SendGrid's key as the console shows it is accepted and kept as text."""
    assert OFFICIAL_KEY == config_with(OFFICIAL_KEY).sendgrid.webhook_public_key


def test_the_config_key_is_optional() -> None:
    """Without it, nothing changes for functions that do not take webhook POSTs."""
    assert config_with(None).sendgrid.webhook_public_key is None


def test_a_wrapped_key_is_joined() -> None:
    """A folded YAML value (spaces or newlines inside) is the same key."""
    wrapped = OFFICIAL_KEY[:40] + "\n  " + OFFICIAL_KEY[40:]
    assert OFFICIAL_KEY == config_with(wrapped).sendgrid.webhook_public_key


def test_a_compressed_point_key_is_accepted() -> None:
    """The other standard encoding of a P-256 point loads too."""
    point = PRIVATE.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
    )
    header = bytes.fromhex("3039301306072a8648ce3d020106082a8648ce3d030107032200")
    key = base64.b64encode(header + point).decode()
    assert key == config_with(key).sendgrid.webhook_public_key
    assert SignatureVerifier(key).check(headers(), BODY, now=NOW) is None


@pytest.mark.parametrize(
    ("key", "says"),
    [
        ("-----BEGIN PUBLIC KEY-----\n" + OFFICIAL_KEY + "\n-----END PUBLIC KEY-----", "PEM"),
        ("MFkwEwYHKoZIzj0C!", "not Base64"),
        (base64.b64encode(b"hello").decode(), "not a P-256"),
        (spki_b64(rsa.generate_private_key(public_exponent=65537, key_size=2048)), "not a P-256"),
        (spki_b64(ec.generate_private_key(ec.SECP384R1())), "not a P-256"),
        (12345, "string"),
    ],
)
def test_a_bad_config_key_is_a_problem_with_the_fix(key: object, says: str) -> None:
    """Each wrong form is named under its key path, with where to copy the right one."""
    with pytest.raises(ConfigError) as caught:
        config_with(key)
    (problem,) = caught.value.problems
    assert "sendgrid.webhook_public_key" == problem.path
    assert says in problem.message


# ---------------------------------------------------------------------------- parsing


def test_events_keep_their_fields_and_custom_args() -> None:
    """Each event: id, type, address, time, X-Message-Id, and top-level custom args."""
    batch = parse_events(BODY)
    assert isinstance(batch, EventBatch)
    (event,) = batch.events
    assert ("ZGVsaXZlcmVk", "delivered", "Jane@Example.com") == (
        event.event_id,
        event.event,
        event.email,
    )
    assert ("abcXYZ", "order-1", None) == (
        event.x_message_id,
        event.text("gcnotify_key"),
        event.text("gcnotify_report_id"),
    )
    assert datetime(2026, 11, 23, 12, 0, tzinfo=UTC) == event.at


def test_malformed_entries_are_counted_and_the_rest_kept() -> None:
    """Not an object, no sg_event_id, no event: skipped one by one, never the whole batch."""
    good = {"event": "delivered", "sg_event_id": "a", "email": "a@example.com", "timestamp": 1}
    body = json.dumps(
        [
            good,
            "a string",
            None,
            [good],
            {"event": "delivered", "email": "b@example.com"},
            {"sg_event_id": "c", "email": "c@example.com"},
            {"event": "", "sg_event_id": "d"},
            {"event": "delivered", "sg_event_id": 7},
            {"event": "delivered", "sg_event_id": "x" * 101},
            {"event": "some_new_type", "sg_event_id": "e"},
        ]
    ).encode()
    batch = parse_events(body)
    assert isinstance(batch, EventBatch)
    assert (["a", "e"], 8) == ([e.event_id for e in batch.events], batch.malformed)


def test_an_event_without_a_usable_timestamp_has_no_time() -> None:
    """A missing or non-numeric timestamp is kept as unknown, not a failure."""
    body = json.dumps(
        [
            {"event": "delivered", "sg_event_id": "a", "timestamp": "soon"},
            {"event": "delivered", "sg_event_id": "b", "timestamp": True},
            {"event": "delivered", "sg_event_id": "c", "timestamp": 10**20},
            {"event": "delivered", "sg_event_id": "d"},
        ]
    ).encode()
    batch = parse_events(body)
    assert isinstance(batch, EventBatch)
    assert [None, None, None, None] == [e.at for e in batch.events]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "body is not JSON"),
        (b"{not json", "body is not JSON"),
        (b"\xff\xfe", "body is not JSON"),
        (b'{"event": "delivered"}', "body is not a JSON array of events"),
        (b'"text"', "body is not a JSON array of events"),
    ],
)
def test_a_body_that_is_not_an_array_is_refused(body: bytes, reason: str) -> None:
    """400: SendGrid retries for 24 h, time to look at a format change before events are lost."""
    assert Refusal(400, reason) == parse_events(body)


@pytest.mark.parametrize(
    ("sg_message_id", "expected"),
    [
        ("LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-9.0", "LRzXl_NHStOGhQ4kofSm_A"),
        ("14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0", "14c5d75ce93"),
        ("noDotAtAll", "noDotAtAll"),
        (".leading", None),
        ("", None),
        (None, None),
    ],
)
def test_the_x_message_id_is_the_part_before_the_first_dot(
    sg_message_id: str | None, expected: str | None
) -> None:
    """The per-recipient id contains the id mail/send answered, before its first dot."""
    assert expected == x_message_id(sg_message_id)
