"""AWS Lambda entry point of the Genesys-facing endpoint: ``gcnotify.handlers.data_action
.lambda_handler``, a function URL with ``AuthType: NONE``.

Genesys data actions cannot sign AWS requests, so every request must carry the header
``X-Gcnotify-Secret`` equal to the value the credentials secret holds under the key
``messaging.intake.shared_secret_key`` names, compared in constant time. Anything else answers 401
and records nothing. Two paths:

- ``POST /notify``: a notification request, answered like the intake (accepted, duplicate,
  rejected with every problem);
- ``POST /opt-out``: ``{"address", "keyword", "channel"}`` from an Architect inbound message
  flow: a stop keyword (``messaging.suppression.keywords``) suppresses the address, START,
  UNSTOP or YES lifts it; answered ``suppressed``, ``unsuppressed`` or ``rejected``.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from gcnotify.core.errors import GcnotifyError
from gcnotify.handlers import notify_state
from gcnotify.handlers.http_event import HttpRequest, answer, read_http
from gcnotify.handlers.intake import STATUS_CODES, take_one
from gcnotify.runtime.log import quiet_sdk_loggers
from gcnotify.runtime.redact import RedactingFilter

__all__ = ["SECRET_HEADER", "handle", "lambda_handler"]

logger = logging.getLogger("gcnotify")
quiet_sdk_loggers()
if not any(isinstance(f, RedactingFilter) for f in logger.filters):
    logger.addFilter(RedactingFilter())

SECRET_HEADER = "x-gcnotify-secret"  # noqa: S105 - a header name, not a value
_SOURCE = "genesys-data-action"
_OPT_OUT_FIELDS = ("address", "keyword", "channel")


def _authorized(request: HttpRequest, expected: str) -> bool:
    given = request.headers.get(SECRET_HEADER, "")
    # compare_digest takes as long for any wrong value of a given length: no timing oracle.
    return bool(expected) and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def handle(
    event: Mapping[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> dict[str, Any]:
    """One function URL request."""
    request = read_http(event)
    if not isinstance(request, HttpRequest):
        return request
    state = notify_state.state(environ)
    intake = state.messaging.intake
    if intake is None:
        return answer(404, {"status": "rejected", "problems": ["messaging.intake is not set up"]})
    try:
        expected = state.credentials().extra.get(intake.shared_secret_key, "")
    except GcnotifyError as exc:
        logger.error("shared secret unavailable", extra={"error": str(exc)})
        return answer(503, {"status": "error", "problems": ["not available; retry"]})
    if not _authorized(request, expected):
        logger.warning("data action refused: wrong or missing secret", extra={"path": request.path})
        return answer(401, {"status": "rejected", "problems": ["unauthorized"]})
    if request.method != "POST":
        return answer(405, {"status": "rejected", "problems": ["POST to /notify or /opt-out"]})
    path = request.path.rstrip("/")
    try:
        if path.endswith("/notify"):
            outcome = take_one(request.body, source=_SOURCE, environ=environ, now=now())
            return answer(STATUS_CODES[outcome.status], outcome.answer())
        if path.endswith("/opt-out"):
            return _opt_out(request.body, state, now())
    except GcnotifyError as exc:
        logger.error("data action failed", extra={"path": path, "error": str(exc)})
        return answer(503, {"status": "error", "problems": ["not recorded; retry"]})
    return answer(404, {"status": "rejected", "problems": ["POST to /notify or /opt-out"]})


def _opt_out(body: bytes, state: notify_state.NotifyState, now: datetime) -> dict[str, Any]:
    from gcnotify.aws.suppression import CHANNELS, normalise_address
    from gcnotify.core.errors import SuppressionError
    from gcnotify.messaging.settings import OPT_IN_KEYWORDS

    try:
        data = json.loads(body)
    except ValueError:
        return answer(400, {"status": "rejected", "problems": ["(body): is not JSON"]})
    if not isinstance(data, dict):
        return answer(400, {"status": "rejected", "problems": ["(body): must be an object"]})
    problems = [f"{name}: unknown field" for name in data if name not in _OPT_OUT_FIELDS]
    values = {name: data.get(name) for name in _OPT_OUT_FIELDS}
    for name, value in values.items():
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{name}: is required, a string")
    channel = values["channel"]
    if isinstance(channel, str) and channel and channel not in CHANNELS:
        problems.append(f"channel: {channel!r} is not one of {', '.join(CHANNELS)}")
    keyword = str(values["keyword"] or "").strip().upper()
    stop = state.messaging.suppression.keywords
    if keyword and keyword not in stop and keyword not in OPT_IN_KEYWORDS:
        problems.append(
            f"keyword: {keyword!r} is neither a stop keyword ({', '.join(stop)}) nor an opt-in "
            f"keyword ({', '.join(OPT_IN_KEYWORDS)})"
        )
    if problems:
        return answer(400, {"status": "rejected", "problems": problems})
    address, channel_name = str(values["address"]).strip(), str(channel)
    try:
        normalise_address(channel_name, address)
    except SuppressionError as exc:
        return answer(400, {"status": "rejected", "problems": [f"address: {exc}"]})
    if keyword in stop:
        state.suppression.add(channel_name, address, f"replied {keyword}", _SOURCE, now)
        status = "suppressed"
    else:
        state.suppression.remove(channel_name, address, f"replied {keyword}", _SOURCE, now)
        status = "unsuppressed"
    logger.info("opt-out", extra={"status": status, "channel": channel_name})
    return answer(200, {"status": status, "problems": []})


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Lambda entry point."""
    return handle(event)
