"""The DynamoDB send ledger, against moto: claims are exclusive, results are recorded."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime

import boto3
import pytest
from moto import mock_aws

from gcnotify.aws.ledger import Ledger, create_ledger_table, ledger_key
from gcnotify.core.errors import LedgerError

DAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)


@pytest.fixture
def ledger(aws_env: None) -> Iterator[Ledger]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_ledger_table(client, "ledger")
        yield Ledger(client, "ledger")


def test_first_claim_wins_second_loses(ledger: Ledger) -> None:
    """Only one claim per (report, date) succeeds; the loser sees the winner's record."""
    assert ledger.claim("r", DAY, now=NOW, owner="a").won
    second = ledger.claim("r", DAY, now=NOW, owner="b")
    assert not second.won
    assert second.existing is not None
    assert second.existing.status == "in_progress"


def test_sent_record_is_found(ledger: Ledger) -> None:
    """After mark_sent, lookup returns the message id and status."""
    ledger.claim("r", DAY, now=NOW, owner="a")
    ledger.mark_sent(
        "r",
        DAY,
        now=NOW,
        message_id="m-1",
        recipients=("a@example.com", "b@example.com"),
        status="sent",
    )
    record = ledger.lookup("r", DAY)
    assert record is not None
    assert (record.status, record.message_id, record.attempts) == ("sent", "m-1", 1)


def test_failed_claim_can_be_retried(ledger: Ledger) -> None:
    """A send known to have failed may be claimed again; attempts count up."""
    ledger.claim("r", DAY, now=NOW, owner="a")
    ledger.mark_failed("r", DAY, now=NOW, error="SendGrid 500")
    assert ledger.claim("r", DAY, now=NOW, owner="b").won
    record = ledger.lookup("r", DAY)
    assert record is not None
    assert (record.attempts, record.error) == (2, None)


def test_force_overrides_a_sent_record(ledger: Ledger) -> None:
    """force re-claims on purpose."""
    ledger.claim("r", DAY, now=NOW, owner="a")
    ledger.mark_sent(
        "r", DAY, now=NOW, message_id="m", recipients=("a@example.com",), status="sent"
    )
    assert ledger.claim("r", DAY, now=NOW, owner="b", force=True).won


def test_unknown_outcome_stays_in_progress(ledger: Ledger) -> None:
    """A lost SendGrid answer keeps the claim, so no automatic re-send happens."""
    ledger.claim("r", DAY, now=NOW, owner="a")
    ledger.note_unknown_outcome("r", DAY, now=NOW, error="read timeout")
    record = ledger.lookup("r", DAY)
    assert record is not None
    assert (record.status, record.error) == ("in_progress", "read timeout")
    assert not ledger.claim("r", DAY, now=NOW, owner="b").won


def test_concurrent_claims_one_winner() -> None:
    """Eight threads claiming at once through a real (serialised) moto server: one wins."""
    from gcnotify.devserver.moto_server import SerializedMotoServer

    server = SerializedMotoServer()
    server.start()
    try:
        client = boto3.client(
            "dynamodb",
            endpoint_url=server.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        create_ledger_table(client, "ledger")
        ledger = Ledger(client, "ledger")
        barrier = threading.Barrier(8)
        wins: list[bool] = []

        def claim(i: int) -> None:
            barrier.wait()
            wins.append(ledger.claim("r", DAY, now=NOW, owner=str(i)).won)

        threads = [threading.Thread(target=claim, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        server.stop()
    assert 8 == len(wins)
    assert [True] == [w for w in wins if w]


def test_missing_table_is_a_clear_error(ledger: Ledger) -> None:
    """A wrong table name fails with the table name and the fix."""
    broken = Ledger(ledger._client, "nope")
    with pytest.raises(LedgerError, match=r"'nope'.*GCNOTIFY_LEDGER_TABLE"):
        broken.lookup("r", DAY)


def test_key_format() -> None:
    """The key is readable in the console: report id and ISO date."""
    assert ledger_key("support-daily", DAY) == "support-daily#2026-11-20"


def test_alert_claimed_once_per_failure(ledger: Ledger) -> None:
    """The same failure is alerted once; a different error type is a new alert."""
    assert ledger.claim_alert("r", DAY, "GenesysUnavailableError", now=NOW)
    assert not ledger.claim_alert("r", DAY, "GenesysUnavailableError", now=NOW)
    assert ledger.claim_alert("r", DAY, "AmbiguousSendError", now=NOW)
