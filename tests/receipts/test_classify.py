"""The classification table, row by row, and the cases a row cannot show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gcnotify.receipts.classify import (
    CLASSES,
    CLASSIFICATION,
    RANK,
    TEXT_LIMIT,
    ClassRow,
    Receipt,
    classify_genesys,
    classify_genesys_analytics,
    classify_genesys_status,
    classify_sendgrid,
    no_final_receipt,
)

AT = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
GENESYS_REASONS = (
    "MessageExpired",
    "RateLimited",
    "MessageNotAllowed",
    "GeneralError",
    "UnsupportedMessage",
    "UnknownMessage",
    "InvalidMessageStructure",
    "InvalidDestination",
    "ServerError",
    "MediaTypeNotAllowed",
    "InvalidMediaContentLength",
    "RecipientOptedOut",
    "DataFiltered",
)


def rows(kind: str) -> list[ClassRow]:
    return [row for row in CLASSIFICATION if row.kind == kind]


def row_id(row: ClassRow) -> str:
    return f"{row.provider}-{row.kind}-{row.code}-{row.when}"


def sendgrid_event(row: ClassRow) -> dict[str, Any]:
    """An event that should land on ``row``."""
    event: dict[str, Any] = {"event": row.code, "timestamp": int(AT.timestamp())}
    if row.code.startswith("bounce:"):
        event |= {"event": "bounce", "type": row.code.partition(":")[2], "status": "5.1.1"}
    if row.code == "dropped":
        event["reason"] = "Invalid SMTPAPI header" if row.when == "any other reason" else row.when
    return event


def facts(receipt: Receipt) -> tuple[object, ...]:
    """What a row decides of a receipt: class, code, final, suppress, known, time."""
    return (
        receipt.cls,
        receipt.code,
        receipt.final,
        receipt.suppress,
        receipt.known,
        receipt.at,
    )


# -- every row -------------------------------------------------------------------------------


def test_the_table_covers_every_code_the_providers_document() -> None:
    """Every Genesys reason, status and receipt status and every SendGrid event has a row."""
    codes = {(row.provider, row.kind, row.code) for row in CLASSIFICATION}
    genesys_statuses = ["queued", "sent", "delivery-success", "delivery-failed", "failed"]
    genesys_statuses += ["read", "removed", "published"]
    receipt_statuses = ["Sent", "Delivered", "Read", "Failed", "Published", "Removed"]
    events = ["processed", "deferred", "delivered", "open", "bounce:bounce", "bounce:blocked"]
    events += ["dropped", "spamreport", "unsubscribe", "group_unsubscribe", "click"]
    events += ["group_resubscribe"]
    # AnalyticsSession.deliveryStatus (SDK model enum)
    analytics = ["DeliveryFailed", "DeliveryPushed", "DeliverySuccess", "Failed"]
    analytics += ["Published", "Queued", "Read", "Received", "Sent"]
    expected = (
        {("genesys", "reason", code) for code in GENESYS_REASONS}
        | {("genesys", "analytics", code) for code in analytics}
        | {("genesys", "status", code) for code in genesys_statuses}
        | {("genesys", "receipt", code) for code in receipt_statuses}
        | {("sendgrid", "event", code) for code in events}
    )
    assert expected == codes


def test_rows_are_unique_and_use_the_model() -> None:
    """No row is listed twice; every class is one of the model's, every final row is final."""
    keys = [(row.provider, row.kind, row.code, row.when) for row in CLASSIFICATION]
    assert len(keys) == len(set(keys))
    assert all(row.cls is None or row.cls in CLASSES for row in CLASSIFICATION)
    assert all(row.retried == (row.cls == "failed_temporary") for row in CLASSIFICATION)


@pytest.mark.parametrize("row", rows("reason"), ids=row_id)
def test_each_genesys_reason_row_is_applied(row: ClassRow) -> None:
    """A Failed receipt with the row's reason classifies as the row says."""
    receipt = classify_genesys_status("Failed", [(row.code, "why")], at=AT)
    assert (row.cls, row.code, row.suppress, True, True, "why", AT) == (
        receipt.cls,
        receipt.code,
        receipt.suppress,
        receipt.final,
        receipt.known,
        receipt.text,
        receipt.at,
    )


@pytest.mark.parametrize("row", rows("status") + rows("receipt"), ids=row_id)
def test_each_genesys_status_row_is_applied(row: ClassRow) -> None:
    """A status alone classifies as its row (a failure without a reason is unknown)."""
    receipt = classify_genesys_status(row.code, at=AT)
    assert (row.cls, row.code, row.final, row.suppress) == (
        receipt.cls,
        receipt.code,
        receipt.final,
        receipt.suppress,
    )


