"""The webhook's events against moto: claimed once, mapped back by custom args (or the
X-Message-Id), applied to notification records, and report recipients suppressed and alerted."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from gcnotify.aws.event_ids import PREFIX, TTL, EventIds
from gcnotify.aws.ledger import Ledger, create_ledger_table
from gcnotify.aws.messages import MessageStore, NewMessage, create_messages_table
from gcnotify.aws.queue import Outbox
from gcnotify.aws.suppression import SuppressionTable, create_suppression_table
from gcnotify.core.errors import SuppressionError
from gcnotify.messaging.transport import KEY_ARG as SENDER_KEY_ARG
from gcnotify.receipts.classify import classify_sendgrid
from gcnotify.receipts.settings import ReceiptSettings
from gcnotify.receipts.webhook import (
    KEY_ARG,
    RecipientSuppressed,
    SentMessageIds,
    WebhookCounts,
    WebhookTargets,
    receive,
)
from gcnotify.sendgrid.webhook import EventBatch, parse_events

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
T0 = int((NOW - timedelta(minutes=10)).timestamp())
REPORT = "support-daily"
DAY = "2026-11-20"


@dataclass
class Tables:
    client: Any
    ledger: Ledger
    events: EventIds
    store: MessageStore
    suppression: SuppressionTable
    outbox: Outbox
    sqs: Any
    queue_url: str
    alerts: list[RecipientSuppressed] = field(default_factory=list)

    def targets(self, **changes: Any) -> WebhookTargets:
        def alert(suppressed: RecipientSuppressed) -> bool:
            self.alerts.append(suppressed)
            return True

        base: dict[str, Any] = {
            "events": self.events,
            "suppression": self.suppression,
            "settings": ReceiptSettings(),
            "ledger": self.ledger,
            "store": self.store,
            "outbox": self.outbox,
            "alert": alert,
            "message_ids": SentMessageIds(self.store),
        }
        base.update(changes)
        return WebhookTargets(**base)

    def markers(self) -> list[str]:
        items = self.client.scan(TableName="ledger")["Items"]
        return sorted(i["pk"]["S"] for i in items if i["pk"]["S"].startswith(PREFIX))

    def waiting_in_queue(self) -> int:
        """Messages in the outbox, visible or still delayed (a retry waits its backoff)."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"],
        )["Attributes"]
        return sum(int(v) for v in attributes.values())


@pytest.fixture
def tables(aws_env: None) -> Iterator[Tables]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_ledger_table(client, "ledger")
        create_messages_table(client, "messages")
        create_suppression_table(client, "suppression")
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="outbox")["QueueUrl"]
        yield Tables(
            client,
            Ledger(client, "ledger"),
            EventIds(client, "ledger"),
            MessageStore(client, "messages"),
            SuppressionTable(client, "suppression"),
            Outbox(sqs, url),
            sqs,
            url,
        )


def sent_email(
    tables: Tables, key: str, address: str = "jane@example.com", message_id: str = "XMID1"
) -> None:
    """A notification email the sender handed to SendGrid (status sent, awaiting a receipt)."""
    at = NOW - timedelta(minutes=15)
    tables.store.accept(
        NewMessage(
            key=key, channel="email", template="chat-followup", received_at=at, address=address
        )
    )
    tables.store.transition(key, ["accepted"], "sending", at)
    tables.store.transition(
        key,
        ["sending"],
        "sent",
        at,
        message_id=message_id,
        provider="sendgrid",
        awaiting="sendgrid",
        awaiting_since=at.isoformat(),
        send_by=(NOW + timedelta(days=1)).isoformat(),
    )


def report_sent(tables: Tables, report: str = REPORT, day: str = DAY) -> None:
    """The report's send record, as the runner's exactly-once guard leaves it."""
    claim = tables.ledger.claim(
        f"{report}#{day}", owner="run-1", now=NOW - timedelta(hours=1), lease_until=NOW
    )
    assert claim.won
    tables.ledger.mark_sent(
        f"{report}#{day}", owner="run-1", now=NOW - timedelta(hours=1), message_id="RMID"
    )


