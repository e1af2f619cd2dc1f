"""Intake: every problem listed, one record per key, the key queued once accepted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gcnotify.core.errors import QueueError
from gcnotify.messaging.intake import take
from tests.messaging.conftest import Tables, settings_of

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
SETTINGS = settings_of()


def request(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "template": "order-shipped",
        "to": "+13175550123",
        "variables": {"order_id": "ORD-998877"},
        "key": "ORD-998877-shipped",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def taken(tables: Tables, body: object, source: str = "test") -> Any:
    return take(
        body,  # type: ignore[arg-type]
        settings=SETTINGS,
        store=tables.store,
        outbox=tables.outbox,
        now=NOW,
        source=source,
    )


def test_an_accepted_request_is_recorded_with_its_segments_and_queued(tables: Tables) -> None:
    outcome = taken(tables, json.dumps(request()))
    assert (outcome.status, outcome.key, outcome.recorded) == (
        "accepted",
        "ORD-998877-shipped",
        True,
    )
    record = tables.store.get("ORD-998877-shipped")
    assert record is not None
    assert record.status == "accepted"
    assert record.address == "+13175550123"
    assert record.fields["segments"] == 1
    assert record.fields["encoding"] == "GSM-7"
    assert json.loads(str(record.fields["request"]))["variables"] == {"order_id": "ORD-998877"}
    assert tables.queued() == [{"key": "ORD-998877-shipped", "attempt": 1}]


def test_smart_encoding_keeps_the_segments_before_and_after(tables: Tables) -> None:
    body = request(variables={"order_id": "ORD\u2019998877"}, key="curly")
    assert taken(tables, body).status == "accepted"
    record = tables.store.get("curly")
    assert record is not None
    assert record.fields["smart_encoded"] is True
    assert record.fields["encoding_before"] == "UCS-2"
    assert record.fields["encoding"] == "GSM-7"


def test_a_repeated_key_is_a_duplicate_and_queues_nothing_more(tables: Tables) -> None:
    first = taken(tables, request())
    tables.store.transition(first.key, ("accepted",), "sending", NOW)
    second = taken(tables, request(variables={"order_id": "OTHER"}))
    assert second.status == "duplicate"
    assert len(tables.queued()) == 1
    record = tables.store.get(first.key)
    assert record is not None
    assert "ORD-998877" in str(record.fields["request"])  # the first request stands


def test_a_repeat_of_a_request_never_queued_queues_it_now(tables: Tables) -> None:
    """Queuing failed after the record was written: the caller's retry finishes the job."""
    tables.outbox.queue_url += "-gone"
    with pytest.raises(QueueError, match="outbox queue"):
        taken(tables, request())
    tables.outbox.queue_url = tables.outbox.queue_url.removesuffix("-gone")
    assert taken(tables, request()).status == "duplicate"
    assert tables.queued() == [{"key": "ORD-998877-shipped", "attempt": 1}]


def test_every_problem_is_listed_and_the_rejection_recorded_under_its_key(
    tables: Tables,
) -> None:
    body = request(to="5550100", colour="blue", not_before="2026-12-02T10:00:00Z")
    body["expires_at"] = "2026-12-02T09:00:00Z"
    outcome = taken(tables, body)
    assert outcome.status == "rejected"
    fields = sorted(line.split(":")[0] for line in outcome.problems)
    assert fields == ["colour", "not_before", "to"]
    record = tables.store.get("ORD-998877-shipped")
    assert record is not None
    assert record.status == "rejected"
    assert "not E.164" in record.history[0].detail
    assert tables.queued() == []


def test_a_missing_variable_is_rejected_before_anything_is_queued(tables: Tables) -> None:
    outcome = taken(tables, request(variables={}))
    assert outcome.status == "rejected"
    assert "order_id" in outcome.problems[0]
    assert tables.queued() == []


def test_an_sms_over_765_characters_is_rejected(tables: Tables) -> None:
    outcome = taken(tables, request(variables={"order_id": "x" * 800}))
    assert outcome.status == "rejected"
    assert "765" in outcome.problems[0]


def test_an_unknown_template_names_the_configured_ones(tables: Tables) -> None:
    outcome = taken(tables, request(template="order-shiped"))
    assert outcome.status == "rejected"
    assert "order-shipped" in " ".join(outcome.problems)


def test_a_request_without_a_key_is_rejected_unrecorded(tables: Tables) -> None:
    outcome = taken(tables, request(key=None))
    assert (outcome.status, outcome.key, outcome.recorded) == ("rejected", None, False)
    assert any(line.startswith("key:") for line in outcome.problems)


def test_not_json_and_oversized_bodies_are_rejected(tables: Tables) -> None:
    assert taken(tables, b"{not json").status == "rejected"
    huge = json.dumps(request(variables={"order_id": "x" * 300_000}))
    outcome = taken(tables, huge)
    assert outcome.status == "rejected"
    assert "bytes" in outcome.problems[0]


def test_not_before_delays_the_queued_message(tables: Tables) -> None:
    later = (NOW + timedelta(minutes=5)).isoformat()
    assert taken(tables, request(not_before=later)).status == "accepted"
    # Delayed five minutes: not receivable now.
    assert tables.queued() == []
    attributes = tables.sqs.get_queue_attributes(
        QueueUrl=tables.outbox.queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"


def test_the_answer_is_the_intake_json(tables: Tables) -> None:
    outcome = taken(tables, request(key=None))
    answer = outcome.answer()
    assert answer["status"] == "rejected"
    assert isinstance(answer["problems"], list)
