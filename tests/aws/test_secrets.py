"""Secrets Manager seam, against moto (boto3 for real, no hand-rolled fake)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from gcnotify.aws.secrets import Credentials, load_credentials, parse_secret
from gcnotify.core.errors import SecretError

VALUES = {
    "genesys_client_id": "cid-7f3a",
    "genesys_client_secret": "csecret-very-secret-9931",
    "sendgrid_api_key": "SG.abcdefghijklmnop.qrstuvwxyz0123456789",
}


@pytest.fixture
def client(aws_env: None) -> Iterator[object]:
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")


def assert_no_secret_in(text: str) -> None:
    for value in VALUES.values():
        assert value not in text


def test_loads_all_three_keys(client: object) -> None:
    """A well-formed secret gives the three credentials."""
    client.create_secret(Name="gcnotify/credentials", SecretString=json.dumps(VALUES))  # type: ignore[attr-defined]
    creds = load_credentials(client, "gcnotify/credentials")  # type: ignore[arg-type]
    assert VALUES["genesys_client_secret"] == creds.genesys_client_secret


def test_repr_and_str_redact(client: object) -> None:
    """Printing or logging the credentials shows no value."""
    creds = Credentials(**VALUES)
    assert_no_secret_in(repr(creds))
    assert_no_secret_in(str(creds))


def test_missing_key_named_not_valued(client: object) -> None:
    """A secret missing a key names that key and shows no value."""
    partial = {k: v for k, v in VALUES.items() if k != "sendgrid_api_key"}
    client.create_secret(Name="s", SecretString=json.dumps(partial))  # type: ignore[attr-defined]
    with pytest.raises(SecretError) as info:
        load_credentials(client, "s")  # type: ignore[arg-type]
    assert "sendgrid_api_key" in str(info.value)
    assert_no_secret_in(str(info.value) + repr(info.value.args))


def test_secret_not_found_says_how_to_fix(client: object) -> None:
    """A missing secret names the id and the fix."""
    with pytest.raises(SecretError, match=r"'nope'.*ResourceNotFoundException.*create it"):
        load_credentials(client, "nope")  # type: ignore[arg-type]


def test_not_json_does_not_echo_content() -> None:
    """A secret that is not JSON is reported without quoting its text."""
    with pytest.raises(SecretError) as info:
        parse_secret("s", "genesys_client_secret=" + VALUES["genesys_client_secret"])
    assert_no_secret_in(str(info.value))
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__


def test_not_an_object() -> None:
    """A JSON list or string is rejected."""
    with pytest.raises(SecretError, match="JSON object"):
        parse_secret("s", json.dumps([VALUES["sendgrid_api_key"]]))


def test_empty_secret_string() -> None:
    """A binary-only or empty secret is rejected with the expected shape."""
    with pytest.raises(SecretError, match="SecretString"):
        parse_secret("s", None)


def test_values_are_stripped() -> None:
    """Whitespace pasted around a key does not break authentication."""
    creds = parse_secret("s", json.dumps({k: f" {v}\n" for k, v in VALUES.items()}))
    assert VALUES["sendgrid_api_key"] == creds.sendgrid_api_key
