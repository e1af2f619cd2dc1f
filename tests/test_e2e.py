"""End to end over real sockets: the handler against the local Genesys and SendGrid stand-ins
and a moto server (Secrets Manager, DynamoDB), exactly as `gcnotify demo` wires them."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import pytz
import yaml

from gcnotify.cli.demo import DemoStack, start_stack
from gcnotify.core.errors import ConfigError, RunFailedError, SecretError
from gcnotify.genesys.client import QUEUES_PATH
from gcnotify.handlers import report as handler

pytestmark = pytest.mark.e2e

AGGREGATES = "/api/v2/analytics/conversations/aggregates/query"
MAIL = "/v3/mail/send"
NY = pytz.timezone("America/New_York")


def invoke(stack: DemoStack, event: dict[str, Any], **env: str) -> dict[str, Any]:
    handler.reset_cold_start()
    return handler.handle(event, environ={**stack.environ, **env})


def secret_values(stack: DemoStack) -> list[str]:
    client = boto3.client("secretsmanager", endpoint_url=stack.moto_url)
    secret = json.loads(
        client.get_secret_value(SecretId=stack.environ["GCNOTIFY_SECRET_ID"])["SecretString"]
    )
    return [secret["genesys_client_secret"], secret["sendgrid_api_key"]]


def put_secret(stack: DemoStack, **changes: str | None) -> None:
    client = boto3.client("secretsmanager", endpoint_url=stack.moto_url)
    secret_id = stack.environ["GCNOTIFY_SECRET_ID"]
    secret = json.loads(client.get_secret_value(SecretId=secret_id)["SecretString"])
    for key, value in changes.items():
        if value is None:
            secret.pop(key)
        else:
            secret[key] = value
    client.put_secret_value(SecretId=secret_id, SecretString=json.dumps(secret))


def offered_between(stack: DemoStack, start: datetime, end: datetime) -> int:
    """Independent count from the synthetic conversations, not through the aggregates code."""
    traffic = stack.genesys.traffic
    total = 0
    for queue in stack.genesys.queues:
        for day in traffic.days_touching(start, end):
            total += sum(
                1 for c in traffic.conversations(queue.id, day) if start <= c.offered_at < end
            )
    return total


def ledger_record(stack: DemoStack, day: date = date(2026, 11, 20)) -> Any:
    from gcnotify.aws.ledger import Ledger

    client = boto3.client("dynamodb", endpoint_url=stack.moto_url)
    table = stack.environ["GCNOTIFY_LEDGER_TABLE"]
    return Ledger(client, table).lookup(f"support-daily#{day.isoformat()}")


def only_daily(stack: DemoStack) -> dict[str, Any]:
    return {"report_date": "2026-11-20", "reports": ["support-daily"]}


def test_scheduled_run_sends_the_right_business_day(stack: DemoStack) -> None:
    """A Monday 06:00 New York run reports Friday, with Friday's New York-day numbers."""
    summary = invoke(stack, {"scheduled_time": "2026-11-23T11:00:00Z", "execution_id": "e1"})
    daily = next(r for r in summary["reports"] if r["report"] == "support-daily")
    assert "sent" == daily["status"]
    assert "2026-11-20" == daily["business_date"]
    assert {"start": "2026-11-20T05:00:00Z", "end": "2026-11-21T05:00:00Z"} == daily["window"]
    assert 2 == daily["recipients"]  # to + cc, the cc copy of Supervisor@ de-duplicated
    assert daily["sendgrid_message_id"]
    message = next(
        m for m in stack.sendgrid.messages if m.custom_args["gcnotify_report_id"] == "support-daily"
    )
    assert "Fri 20 Nov 2026" in message.subject
    start = NY.localize(datetime(2026, 11, 20))
    end = NY.localize(datetime(2026, 11, 21))
    expected = offered_between(stack, start, end)
    wrong_window = offered_between(stack, start - timedelta(hours=5), end - timedelta(hours=5))
    assert expected != wrong_window  # the check below can tell the two windows apart
    assert f"{expected:,}" in message.text
    assert f"{expected:,}" in message.html
    record = ledger_record(stack)
    assert ("sent", daily["sendgrid_message_id"]) == (record.status, record.message_id)
    assert ("supervisor@example.com", "cc-ops@example.com") == record.attributes["recipients"]