def ev(kind: str, event_id: str, *, at: int = T0, **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "email": fields.pop("email", "jane@example.com"),
        "timestamp": at,
        "event": kind,
        "sg_event_id": event_id,
        "sg_message_id": fields.pop("sg_message_id", "XMID1.filterdrecv-1-0.0"),
    }
    out.update(fields)
    return out


def note(kind: str, event_id: str, key: str = "k-1", **fields: Any) -> dict[str, Any]:
    return ev(kind, event_id, **{KEY_ARG: key, **fields})


def rep(
    kind: str, event_id: str, email: str = "supervisor@example.com", **fields: Any
) -> dict[str, Any]:
    return ev(
        kind,
        event_id,
        email=email,
        sg_message_id="RMID.filterdrecv-2-0.0",
        gcnotify_report_id=fields.pop("report", REPORT),
        gcnotify_business_date=fields.pop("day", DAY),
        **fields,
    )


def batch(*events: Any, malformed: int = 0) -> EventBatch:
    body = json.dumps(list(events) + ["not an event"] * malformed).encode()
    parsed = parse_events(body)
    assert isinstance(parsed, EventBatch)
    return parsed


def counts(**values: int) -> dict[str, int]:
    return {**WebhookCounts().to_dict(), **values}


# ---------------------------------------------------------------------------- event ids


def test_an_event_id_is_claimed_once(tables: Tables) -> None:
    """The first claim wins; any later one is a duplicate."""
    assert [True, False, True] == [
        tables.events.claim("a", now=NOW),
        tables.events.claim("a", now=NOW),
        tables.events.claim("b", now=NOW),
    ]


def test_an_event_id_marker_expires_after_three_days(tables: Tables) -> None:
    """SendGrid retries for 24 h; the marker's TTL is three days."""
    tables.events.claim("a", now=NOW)
    item = tables.client.get_item(TableName="ledger", Key={"pk": {"S": PREFIX + "a"}})["Item"]
    assert int((NOW + TTL).timestamp()) == int(item["expires_at"]["N"])
    assert timedelta(days=3) == TTL


def test_a_released_event_id_can_be_claimed_again(tables: Tables) -> None:
    """An event that could not be applied is released, so SendGrid's retry applies it."""
    tables.events.claim("a", now=NOW)
    tables.events.release("a")
    assert tables.events.claim("a", now=NOW)


def test_release_never_deletes_a_send_record(tables: Tables) -> None:
    """Only markers are deleted: a send record under the same key survives a release."""
    tables.ledger.claim(PREFIX + "x", owner="o", now=NOW, lease_until=NOW)
    tables.events.release("x")
    assert tables.ledger.lookup(PREFIX + "x") is not None


def test_the_custom_arg_names_are_the_senders() -> None:
    """The key the webhook reads is the one the sender writes."""
    assert SENDER_KEY_ARG == KEY_ARG


# ---------------------------------------------------------------------------- report sends


def test_a_report_recipients_hard_bounce_suppresses_and_alerts(tables: Tables) -> None:
    """Channel email, reason hard-bounce, source report:<id>; the owner hears once."""
    report_sent(tables)
    got = receive(
        batch(
            rep("processed", "p1"),
            rep("bounce", "b1", type="bounce", status="5.1.1", reason="550 no such user"),
        ),
        tables.targets(),
        now=NOW,
    )
    assert counts(received=2, recorded=2, suppressed=1, alerted=1) == got.to_dict()
    entry = tables.suppression.check("email", "supervisor@example.com")
    assert entry is not None
    assert ("hard-bounce", f"report:{REPORT}") == (entry.reason, entry.source)
    (alert,) = tables.alerts
    assert (
        REPORT,
        date(2026, 11, 20),
        "supervisor@example.com",
        "hard-bounce",
        "bounce:bounce",
    ) == (
        alert.report_id,
        alert.business_date,
        alert.address,
        alert.reason,
        alert.code,
    )


