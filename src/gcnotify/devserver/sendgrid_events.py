"""SendGrid's signed Event Webhook, played back locally for mail the SendGrid stand-in accepted.

For each recipient of each stored message it builds the events SendGrid would post (processed,
then delivered; deferred before delivered; a hard bounce or a block; a drop; a spam report or an
unsubscribe after delivery), with the message's custom args as top-level fields and
``sg_message_id`` = ``<X-Message-Id>.filterdrecv-…``, as the official fixture shows. Batches can
repeat events (SendGrid retries) and mix their order; each POST is signed with a test key the
documented way (ECDSA P-256 / SHA-256 over the timestamp header bytes and the raw body) and sent
to a URL with the body's exact bytes, trailing ``\\r\\n`` included.
"""

from __future__ import annotations

import base64
import json
import random
import secrets
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from gcnotify.devserver.http_base import RecordedRequest, Response, StandInServer

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey

    from gcnotify.devserver.sendgrid_server import StoredMessage

__all__ = [
    "OUTCOMES",
    "FunctionUrl",
    "Outcome",
    "Posted",
    "WebhookKey",
    "batches",
    "encode_batch",
    "events_for",
    "post_batch",
    "signed_headers",
]

Outcome = Literal[
    "delivered",
    "deferred",  # deferred twice, then delivered
    "bounce",  # a hard bounce (type bounce)
    "blocked",  # a block (bounce type blocked)
    "dropped",  # dropped: Bounced Address
    "dropped_unsubscribed",
    "dropped_spam",  # dropped: Spam Content (not the address's fault)
    "spamreport",  # delivered, then marked as spam
    "unsubscribe",  # delivered, then unsubscribed
    "opened",  # delivered, then opened and a link clicked
]
OUTCOMES: tuple[Outcome, ...] = (
    "delivered",
    "deferred",
    "bounce",
    "blocked",
    "dropped",
    "dropped_unsubscribed",
    "dropped_spam",
    "spamreport",
    "unsubscribe",
    "opened",
)
_SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
_TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"
_HARD_BOUNCE = "550 5.1.1 The email account that you tried to reach does not exist."
_BLOCK = "550 5.7.1 Service unavailable; client host blocked using Spamhaus"
_DEFERRAL = "421 4.7.0 Try again later, closing connection."