def test_calls_per_report(stack: DemoStack) -> None:
    """Cold: 1 token + 1 lookup page + 1 aggregates query; then exactly 1 mail."""
    summary = invoke(stack, only_daily(stack))
    assert 3 == summary["reports"][0]["genesys_api_calls"]
    assert 1 == stack.genesys.aggregates_queries
    assert 1 == stack.sendgrid.count(MAIL)


def test_reinvoke_after_success_sends_nothing(stack: DemoStack) -> None:
    """The ledger answers already_sent with zero Genesys and SendGrid calls."""
    invoke(stack, only_daily(stack))
    genesys_before, mail_before = stack.genesys.count("/"), stack.sendgrid.count(MAIL)
    summary = invoke(stack, only_daily(stack))
    assert "already_sent" == summary["reports"][0]["status"]
    assert genesys_before == stack.genesys.count("/")
    assert mail_before == stack.sendgrid.count(MAIL)


def test_force_resends(stack: DemoStack) -> None:
    """force: true sends again on purpose."""
    invoke(stack, only_daily(stack))
    summary = invoke(stack, {**only_daily(stack), "force": True})
    assert "sent" == summary["reports"][0]["status"]
    assert 2 == stack.sendgrid.count(MAIL)


def test_dry_run_sends_nothing_and_writes_files(stack: DemoStack, tmp_path: Path) -> None:
    """A dry run renders and writes the email but never calls SendGrid or the ledger."""
    handler.reset_cold_start()
    summary = handler.handle(
        {**only_daily(stack), "dry_run": True}, environ=stack.environ, out_dir=tmp_path / "dry"
    )
    assert "dry_run" == summary["reports"][0]["status"]
    assert 0 == stack.sendgrid.count("/")
    assert {".html", ".txt", ".eml"} == {Path(p).suffix for p in summary["reports"][0]["outputs"]}
    # Nothing was recorded: a real run afterwards sends.
    assert "sent" == invoke(stack, only_daily(stack))["reports"][0]["status"]


def test_hourly_report_has_interval_table(stack: DemoStack) -> None:
    """A PT1H report shows local hours."""
    invoke(stack, {"report_date": "2026-11-20", "reports": ["support-hourly"]})
    message = stack.sendgrid.messages[0]
    assert "10:00" in message.text


def test_missing_queue_fails_report_nothing_sent(stack: DemoStack, tmp_path: Path) -> None:
    """A queue name that does not exist fails that report naming the closest real names."""
    config = yaml.safe_load(Path(stack.environ["GCNOTIFY_CONFIG"]).read_text())
    config["reports"][0]["queues"].append("support")
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(RunFailedError) as info:
        invoke(stack, {"report_date": "2026-11-20"}, GCNOTIFY_CONFIG=str(path))
    text = str(info.value)
    assert "'support'" in text
    assert "'Support'" in text
    # The other report still ran and was sent; the failing one sent only its alert.
    assert ["support-hourly"] == [m.custom_args["gcnotify_report_id"] for m in reports_sent(stack)]
    assert ["support-daily"] == [m.custom_args["gcnotify_report_id"] for m in alerts(stack)]
    assert 0 == stack.genesys.aggregates_queries - 1


def test_bad_config_fails_before_any_call(stack: DemoStack, tmp_path: Path) -> None:
    """A misspelled key and a bad time zone: ConfigError, zero HTTP calls anywhere."""
    config = yaml.safe_load(Path(stack.environ["GCNOTIFY_CONFIG"]).read_text())
    config["reports"][0]["timezone"] = "America/New_Yrok"
    config["reports"][1]["recipents"] = config["reports"][1].pop("recipients")
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError) as info:
        invoke(stack, {}, GCNOTIFY_CONFIG=str(path))
    assert 2 == len(info.value.problems)  # the misspelt key is one problem, not two
    assert "nothing was fetched or sent" in str(info.value)
    assert 0 == stack.genesys.count("/")
    assert 0 == stack.sendgrid.count("/")


