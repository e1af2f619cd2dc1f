"""The download function: a signed link to a 302 onto a fresh presigned URL, against moto S3."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from moto import mock_aws

from gcnotify.aws.storage import ArtifactStore, artifact_key, client_config
from gcnotify.core.links import sign_token
from gcnotify.handlers import download
from gcnotify.handlers.download import REFUSED_TEXT, handle

BUCKET = "gcnotify-artifacts"
SECRET_ID = "gcnotify/credentials"
SIGNING_KEY = "pW7yQ1mZ8cVb3nXs5Lk0Jh2Gf9Dd4Sa6Ee1Rr3Tt5Yu"
KEY = artifact_key("support-standup", date(2026, 3, 10), "standup-2026-03-10.xlsx")
CONTENT = b"PK\x03\x04 the workbook"
NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
EXPIRES = datetime(2026, 3, 11, 1, 0, tzinfo=UTC)
ENVIRON = {"GCNOTIFY_SECRET_ID": SECRET_ID, "GCNOTIFY_ARTIFACT_BUCKET": BUCKET}


@pytest.fixture
def aws(aws_env: None) -> Iterator[Any]:
    """moto with the secret and the bucket holding one stored file; a fresh cold start."""
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        secrets.create_secret(
            Name=SECRET_ID, SecretString=json.dumps({"download_signing_key": SIGNING_KEY})
        )
        s3 = boto3.client("s3", region_name="us-east-1", config=client_config())
        s3.create_bucket(Bucket=BUCKET)
        ArtifactStore(s3, BUCKET).put(
            KEY, CONTENT, content_type="application/octet-stream", filename="standup.xlsx"
        )
        download.reset_cold_start()
        yield secrets
        download.reset_cold_start()


def request(token: str | None, method: str = "GET") -> dict[str, Any]:
    """A function URL event (payload format 2.0), as Lambda delivers it."""
    event: dict[str, Any] = {
        "version": "2.0",
        "rawPath": "/",
        "rawQueryString": f"t={token}" if token is not None else "",
        "requestContext": {"http": {"method": method, "path": "/"}},
    }
    if token is not None:
        event["queryStringParameters"] = {"t": token}
    return event


def token(expires: datetime = EXPIRES, key: str = KEY, signing_key: str = SIGNING_KEY) -> str:
    return sign_token(key, expires, signing_key.encode())


def test_a_good_link_redirects_with_302(aws: Any) -> None:
    """A valid token answers 302 with a Location."""
    answer = handle(request(token()), now=NOW, environ=ENVIRON)
    assert 302 == answer["statusCode"]
    assert answer["headers"]["Location"].startswith("https://")


def test_the_location_is_a_presigned_url_for_that_object(aws: Any) -> None:
    """The Location names the token's object, signed (SigV4) for five minutes."""
    location = handle(request(token()), now=NOW, environ=ENVIRON)["headers"]["Location"]
    url = urlsplit(location)
    query = parse_qs(url.query)
    assert (f"{BUCKET}.s3.amazonaws.com", f"/{KEY}", "AWS4-HMAC-SHA256", "300") == (
        url.netloc,
        url.path,
        query["X-Amz-Algorithm"][0],
        query["X-Amz-Expires"][0],
    )


def test_the_location_downloads_the_file(aws: Any) -> None:
    """Following the redirect gives the stored bytes."""
    location = handle(request(token()), now=NOW, environ=ENVIRON)["headers"]["Location"]
    assert CONTENT == requests.get(location, timeout=5).content


def test_the_redirect_is_never_cached(aws: Any) -> None:
    """no-store, so no cache replays a presigned URL after it expired; no referrer leaks."""
    headers = handle(request(token()), now=NOW, environ=ENVIRON)["headers"]
    assert ("no-store", "no-referrer") == (headers["Cache-Control"], headers["Referrer-Policy"])