class WebhookKey:
    """A test key pair standing in for the one SendGrid signs with; ``public_key_b64`` is what
    the console shows (Base64 DER SubjectPublicKeyInfo)."""

    def __init__(self, private_key: EllipticCurvePrivateKey | None = None) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec

        self._private = private_key or ec.generate_private_key(ec.SECP256R1())

    def __repr__(self) -> str:
        return "WebhookKey(<test key>)"

    @property
    def public_key_b64(self) -> str:
        from cryptography.hazmat.primitives import serialization

        der = self._private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode("ascii")

    def sign(self, timestamp: str, body: bytes) -> str:
        """Base64 of the DER signature over the timestamp's bytes followed by the body's."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        signature = self._private.sign(timestamp.encode("utf-8") + body, ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(signature).decode("ascii")


def signed_headers(key: WebhookKey, body: bytes, timestamp: int) -> dict[str, str]:
    """The headers of one signed POST of ``body`` at Unix time ``timestamp``."""
    stamp = str(timestamp)
    return {
        _SIGNATURE: key.sign(stamp, body),
        _TIMESTAMP: stamp,
        "Content-Type": "application/json",
    }


def _event_id() -> str:
    # URL-safe and at most 100 characters, with no fixed format (SendGrid's only promises).
    return base64.urlsafe_b64encode(secrets.token_bytes(36)).decode("ascii").rstrip("=")


def _custom_args(message: StoredMessage, index: int) -> dict[str, str]:
    merged = dict(message.body.get("custom_args") or {})
    personalizations = message.body.get("personalizations") or []
    if index < len(personalizations):
        merged.update(personalizations[index].get("custom_args") or {})
    return {str(k): str(v) for k, v in merged.items()}


def _recipients(message: StoredMessage) -> list[tuple[str, int]]:
    """Every to/cc/bcc address with the index of its personalization."""
    found: list[tuple[str, int]] = []
    for index, personalization in enumerate(message.body.get("personalizations") or []):
        for kind in ("to", "cc", "bcc"):
            found.extend((str(r["email"]), index) for r in personalization.get(kind, []))
    return found


def events_for(
    messages: Iterable[StoredMessage],
    *,
    start: int,
    outcomes: Mapping[str, Outcome] | None = None,
) -> list[dict[str, Any]]:
    """Every event of every recipient, in the order SendGrid would produce them.

    ``outcomes`` maps an address (lower-case) to what happens to it; others are delivered.
    ``start``: Unix seconds of the first event; each message's events follow a few seconds
    apart, and a deferral's retry a minute later.
    """
    chosen = {k.lower(): v for k, v in (outcomes or {}).items()}
    out: list[dict[str, Any]] = []
    clock = start
    for message in messages:
        categories = message.body.get("categories")
        for n, (address, index) in enumerate(_recipients(message)):
            outcome = chosen.get(address.lower(), "delivered")
            base: dict[str, Any] = {
                "email": address,
                "sg_message_id": (
                    f"{message.message_id}.filterdrecv-5645d9c87f-{secrets.token_hex(2)}-1-"
                    f"{clock:X}-{n}.0"
                ),
                "smtp-id": f"<{message.message_id}@ismtpd0001p1iad2.sendgrid.net>",
            }
            if categories:
                base["category"] = list(categories)
            args = _custom_args(message, index)

            def event(
                kind: str,
                at: int,
                base: dict[str, Any] = base,
                args: dict[str, str] = args,
                **fields: Any,
            ) -> None:
                item = {**base, "event": kind, "timestamp": at, "sg_event_id": _event_id()}
                item.update(fields)
                for name, value in args.items():
                    item.setdefault(name, value)  # a reserved name keeps SendGrid's value
                out.append(item)

            if outcome in ("dropped", "dropped_unsubscribed", "dropped_spam"):
                reason = {
                    "dropped": "Bounced Address",
                    "dropped_unsubscribed": "Unsubscribed Address",
                    "dropped_spam": "Spam Content",
                }[outcome]
                event("dropped", clock, reason=reason, status="5.0.0")
                clock += 1
                continue
            event("processed", clock)
            if outcome == "bounce":
                event("bounce", clock + 3, type="bounce", status="5.1.1", reason=_HARD_BOUNCE)
            elif outcome == "blocked":
                event("bounce", clock + 3, type="blocked", status="5.7.1", reason=_BLOCK)
            else:
                delivered_at = clock + 2
                if outcome == "deferred":
                    event("deferred", clock + 2, response=_DEFERRAL, attempt="1")
                    event("deferred", clock + 62, response=_DEFERRAL, attempt="2")
                    delivered_at = clock + 122
                event("delivered", delivered_at, response="250 2.0.0 OK", tls=1)
                if outcome == "spamreport":
                    event("spamreport", delivered_at + 30)
                elif outcome == "unsubscribe":
                    event("unsubscribe", delivered_at + 30)
                elif outcome == "opened":
                    event("open", delivered_at + 30, useragent="Mozilla/5.0", ip="203.0.113.9")
                    event("click", delivered_at + 40, url="https://example.com/")
            clock += 5
    return out


def batches(
    events: Sequence[Mapping[str, Any]],
    *,
    size: int = 500,
    duplicates: int = 0,
    shuffle: bool = False,
    seed: int = 0,
) -> list[list[dict[str, Any]]]:
    """Cut ``events`` into POSTs of at most ``size``; ``duplicates`` events are posted again in
    a later batch (as SendGrid's retries do), ``shuffle`` mixes the order across batches."""
    rng = random.Random(seed)
    items = [dict(e) for e in events]
    if shuffle:
        rng.shuffle(items)
    repeats = [dict(e) for e in rng.sample(items, min(duplicates, len(items)))]
    cut = [items[i : i + size] for i in range(0, len(items), size)] or [[]]
    for repeat in repeats:
        # Into the last batch or a new one: after the original was posted.
        if len(cut[-1]) >= size:
            cut.append([])
        cut[-1].append(repeat)
    return cut


def encode_batch(events: Sequence[Mapping[str, Any]]) -> bytes:
    """The exact bytes of a POST: compact JSON with SendGrid's trailing ``\\r\\n``."""
    return (json.dumps(list(events), separators=(",", ":")) + "\r\n").encode("utf-8")


@dataclass(frozen=True)
class Posted:
    """What the webhook answered one POST."""

    status: int
    body: Any


def post_batch(
    url: str,
    events: Sequence[Mapping[str, Any]] | bytes,
    *,
    key: WebhookKey,
    timestamp: int,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> Posted:
    """POST one signed batch (``headers`` override the signed ones: forgeries, missing ones)."""
    body = events if isinstance(events, bytes) else encode_batch(events)
    sent = {**signed_headers(key, body, timestamp), **(headers or {})}
    sent = {k: v for k, v in sent.items() if v != ""}  # "" drops a header
    request = urllib.request.Request(url, data=body, headers=sent, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        parsed: Any = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode("utf-8", "replace")
    return Posted(status, parsed)


class FunctionUrl(StandInServer):
    """A Lambda function URL on 127.0.0.1: each request becomes the payload 2.0 event Lambda
    builds (header names lower-cased, the body Base64 with ``isBase64Encoded``) and is answered
    with what ``handler`` returns (``statusCode``, ``headers``, ``body``)."""

    def __init__(
        self,
        handler: Callable[[dict[str, Any]], Mapping[str, Any]],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self._handler = handler

    def route(self, request: RecordedRequest) -> Response:
        event = {
            "version": "2.0",
            "rawPath": request.path,
            "rawQueryString": request.raw_query,
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "requestContext": {"http": {"method": request.method, "path": request.path}},
            "body": base64.b64encode(request.body).decode("ascii"),
            "isBase64Encoded": True,
        }
        answer = self._handler(event)
        headers = {str(k): str(v) for k, v in (answer.get("headers") or {}).items()}
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        body = answer.get("body") or ""
        if answer.get("isBase64Encoded"):
            body = base64.b64decode(body)
        return Response(
            int(answer.get("statusCode", 200)),
            body.encode("utf-8") if isinstance(body, str) else body,
            headers=headers,
            content_type=content_type,
        )