@pytest.mark.parametrize(
    "event",
    [
        rep("dropped", "d1", reason="Bounced Address"),
        rep("dropped", "d2", reason="Unsubscribed Address"),
        rep("dropped", "d3", reason="Spam Reporting Address"),
        rep("spamreport", "s1"),
        rep("unsubscribe", "u1"),
    ],
)
def test_drops_spam_reports_and_unsubscribes_of_report_recipients_suppress(
    tables: Tables, event: dict[str, Any]
) -> None:
    """Each outcome that means "do not mail this address again" suppresses it, with the
    classification table's reason."""
    report_sent(tables)
    got = receive(batch(event), tables.targets(), now=NOW)
    assert (1, 1) == (got.recorded, got.suppressed)
    entry = tables.suppression.check("email", "supervisor@example.com")
    receipt = classify_sendgrid(event)
    assert entry is not None
    assert receipt is not None
    assert receipt.suppress == entry.reason


@pytest.mark.parametrize(
    "event",
    [
        rep("delivered", "v1", response="250 OK"),
        rep("bounce", "k1", type="blocked", reason="550 blocked by policy"),
        rep("dropped", "x1", reason="Spam Content"),
        rep("deferred", "f1", response="421 try later"),
    ],
)
def test_other_report_outcomes_suppress_nothing(tables: Tables, event: dict[str, Any]) -> None:
    """Delivered, a block, a drop for the content, a deferral: the address stays."""
    report_sent(tables)
    got = receive(batch(event), tables.targets(), now=NOW)
    assert counts(received=1, recorded=1) == got.to_dict()
    assert tables.suppression.check("email", "supervisor@example.com") is None
    assert [] == tables.alerts


def test_a_report_event_for_a_send_never_made_is_unmatched(tables: Tables) -> None:
    """No send record for that report and date: nothing suppressed, nothing claimed."""
    report_sent(tables)
    got = receive(
        batch(
            rep("bounce", "b1", type="bounce", day="2026-11-19"),
            rep("bounce", "b2", type="bounce", report="other-report"),
            rep("bounce", "b3", type="bounce", day="not-a-date"),
        ),
        tables.targets(),
        now=NOW,
    )
    assert counts(received=3, unmatched=3) == got.to_dict()
    assert tables.suppression.check("email", "supervisor@example.com") is None
    assert [] == tables.markers()


def test_without_alerts_to_a_suppressed_recipient_is_logged_masked(
    tables: Tables, caplog: pytest.LogCaptureFixture
) -> None:
    """No alert path: one warning naming the report and the masked address, never in full."""
    report_sent(tables)
    with caplog.at_level(logging.WARNING, logger="gcnotify"):
        got = receive(
            batch(rep("bounce", "b1", type="bounce")), tables.targets(alert=None), now=NOW
        )
    assert (1, 0) == (got.suppressed, got.alerted)
    (line,) = [r for r in caplog.records if "alerts.to" in r.getMessage()]
    assert "s***@example.com" == line.__dict__["address"]
    assert "supervisor@example.com" not in caplog.text


def test_a_report_event_repeated_is_a_duplicate(tables: Tables) -> None:
    """Posted twice (one POST, then SendGrid's retry): suppressed and alerted once."""
    report_sent(tables)
    bounce = rep("bounce", "b1", type="bounce")
    first = receive(batch(bounce, bounce), tables.targets(), now=NOW)
    again = receive(batch(bounce), tables.targets(), now=NOW)
    assert counts(received=2, recorded=1, duplicates=1, suppressed=1, alerted=1) == first.to_dict()
    assert counts(received=1, duplicates=1) == again.to_dict()
    assert 1 == len(tables.alerts)


def test_an_invalid_address_is_recorded_but_not_suppressed(tables: Tables) -> None:
    """A dropped event can carry an address that does not parse: nothing to suppress."""
    report_sent(tables)
    got = receive(
        batch(rep("dropped", "d1", email="not an address", reason="Bounced Address")),
        tables.targets(),
        now=NOW,
    )
    assert counts(received=1, recorded=1) == got.to_dict()


