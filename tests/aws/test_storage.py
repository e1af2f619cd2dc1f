"""S3 artifact store, against moto (boto3 for real, no hand-rolled fake)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from botocore.config import Config
from moto import mock_aws

from gcnotify.aws.storage import ArtifactStore, artifact_key, artifact_prefix, client_config
from gcnotify.core.errors import GcnotifyError, StorageError
from gcnotify.devserver.moto_server import SerializedMotoServer

BUCKET = "gcnotify-artifacts"
KEY = "standup/support-standup/2026-03-10/standup-2026-03-10.pdf"
PDF = b"%PDF-1.7 the pack\n"


@pytest.fixture
def s3(aws_env: None) -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1", config=client_config())
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture
def store(s3: Any) -> ArtifactStore:
    return ArtifactStore(s3, BUCKET)


def put_pdf(store: ArtifactStore, filename: str = "standup-2026-03-10.pdf") -> None:
    store.put(KEY, PDF, content_type="application/pdf", filename=filename)


def test_put_encrypts_with_sse_s3(store: ArtifactStore, s3: Any) -> None:
    """Every object is written with ServerSideEncryption AES256."""
    put_pdf(store)
    assert "AES256" == s3.head_object(Bucket=BUCKET, Key=KEY)["ServerSideEncryption"]


def test_put_stores_the_bytes_and_their_type(store: ArtifactStore, s3: Any) -> None:
    """The object holds the file's bytes under its MIME type."""
    put_pdf(store)
    got = s3.get_object(Bucket=BUCKET, Key=KEY)
    assert (PDF, "application/pdf") == (got["Body"].read(), got["ContentType"])


def test_put_saves_the_download_under_its_name(store: ArtifactStore, s3: Any) -> None:
    """Content-Disposition names the file, non-ASCII names included (RFC 6266 filename*)."""
    put_pdf(store, filename="Übersicht 10.03.pdf")
    disposition = s3.head_object(Bucket=BUCKET, Key=KEY)["ContentDisposition"]
    expected = (
        "attachment; filename=\"_bersicht_10.03.pdf\"; filename*=UTF-8''%C3%9Cbersicht%2010.03.pdf"
    )
    assert expected == disposition


def test_put_returns_what_was_stored(store: ArtifactStore) -> None:
    """The result names the bucket, the key and the size."""
    stored = store.put(KEY, PDF, content_type="application/pdf", filename="a.pdf")
    assert (BUCKET, KEY, len(PDF)) == (stored.bucket, stored.key, stored.size_bytes)


def test_keys_sit_under_one_prefix_per_report_and_date() -> None:
    """standup/<report id>/<date>/<file>, the file name kept to safe characters."""
    key = artifact_key("support-standup", date(2026, 3, 10), "standup 2026-03-10.pdf")
    assert "standup/support-standup/2026-03-10/standup_2026-03-10.pdf" == key
    assert key.startswith(artifact_prefix("support-standup", date(2026, 3, 10)) + "/")


def test_a_file_name_cannot_leave_its_prefix() -> None:
    """Slashes and leading dots are replaced: a name never climbs out of its folder."""
    key = artifact_key("support", date(2026, 3, 10), "../../other/secret.xlsx")
    assert "standup/support/2026-03-10/_.._other_secret.xlsx" == key


def test_missing_bucket_is_a_storage_error_with_the_fix(s3: Any) -> None:
    """A bucket that does not exist names itself, the code and the variable to check."""
    store = ArtifactStore(s3, "gcnotify-no-such-bucket")
    with pytest.raises(StorageError, match=r"'gcnotify-no-such-bucket'.*NoSuchBucket.*GCNOTIFY_"):
        put_pdf(store)


def test_unreachable_s3_is_a_storage_error(aws_env: None) -> None:
    """A connection that fails below the SDK is still our error, naming the bucket."""
    client = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=1),
    )
    with pytest.raises(StorageError, match=rf"'{BUCKET}'.*EndpointConnectionError"):
        put_pdf(ArtifactStore(client, BUCKET))


def test_storage_error_is_a_gcnotify_error() -> None:
    """StorageError sits in the one exception tree, so the runner reports it like the others."""
    assert issubclass(StorageError, GcnotifyError)


def test_no_bucket_name_is_refused(s3: Any) -> None:
    """An unset bucket is refused at once, naming the variable."""
    with pytest.raises(StorageError, match="GCNOTIFY_ARTIFACT_BUCKET"):
        ArtifactStore(s3, "")


def test_presigned_get_fetches_the_object(store: ArtifactStore) -> None:
    """The presigned URL downloads the stored bytes."""
    put_pdf(store)
    assert PDF == requests.get(store.presigned_get(KEY), timeout=5).content


def test_presigned_get_lives_five_minutes_by_default(store: ArtifactStore) -> None:
    """The URL is SigV4-signed for 300 seconds unless asked otherwise."""
    url = store.presigned_get(KEY)
    assert ["AWS4-HMAC-SHA256", "300"] == [
        parse_qs(urlsplit(url).query)[name][0] for name in ("X-Amz-Algorithm", "X-Amz-Expires")
    ]


def test_presigned_get_refuses_a_long_life(store: ArtifactStore) -> None:
    """Over an hour is refused: the signing credentials would not last anyway."""
    with pytest.raises(ValueError, match="1 to 3600"):
        store.presigned_get(KEY, expires_in=7200)


def test_presign_without_credentials_is_a_storage_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """No credentials to sign with is our error, naming the bucket."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    client = boto3.session.Session().client("s3", region_name="us-east-1")
    with pytest.raises(StorageError, match=rf"'{BUCKET}'.*NoCredentialsError.*no AWS credentials"):
        ArtifactStore(client, BUCKET).presigned_get(KEY)


@pytest.mark.e2e
def test_over_real_sockets_the_presigned_url_downloads_the_file() -> None:
    """Against a moto server: put with SSE, presign, GET over HTTP gives the bytes back."""
    server = SerializedMotoServer()
    server.start()
    try:
        client = boto3.client(
            "s3",
            endpoint_url=server.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=client_config(),
        )
        client.create_bucket(Bucket=BUCKET)
        store = ArtifactStore(client, BUCKET)
        put_pdf(store)
        response = requests.get(store.presigned_get(KEY), timeout=5)
        assert (200, PDF, "AES256") == (
            response.status_code,
            response.content,
            response.headers.get("x-amz-server-side-encryption"),
        )
    finally:
        server.stop()
