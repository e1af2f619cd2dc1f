"""The handler's cold start: the secret read overlaps the ledger client, errors keep their order.

boto3 for real against moto (in-process ``mock_aws``); only the ordering is observed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from gcnotify.aws.ledger import Ledger, create_ledger_table
from gcnotify.core.errors import LedgerError, SecretError
from gcnotify.handlers import report as handler
from gcnotify.runtime.resources import default_config_path

SECRET_ID = "gcnotify/credentials"
TABLE = "gcnotify-ledger"
VALUES = {
    "genesys_client_id": "cid-7f3a",
    "genesys_client_secret": "csecret-very-secret-9931",
    "sendgrid_api_key": "SG.abcdefghijklmnop.qrstuvwxyz0123456789",
}


@pytest.fixture
def cold(aws_env: None) -> Iterator[handler._ColdStart]:
    with mock_aws():
        boto3.client("secretsmanager").create_secret(
            Name=SECRET_ID, SecretString=json.dumps(VALUES)
        )
        create_ledger_table(boto3.client("dynamodb"), TABLE)
        environ = {
            "GCNOTIFY_CONFIG": str(default_config_path()),
            "GCNOTIFY_SECRET_ID": SECRET_ID,
            "GCNOTIFY_LEDGER_TABLE": TABLE,
        }
        handler.reset_cold_start()
        try:
            yield handler._cold_start(environ)
        finally:
            handler.reset_cold_start()


def broken_ledger(self: handler._ColdStart) -> None:
    raise LedgerError("no ledger")


def test_secret_read_overlaps_the_ledger_client(
    cold: handler._ColdStart, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read waits until the ledger client exists: in sequence it would wait forever."""
    ledger_built = threading.Event()
    seen: dict[str, Any] = {}
    make_ledger, read_secret = handler._ColdStart._make_ledger, handler._ColdStart._read_secret

    def slow_ledger(self: handler._ColdStart) -> Ledger | None:
        built = make_ledger(self)
        ledger_built.set()
        return built

    def waiting_read(self: handler._ColdStart, client: Any) -> Any:
        seen["overlapped"] = ledger_built.wait(timeout=10)
        seen["thread"] = threading.current_thread().name
        return read_secret(self, client)

    monkeypatch.setattr(handler._ColdStart, "_make_ledger", slow_ledger)
    monkeypatch.setattr(handler._ColdStart, "_read_secret", waiting_read)

    credentials, ledger = cold.connect()

    assert seen["overlapped"]
    assert seen["thread"].startswith("gcnotify-secret")
    assert VALUES["genesys_client_id"] == credentials.genesys_client_id
    assert ledger is not None
    assert TABLE == ledger.table


def test_secret_error_wins_when_both_fail(
    cold: handler._ColdStart, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in sequence, the first step's error (the secret) is the one reported."""
    monkeypatch.setattr(handler._ColdStart, "_make_ledger", broken_ledger)
    cold.settings = replace(cold.settings, secret_id="missing")
    with pytest.raises(SecretError, match="missing"):
        cold.connect()


def test_ledger_error_is_raised_after_a_good_read(
    cold: handler._ColdStart, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ledger that cannot be built fails the cold start even though the secret was read."""
    monkeypatch.setattr(handler._ColdStart, "_make_ledger", broken_ledger)
    with pytest.raises(LedgerError, match="no ledger"):
        cold.connect()


def test_no_ledger_table_means_no_ledger(cold: handler._ColdStart) -> None:
    """Without GCNOTIFY_LEDGER_TABLE only the secret is read (the runner then refuses sends)."""
    cold.settings = replace(cold.settings, ledger_table=None)
    credentials, ledger = cold.connect()
    assert (VALUES["sendgrid_api_key"], None) == (credentials.sendgrid_api_key, ledger)
