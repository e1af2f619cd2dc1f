"""The download links' signing key, read from the secret against moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from gcnotify.aws.signing_key import load_signing_key
from gcnotify.core.errors import SecretError
from gcnotify.runtime.redact import MASK, REDACTOR

SIGNING_KEY = "Zk3p9cJx0v5QwLr8TnYb2HsUe6AaMdGf1KiOzXyWq4E"  # 43 characters


@pytest.fixture
def client(aws_env: None) -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")


def store(client: Any, values: dict[str, str]) -> None:
    client.create_secret(Name="gcnotify/credentials", SecretString=json.dumps(values))


def test_reads_the_key_as_bytes(client: Any) -> None:
    """The key's UTF-8 bytes come back, whatever else the secret holds."""
    store(client, {"sendgrid_api_key": "SG.x", "download_signing_key": SIGNING_KEY})
    assert SIGNING_KEY.encode() == load_signing_key(client, "gcnotify/credentials")


def test_the_key_is_registered_for_masking(client: Any) -> None:
    """Once read, the key is masked in every log line and result."""
    store(client, {"download_signing_key": SIGNING_KEY})
    load_signing_key(client, "gcnotify/credentials")
    assert f"key={MASK}" == REDACTOR.mask(f"key={SIGNING_KEY}")


def test_missing_key_names_it_and_how_to_make_one(client: Any) -> None:
    """A secret without the key names the key and how to generate a value."""
    store(client, {"genesys_client_id": "cid-7f3a"})
    with pytest.raises(SecretError, match=r"has no download_signing_key.*token_urlsafe"):
        load_signing_key(client, "gcnotify/credentials")


def test_short_key_is_refused_without_its_value(client: Any) -> None:
    """A guessable key is refused, and the error does not show it."""
    store(client, {"download_signing_key": "short-but-secret"})
    with pytest.raises(SecretError, match="shorter than 32") as info:
        load_signing_key(client, "gcnotify/credentials")
    assert "short-but-secret" not in str(info.value) + repr(info.value.args)


def test_missing_secret_names_the_id(client: Any) -> None:
    """A secret that does not exist names the id and the variable to check."""
    with pytest.raises(SecretError, match=r"'nope'.*ResourceNotFoundException.*GCNOTIFY_SECRET_ID"):
        load_signing_key(client, "nope")


def test_non_json_secret_is_refused_without_its_text(client: Any) -> None:
    """A secret that is not JSON is refused, and the error quotes none of it."""
    client.create_secret(Name="s", SecretString="not json at all, secret words")
    with pytest.raises(SecretError, match="not a JSON object") as info:
        load_signing_key(client, "s")
    assert info.value.__cause__ is None
    assert "secret words" not in str(info.value)