@pytest.mark.parametrize("row", rows("analytics"), ids=row_id)
def test_each_analytics_row_is_applied_or_sent_to_the_details(row: ClassRow) -> None:
    """A screened deliveryStatus gives its row's receipt, except the ones the details decide."""
    receipt = classify_genesys_analytics(row.code, AT)
    if row.code in ("DeliveryFailed", "Failed", "Received"):
        assert receipt is None
        return
    assert receipt is not None
    assert (row.cls, row.code, row.final, None, True, AT) == facts(receipt)


@pytest.mark.parametrize("status", ["Bounced", "", None, 7, "delivery-success"])
def test_an_analytics_status_the_table_does_not_hold_goes_to_the_details(status: object) -> None:
    """Never applied from the screen: an unknown status is the details' to classify."""
    assert classify_genesys_analytics(status, AT) is None


@pytest.mark.parametrize("status", ["DeliveryFailed", "Failed", "Received"])
def test_a_failure_with_no_details_to_read_is_final_and_unknown(status: str) -> None:
    """An agentless email: nothing holds its reason, so unknown (never retried or suppressed),
    and no longer waiting."""
    receipt = classify_genesys_analytics(status, AT, details=False)
    assert receipt is not None
    assert ("unknown", status, True, True, None) == (
        receipt.cls,
        receipt.code,
        receipt.final,
        receipt.known,
        receipt.suppress,
    )


def test_an_unknown_status_with_no_details_to_read_is_unknown_and_counted() -> None:
    receipt = classify_genesys_analytics("Bounced", AT, details=False)
    assert receipt is not None
    assert ("unknown", "Bounced", False, False) == (
        receipt.cls,
        receipt.code,
        receipt.final,
        receipt.known,
    )


def test_analytics_spellings_are_one() -> None:
    """Case does not matter (DELIVERYSUCCESS is DeliverySuccess); the row's code is kept."""
    receipt = classify_genesys_analytics("DELIVERYSUCCESS", AT)
    assert receipt is not None
    assert ("delivered", "DeliverySuccess", True) == (receipt.cls, receipt.code, receipt.final)


@pytest.mark.parametrize("row", rows("event"), ids=row_id)
def test_each_sendgrid_row_is_applied(row: ClassRow) -> None:
    """An event of the row's kind classifies as the row says; an ignored one answers None."""
    receipt = classify_sendgrid(sendgrid_event(row))
    if row.cls is None:
        assert receipt is None
        return
    assert receipt is not None
    assert (row.cls, row.code, row.final, row.suppress, True, AT) == facts(receipt)


# -- the cases a row cannot show ---------------------------------------------------------------


def test_an_unknown_genesys_reason_is_unknown_never_delivered() -> None:
    """A reason code the table does not hold: unknown, known False, its code and text kept."""
    receipt = classify_genesys_status("Failed", [("CarrierSaidNo", "nope")], at=AT)
    assert Receipt("unknown", "genesys", "CarrierSaidNo", "nope", AT, True, None, False) == receipt


def test_an_unknown_genesys_status_is_unknown_and_not_final() -> None:
    """A status Genesys may add later: unknown, not final (a later poll may still know it)."""
    receipt = classify_genesys_status("delivery-pushed")
    assert ("unknown", False, False, "delivery-pushed") == (
        receipt.cls,
        receipt.known,
        receipt.final,
        receipt.code,
    )


def test_a_failure_without_any_reason_is_unknown() -> None:
    """Failed without reasons: retry or suppress cannot be decided, so a person looks."""
    for status in ("Failed", "delivery-failed", "failed"):
        receipt = classify_genesys_status(status)
        assert ("unknown", False, True, status) == (
            receipt.cls,
            receipt.known,
            receipt.final,
            receipt.code,
        )


def test_of_several_reasons_the_most_severe_decides() -> None:
    """Suppressing beats permanent beats unknown beats temporary: never retried on a doubt."""
    mixed = [("RateLimited", ""), ("Mystery", ""), ("DataFiltered", ""), ("RecipientOptedOut", "")]
    assert "RecipientOptedOut" == classify_genesys_status("Failed", mixed).code
    assert "DataFiltered" == classify_genesys_status("Failed", mixed[:3]).code
    assert "Mystery" == classify_genesys_status("Failed", mixed[:2]).code
    assert "failed_temporary" == classify_genesys_status("Failed", mixed[:1]).cls


