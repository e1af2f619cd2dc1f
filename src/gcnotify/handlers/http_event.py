"""Lambda function URL events in and out: the method, path, headers and bounded body of a
request (payload format 2.0), and the JSON answer."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["HttpRequest", "answer", "is_http_event", "read_http"]


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    headers: Mapping[str, str]  # lower-case names, as function URLs deliver them
    body: bytes


def is_http_event(event: object) -> bool:
    """A function URL (or API Gateway HTTP API) event, rather than an SQS batch."""
    if not isinstance(event, Mapping):
        return False
    context = event.get("requestContext")
    return isinstance(context, Mapping) and isinstance(context.get("http"), Mapping)


def read_http(event: Mapping[str, Any]) -> HttpRequest | dict[str, Any]:
    """The request, or the error answer for a body too large or not decodable."""
    # Here, not at module load: the SendGrid webhook uses this module's answer and event check
    # without the messaging pipeline that this import loads (about 270 ms).
    from gcnotify.messaging.request import MAX_REQUEST_BYTES

    http = event["requestContext"]["http"]
    raw = event.get("body") or ""
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    if len(raw) > 2 * MAX_REQUEST_BYTES:
        return answer(413, {"status": "rejected", "problems": ["(body): too large"]})
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            return answer(400, {"status": "rejected", "problems": ["(body): not base64"]})
    else:
        body = raw.encode("utf-8", "surrogatepass")
    if len(body) > MAX_REQUEST_BYTES:
        problem = f"(body): is {len(body):,} bytes, over {MAX_REQUEST_BYTES:,}"
        return answer(413, {"status": "rejected", "problems": [problem]})
    return HttpRequest(
        method=str(http.get("method", "")).upper(),
        path=str(event.get("rawPath") or http.get("path") or "/"),
        headers=headers,
        body=body,
    )


def answer(status: int, body: Mapping[str, object]) -> dict[str, Any]:
    """A function URL response with a JSON body."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
    }