def test_a_suppression_failure_releases_the_event_for_the_retry(tables: Tables) -> None:
    """The table refuses: the event is failed and released; the retry applies it."""
    report_sent(tables)
    broken = SuppressionTable(tables.client, "no-such-table")
    bounce = rep("bounce", "b1", type="bounce")
    got = receive(batch(bounce), tables.targets(suppression=broken), now=NOW)
    assert counts(received=1, failed=1) == got.to_dict()
    assert [] == tables.markers()
    retry = receive(batch(bounce), tables.targets(), now=NOW)
    assert (1, 1) == (retry.recorded, retry.suppressed)
    with pytest.raises(SuppressionError):
        broken.check("email", "a@example.com")


def test_a_ledger_failure_fails_the_group_before_any_claim(tables: Tables) -> None:
    """The send record cannot be read: every event of that report fails, none is claimed."""
    broken = Ledger(tables.client, "no-such-table")
    got = receive(
        batch(rep("processed", "p1"), rep("delivered", "d1")),
        tables.targets(ledger=broken),
        now=NOW,
    )
    assert counts(received=2, failed=2) == got.to_dict()
    assert [] == tables.markers()


# ---------------------------------------------------------------------------- what is not recorded


def test_events_without_delivery_meaning_are_ignored_without_a_claim(tables: Tables) -> None:
    """Unknown types, clicks, resubscribes and our own alert mails change nothing."""
    sent_email(tables, "k-1")
    got = receive(
        batch(
            note("click", "c1", url="https://example.com"),
            note("group_resubscribe", "g1"),
            note("account_status_change", "a1"),
            ev("bounce", "al1", gcnotify_report_id=REPORT, gcnotify_alert="failure", type="bounce"),
        ),
        tables.targets(),
        now=NOW,
    )
    assert counts(received=4, ignored=4) == got.to_dict()
    assert [] == tables.markers()


def test_malformed_entries_are_counted(tables: Tables) -> None:
    """Entries that are not events count as malformed; received counts them too."""
    got = receive(batch(malformed=3), tables.targets(), now=NOW)
    assert counts(received=3, malformed=3) == got.to_dict()


def test_events_for_messages_never_sent_are_unmatched(tables: Tables) -> None:
    """No record for the key, no custom args and an unknown X-Message-Id, a non-email record."""
    tables.store.accept(
        NewMessage(
            key="k-sms", channel="sms", template="t", received_at=NOW, address="+13175550100"
        )
    )
    got = receive(
        batch(
            note("delivered", "d1", key="no-such-key"),
            ev("delivered", "d2", sg_message_id="FOREIGN.filterdrecv-0.0"),
            ev("delivered", "d3", sg_message_id=""),
            note("delivered", "d4", key="k-sms"),
        ),
        tables.targets(),
        now=NOW,
    )
    assert counts(received=4, unmatched=4) == got.to_dict()
    assert [] == tables.markers()


def test_without_a_messages_table_notification_events_are_unmatched(tables: Tables) -> None:
    """A report-only deployment has no messages table: nothing to look up."""
    got = receive(
        batch(note("delivered", "d1")), tables.targets(store=None, message_ids=None), now=NOW
    )
    assert counts(received=1, unmatched=1) == got.to_dict()


# ---------------------------------------------------------------------------- the X-Message-Id


def test_the_message_ids_are_read_once_per_refresh(tables: Tables) -> None:
    """A miss reads the awaiting index, at most once per refresh period."""
    sent_email(tables, "k-1", message_id="M1")
    ticks = [0.0]
    reader = MessageStore(tables.client, "messages")
    ids = SentMessageIds(reader, clock=lambda: ticks[0], refresh=timedelta(seconds=60))
    assert ("k-1", None, None) == (ids.key_of("M1"), ids.key_of("M2"), ids.key_of("M3"))
    assert 1 == reader.calls
    sent_email(tables, "k-2", message_id="M2")
    assert None is ids.key_of("M2")  # within the refresh period: not read again
    ticks[0] = 61.0
    assert "k-2" == ids.key_of("M2")
    assert 2 == reader.calls


