"""The standup pack end to end over real sockets: the day against last week and four weeks,
PDF and XLSX read back, Architect holidays, the holiday notice, two aggregates queries."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gcnotify.cli.demo import STANDUP_REPORT, DemoStack, start_stack
from gcnotify.core.errors import RunFailedError
from gcnotify.handlers import report as handler

pytestmark = pytest.mark.e2e

EVENT = {"report_date": "2026-11-30", "reports": [STANDUP_REPORT]}


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DemoStack]:
    with start_stack(tmp_path, queue_count=6, standup=True) as running:
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
            monkeypatch.setenv(key, running.environ[key])
        handler.reset_cold_start()
        yield running
        handler.reset_cold_start()


def invoke(stack: DemoStack, event: dict[str, Any], **env: str) -> dict[str, Any]:
    handler.reset_cold_start()
    return handler.handle(event, environ={**stack.environ, **env})


def changed(stack: DemoStack, tmp_path: Path, **standup: Any) -> str:
    """The demo config with the standup report changed; its path."""
    config = yaml.safe_load(Path(stack.environ["GCNOTIFY_CONFIG"]).read_text())
    report = next(r for r in config["reports"] if r["id"] == STANDUP_REPORT)
    for key, value in standup.items():
        if key in ("window", "holidays"):
            report[key] = value
        else:
            report["standup"][key] = value
    path = tmp_path / "standup.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def packs(stack: DemoStack) -> list[Any]:
    return [
        m
        for m in stack.sendgrid.messages
        if m.custom_args.get("gcnotify_report_id") == STANDUP_REPORT
        and not m.custom_args.get("gcnotify_alert")
    ]


def test_a_pack_is_sent_with_its_pdf_and_xlsx(stack: DemoStack) -> None:
    """One mail with both files; its numbers read back from the XLSX match the email's total."""
    import openpyxl

    entry = invoke(stack, EVENT)["reports"][0]
    assert ("sent", "2026-11-30") == (entry["status"], entry["business_date"])
    [message] = packs(stack)
    files = {a["filename"]: base64.b64decode(a["content"]) for a in message.body["attachments"]}
    assert {"support-standup-2026-11-30.pdf", "support-standup-2026-11-30.xlsx"} == set(files)
    assert files["support-standup-2026-11-30.pdf"].startswith(b"%PDF")
    book = openpyxl.load_workbook(io.BytesIO(files["support-standup-2026-11-30.xlsx"]))
    assert "Summary" in book.sheetnames
    offered = next(
        row[1] for row in book["Summary"].iter_rows(values_only=True) if row and row[0] == "Offered"
    )
    assert f"{int(offered):,}" in message.text
    assert "vs last Mon" in message.text


def test_a_pack_costs_two_aggregates_queries(stack: DemoStack, tmp_path: Path) -> None:
    """Without agent sections: the 29 days by day and the day by interval, nothing more."""
    path = changed(stack, tmp_path, agents={"occupancy": False})
    entry = invoke(stack, EVENT, GCNOTIFY_CONFIG=path)["reports"][0]
    assert (2, 2) == (stack.genesys.aggregates_queries, entry["genesys_aggregates_queries"])


def test_a_holiday_sends_the_notice_with_its_name(stack: DemoStack, tmp_path: Path) -> None:
    """window: yesterday on the day after Thanksgiving (closed in Architect): a short notice."""
    path = changed(stack, tmp_path, window="yesterday")
    entry = invoke(
        stack, {"report_date": "2026-11-26", "reports": [STANDUP_REPORT]}, GCNOTIFY_CONFIG=path
    )["reports"][0]
    assert "holiday_notice_sent" == entry["status"]
    [message] = packs(stack)
    assert "No business day data" in message.text
    assert "was a holiday" in message.text
    assert not message.body.get("attachments")
    assert 0 == stack.genesys.aggregates_queries


def test_a_holiday_with_on_holiday_skip_sends_nothing(stack: DemoStack, tmp_path: Path) -> None:
    """on_holiday: skip: skipped_holiday, nothing sent."""
    path = changed(stack, tmp_path, window="yesterday", on_holiday="skip")
    entry = invoke(
        stack, {"report_date": "2026-11-26", "reports": [STANDUP_REPORT]}, GCNOTIFY_CONFIG=path
    )["reports"][0]
    assert "skipped_holiday" == entry["status"]
    assert [] == packs(stack)


def test_a_schedule_group_that_does_not_exist_fails_with_close_names(
    stack: DemoStack, tmp_path: Path
) -> None:
    """A misspelt Architect group: the report fails naming the real groups, nothing sent."""
    path = changed(
        stack, tmp_path, holidays={"country": "US", "genesys_schedule_group": "Suport Hours"}
    )
    with pytest.raises(RunFailedError) as info:
        invoke(stack, EVENT, GCNOTIFY_CONFIG=path)
    assert "Support Hours" in str(info.value)
    assert [] == packs(stack)


def test_the_pack_is_sent_once(stack: DemoStack) -> None:
    """The same exactly-once guard as every send: a re-run answers already_sent."""
    invoke(stack, EVENT)
    assert "already_sent" == invoke(stack, EVENT)["reports"][0]["status"]
    assert 1 == len(packs(stack))