def test_secret_missing_key(stack: DemoStack) -> None:
    """A secret without sendgrid_api_key: a clear error and nothing fetched or sent."""
    put_secret(stack, sendgrid_api_key=None)
    with pytest.raises(SecretError, match="sendgrid_api_key"):
        invoke(stack, only_daily(stack))
    assert 0 == stack.genesys.count("/")
    assert 0 == stack.sendgrid.count("/")


def test_wrong_genesys_credentials(stack: DemoStack) -> None:
    """Wrong client secret: the report fails with the fix; nothing is sent."""
    put_secret(stack, genesys_client_secret="wrong-secret-value-123")
    with pytest.raises(RunFailedError) as info:
        invoke(stack, only_daily(stack))
    assert "GenesysAuthError" in str(info.value)
    assert "wrong-secret-value-123" not in str(info.value)
    assert [] == reports_sent(stack)
    assert 1 == len(alerts(stack))


def test_missing_analytics_permission(stack: DemoStack) -> None:
    """A 403 names the permission the OAuth client's role needs."""
    stack.genesys.forbid(AGGREGATES)
    with pytest.raises(RunFailedError) as info:
        invoke(stack, only_daily(stack))
    assert "analytics:conversationAggregate:view" in str(info.value)
    assert [] == reports_sent(stack)
    assert 1 == len(alerts(stack))


def test_aggregates_400_surfaces_genesys_message(stack: DemoStack) -> None:
    """A 400 is not retried and shows Genesys's own message."""
    stack.genesys.fail_next(
        AGGREGATES,
        400,
        body={
            "message": "Interval is too long",
            "code": "bad.request",
            "status": 400,
            "contextId": "ctx-1",
            "details": [],
            "errors": [],
        },
    )
    with pytest.raises(RunFailedError) as info:
        invoke(stack, only_daily(stack))
    assert "Interval is too long" in str(info.value)
    assert 1 == stack.genesys.aggregates_queries
    assert [] == reports_sent(stack)
    assert 1 == len(alerts(stack))


def test_genesys_429_with_retry_after_then_ok(stack: DemoStack) -> None:
    """A 429 with Retry-After is waited out and the report is sent once."""
    stack.genesys.fail_next(AGGREGATES, 429, headers={"Retry-After": "1"})
    summary = invoke(stack, only_daily(stack))
    assert "sent" == summary["reports"][0]["status"]
    assert 2 == stack.genesys.aggregates_queries
    assert 1 == stack.sendgrid.count(MAIL)


def test_dropped_connection_is_retried(stack: DemoStack) -> None:
    """A network failure on the (safe to repeat) aggregates query is retried."""
    stack.genesys.drop_next(AGGREGATES)
    summary = invoke(stack, only_daily(stack))
    assert "sent" == summary["reports"][0]["status"]
    assert 1 == stack.sendgrid.count(MAIL)


def test_revoked_sendgrid_key(stack: DemoStack) -> None:
    """A revoked key fails with what to do; the ledger lets a later run retry."""
    stack.sendgrid.revoke_key()
    with pytest.raises(RunFailedError) as info:
        invoke(stack, only_daily(stack))
    assert "SendGridAuthError" in str(info.value)
    assert "failed" == ledger_record(stack).status
    stack.sendgrid.restore_key()
    assert "sent" == invoke(stack, only_daily(stack))["reports"][0]["status"]
    assert ("sent", 2) == (ledger_record(stack).status, ledger_record(stack).attempts)