def test_the_message_ids_read_is_bounded(tables: Tables) -> None:
    """At most ``limit`` awaiting records are read, in pages."""
    for n in range(5):
        sent_email(tables, f"k-{n}", message_id=f"M{n}")
    ids = SentMessageIds(tables.store, limit=3)
    found = [ids.key_of(f"M{n}") for n in range(5)]
    assert 3 == sum(1 for k in found if k is not None)


# ---------------------------------------------------------------------------- notifications


def status_of(tables: Tables, key: str = "k-1") -> str:
    record = tables.store.get(key)
    assert record is not None
    return record.status


def test_a_delivered_event_moves_the_record_and_ends_its_wait(tables: Tables) -> None:
    """processed then delivered: delivered, with the time, out of the awaiting index."""
    sent_email(tables, "k-1")
    got = receive(
        batch(note("processed", "p1"), note("delivered", "d1", at=T0 + 2, response="250 OK")),
        tables.targets(),
        now=NOW,
    )
    assert counts(received=2, recorded=2, delivered=1) == got.to_dict()
    record = tables.store.get("k-1")
    assert record is not None
    assert ("delivered", "delivered", "250 OK") == (
        record.status,
        record.fields["receipt_class"],
        record.fields["receipt_text"],
    )
    assert "awaiting" not in record.fields
    assert datetime.fromtimestamp(T0 + 2, UTC).isoformat() == record.fields["delivered_at"]


def test_events_of_one_message_apply_in_time_order_whatever_the_post_order(
    tables: Tables,
) -> None:
    """delivered posted before processed and deferred: the record ends delivered."""
    sent_email(tables, "k-1")
    got = receive(
        batch(
            note("delivered", "d1", at=T0 + 120),
            note("deferred", "f1", at=T0 + 60, response="421 later"),
            note("processed", "p1", at=T0),
        ),
        tables.targets(),
        now=NOW,
    )
    assert 3 == got.recorded
    assert "delivered" == status_of(tables)


def test_an_older_event_in_a_later_post_does_not_undo_a_delivery(tables: Tables) -> None:
    """A deferral posted after the delivery is recorded as seen and changes nothing."""
    sent_email(tables, "k-1")
    receive(batch(note("delivered", "d1", at=T0 + 120)), tables.targets(), now=NOW)
    got = receive(batch(note("deferred", "f1", at=T0 + 60)), tables.targets(), now=NOW)
    assert counts(received=1, recorded=1) == got.to_dict()
    assert "delivered" == status_of(tables)


def test_a_repeated_event_is_a_duplicate_counted_once(tables: Tables) -> None:
    """The same delivered event in one POST and again in SendGrid's retry."""
    sent_email(tables, "k-1")
    delivered = note("delivered", "d1")
    first = receive(batch(delivered, delivered), tables.targets(), now=NOW)
    again = receive(batch(delivered), tables.targets(), now=NOW)
    assert counts(received=2, recorded=1, duplicates=1, delivered=1) == first.to_dict()
    assert counts(received=1, duplicates=1) == again.to_dict()
    assert [PREFIX + "d1"] == tables.markers()


def test_a_hard_bounce_fails_the_message_and_suppresses_the_address(tables: Tables) -> None:
    """failed_permanent, and the address is suppressed by the receipt (source receipt:…)."""
    sent_email(tables, "k-1", address="jane@example.com")
    got = receive(
        batch(note("bounce", "b1", type="bounce", status="5.1.1", reason="550 no such user")),
        tables.targets(),
        now=NOW,
    )
    assert counts(received=1, recorded=1, suppressed=1, failures=1) == got.to_dict()
    assert "failed_permanent" == status_of(tables)
    entry = tables.suppression.check("email", "jane@example.com")
    assert entry is not None
    assert "receipt:sendgrid:bounce:bounce" == entry.source
    assert [] == tables.alerts  # a customer's address: no owner alert


