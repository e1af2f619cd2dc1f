"""The DynamoDB send ledger, against moto: storage only (what a record means is once.py's)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gcnotify.aws.ledger import Ledger, LedgerRecord
from gcnotify.core.errors import LedgerError

NOW = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
LEASE = NOW + timedelta(minutes=5)


def claim(ledger: Ledger, owner: str, **kwargs: object) -> bool:
    return ledger.claim("k", owner=owner, now=NOW, lease_until=LEASE, **kwargs).won  # type: ignore[arg-type]


def test_first_claim_wins_second_loses(ledger: Ledger) -> None:
    """Only one claim per key succeeds; the loser sees the winner's record."""
    assert claim(ledger, "a")
    second = ledger.claim("k", owner="b", now=NOW, lease_until=LEASE)
    assert not second.won
    assert second.existing is not None
    assert ("in_progress", "a", LEASE) == (
        second.existing.status,
        second.existing.claim_token,
        second.existing.lease_until,
    )


def test_a_claim_meeting_its_own_token_counts_as_won(ledger: Ledger) -> None:
    """The SDK's retry of an applied claim meets our own record: still ours."""
    assert claim(ledger, "a")
    assert claim(ledger, "a")


def test_sent_record_keeps_message_id_and_attributes(ledger: Ledger) -> None:
    """mark_sent stores the message id and the caller's attributes."""
    claim(ledger, "a", attributes={"report_id": "r"})
    ledger.mark_sent(
        "k", owner="a", now=NOW, message_id="m-1", attributes={"recipients": ["x@example.com"]}
    )
    record = ledger.lookup("k")
    assert record is not None
    assert ("sent", "m-1", 1) == (record.status, record.message_id, record.attempts)
    assert {"report_id": "r", "recipients": ("x@example.com",)} == dict(record.attributes)


def test_failed_claim_can_be_claimed_again(ledger: Ledger) -> None:
    """A send known to have failed may be claimed again; attempts count up, error cleared."""
    claim(ledger, "a")
    ledger.mark_failed("k", owner="a", now=NOW, error="SendGrid 500")
    assert claim(ledger, "b")
    record = ledger.lookup("k")
    assert record is not None
    assert (2, None, "b") == (record.attempts, record.error, record.claim_token)


def test_unknown_outcome_blocks_a_new_claim(ledger: Ledger) -> None:
    """A lost answer is recorded as unknown; no new claim wins without force."""
    claim(ledger, "a")
    ledger.mark_unknown("k", owner="a", now=NOW, error="read timeout")
    record = ledger.lookup("k")
    assert record is not None
    assert ("unknown", "read timeout") == (record.status, record.error)
    assert not claim(ledger, "b")
    assert claim(ledger, "c", force=True)


def test_an_outcome_is_recorded_only_on_its_own_claim(ledger: Ledger) -> None:
    """After a forced claim took the key over, the old owner's late result is refused."""
    claim(ledger, "a")
    claim(ledger, "b", force=True)
    with pytest.raises(LedgerError):
        ledger.mark_sent("k", owner="a", now=NOW, message_id="late")
    record = ledger.lookup("k")
    assert record is not None
    assert ("in_progress", "b") == (record.status, record.claim_token)


def test_reserved_attribute_names_are_refused(ledger: Ledger) -> None:
    """A caller cannot overwrite the ledger's own fields through attributes."""
    with pytest.raises(ValueError, match="status"):
        claim(ledger, "a", attributes={"status": "sent"})


def test_missing_table_is_a_clear_error(ledger: Ledger) -> None:
    """A wrong table name fails with the table name and the fix."""
    broken = Ledger(ledger._client, "nope")
    with pytest.raises(LedgerError, match=r"'nope'.*GCNOTIFY_LEDGER_TABLE"):
        broken.lookup("k")


def test_a_record_without_status_reads_as_a_live_claim() -> None:
    """An unreadable record is treated the safe way: as someone else's claim."""
    record = LedgerRecord.from_item({"pk": {"S": "k"}, "attempts": {"N": "x"}})
    assert ("in_progress", 0) == (record.status, record.attempts)


def test_records_written_before_tokens_still_read() -> None:
    """An old record's claimed_by is read as its owner token."""
    record = LedgerRecord.from_item(
        {"pk": {"S": "k"}, "status": {"S": "in_progress"}, "claimed_by": {"S": "exec-1"}}
    )
    assert "exec-1" == record.claim_token