def test_sendgrid_413(stack: DemoStack) -> None:
    """An nginx 413 page maps to a clear too-large error."""
    stack.sendgrid.fail_next(MAIL, 413)
    with pytest.raises(RunFailedError) as info:
        invoke(stack, only_daily(stack))
    assert "SendGridTooLargeError" in str(info.value)


def test_sendgrid_500_then_202_sends_once(stack: DemoStack) -> None:
    """A 5xx is retried; exactly one mail is accepted."""
    stack.sendgrid.fail_next(MAIL, 500)
    summary = invoke(stack, only_daily(stack))
    assert "sent" == summary["reports"][0]["status"]
    assert 1 == len(stack.sendgrid.messages)
    assert ("sent", 1) == (ledger_record(stack).status, ledger_record(stack).attempts)


def test_lost_sendgrid_response_is_not_resent(stack: DemoStack) -> None:
    """Accepted but the answer lost: no retry, the next run reports it ambiguous, no 2nd mail."""
    stack.sendgrid.drop_next(MAIL)
    with pytest.raises(RunFailedError) as info:
        invoke(stack, only_daily(stack))
    assert "SendGridOutcomeUnknownError" in str(info.value)
    assert '"status": "unknown"' in str(info.value)
    record = ledger_record(stack)
    assert "unknown" == record.status
    assert "outcome" in record.error
    with pytest.raises(RunFailedError) as again:
        invoke(stack, only_daily(stack))
    assert "AmbiguousSendError" in str(again.value)
    assert 1 == len(reports_sent(stack))


def test_no_secret_in_logs_errors_or_results(
    stack: DemoStack, caplog: pytest.LogCaptureFixture
) -> None:
    """Across failure paths, no secret value or token appears anywhere a person can see."""
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []

    def attempt(event: dict[str, Any]) -> None:
        try:
            seen.append(json.dumps(invoke(stack, event)))
        except Exception as exc:
            seen.extend([str(exc), repr(exc), repr(exc.args)])

    values = secret_values(stack)
    attempt(only_daily(stack))  # success
    stack.genesys.revoke_tokens()
    stack.genesys.forbid(AGGREGATES)
    attempt({**only_daily(stack), "force": True})  # 401 refresh, then 403
    stack.genesys.allow_all()
    stack.sendgrid.revoke_key()
    attempt({**only_daily(stack), "force": True})  # SendGrid 401
    stack.sendgrid.restore_key()
    stack.sendgrid.fail_next(MAIL, 413)
    attempt({**only_daily(stack), "force": True})
    put_secret(stack, genesys_client_secret="wrong-" + values[0])
    attempt({**only_daily(stack), "force": True})  # token refused
    put_secret(stack, sendgrid_api_key=None)
    attempt(only_daily(stack))  # secret incomplete
    tokens = list(stack.genesys.issued_tokens)
    assert tokens
    haystack = "\n".join(seen) + "\n" + caplog.text
    for value in [*values, "wrong-" + values[0], *tokens]:
        assert value not in haystack


