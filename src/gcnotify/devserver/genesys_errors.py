"""Genesys Cloud's ``ErrorBody``, as every stand-in endpoint group answers its errors."""

from __future__ import annotations

import uuid
from typing import Any

from gcnotify.devserver.http_base import Response

__all__ = ["error_body", "error_response"]

_CODES = {
    400: "bad.request",
    401: "bad.credentials",
    403: "missing.any.permissions",
    404: "not.found",
    405: "method.not.allowed",
    408: "request.timeout",
    413: "request.entity.too.large",
    415: "unsupported.media.type",
    429: "too.many.requests.retry.after",
    500: "internal.server.error",
    502: "bad.gateway",
    503: "service.unavailable",
    504: "gateway.timeout",
}


def error_body(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    """A Genesys ``ErrorBody`` (``message``, ``code``, ``status``) with a fresh ``contextId``."""
    return {
        "message": message,
        "code": code or _CODES.get(status, "error"),
        "status": status,
        "contextId": str(uuid.uuid4()),
        "details": [],
        "errors": [],
    }


def error_response(status: int, message: str, code: str | None = None) -> Response:
    """The HTTP answer carrying ``error_body``."""
    return Response(status, error_body(status, message, code))
