"""AWS Lambda entry point of the download function: ``gcnotify.handlers.download.lambda_handler``.

It sits behind a Lambda function URL with ``AuthType: NONE``, because the signed token in the
link is the authorisation. The links of a standup email must work until the end of the
recipients' day, longer than any presigned URL signed with a role's temporary credentials can,
so the email carries a token (``gcnotify.core.links``) and this function, on each click, checks
it and answers 302 with a fresh presigned GET valid for five minutes. A bad or expired token
gets 403 and a short plain message; the log says why, never the token.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gcnotify.core.errors import GcnotifyError, SecretError, StorageError
from gcnotify.core.links import TokenRefused, verify_token
from gcnotify.runtime.log import quiet_sdk_loggers
from gcnotify.runtime.redact import RedactingFilter
from gcnotify.runtime.settings import DEFAULT_SECRET_ID, Settings

if TYPE_CHECKING:
    from gcnotify.aws.storage import ArtifactStore

__all__ = ["handle", "lambda_handler", "reset_cold_start"]

logger = logging.getLogger("gcnotify")
quiet_sdk_loggers()
if not any(isinstance(f, RedactingFilter) for f in logger.filters):
    logger.addFilter(RedactingFilter())

TOKEN_PARAMETER = "t"  # noqa: S105 - the query parameter's name, not a value
REFUSED_TEXT = (
    "This download link is not valid or has expired. Ask the sender of the report for a new copy.\n"
)
UNAVAILABLE_TEXT = "Downloads are unavailable right now. Try again in a few minutes.\n"
# A cached redirect would outlive its presigned URL; the referrer would carry the token.
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@dataclass(frozen=True)
class _ColdStart:
    """Built once per container, on the first request: the signing key and the bucket."""

    signing_key: bytes
    store: ArtifactStore


_state: _ColdStart | None = None


def reset_cold_start() -> None:
    """Forget the key and clients (tests; a new container does this)."""
    global _state  # noqa: PLW0603 - the per-container cache is module state by design
    _state = None


def _cold_start(environ: Mapping[str, str]) -> _ColdStart:
    """Read the key and build the S3 client; a failure is not cached, so the next click retries."""
    global _state  # noqa: PLW0603
    if _state is not None:
        return _state
    import boto3
    from botocore.exceptions import BotoCoreError

    from gcnotify.aws.signing_key import load_signing_key
    from gcnotify.aws.storage import ArtifactStore, client_config

    settings = Settings.from_env(environ)
    if settings.artifact_bucket is None:
        raise StorageError(
            "GCNOTIFY_ARTIFACT_BUCKET is not set; template.yaml sets it to the stack's "
            "ArtifactBucket"
        )
    session = boto3.session.Session()
    try:
        secrets = session.client("secretsmanager", endpoint_url=settings.aws_endpoint_url)
        s3 = session.client("s3", endpoint_url=settings.aws_endpoint_url, config=client_config())
    except BotoCoreError as exc:
        raise SecretError(
            f"cannot create the AWS clients ({type(exc).__name__}); set AWS_DEFAULT_REGION "
            "(Lambda sets it) and AWS credentials"
        ) from None
    key = load_signing_key(secrets, settings.secret_id or DEFAULT_SECRET_ID)
    _state = _ColdStart(signing_key=key, store=ArtifactStore(s3, settings.artifact_bucket))
    return _state


def _answer(
    status: int, text: str = "", headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    content = {"Content-Type": "text/plain; charset=utf-8"} if text else {}
    return {
        "statusCode": status,
        "headers": {**_HEADERS, **content, **(headers or {})},
        "body": text,
    }


def _method(event: Mapping[str, Any]) -> str:
    context = event.get("requestContext")
    http = context.get("http") if isinstance(context, Mapping) else None
    method = http.get("method") if isinstance(http, Mapping) else None
    return method.upper() if isinstance(method, str) else "GET"


def _token(event: Mapping[str, Any]) -> str | None:
    parameters = event.get("queryStringParameters")
    token = parameters.get(TOKEN_PARAMETER) if isinstance(parameters, Mapping) else None
    return token if isinstance(token, str) else None


def handle(
    event: object, *, now: datetime, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """One request of the function URL (payload format 2.0) to its HTTP answer."""
    if not isinstance(event, Mapping):
        logger.warning("download refused: the event is not a function URL request")
        return _answer(400, "Bad request.\n")
    method = _method(event)
    if method not in ("GET", "HEAD"):
        logger.warning("download refused: method %s", method)
        return _answer(405, "Only GET is supported.\n", {"Allow": "GET, HEAD"})
    token = _token(event)
    if token is None:
        logger.warning("download refused: no token in the link")
        return _answer(403, REFUSED_TEXT)
    try:
        state = _cold_start(os.environ if environ is None else environ)
    except GcnotifyError as exc:
        logger.error("download unavailable: %s", exc)
        return _answer(503, UNAVAILABLE_TEXT, {"Retry-After": "60"})
    try:
        key = verify_token(token, state.signing_key, now)
    except TokenRefused as exc:
        logger.warning("download refused: %s token", exc.reason)
        return _answer(403, REFUSED_TEXT)
    try:
        url = state.store.presigned_get(key)
    except StorageError as exc:
        logger.error("download unavailable: %s", exc)
        return _answer(503, UNAVAILABLE_TEXT, {"Retry-After": "60"})
    logger.info("download redirected: %s", key)
    return _answer(302, headers={"Location": url})


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Lambda entry point: the clock is read here, so ``handle`` is testable at any instant."""
    return handle(event, now=datetime.now(UTC))