def test_sample_events_through_lambda_handler(
    stack: DemoStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every events/*.json runs through the handler named in template.yaml, as SAM would."""
    repo = Path(__file__).resolve().parent.parent
    template = (repo / "template.yaml").read_text()
    handler_path = next(
        line.split(":", 1)[1].strip()
        for line in template.splitlines()
        if line.strip().startswith("Handler:")
    )
    module_name, function_name = handler_path.rsplit(".", 1)
    module = __import__(module_name, fromlist=[function_name])
    function = getattr(module, function_name)
    config = yaml.safe_load((repo / "gcnotify.yaml").read_text())
    # The shipped config's queues exist in the stand-in (Support, Billing are demo queues).
    assert set(config["reports"][0]["queues"]) <= {q.name for q in stack.genesys.queues}
    for key, value in stack.environ.items():
        if key != "GCNOTIFY_CONFIG":
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("GCNOTIFY_CONFIG", "")
    for path in sorted((repo / "events").glob("*.json")):
        handler.reset_cold_start()
        event = json.loads(path.read_text())
        summary = function(event, None)
        assert summary["ok"], path.name
        statuses = {r["status"] for r in summary["reports"]}
        expected = (
            {"dry_run"}
            if event.get("dry_run")
            else {"sent", "no_activity_sent", "already_sent", "skipped_holiday"}
        )
        assert statuses <= expected, (path.name, statuses)


def test_business_date_helper_matches_window(stack: DemoStack) -> None:
    """report_date names the business date itself (backfill)."""
    summary = invoke(stack, {"report_date": "2026-11-19", "reports": ["support-daily"]})
    assert date(2026, 11, 19).isoformat() == summary["reports"][0]["business_date"]


def alerts(stack: DemoStack) -> list[Any]:
    return [m for m in stack.sendgrid.messages if m.custom_args.get("gcnotify_alert")]


def reports_sent(stack: DemoStack) -> list[Any]:
    return [m for m in stack.sendgrid.messages if not m.custom_args.get("gcnotify_alert")]


def test_token_500_then_ok(stack: DemoStack) -> None:
    """A 5xx from the token endpoint is retried; the report is sent once."""
    stack.genesys.fail_next("/oauth/token", 500)
    summary = invoke(stack, only_daily(stack))
    assert "sent" == summary["reports"][0]["status"]
    assert 2 == stack.genesys.count("/oauth/token")
    assert 1 == len(reports_sent(stack))


def test_aggregates_500_every_try_fails_and_alerts(stack: DemoStack) -> None:
    """Genesys down for the whole retry budget: no report, one plain alert to alerts.to."""
    stack.genesys.fail_next(AGGREGATES, 500, times=10)
    with pytest.raises(RunFailedError) as info:
        invoke(stack, only_daily(stack))
    assert "GenesysUnavailableError" in str(info.value)
    assert [] == reports_sent(stack)
    [alert] = alerts(stack)
    assert ("cc-ops@example.com",) == alert.recipients
    assert "support-daily" in alert.subject
    assert "Fri 20 Nov 2026" in alert.subject
    assert "Traceback" not in alert.text
    assert "What to do" in alert.text
    assert ledger_record(stack) is None
    # The ledger recorded no claim: the next run (Genesys back) sends.
    stack.genesys.clear_faults()
    assert "sent" == invoke(stack, only_daily(stack))["reports"][0]["status"]


def test_the_claim_lease_ends_with_the_lambda_invocation(
    stack: DemoStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The send's claim is held for the invocation's remaining time (plus a margin), no more."""
    from gcnotify.aws.once import LEASE_MARGIN

    class Context:  # what Lambda passes: only the remaining time is read
        def get_remaining_time_in_millis(self) -> int:
            return 120_000

    for name, value in stack.environ.items():
        monkeypatch.setenv(name, value)
    handler.reset_cold_start()
    before = datetime.now(UTC)
    summary = handler.lambda_handler(only_daily(stack), Context())
    after = datetime.now(UTC)
    assert "sent" == summary["reports"][0]["status"]
    lease = ledger_record(stack).lease_until
    margin = timedelta(milliseconds=120_000) + LEASE_MARGIN
    assert before + margin <= lease <= after + margin


def test_an_alert_whose_send_failed_goes_out_on_the_retry(stack: DemoStack) -> None:
    """The alert is recorded only once SendGrid accepted it: a failed alert send is retried."""
    stack.genesys.fail_next(AGGREGATES, 500, times=20)
    stack.sendgrid.fail_next(MAIL, 400)  # the alert's own send is refused
    with pytest.raises(RunFailedError) as first:
        invoke(stack, only_daily(stack))
    assert '"alerts_sent": 0' in str(first.value)
    assert [] == alerts(stack)
    with pytest.raises(RunFailedError) as retry:
        invoke(stack, only_daily(stack))  # Lambda's retry: still failing, now alerted
    assert '"alerts_sent": 1' in str(retry.value)
    with pytest.raises(RunFailedError):
        invoke(stack, only_daily(stack))  # and only once
    assert 1 == len(alerts(stack))


def test_crash_between_fetch_and_send(stack: DemoStack, monkeypatch: pytest.MonkeyPatch) -> None:
    """The process dies after fetching: nothing was sent, and the next run sends exactly once."""
    from gcnotify.reports.render import Renderer

    class ProcessDied(BaseException):
        pass

    def die(*args: object, **kwargs: object) -> None:
        raise ProcessDied

    with monkeypatch.context() as patch:
        patch.setattr(Renderer, "render_report", die)
        with pytest.raises(ProcessDied):
            invoke(stack, only_daily(stack))
    assert 1 == stack.genesys.aggregates_queries
    assert 0 == stack.sendgrid.count("/")
    assert ledger_record(stack) is None
    assert "sent" == invoke(stack, only_daily(stack))["reports"][0]["status"]
    assert "already_sent" == invoke(stack, only_daily(stack))["reports"][0]["status"]
    assert 1 == len(reports_sent(stack))


def test_ledger_unavailable_sends_nothing(stack: DemoStack) -> None:
    """Without its ledger table the report is not sent and the error says why."""
    with pytest.raises(RunFailedError) as info:
        invoke(stack, only_daily(stack), GCNOTIFY_LEDGER_TABLE="missing-table")
    assert "LedgerError" in str(info.value)
    assert "missing-table" in str(info.value)
    assert [] == reports_sent(stack)


def test_two_concurrent_invocations_send_once(stack: DemoStack) -> None:
    """Two containers running the same report at the same moment: one mail."""
    import threading

    from gcnotify.reports.events import parse_event
    from gcnotify.reports.runner import run_reports
    from gcnotify.runtime.settings import Settings

    settings = Settings.from_env(stack.environ)
    states = [
        handler._ColdStart(settings=settings, config=handler.load_config(settings.config_path))
        for _ in range(2)
    ]
    request = parse_event(only_daily(stack), ["support-daily", "support-hourly"])
    barrier = threading.Barrier(2)
    statuses: list[str] = []

    def run(state: Any) -> None:
        services = state.get_services(None)
        barrier.wait()
        statuses.extend(r.status for r in run_reports(state.config, request, services))

    threads = [threading.Thread(target=run, args=(s,)) for s in states]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # The loser sees the winner's live claim, or its finished send if it looked late.
    assert sorted(statuses) in (["already_sent", "sent"], ["in_progress", "sent"])
    assert 1 == len(reports_sent(stack))
    assert ("sent", 1) == (ledger_record(stack).status, ledger_record(stack).attempts)


def test_stale_claim_is_ambiguous_and_alerts(stack: DemoStack) -> None:
    """A claim left by a crashed run is not re-sent; the run fails with what to check."""

    from gcnotify.aws.ledger import Ledger

    client = boto3.client("dynamodb", endpoint_url=stack.moto_url)
    ledger = Ledger(client, stack.environ["GCNOTIFY_LEDGER_TABLE"])
    claimed = datetime(2026, 11, 21, 11, tzinfo=UTC)
    ledger.claim(
        "support-daily#2026-11-20",
        owner="crashed",
        now=claimed,
        lease_until=claimed + timedelta(minutes=5),
    )
    with pytest.raises(RunFailedError) as info:
        invoke(stack, only_daily(stack))
    assert "AmbiguousSendError" in str(info.value)
    assert '"status": "unknown"' in str(info.value)
    assert [] == reports_sent(stack)
    assert 1 == len(alerts(stack))
    summary = invoke(stack, {**only_daily(stack), "force": True})
    assert "sent" == summary["reports"][0]["status"]


def test_no_activity_email_for_an_empty_day(stack: DemoStack) -> None:
    """No conversations at all: a clear No activity email for that business date."""
    stack.genesys.fail_next(AGGREGATES, 200, body={})
    summary = invoke(stack, only_daily(stack))
    assert "no_activity_sent" == summary["reports"][0]["status"]
    [message] = reports_sent(stack)
    assert "no activity" in message.text.lower()
    assert "No activity" in message.html
    assert "Fri 20 Nov 2026" in message.subject


def test_skip_on_empty(stack: DemoStack, tmp_path: Path) -> None:
    """on_empty: skip sends nothing and says so."""
    config = yaml.safe_load(Path(stack.environ["GCNOTIFY_CONFIG"]).read_text())
    config["reports"][0]["on_empty"] = "skip"
    path = tmp_path / "skip.yaml"
    path.write_text(yaml.safe_dump(config))
    stack.genesys.fail_next(AGGREGATES, 200, body={"results": []})
    summary = invoke(stack, only_daily(stack), GCNOTIFY_CONFIG=str(path))
    assert "skipped_empty" == summary["reports"][0]["status"]
    assert 0 == stack.sendgrid.count("/")


def test_holiday_is_skipped_for_yesterday_window(stack: DemoStack, tmp_path: Path) -> None:
    """A `yesterday` report on a closed day is skipped_holiday and makes no Genesys call."""
    config = yaml.safe_load(Path(stack.environ["GCNOTIFY_CONFIG"]).read_text())
    config["reports"][1]["send_on_non_business_days"] = False
    config["reports"][1]["holidays"] = {"country": "US"}
    path = tmp_path / "h.yaml"
    path.write_text(yaml.safe_dump(config))
    summary = invoke(
        stack,
        {"report_date": "2026-11-26", "reports": ["support-hourly"]},  # Thanksgiving
        GCNOTIFY_CONFIG=str(path),
    )
    assert "skipped_holiday" == summary["reports"][0]["status"]
    assert 0 == stack.genesys.count("/api")


def test_no_aws_region_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Running outside Lambda without a region names the variable to set."""
    for key in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    handler.reset_cold_start()
    with pytest.raises(SecretError, match="AWS_DEFAULT_REGION"):
        handler.handle({"dry_run": True}, environ={})
    handler.reset_cold_start()


def test_real_send_without_ledger_is_refused(stack: DemoStack) -> None:
    """Without GCNOTIFY_LEDGER_TABLE a real send could duplicate one: refused before any call."""
    with pytest.raises(RunFailedError) as info:
        invoke(stack, only_daily(stack), GCNOTIFY_LEDGER_TABLE="")
    assert "GCNOTIFY_LEDGER_TABLE is not set" in str(info.value)
    assert 0 == stack.genesys.count("/api")
    assert [] == reports_sent(stack)
    forced = invoke(stack, {**only_daily(stack), "force": True}, GCNOTIFY_LEDGER_TABLE="")
    assert "sent" == forced["reports"][0]["status"]


def test_retried_failure_alerts_once(stack: DemoStack) -> None:
    """Lambda's retry of a failed run does not mail the same alert again."""
    stack.genesys.forbid(AGGREGATES)
    for _ in range(2):
        with pytest.raises(RunFailedError):
            invoke(stack, only_daily(stack))
    assert 1 == len(alerts(stack))
    assert [] == reports_sent(stack)


def test_report_of_250_queues_over_three_lookup_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """250 queues: their 3 lookup pages go out together over real sockets; every queue is in the
    email and the total is the synthetic conversations' own count."""
    with start_stack(tmp_path, queue_count=250) as big:
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
            monkeypatch.setenv(key, big.environ[key])
        summary = invoke(big, only_daily(big))
        handler.reset_cold_start()
        daily = summary["reports"][0]
        assert ("sent", 1 + 3 + 1) == (daily["status"], daily["genesys_api_calls"])
        assert 3 == big.genesys.count(QUEUES_PATH)
        message = big.sendgrid.messages[0]
        assert all(queue.name in message.text for queue in big.genesys.queues)
        start = NY.localize(datetime(2026, 11, 20))
        expected = offered_between(big, start, NY.localize(datetime(2026, 11, 21)))
        assert f"{expected:,}" in message.text