def test_a_failed_genesys_export_still_sends_the_pack_and_alerts(
    stack: DemoStack, tmp_path: Path
) -> None:
    """Genesys fails its own export: the pack goes out saying so, and the owner is alerted."""
    stack.genesys.standup.fail_exports = "FAILED_CONVERTING_EXPORT_JOB"
    path = changed(stack, tmp_path, genesys_export={"view": "QUEUE_PERFORMANCE_SUMMARY_VIEW"})
    summary = invoke(stack, EVENT, GCNOTIFY_CONFIG=path)
    entry = summary["reports"][0]
    assert "sent" == entry["status"]
    assert "export is missing" in entry["warnings"][0]
    [message] = packs(stack)
    assert "export is missing" in message.text
    assert 1 == summary["alerts_sent"]
    [alert] = [m for m in stack.sendgrid.messages if m.custom_args.get("gcnotify_alert")]
    assert "went out incomplete" in alert.subject
    assert "What is missing" in alert.text


def test_the_headline_numbers_are_posted_to_chat_once(stack: DemoStack, tmp_path: Path) -> None:
    """standup.chat: after the mail, one Teams post with the day's total, even on a re-run."""
    from gcnotify.devserver.chat_server import ChatStandIn
    from tests.test_e2e import put_secret

    with ChatStandIn() as chat:
        put_secret(stack, teams_support_webhook=chat.webhook_url("teams"))
        path = changed(
            stack, tmp_path, chat=[{"kind": "teams", "secret_key": "teams_support_webhook"}]
        )
        invoke(stack, EVENT, GCNOTIFY_CONFIG=path)
        invoke(stack, EVENT, GCNOTIFY_CONFIG=path)
        [post] = chat.posts_for("teams")
        text = " ".join(post.texts())
    assert "Offered" in text
    assert "vs last week" in text


def test_over_budget_without_a_bucket_fails_before_sending(
    stack: DemoStack, tmp_path: Path
) -> None:
    """A budget even a zip cannot meet and nowhere to link the files: failed, nothing sent."""
    path = changed(stack, tmp_path, max_email_bytes=70_000)
    with pytest.raises(RunFailedError) as info:
        invoke(stack, EVENT, GCNOTIFY_CONFIG=path)
    assert "max_email_bytes" in str(info.value)
    assert "ArtifactBucket" in str(info.value)
    assert [] == packs(stack)


def test_over_budget_files_are_linked_from_the_artifact_bucket(
    stack: DemoStack, tmp_path: Path
) -> None:
    """With the bucket and the download function: the files are stored and linked instead."""
    import boto3

    from tests.test_e2e import put_secret

    s3 = boto3.client("s3", endpoint_url=stack.moto_url)
    s3.create_bucket(Bucket="gcnotify-artifacts")
    put_secret(stack, download_signing_key="k" * 48)
    path = changed(stack, tmp_path, max_email_bytes=70_000)
    entry = invoke(
        stack,
        EVENT,
        GCNOTIFY_CONFIG=path,
        GCNOTIFY_ARTIFACT_BUCKET="gcnotify-artifacts",
        GCNOTIFY_DOWNLOAD_URL="https://download.example.test",
    )["reports"][0]
    assert "sent" == entry["status"]
    [message] = packs(stack)
    assert not message.body.get("attachments")
    assert "https://download.example.test/?t=" in message.text
    stored = [o["Key"] for o in s3.list_objects_v2(Bucket="gcnotify-artifacts")["Contents"]]
    assert 2 == len(stored)
    assert all(key.startswith("standup/support-standup/2026-11-30/") for key in stored)


def test_adherence_is_read_from_wfm_for_the_queues_agents(stack: DemoStack, tmp_path: Path) -> None:
    """agents.adherence with the management unit: an adherence sheet in the XLSX."""
    import openpyxl

    from gcnotify.devserver.standup_endpoints import MANAGEMENT_UNIT_ID

    path = changed(
        stack,
        tmp_path,
        agents={"occupancy": True, "adherence": True, "management_unit": MANAGEMENT_UNIT_ID},
    )
    entry = invoke(stack, EVENT, GCNOTIFY_CONFIG=path)["reports"][0]
    assert ("sent", None) == (entry["status"], entry.get("warnings"))
    [message] = packs(stack)
    xlsx = next(a for a in message.body["attachments"] if a["filename"].endswith(".xlsx"))
    book = openpyxl.load_workbook(io.BytesIO(base64.b64decode(xlsx["content"])))
    assert any("adherence" in name.lower() for name in book.sheetnames)


def test_a_management_unit_that_does_not_exist_says_why(stack: DemoStack, tmp_path: Path) -> None:
    """A wrong management unit: the pack goes out, the section says why, the owner is alerted."""
    path = changed(
        stack, tmp_path, agents={"adherence": True, "management_unit": "not-a-real-unit"}
    )
    summary = invoke(stack, EVENT, GCNOTIFY_CONFIG=path)
    entry = summary["reports"][0]
    assert "sent" == entry["status"]
    assert "schedule adherence could not be computed" in entry["warnings"][0]
    assert 1 == summary["alerts_sent"]


def test_a_missing_users_aggregates_permission_says_why(stack: DemoStack) -> None:
    """A 403 on the users aggregates query: the occupancy section says why, the pack still goes."""
    stack.genesys.forbid("/api/v2/analytics/users")
    summary = invoke(stack, EVENT)
    entry = summary["reports"][0]
    assert "sent" == entry["status"]
    assert "analytics:userAggregate:view" in entry["warnings"][0]
    assert 1 == summary["alerts_sent"]
