"""The DNC sync function: skipped without lists, the whole cold start against moto and the
Genesys stand-in, a failed list raised after the others synced."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from gcnotify.aws.suppression import SuppressionTable, create_suppression_table
from gcnotify.core.errors import RunFailedError, SuppressionError
from gcnotify.core.model import Queue
from gcnotify.devserver.genesys_server import GenesysStandIn
from gcnotify.handlers import dnc_sync
from gcnotify.handlers.dnc_sync import NO_LISTS, DncSyncServices, handle, lambda_handler

LIST_A = "9a1e2f3a-4b5c-4d6e-8f70-81a2b3c4d5e6"
LIST_B = "1b2c3d4e-5f60-4718-9a2b-3c4d5e6f7081"
SECRET_ID = "gcnotify/credentials"
CLIENT_SECRET = "dnc-sync-client-secret-value"
TABLE = "suppression"


def _config(path: Path, lists: list[str] | None) -> Path:
    """A notifications-only config; ``lists`` None leaves the messaging block out."""
    data: dict[str, Any] = {
        "genesys": {"environment": "mypurecloud.com"},
        "sendgrid": {"from": {"email": "notify@example.com"}},
    }
    if lists is not None:
        data["messaging"] = {
            "senders": {"sms": "+13175550100"},
            "default_timezone": "America/New_York",
            "suppression": {"genesys_dnc_lists": lists},
            "templates": [{"id": "order-shipped", "channel": "sms", "text": "Shipped. STOP?"}],
        }
    else:
        data["reports"] = [
            {
                "id": "support",
                "title": "Support",
                "timezone": "America/New_York",
                "queues": ["Support"],
                "recipients": {"to": ["a@example.com"]},
            }
        ]
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@dataclass
class Stack:
    stand_in: GenesysStandIn
    table: SuppressionTable
    secrets: Any
    environ: dict[str, str]


@pytest.fixture
def stack(aws_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """moto (secret and table), the Genesys stand-in, and the function's environment."""
    queue = Queue("c6fc6f57-4c1e-4812-980a-5154f500b5c6", "Support")
    with (
        mock_aws(),
        GenesysStandIn([queue], client_id="cid", client_secret=CLIENT_SECRET) as stand_in,
    ):
        stand_in.now = lambda: datetime.now(UTC)
        stand_in.dnc.export_polls_to_finish = 1  # ready at the first read: no real sleep
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_suppression_table(dynamodb, TABLE)
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        environ = {
            "GCNOTIFY_SECRET_ID": SECRET_ID,
            "GCNOTIFY_GENESYS_LOGIN_URL": stand_in.url,
            "GCNOTIFY_GENESYS_API_URL": stand_in.url,
            "GCNOTIFY_SUPPRESSION_TABLE": TABLE,
        }
        for key, value in environ.items():
            monkeypatch.setenv(key, value)
        dnc_sync.reset_cold_start()
        yield Stack(stand_in, SuppressionTable(dynamodb, TABLE), secrets, environ)
        dnc_sync.reset_cold_start()


def _secret(stack: Stack) -> None:
    value = {
        "genesys_client_id": "cid",
        "genesys_client_secret": CLIENT_SECRET,
        "sendgrid_api_key": "SG.dnc-sync-test-key",
    }
    stack.secrets.create_secret(Name=SECRET_ID, SecretString=json.dumps(value))


def test_no_lists_skip_without_building_anything() -> None:
    """No list ids: skipped with the reason, and the services are never built."""

    def services() -> DncSyncServices:
        raise AssertionError("the services were built")

    assert {"status": "skipped", "reason": NO_LISTS} == handle((), services)


def test_a_config_without_messaging_skips_without_calling_genesys(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No messaging block: skipped; no secret is read (there is none) and Genesys hears nothing."""
    monkeypatch.setenv("GCNOTIFY_CONFIG", str(_config(tmp_path / "gcnotify.yaml", None)))
    assert "skipped" == lambda_handler({}, None)["status"]
    assert 0 == stack.stand_in.count("/")


def test_the_function_syncs_the_configured_lists(
    stack: Stack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Config, secret, Genesys and the table from the environment: the list is imported, the
    STOP pushed, and the counts returned and logged without the client secret."""
    _secret(stack)
    stack.stand_in.dnc.add_list("Do not call", list_id=LIST_A, entries=("+13175550100",))
    stack.table.add("sms", "+13175550150", "STOP", "data-action opt-out", datetime.now(UTC))
    monkeypatch.setenv("GCNOTIFY_CONFIG", str(_config(tmp_path / "gcnotify.yaml", [LIST_A])))
    with caplog.at_level(logging.INFO, logger="gcnotify"):
        summary = lambda_handler({"scheduled_time": "2026-03-02T14:00:00Z"}, None)
    assert ("ok", {"imported": 1, "already_there": 0, "removed": 0, "pushed": 1}) == (
        summary["status"],
        summary["totals"],
    )
    assert stack.table.check("sms", "+13175550100") is not None
    assert "+13175550150" in stack.stand_in.dnc.entries(LIST_A)
    logged = [r for r in caplog.records if r.getMessage() == "dnc sync finished"]
    assert 1 == len(logged)
    assert CLIENT_SECRET not in json.dumps(summary) + caplog.text


def test_a_failed_list_raises_after_the_others_synced(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """List B does not exist: A is imported all the same, then the invocation fails naming B."""
    _secret(stack)
    stack.stand_in.dnc.add_list("Do not call", list_id=LIST_A, entries=("+13175550100",))
    path = _config(tmp_path / "gcnotify.yaml", [LIST_A, LIST_B])
    monkeypatch.setenv("GCNOTIFY_CONFIG", str(path))
    with pytest.raises(RunFailedError, match=f"1 of 2 list\\(s\\): {LIST_B}"):
        lambda_handler({}, None)
    assert stack.table.check("sms", "+13175550100") is not None


def test_the_table_variable_is_required(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without GCNOTIFY_SUPPRESSION_TABLE the function says which variable to set."""
    _secret(stack)
    monkeypatch.delenv("GCNOTIFY_SUPPRESSION_TABLE")
    monkeypatch.setenv("GCNOTIFY_CONFIG", str(_config(tmp_path / "gcnotify.yaml", [LIST_A])))
    with pytest.raises(SuppressionError, match="GCNOTIFY_SUPPRESSION_TABLE is not set"):
        lambda_handler({}, None)


def test_the_lambda_deadline_reaches_the_genesys_client(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The context's remaining time, less a margin, bounds the client's retries and polling."""
    _secret(stack)
    stack.stand_in.dnc.add_list("Do not call", list_id=LIST_A)
    monkeypatch.setenv("GCNOTIFY_CONFIG", str(_config(tmp_path / "gcnotify.yaml", [LIST_A])))

    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 60_000

    lambda_handler({}, Context())
    state = dnc_sync._state
    assert state is not None
    assert state.seams is not None
    time_left = state.seams.dnc.client.time_left
    assert time_left is not None
    assert 45.0 < (time_left() or 0.0) <= 50.0