def test_status_spellings_of_other_genesys_apis_are_understood() -> None:
    """DELIVERY_SUCCESS (notifications) and delivered in any case classify alike."""
    assert "delivered" == classify_genesys_status("DELIVERY_SUCCESS").cls
    assert "delivered" == classify_genesys_status("delivered").cls
    assert "read" == classify_genesys_status("READ").cls


def test_is_final_receipt_overrides_the_row() -> None:
    """A Delivered receipt that says another receipt will come is not final (a read may)."""
    assert not classify_genesys_status("Delivered", final=False).final
    assert classify_genesys_status("Sent", final=True).final


def test_reasons_on_a_status_that_is_not_a_failure_are_ignored() -> None:
    """Reasons only mean something on Failed."""
    receipt = classify_genesys_status("Delivered", [("RecipientOptedOut", "x")])
    assert ("delivered", None, "") == (receipt.cls, receipt.suppress, receipt.text)


def test_texts_are_cut_to_the_limit() -> None:
    """A provider text longer than 500 characters is kept to its first 500."""
    receipt = classify_genesys_status("Failed", [("ServerError", "x" * 2000)])
    assert TEXT_LIMIT == len(receipt.text) == 500
    event = {"event": "bounce", "type": "bounce", "reason": "y" * 900, "timestamp": 1}
    bounced = classify_sendgrid(event)
    assert bounced is not None
    assert 500 == len(bounced.text)


# -- classify_genesys: MessageData ----------------------------------------------------------


def message(status: str | None, *receipts: dict[str, Any], **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"id": "m-1", "timestamp": "2026-03-02T14:00:00.000Z", **extra}
    if status is not None:
        data["status"] = status
    if receipts:
        data["normalizedReceipts"] = list(receipts)
    return data


def receipt(status: str, final: bool | None = None, time: str | None = None, **extra: Any) -> Any:
    data: dict[str, Any] = {"type": "Receipt", "status": status, **extra}
    if final is not None:
        data["isFinalReceipt"] = final
    if time is not None:
        data["channel"] = {"time": time}
    return data


def test_a_message_without_receipts_is_classified_by_its_status() -> None:
    """MessageData with status only; its timestamp is the receipt's time, in UTC."""
    got = classify_genesys(message("delivery-success"))
    assert ("delivered", True, AT) == (got.cls, got.final, got.at)


def test_a_final_failed_receipt_carries_its_reason() -> None:
    """The receipt's reason classifies: RecipientOptedOut suppresses as an opt-out."""
    failed = receipt(
        "Failed",
        True,
        "2026-03-02T14:03:00Z",
        reasons=[{"code": "RecipientOptedOut", "message": "opted out"}],
    )
    got = classify_genesys(message("delivery-failed", receipt("Sent", False), failed))
    assert (
        "failed_permanent",
        "RecipientOptedOut",
        "opted out",
        "opt-out",
        True,
        AT + timedelta(minutes=3),
    ) == (got.cls, got.code, got.text, got.suppress, got.final, got.at)


def test_the_latest_receipt_decides_when_none_is_final() -> None:
    """By their time, not their order in the list."""
    got = classify_genesys(
        message(
            None,
            receipt("Delivered", False, "2026-03-02T14:05:00Z"),
            receipt("Sent", False, "2026-03-02T14:01:00Z"),
        )
    )
    assert ("delivered", False) == (got.cls, got.final)


def test_a_status_ahead_of_the_receipts_wins() -> None:
    """status read over a non-final Delivered receipt: read, and final."""
    got = classify_genesys(message("read", receipt("Delivered", False)))
    assert ("read", True) == (got.cls, got.final)


def test_a_failed_status_with_only_a_sent_receipt_is_a_failure() -> None:
    """The status moved on past the receipts seen: delivery-failed with no reason is unknown."""
    got = classify_genesys(message("delivery-failed", receipt("Sent", False)))
    assert ("unknown", False, "delivery-failed") == (got.cls, got.known, got.code)


def test_receipts_that_are_not_receipts_are_ignored() -> None:
    """A normalized entry of another type (Text) never classifies the message."""
    got = classify_genesys(message("sent", {"type": "Text", "status": "Delivered"}))
    assert "sent" == got.cls


def test_a_message_with_nothing_readable_is_unknown() -> None:
    """No status and no receipts: unknown, not final."""
    got = classify_genesys({"id": "m-1"})
    assert ("unknown", False, False) == (got.cls, got.known, got.final)