def test_head_is_answered_like_get(aws: Any) -> None:
    """Link checkers send HEAD; they get the same redirect."""
    assert 302 == handle(request(token(), "HEAD"), now=NOW, environ=ENVIRON)["statusCode"]


def test_an_expired_link_is_refused_with_403(aws: Any) -> None:
    """A minute after its expiry the link answers 403 and the short plain message."""
    answer = handle(request(token()), now=EXPIRES + timedelta(minutes=1), environ=ENVIRON)
    assert (403, REFUSED_TEXT, "text/plain; charset=utf-8") == (
        answer["statusCode"],
        answer["body"],
        answer["headers"]["Content-Type"],
    )


def test_a_tampered_link_is_refused_with_403(aws: Any) -> None:
    """A token naming another object than it was signed for is refused."""
    good = token()
    tampered = good[:5] + ("A" if good[5] != "A" else "B") + good[6:]
    assert 403 == handle(request(tampered), now=NOW, environ=ENVIRON)["statusCode"]


def test_a_link_signed_with_another_key_is_refused(aws: Any) -> None:
    """A token signed with a key other than the secret's is refused."""
    forged = token(signing_key="x" * 43)
    assert 403 == handle(request(forged), now=NOW, environ=ENVIRON)["statusCode"]


def test_a_link_without_token_is_refused(aws: Any) -> None:
    """The bare function URL answers 403."""
    assert 403 == handle(request(None), now=NOW, environ=ENVIRON)["statusCode"]


def test_other_methods_are_refused(aws: Any) -> None:
    """POST answers 405 and says what is allowed."""
    answer = handle(request(token(), "POST"), now=NOW, environ=ENVIRON)
    assert (405, "GET, HEAD") == (answer["statusCode"], answer["headers"]["Allow"])


@pytest.mark.parametrize(
    ("when", "make", "why"),
    [
        (EXPIRES + timedelta(minutes=1), token, "expired"),
        (NOW, lambda: token(signing_key="x" * 43), "bad signature"),
        (NOW, lambda: token()[:-3], "malformed"),
    ],
)
def test_a_refusal_logs_why_but_never_the_token(
    aws: Any, caplog: pytest.LogCaptureFixture, when: datetime, make: Any, why: str
) -> None:
    """The log says why the link was refused and holds no part of the token."""
    refused = make()
    with caplog.at_level(logging.INFO, logger="gcnotify"):
        handle(request(refused), now=when, environ=ENVIRON)
    assert [f"download refused: {why} token"] == [r.getMessage() for r in caplog.records]
    assert refused[:16] not in caplog.text


def test_a_missing_signing_key_answers_503_and_is_retried(aws: Any) -> None:
    """Without the key the function answers 503; once the secret is fixed the next click works."""
    aws.put_secret_value(SecretId=SECRET_ID, SecretString=json.dumps({"other": "value"}))
    first = handle(request(token()), now=NOW, environ=ENVIRON)
    aws.put_secret_value(
        SecretId=SECRET_ID, SecretString=json.dumps({"download_signing_key": SIGNING_KEY})
    )
    second = handle(request(token()), now=NOW, environ=ENVIRON)
    assert (503, 302) == (first["statusCode"], second["statusCode"])


def test_an_unset_bucket_answers_503_naming_the_variable(
    aws: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A function deployed without its bucket says so in the log, and 503 to the reader."""
    with caplog.at_level(logging.ERROR, logger="gcnotify"):
        answer = handle(request(token()), now=NOW, environ={"GCNOTIFY_SECRET_ID": SECRET_ID})
    assert 503 == answer["statusCode"]
    assert "GCNOTIFY_ARTIFACT_BUCKET" in caplog.text


def test_lambda_handler_reads_the_clock_and_environment(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Lambda entry point answers a link valid now from the process environment."""
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)
    valid = token(expires=datetime.now(UTC) + timedelta(hours=1))
    assert 302 == download.lambda_handler(request(valid), None)["statusCode"]