def test_a_block_is_retried_through_the_outbox(tables: Tables) -> None:
    """A temporary failure: failed_temporary, attempt 2 queued."""
    sent_email(tables, "k-1")
    got = receive(
        batch(note("bounce", "b1", type="blocked", reason="550 blocked")),
        tables.targets(),
        now=NOW,
    )
    assert counts(received=1, recorded=1, retried=1, failures=1) == got.to_dict()
    record = tables.store.get("k-1")
    assert record is not None
    assert ("failed_temporary", 2) == (record.status, record.fields["attempt"])
    assert 1 == tables.waiting_in_queue()


def test_an_open_after_delivery_reads_the_message(tables: Tables) -> None:
    """open is the read receipt of an email."""
    sent_email(tables, "k-1")
    receive(
        batch(note("delivered", "d1"), note("open", "o1", at=T0 + 30)), tables.targets(), now=NOW
    )
    assert "read" == status_of(tables)


def test_a_spam_report_after_delivery_suppresses_and_keeps_the_delivery(tables: Tables) -> None:
    """The message was delivered; the person does not want more."""
    sent_email(tables, "k-1")
    got = receive(
        batch(note("delivered", "d1"), note("spamreport", "s1", at=T0 + 30)),
        tables.targets(),
        now=NOW,
    )
    assert 1 == got.suppressed
    assert "delivered" == status_of(tables)
    assert tables.suppression.check("email", "jane@example.com") is not None


def test_an_event_of_another_attempts_message_is_stale(tables: Tables) -> None:
    """The record now holds attempt 2's X-Message-Id: attempt 1's bounce changes nothing."""
    sent_email(tables, "k-1", message_id="SECOND")
    got = receive(
        batch(note("bounce", "b1", type="bounce", sg_message_id="FIRST.filterdrecv-0.0")),
        tables.targets(),
        now=NOW,
    )
    assert 1 == got.recorded
    assert "sent" == status_of(tables)


def test_an_event_without_custom_args_maps_back_by_its_x_message_id(tables: Tables) -> None:
    """The sg_message_id's prefix is the X-Message-Id the sender recorded."""
    sent_email(tables, "k-1", message_id="XMID9")
    got = receive(
        batch(ev("delivered", "d1", sg_message_id="XMID9.filterdrecv-5-0.0")),
        tables.targets(),
        now=NOW,
    )
    assert counts(received=1, recorded=1, delivered=1) == got.to_dict()
    assert "delivered" == status_of(tables)


def test_many_messages_are_applied_in_parallel_each_in_order(tables: Tables) -> None:
    """30 messages × 3 events over 8 workers: every one ends delivered, nothing lost."""
    events = []
    for n in range(30):
        sent_email(tables, f"k-{n}", address=f"p{n}@example.com", message_id=f"M{n}")
        mid = f"M{n}.filterdrecv-0.0"
        events += [
            note("delivered", f"d{n}", key=f"k-{n}", at=T0 + 5, sg_message_id=mid),
            note("processed", f"p{n}", key=f"k-{n}", at=T0, sg_message_id=mid),
            note("deferred", f"f{n}", key=f"k-{n}", at=T0 + 1, sg_message_id=mid),
        ]
    got = receive(batch(*events), tables.targets(workers=8), now=NOW)
    assert counts(received=90, recorded=90, delivered=30) == got.to_dict()
    assert {"delivered"} == {status_of(tables, f"k-{n}") for n in range(30)}


def test_a_messages_table_failure_fails_the_events_and_claims_nothing(tables: Tables) -> None:
    """The record cannot be read: failed (the POST is answered 5xx), applied on the retry."""
    sent_email(tables, "k-1")
    broken = MessageStore(tables.client, "no-such-table")
    delivered = note("delivered", "d1")
    got = receive(batch(delivered), tables.targets(store=broken), now=NOW)
    assert counts(received=1, failed=1) == got.to_dict()
    assert [] == tables.markers()
    retry = receive(batch(delivered), tables.targets(), now=NOW)
    assert 1 == retry.recorded
    assert "delivered" == status_of(tables)