# -- SendGrid specifics ----------------------------------------------------------------------


def test_a_dropped_event_suppresses_only_for_sendgrids_own_suppressions() -> None:
    """Bounced / Unsubscribed / Spam Reporting Address suppress (any case); Spam Content not."""
    for reason in ("Bounced Address", "unsubscribed address", "Spam Reporting Address"):
        got = classify_sendgrid({"event": "dropped", "reason": reason, "timestamp": 1})
        assert got is not None
        assert ("failed_permanent", "dropped", reason) == (got.cls, got.suppress, got.text)
    other = classify_sendgrid({"event": "dropped", "reason": "Spam Content", "timestamp": 1})
    assert other is not None
    assert ("failed_permanent", None, "dropped") == (other.cls, other.suppress, other.code)


def test_a_bounce_keeps_its_smtp_status_and_reason() -> None:
    """The text is the enhanced status code and the server's reason."""
    got = classify_sendgrid(
        {"event": "bounce", "type": "bounce", "status": "5.1.1", "reason": "no such user"}
    )
    assert got is not None
    assert ("bounce:bounce", "5.1.1 no such user", "hard-bounce", None) == (
        got.code,
        got.text,
        got.suppress,
        got.at,
    )


def test_a_bounce_without_a_type_is_a_hard_bounce_and_an_odd_type_is_unknown() -> None:
    """SendGrid's bounce is permanent unless it says blocked; a new type is not guessed."""
    plain = classify_sendgrid({"event": "bounce", "reason": "x"})
    odd = classify_sendgrid({"event": "bounce", "type": "soft"})
    assert plain is not None
    assert odd is not None
    assert ("failed_permanent", "bounce:bounce") == (plain.cls, plain.code)
    assert ("unknown", False, "bounce:soft") == (odd.cls, odd.known, odd.code)


def test_deferred_and_delivered_keep_the_servers_response() -> None:
    """The receiving server's response is the text; deferred is pending, not final."""
    deferred = classify_sendgrid({"event": "deferred", "response": "451 try later"})
    delivered = classify_sendgrid({"event": "delivered", "response": "250 OK"})
    assert deferred is not None
    assert delivered is not None
    assert ("pending", False, "451 try later") == (deferred.cls, deferred.final, deferred.text)
    assert ("delivered", "250 OK") == (delivered.cls, delivered.text)


def test_unknown_or_malformed_sendgrid_events_are_ignored() -> None:
    """An event SendGrid may add, or one without a type, is None: counted by the caller."""
    assert classify_sendgrid({"event": "account_status_change"}) is None
    assert classify_sendgrid({"email": "a@example.com"}) is None


def test_an_unreadable_timestamp_leaves_the_time_unknown() -> None:
    """A string or absurd timestamp is no time at all, never a crash."""
    for stamp in ("1763900000", 10**20, True):
        got = classify_sendgrid({"event": "delivered", "timestamp": stamp})
        assert got is not None
        assert got.at is None


def test_rank_orders_progress_and_no_failure_outranks_a_delivery() -> None:
    """pending < sent < delivered < read; failures and unknown never above sent."""
    assert RANK["pending"] < RANK["sent"] < RANK["delivered"] < RANK["read"]
    for cls in ("failed_permanent", "failed_temporary", "unknown"):
        assert RANK[cls] < RANK["delivered"]
    assert set(CLASSES) == set(RANK)


def test_no_final_receipt_is_a_final_unknown() -> None:
    """What a poller applies after final_after: unknown, final, known (it is our own code)."""
    got = no_final_receipt("genesys", timedelta(hours=72), AT)
    assert (
        "unknown",
        True,
        True,
        "NoFinalReceipt",
        "no final receipt within 72 h of the send",
    ) == (
        got.cls,
        got.final,
        got.known,
        got.code,
        got.text,
    )


def test_the_documented_table_is_the_applied_one() -> None:
    """docs/RECEIPTS.md's classification table is classification_markdown() exactly."""
    from pathlib import Path

    from gcnotify.receipts.classify import classification_markdown

    doc = (Path(__file__).parents[2] / "docs" / "RECEIPTS.md").read_text(encoding="utf-8")
    _, _, rest = doc.partition("<!-- classification:start -->\n")
    table, found, _ = rest.partition("<!-- classification:end -->")
    assert found, "docs/RECEIPTS.md lost its classification markers"
    assert classification_markdown() == table, (
        "docs/RECEIPTS.md is out of date: paste classification_markdown()'s output between "
        "its classification markers"
    )
