"""The SAM application (template.yaml), its build recipe (build.mk) and the files beside them.

Everything here is offline: cfn-lint and the SAM translator run in-process, and the build test
skips the pip step (SKIP_DEPS=1) and checks the part that is ours: layout and hash-based .pyc.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import pytz
from cfnlint.api import lint_file  # type: ignore[import-untyped]
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from samtranslator.parser.parser import Parser  # type: ignore[import-untyped]
from samtranslator.translator.translator import Translator  # type: ignore[import-untyped]
from samtranslator.yaml_helper import yaml_parse  # type: ignore[import-untyped]

from gcnotify.reports.events import parse_event

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"
TEMPLATE: dict[str, Any] = yaml_parse(TEMPLATE_PATH.read_text(encoding="utf-8"))
FUNCTION = TEMPLATE["Resources"]["ReportFunction"]["Properties"]
ENV_VARS: dict[str, Any] = FUNCTION["Environment"]["Variables"]

# The documented environment variables (docs/CONFIG.md): every one the code reads, declared so
# `sam local invoke --env-vars` can set it.
DOCUMENTED_ENV_VARS = (
    "GCNOTIFY_CONFIG",
    "GCNOTIFY_SECRET_ID",
    "GCNOTIFY_GENESYS_LOGIN_URL",
    "GCNOTIFY_GENESYS_API_URL",
    "GCNOTIFY_SENDGRID_API_URL",
    "GCNOTIFY_LEDGER_TABLE",
    "GCNOTIFY_ARTIFACT_BUCKET",
    "GCNOTIFY_DOWNLOAD_URL",
    "GCNOTIFY_MESSAGES_TABLE",
    "GCNOTIFY_SUPPRESSION_TABLE",
    "GCNOTIFY_OUTBOX_QUEUE_URL",
    "GCNOTIFY_OUTBOX_MAX_RECEIVES",
    "AWS_ENDPOINT_URL",
)
# What only the notification pipeline reads; the report function is not told these.
MESSAGING_ENV_VARS = (
    "GCNOTIFY_MESSAGES_TABLE",
    "GCNOTIFY_SUPPRESSION_TABLE",
    "GCNOTIFY_OUTBOX_QUEUE_URL",
    "GCNOTIFY_OUTBOX_MAX_RECEIVES",
)
# The notification functions, and the set of variables each of them declares (with the values
# the stack gives them).
NOTIFICATION_FUNCTIONS = (
    "IntakeFunction",
    "DataActionFunction",
    "SenderFunction",
    "DncSyncFunction",
    "CampaignFunction",
    "SendGridWebhookFunction",
    "ReceiptsPollFunction",
)
NOTIFICATION_ENV_VARS: dict[str, Any] = {
    "GCNOTIFY_CONFIG": "",
    "GCNOTIFY_SECRET_ID": {"Ref": "SecretName"},
    "GCNOTIFY_GENESYS_LOGIN_URL": "",
    "GCNOTIFY_GENESYS_API_URL": "",
    "GCNOTIFY_SENDGRID_API_URL": "",
    "GCNOTIFY_LEDGER_TABLE": {"Ref": "LedgerTable"},
    "GCNOTIFY_MESSAGES_TABLE": {"Ref": "MessagesTable"},
    "GCNOTIFY_SUPPRESSION_TABLE": {"Ref": "SuppressionTable"},
    "GCNOTIFY_OUTBOX_QUEUE_URL": {"Ref": "OutboxQueue"},
    "GCNOTIFY_OUTBOX_MAX_RECEIVES": {"Ref": "MaxReceiveCount"},
    "AWS_ENDPOINT_URL": "",
}
ALL_FUNCTIONS = ("ReportFunction", "DownloadFunction", *NOTIFICATION_FUNCTIONS)
# The handler each function names: the notification handlers' module names are agreed with
# the code that implements them.
HANDLERS = {
    "ReportFunction": "gcnotify.handlers.report.lambda_handler",
    "DownloadFunction": "gcnotify.handlers.download.lambda_handler",
    "IntakeFunction": "gcnotify.handlers.intake.lambda_handler",
    "DataActionFunction": "gcnotify.handlers.data_action.lambda_handler",
    "SenderFunction": "gcnotify.handlers.sender.lambda_handler",
    "DncSyncFunction": "gcnotify.handlers.dnc_sync.lambda_handler",
    "CampaignFunction": "gcnotify.handlers.campaign.lambda_handler",
    "SendGridWebhookFunction": "gcnotify.handlers.sendgrid_webhook.lambda_handler",
    "ReceiptsPollFunction": "gcnotify.handlers.receipts_poll.lambda_handler",
}


def declared_env(function: str) -> dict[str, Any]:
    """The environment variables ``function`` declares in template.yaml."""
    variables: dict[str, Any] = TEMPLATE["Resources"][function]["Properties"]["Environment"][
        "Variables"
    ]
    return variables


PYC_CHECKED_HASH = 0b11  # PEP 552 flags: bit 0 hash-based, bit 1 check_source


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    """The template as CloudFormation sees it after `sam package` (S3 code) and the transform."""
    sam = yaml_parse(TEMPLATE_PATH.read_text(encoding="utf-8"))
    for function in resources_of_type(sam, "AWS::Serverless::Function").values():
        function["Properties"]["CodeUri"] = "s3://gcnotify-artifacts/r.zip"
    # The session only supplies the region for pseudo parameters; no AWS call is made. The
    # template names no managed policy by name, so the IAM policy map can stay empty.
    translator = Translator(
        None, Parser(), boto_session=boto3.session.Session(region_name="us-east-1")
    )
    result: dict[str, Any] = translator.translate(
        sam, parameter_values={}, get_managed_policy_map=dict
    )
    return result


def resources_of_type(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_}


def inline_statements(
    template: dict[str, Any], role: str | None = None
) -> Iterator[dict[str, Any]]:
    """Every inline policy statement, or only those of the role ``role`` (a logical id)."""
    for name, resource in resources_of_type(template, "AWS::IAM::Role").items():
        if role is None or name == role:
            for policy in resource["Properties"].get("Policies", []):
                yield from policy["PolicyDocument"]["Statement"]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- EventBridge Scheduler cron (six fields, one of the day fields is '?') -----------------------

_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}
_DAYS = {d: i for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)}
# name, lowest, highest, names usable instead of numbers
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minutes", 0, 59, {}),
    ("hours", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 1, 7, _DAYS),
    ("year", 1970, 2199, {}),
)


def _value_ok(token: str, low: int, high: int, names: dict[str, int]) -> bool:
    number = names.get(token.upper())
    if number is None:
        if not token.isdigit():
            return False
        number = int(token)
    return low <= number <= high


def _item_ok(item: str, field: str, low: int, high: int, names: dict[str, int]) -> bool:
    if field == "day-of-month" and (item in ("L", "LW") or re.fullmatch(r"\d{1,2}W", item)):
        return item[0] == "L" or _value_ok(item[:-1], low, high, names)
    if field == "day-of-week":
        if item == "L":
            return True
        if m := re.fullmatch(r"(\w+)#([1-5])", item):
            return _value_ok(m[1], low, high, names)
        if re.fullmatch(r"\w+L", item):
            return _value_ok(item[:-1], low, high, names)
    base, _, step = item.partition("/")
    if step and not (step.isdigit() and int(step) > 0):
        return False
    if base == "*":
        return True
    start, _, end = base.partition("-")
    return _value_ok(start, low, high, names) and (not end or _value_ok(end, low, high, names))


def cron_problem(expression: str) -> str | None:
    """Why an expression is not a valid EventBridge Scheduler cron, or None when it is."""
    m = re.fullmatch(r"cron\((.*)\)", expression)
    if not m:
        return "not of the form cron(...)"
    fields = m[1].split()
    if len(fields) != 6:
        return f"{len(fields)} fields, cron() needs 6"
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        return "exactly one of day-of-month and day-of-week must be '?'"
    for value, (name, low, high, names) in zip(fields, _FIELDS, strict=True):
        if value == "?" and name in ("day-of-month", "day-of-week"):
            continue
        bad = [i for i in value.split(",") if not _item_ok(i, name, low, high, names)]
        if bad:
            return f"{name} {value!r} is invalid"
    return None


# --- lint and transform -------------------------------------------------------------------------


def test_cfn_lint_finds_no_errors_or_warnings() -> None:
    """cfn-lint reports nothing above informational on template.yaml."""
    matches = lint_file(TEMPLATE_PATH)
    problems = [
        f"{m.rule.id} {m.message}" for m in matches if m.rule.severity in ("error", "warning")
    ]
    assert [] == problems


def test_transformed_template_passes_cfn_lint(translated: dict[str, Any], tmp_path: Path) -> None:
    """The CloudFormation the SAM transform produces (roles, schedule, invoke config) is clean."""
    path = tmp_path / "transformed.json"
    path.write_text(json.dumps(translated), encoding="utf-8")
    problems = [
        f"{m.rule.id} {m.message}"
        for m in lint_file(path)
        if m.rule.severity in ("error", "warning")
    ]
    assert [] == problems


def test_transform_creates_timezone_aware_schedule(translated: dict[str, Any]) -> None:
    """The transform yields the report's Scheduler schedule in the configured zone, fed
    scheduled-time, besides the DNC sync's, the daily campaigns' and the receipts poller's."""
    schedules = resources_of_type(translated, "AWS::Scheduler::Schedule")
    assert [
        "CampaignFunctionDaily",
        "DncSyncFunctionHourly",
        "ReceiptsPollFunctionPoll",
        "ReportFunctionNightly",
    ] == sorted(schedules)
    props = schedules["ReportFunctionNightly"]["Properties"]
    assert {"Ref": "ScheduleTimezone"} == props["ScheduleExpressionTimezone"]
    assert {"Ref": "ScheduleExpression"} == props["ScheduleExpression"]
    assert {"Ref": "ScheduleState"} == props["State"]
    assert "<aws.scheduler.scheduled-time>" in props["Target"]["Input"]
    assert "Name" not in props  # OmitName: the stack can be deployed twice in one account


def test_schedule_input_once_filled_in_is_a_valid_event(translated: dict[str, Any]) -> None:
    """What Scheduler delivers (placeholders filled in) is accepted by the handler's parser."""
    schedule = resources_of_type(translated, "AWS::Scheduler::Schedule")["ReportFunctionNightly"]
    delivered = (
        schedule["Properties"]["Target"]["Input"]
        .replace("<aws.scheduler.scheduled-time>", "2026-11-23T11:00:00Z")
        .replace("<aws.scheduler.execution-id>", "7c1e5b0e-2f4a-4d8b-9a6e-3b5f0c9d2e41")
    )
    request = parse_event(json.loads(delivered), ["support-daily"])
    assert "7c1e5b0e-2f4a-4d8b-9a6e-3b5f0c9d2e41" == request.execution_id
    assert request.scheduled_time is not None


def test_sample_scheduled_event_has_the_scheduler_input_keys() -> None:
    """events/scheduled.json carries exactly the keys of the template's schedule Input."""
    event_input = json.loads(FUNCTION["Events"]["Nightly"]["Properties"]["Input"])
    sample = json.loads((ROOT / "events" / "scheduled.json").read_text(encoding="utf-8"))
    assert sorted(event_input) == sorted(sample)


# --- function ---------------------------------------------------------------------------------


def test_every_function_names_its_agreed_handler() -> None:
    """The template's functions are exactly these seven, each with the handler its code provides."""
    functions = resources_of_type(TEMPLATE, "AWS::Serverless::Function")
    assert HANDLERS == {name: f["Properties"]["Handler"] for name, f in functions.items()}


@pytest.mark.parametrize("name", ALL_FUNCTIONS)
def test_handler_path_names_a_lambda_handler_function(name: str) -> None:
    """Each function's Handler (gcnotify.handlers.<module>.lambda_handler) names a def there."""
    handler = TEMPLATE["Resources"][name]["Properties"]["Handler"]
    module, _, function = handler.rpartition(".")
    source = ROOT / "src" / Path(*module.split(".")).with_suffix(".py")
    if name in NOTIFICATION_FUNCTIONS and not source.exists():
        pytest.skip(f"{source.name} is not written yet")
    assert source.is_file()
    assert re.search(rf"^def {function}\(", source.read_text(encoding="utf-8"), re.MULTILINE)


def test_report_function_declares_every_documented_variable_but_messaging() -> None:
    """Each documented variable the report code reads is in its environment (else sam local
    ignores it); the notification pipeline's own are not, but for the two tables reports read
    (delivery summaries count messages; suppressed recipients are left out)."""
    tables = {"GCNOTIFY_MESSAGES_TABLE", "GCNOTIFY_SUPPRESSION_TABLE"}
    report = [n for n in DOCUMENTED_ENV_VARS if n not in MESSAGING_ENV_VARS or n in tables]
    assert report == [name for name in DOCUMENTED_ENV_VARS if name in ENV_VARS]


@pytest.mark.parametrize("name", NOTIFICATION_FUNCTIONS)
def test_notification_function_declares_the_shared_variables(name: str) -> None:
    """Every notification function declares the same set: the stack's tables, queue and secret,
    and the endpoint overrides left empty."""
    assert NOTIFICATION_ENV_VARS == declared_env(name)


def test_every_documented_environment_variable_is_declared() -> None:
    """Each documented variable is declared by the report function or the notification ones."""
    declared = set(ENV_VARS) | set(NOTIFICATION_ENV_VARS)
    assert [] == [name for name in DOCUMENTED_ENV_VARS if name not in declared]


def test_every_variable_settings_reads_is_declared() -> None:
    """A variable the code reads but the template omits could never be set by sam local."""
    source = (ROOT / "src" / "gcnotify" / "runtime" / "settings.py").read_text(encoding="utf-8")
    read = set(re.findall(r"\"((?:GCNOTIFY|AWS)_[A-Z_]+)\"", source))
    assert read  # the pattern still finds the names
    declared = {v for name in ALL_FUNCTIONS for v in declared_env(name)}
    assert [] == sorted(read - declared)


def test_every_table_and_queue_variable_the_seams_name_is_declared() -> None:
    """Each aws/ seam's env_var (the variable naming its table or queue) is one the notification
    functions declare."""
    source = "".join(
        p.read_text(encoding="utf-8")
        for p in sorted((ROOT / "src" / "gcnotify" / "aws").glob("*.py"))
    )
    named = set(re.findall(r"env_var(?:: ClassVar\[str\])? = \"([A-Z_]+)\"", source))
    assert {
        "GCNOTIFY_LEDGER_TABLE",
        "GCNOTIFY_MESSAGES_TABLE",
        "GCNOTIFY_SUPPRESSION_TABLE",
    } <= named
    assert [] == sorted(named - set(NOTIFICATION_ENV_VARS))


def test_env_json_sets_only_declared_variables() -> None:
    """env.json names only variables the template declares (sam local drops the others silently)."""
    env = json.loads((ROOT / "env.json").read_text(encoding="utf-8"))
    assert ["ReportFunction"] == list(env)
    assert [] == sorted(set(env["ReportFunction"]) - set(ENV_VARS))


def test_build_arch_matches_template_architecture() -> None:
    """build.mk downloads wheels for the architecture the function runs on."""
    recipe = (ROOT / "build.mk").read_text(encoding="utf-8")
    default_arch = re.search(r"^LAMBDA_ARCH \?= (\S+)$", recipe, re.MULTILINE)
    assert default_arch is not None
    assert FUNCTION["Architectures"] == [default_arch[1]]


# --- schedule parameters ----------------------------------------------------------------------


def test_default_schedule_is_valid_eventbridge_cron() -> None:
    """The ScheduleExpression default is a six-field EventBridge cron with one '?' day field."""
    parameter = TEMPLATE["Parameters"]["ScheduleExpression"]
    assert cron_problem(parameter["Default"]) is None
    assert re.fullmatch(parameter["AllowedPattern"], parameter["Default"])


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 6 * * *)",  # Unix cron: five fields
        "cron(0 6 * * * *)",  # no '?' day field
        "cron(0 6 ? * ? *)",  # both day fields '?'
        "cron(0 24 * * ? *)",  # hour out of range
        "cron(0 6 * * MON *)",  # day-of-week with day-of-month '*'
        "cron(0 6 ? * FUN *)",  # not a weekday name
    ],
)
def test_cron_check_rejects_invalid_expressions(expression: str) -> None:
    """The cron check used above rejects what Scheduler would reject."""
    assert cron_problem(expression) is not None


def test_weekday_cron_is_accepted() -> None:
    """A weekday-only schedule with named days is valid EventBridge cron."""
    assert cron_problem("cron(30 5 ? * MON-FRI *)") is None


def test_default_schedule_timezone_is_iana() -> None:
    """The ScheduleTimezone default is a zone pytz (and Scheduler) knows."""
    zone = TEMPLATE["Parameters"]["ScheduleTimezone"]["Default"]
    assert zone == pytz.timezone(zone).zone


# --- permissions and failure handling ---------------------------------------------------------


@pytest.mark.parametrize("role", ["ReportFunctionRole", "DownloadFunctionRole"])
def test_secret_access_is_scoped_to_the_one_secret(translated: dict[str, Any], role: str) -> None:
    """Each function may GetSecretValue on the SecretName ARN only, never on '*'."""
    statements = [
        s
        for s in inline_statements(translated, role)
        if any(str(a).startswith("secretsmanager:") for a in as_list(s["Action"]))
    ]
    assert 1 == len(statements)
    (statement,) = statements
    assert ["secretsmanager:GetSecretValue"] == as_list(statement["Action"])
    resource = statement["Resource"]
    assert isinstance(resource, dict)
    assert resource["Fn::Sub"].endswith(":secret:${SecretName}-??????")


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


# The one '*' allowed: the objects of the stack's own artifact bucket (S3 object ARNs name keys
# only by pattern), never a bucket or a service.
ARTIFACT_OBJECTS = {"Fn::Sub": "${ArtifactBucket.Arn}/*"}


def test_no_inline_statement_grants_a_wildcard(translated: dict[str, Any]) -> None:
    """No inline policy has a resource or action ending in '*' (all secrets, all of a service),
    but the artifact bucket's objects."""
    offending = [
        s
        for s in inline_statements(translated)
        if any(
            text.endswith("*")
            for text in strings_in(
                [[r for r in as_list(s["Resource"]) if r != ARTIFACT_OBJECTS], s["Action"]]
            )
        )
    ]
    assert [] == offending


def test_ledger_policy_covers_exactly_the_calls_the_ledger_makes(
    translated: dict[str, Any],
) -> None:
    """The DynamoDB actions granted are the ones the ledger (and its DynamoTable base) calls, on
    the ledger table only."""
    aws = ROOT / "src" / "gcnotify" / "aws"
    ledger_source = (aws / "ledger.py").read_text(encoding="utf-8")
    calls = set(re.findall(r"_client\.([a-z_]+)\(", ledger_source))
    # The base's methods each make their own calls: those of the ones the ledger uses count,
    # with the base methods they use in turn.
    base = (aws / "dynamodb.py").read_text(encoding="utf-8")
    bodies = dict(re.findall(r"\n    def (_[a-z_]+)\((.*?)(?=\n    def |\Z)", base, re.S))
    used = {name for name in bodies if f"self.{name}(" in ledger_source}
    while grown := {n for n in bodies for u in used if f"self.{n}(" in bodies[u]} - used:
        used |= grown
    for name in used:
        calls |= set(re.findall(r"_client\.([a-z_]+)\(", bodies[name]))
    assert calls
    needed = {"dynamodb:" + "".join(p.title() for p in call.split("_")) for call in calls}
    ledger = {"Fn::GetAtt": ["LedgerTable", "Arn"]}
    statements = [
        s
        for s in inline_statements(translated, "ReportFunctionRole")
        if any(str(a).startswith("dynamodb:") for a in as_list(s["Action"]))
        and ledger == s["Resource"]
    ]
    assert sorted(needed) == sorted(a for s in statements for a in as_list(s["Action"]))
    assert all({"Fn::GetAtt": ["LedgerTable", "Arn"]} == s["Resource"] for s in statements)


def test_both_retry_layers_end_in_the_failure_queue(translated: dict[str, Any]) -> None:
    """Scheduler's dead letters and Lambda's OnFailure records both land in FailureQueue."""
    queue_arn = {"Fn::GetAtt": ["FailureQueue", "Arn"]}
    schedule = resources_of_type(translated, "AWS::Scheduler::Schedule")["ReportFunctionNightly"]
    target = schedule["Properties"]["Target"]
    assert queue_arn == target["DeadLetterConfig"]["Arn"]
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    invoke = resources_of_type(translated, "AWS::Lambda::EventInvokeConfig")[
        "ReportFunctionEventInvokeConfig"
    ]
    assert queue_arn == invoke["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]


REPORT_ALARMS = ("FunctionErrorsAlarm", "FailureQueueAlarm", "HeartbeatAlarm")


def test_alarms_watch_errors_failures_and_silence() -> None:
    """Errors, a non-empty failure queue and a day without invocations each page the topic."""
    alarms = [TEMPLATE["Resources"][name] for name in REPORT_ALARMS]
    watched = {a["Properties"]["MetricName"]: a["Properties"] for a in alarms}
    assert {"Errors", "ApproximateNumberOfMessagesVisible", "Invocations"} == set(watched)
    assert all([{"Ref": "AlarmTopic"}] == p["AlarmActions"] for p in watched.values())
    heartbeat = watched["Invocations"]
    assert ({"Ref": "HeartbeatPeriodSeconds"}, "breaching", "LessThanThreshold") == (
        heartbeat["Period"],
        heartbeat["TreatMissingData"],
        heartbeat["ComparisonOperator"],
    )


def test_default_heartbeat_outlasts_the_default_schedule_interval() -> None:
    """Every 15 minutes by default; the heartbeat waits an hour before it pages anyone."""
    parameters = TEMPLATE["Parameters"]
    assert ("cron(0/15 * * * ? *)", 3600) == (
        parameters["ScheduleExpression"]["Default"],
        parameters["HeartbeatPeriodSeconds"]["Default"],
    )


def test_ledger_table_matches_the_ledger_key_and_ttl() -> None:
    """The table's single key is pk and TTL reads expires_at, as ledger.py writes them."""
    table = TEMPLATE["Resources"]["LedgerTable"]["Properties"]
    assert [{"AttributeName": "pk", "KeyType": "HASH"}] == table["KeySchema"]
    assert {"AttributeName": "expires_at", "Enabled": True} == table["TimeToLiveSpecification"]
    source = (ROOT / "src" / "gcnotify" / "aws" / "ledger.py").read_text(encoding="utf-8")
    assert "expires_at" in source


# --- artifact bucket and download function -----------------------------------------------------

BUCKET = TEMPLATE["Resources"]["ArtifactBucket"]["Properties"]
DOWNLOAD = TEMPLATE["Resources"]["DownloadFunction"]


def s3_actions(translated: dict[str, Any], role: str) -> list[tuple[str, Any]]:
    return [
        (action, s["Resource"])
        for s in inline_statements(translated, role)
        for action in as_list(s["Action"])
        if str(action).startswith("s3:")
    ]


def test_artifact_bucket_encrypts_with_sse_s3() -> None:
    """Every object is encrypted at rest with S3-managed keys (AES256) by default."""
    (rule,) = BUCKET["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert {"SSEAlgorithm": "AES256"} == rule["ServerSideEncryptionByDefault"]


def test_artifact_bucket_blocks_all_public_access() -> None:
    """No ACL or bucket policy can make a file public: downloads go through signed links."""
    assert {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    } == BUCKET["PublicAccessBlockConfiguration"]


def test_artifact_bucket_disables_acls() -> None:
    """BucketOwnerEnforced: the bucket owns every object and ACLs play no part."""
    assert [{"ObjectOwnership": "BucketOwnerEnforced"}] == BUCKET["OwnershipControls"]["Rules"]


def test_artifact_bucket_expires_objects_after_a_week() -> None:
    """One enabled lifecycle rule expires every object after 7 days."""
    (rule,) = BUCKET["LifecycleConfiguration"]["Rules"]
    assert ("Enabled", 7) == (rule["Status"], rule["ExpirationInDays"])
    assert "Prefix" not in rule  # the whole bucket
    assert "Filter" not in rule


def test_artifact_bucket_refuses_plain_http() -> None:
    """The bucket policy denies every request not made over TLS."""
    policy = TEMPLATE["Resources"]["ArtifactBucketPolicy"]["Properties"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert ("Deny", "s3:*") == (statement["Effect"], statement["Action"])
    assert {"Bool": {"aws:SecureTransport": False}} == statement["Condition"]
    assert {"Ref": "ArtifactBucket"} == policy["Bucket"]


def test_report_function_may_only_put_artifact_objects(translated: dict[str, Any]) -> None:
    """The report function may PutObject into the artifact bucket and nothing else in S3."""
    assert [("s3:PutObject", ARTIFACT_OBJECTS)] == s3_actions(translated, "ReportFunctionRole")


def test_download_function_may_only_get_artifact_objects(translated: dict[str, Any]) -> None:
    """The download function's presigned URLs may GetObject from the artifact bucket only."""
    assert [("s3:GetObject", ARTIFACT_OBJECTS)] == s3_actions(translated, "DownloadFunctionRole")


def test_download_function_grants_nothing_else(translated: dict[str, Any]) -> None:
    """The download role reads the one secret and the bucket's objects, and does nothing more."""
    actions = sorted(
        a
        for s in inline_statements(translated, "DownloadFunctionRole")
        for a in as_list(s["Action"])
    )
    assert ["s3:GetObject", "secretsmanager:GetSecretValue"] == actions


def test_storage_calls_are_the_granted_actions() -> None:
    """storage.py makes exactly the two calls the roles grant: PutObject and a GetObject presign."""
    source = (ROOT / "src" / "gcnotify" / "aws" / "storage.py").read_text(encoding="utf-8")
    calls = set(re.findall(r"self\._client\.([a-z_]+)\(", source))
    assert {"put_object", "generate_presigned_url"} == calls
    assert '"get_object"' in source


def test_report_function_is_told_the_bucket_and_the_download_url() -> None:
    """The report function gets the stack's bucket and the download function's URL."""
    assert {"Ref": "ArtifactBucket"} == ENV_VARS["GCNOTIFY_ARTIFACT_BUCKET"]
    assert {"Fn::GetAtt": ["DownloadFunctionUrl", "FunctionUrl"]} == ENV_VARS[
        "GCNOTIFY_DOWNLOAD_URL"
    ]


def test_download_function_declares_what_its_handler_reads() -> None:
    """The download function's environment names the secret, the bucket and the endpoint."""
    variables = DOWNLOAD["Properties"]["Environment"]["Variables"]
    assert {
        "GCNOTIFY_SECRET_ID": {"Ref": "SecretName"},
        "GCNOTIFY_ARTIFACT_BUCKET": {"Ref": "ArtifactBucket"},
        "AWS_ENDPOINT_URL": "",
    } == variables


def test_download_function_url_is_public(translated: dict[str, Any]) -> None:
    """AuthType NONE (the token is the authorisation), invocable through the URL only."""
    url = resources_of_type(translated, "AWS::Lambda::Url")["DownloadFunctionUrl"]
    assert "NONE" == url["Properties"]["AuthType"]
    assert {"Ref": "DownloadFunction"} == url["Properties"]["TargetFunctionArn"]
    permissions = [
        p["Properties"]
        for p in resources_of_type(translated, "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Ref": "DownloadFunction"}
    ]
    assert {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"} == {
        p["Action"] for p in permissions
    }
    assert all(
        p.get("FunctionUrlAuthType") == "NONE" or p.get("InvokedViaFunctionUrl") is True
        for p in permissions
    )


@pytest.mark.parametrize("key", ["CodeUri", "Runtime", "Architectures"])
def test_download_function_runs_from_the_report_artifact(key: str) -> None:
    """Same code, runtime and architecture as ReportFunction: one artifact for both."""
    assert FUNCTION[key] == DOWNLOAD["Properties"][key]


@pytest.fixture(scope="module")
def recipes() -> dict[str, str]:
    """The commands `make build-<function>` would run (make -n), for every function."""
    return {
        name: subprocess.run(
            [
                "make",
                "-n",
                "-f",
                "build.mk",
                f"build-{name}",
                "ARTIFACTS_DIR=/tmp/gcnotify-artifact",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for name in ALL_FUNCTIONS
    }


def test_download_function_is_built_by_the_same_recipe(recipes: dict[str, str]) -> None:
    """build-DownloadFunction runs exactly the commands of build-ReportFunction."""
    assert {"BuildMethod": "makefile"} == DOWNLOAD["Metadata"]
    assert recipes["ReportFunction"] == recipes["DownloadFunction"]
    assert "cp -R src/gcnotify" in recipes["DownloadFunction"]


def test_outputs_name_the_download_url_and_the_bucket() -> None:
    """The stack outputs the function URL and the bucket, for people and for other stacks."""
    outputs = TEMPLATE["Outputs"]
    assert {"Fn::GetAtt": ["DownloadFunctionUrl", "FunctionUrl"]} == outputs["DownloadUrl"]["Value"]
    assert {"Ref": "ArtifactBucket"} == outputs["ArtifactBucketName"]["Value"]


# --- build recipe, dependencies, SAM CLI config ----------------------------------------------


def test_lambda_requirements_pin_every_runtime_dependency_in_range() -> None:
    """requirements-lambda.txt pins (==) each pyproject dependency inside its declared range."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins: dict[str, str] = {}
    for raw in (ROOT / "requirements-lambda.txt").read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert "==" == sep, line
            pins[canonicalize_name(name)] = version
    problems = []
    for dependency in project["dependencies"]:
        requirement = Requirement(dependency)
        pinned = pins.get(canonicalize_name(requirement.name))
        if pinned is None or not requirement.specifier.contains(pinned):
            problems.append(f"{requirement} (pinned: {pinned})")
    assert [] == problems


def test_samconfig_deploys_with_iam_capability() -> None:
    """samconfig.toml parses and lets `sam deploy` create the unnamed IAM roles."""
    config = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    deploy = config["default"]["deploy"]["parameters"]
    assert "CAPABILITY_IAM" in deploy["capabilities"].split()
    assert "gcnotify" == config["default"]["global"]["parameters"]["stack_name"]


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Lambda artifact as `sam build` assembles it, minus the pip step."""
    out = tmp_path_factory.mktemp("artifact")
    command = ["make", "-s", "-f", "build.mk", "build-ReportFunction", f"ARTIFACTS_DIR={out}"]
    command.append("SKIP_DEPS=1")
    if sys.version_info[:2] == (3, 12):
        command.append(f"LAMBDA_PYTHON={sys.executable}")
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if "no Python 3.12 found" in result.stderr:
        pytest.skip("building the Lambda artifact needs a Python 3.12 interpreter")
    assert 0 == result.returncode, result.stderr
    return out


def test_artifact_holds_package_templates_and_config_at_root(artifact: Path) -> None:
    """The package, templates/ and gcnotify.yaml sit at the artifact root; devserver/ does not."""
    assert (artifact / "gcnotify" / "handlers" / "report.py").is_file()
    assert (artifact / "gcnotify.yaml").read_bytes() == (ROOT / "gcnotify.yaml").read_bytes()
    shipped = sorted(p.name for p in (artifact / "templates").iterdir())
    assert sorted(p.name for p in (ROOT / "templates").iterdir()) == shipped
    assert not (artifact / "gcnotify" / "devserver").exists()


def test_artifact_bytecode_is_checked_hash_for_python_312(artifact: Path) -> None:
    """Every module has a cpython-312 .pyc whose PEP 552 flags say checked-hash."""
    sources = sorted((artifact / "gcnotify").rglob("*.py"))
    assert sources
    flags = {}
    for source in sources:
        pyc = source.parent / "__pycache__" / f"{source.stem}.cpython-312.pyc"
        flags[source.name] = (
            int.from_bytes(pyc.read_bytes()[4:8], "little") if pyc.is_file() else None
        )
    assert {name: PYC_CHECKED_HASH for name in flags} == flags


def test_artifact_runtime_modules_import_without_devserver(artifact: Path, tmp_path: Path) -> None:
    """From the artifact, every runtime module imports, finds its files (templates precompiled,
    the config's holidays precomputed: `holidays` is never imported) and leaves devserver out."""
    modules = sorted(
        ".".join(p.relative_to(artifact / "gcnotify").with_suffix("").parts)
        for p in (artifact / "gcnotify").rglob("*.py")
        # demo is the one module that uses devserver; __main__ runs the CLI on import.
        if p.stem not in ("__init__", "__main__", "demo")
    )
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module('gcnotify.' + name)\n"
        "from gcnotify.reports import render\n"
        "from gcnotify.runtime import resources\n"
        "templates = resources.templates_dir()\n"
        "renderer = render.Renderer(templates, resources.compiled_templates_dir(templates))\n"
        "from datetime import date\n"
        "from gcnotify.core.calendar import closed_days\n"
        "from gcnotify.core.config import load_config\n"
        "table = resources.precomputed_holidays()\n"
        "config = load_config(resources.default_config_path(), holidays=table)\n"
        "closed = [closed_days(r.holidays, table)(date.today()) for r in config.reports]\n"
        "print(json.dumps({'package': sys.modules['gcnotify'].__file__,\n"
        "    'templates': str(templates),\n"
        "    'precompiled': renderer.precompiled,\n"
        "    'holidays imported': 'holidays' in sys.modules,\n"
        "    'config': str(resources.default_config_path()),\n"
        "    'devserver': any(m.startswith('gcnotify.devserver') for m in sys.modules)}))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(artifact),
        "LAMBDA_TASK_ROOT": str(artifact),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert 0 == result.returncode, result.stderr
    assert {
        "package": str(artifact / "gcnotify" / "__init__.py"),
        "templates": str(artifact / "templates"),
        "precompiled": True,
        "holidays imported": False,
        "config": str(artifact / "gcnotify.yaml"),
        "devserver": False,
    } == json.loads(result.stdout)


def test_build_keeps_botocore_data_for_every_client_the_code_creates() -> None:
    """build.mk strips botocore's service models; every aws_client("x") in src/ must be kept."""
    import re

    kept_line = next(
        line
        for line in (ROOT / "build.mk").read_text().splitlines()
        if line.startswith("BOTOCORE_SERVICES")
    )
    kept = set(kept_line.split(":=", 1)[1].split())
    used = set()
    for path in (ROOT / "src" / "gcnotify").rglob("*.py"):
        if "devserver" in path.parts:
            continue
        used |= set(re.findall(r"""aws_client\(\s*["']([a-z0-9-]+)["']""", path.read_text()))
        used |= set(re.findall(r"""\.client\(\s*["']([a-z0-9-]+)["']""", path.read_text()))
    assert {"secretsmanager", "dynamodb"} <= used  # the scan finds the real calls
    assert used <= kept, f"build.mk BOTOCORE_SERVICES lacks {sorted(used - kept)}"


def test_trim_botocore_keeps_endpoint_resolution_of_the_kept_services(tmp_path: Path) -> None:
    """scripts/trim_botocore.py: other services' models and endpoints go; for the kept ones
    every partition and region resolves exactly as with botocore's full endpoints.json."""
    import botocore
    from botocore.regions import EndpointResolver

    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from trim_botocore import trim
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    source = Path(botocore.__file__).parent / "data"
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(source / "endpoints.json", data / "endpoints.json")
    kept = {"secretsmanager", "dynamodb", "sts"}
    for name in (*kept, "s3", "ec2"):
        (data / name).mkdir()
    with pytest.raises(SystemExit, match="no model for lambda"):
        trim(data, {*kept, "lambda"})

    folders, entries = trim(data, kept)

    assert kept == {p.name for p in data.iterdir() if p.is_dir()}
    assert 2 == folders
    assert entries > 300  # every other service of every partition
    full = json.loads((source / "endpoints.json").read_text())
    trimmed = json.loads((data / "endpoints.json").read_text())
    assert (data / "endpoints.json").stat().st_size < 100_000
    before, after = EndpointResolver(full), EndpointResolver(trimmed)
    checked = 0
    for partition in full["partitions"]:
        for region in partition["regions"]:
            for service in sorted(kept):
                for fips in (False, True):
                    assert before.construct_endpoint(
                        service, region, use_fips_endpoint=fips
                    ) == after.construct_endpoint(service, region, use_fips_endpoint=fips)
                    checked += 1
    assert checked > 100


# --- notifications: queues, event sources, URLs, tables, permissions, alarms -------------------

RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
PARAMETERS: dict[str, Any] = TEMPLATE["Parameters"]
# Each SQS event source: its queue, the function it feeds and the queue's dead-letter queue.
CONSUMERS = {
    "IntakeQueueEventSource": ("IntakeQueue", "IntakeFunction", "IntakeDeadLetterQueue"),
    "OutboxQueueEventSource": ("OutboxQueue", "SenderFunction", "OutboxDeadLetterQueue"),
}
QUEUES = ("IntakeQueue", "IntakeDeadLetterQueue", "OutboxQueue", "OutboxDeadLetterQueue")


def properties(name: str) -> dict[str, Any]:
    props: dict[str, Any] = RESOURCES[name]["Properties"]
    return props


def resource_name(resource: Any) -> str:
    """A statement's resource as a short name: ``Table`` for its ARN, ``Table/index/x`` for an
    index; anything else as it is written."""
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        name, attribute = resource["Fn::GetAtt"]
        assert "Arn" == attribute
        return str(name)
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        sub = resource["Fn::Sub"]
        if m := re.fullmatch(r"\$\{(\w+)\.Arn\}(/.+)", sub):
            return m[1] + m[2]
        return str(sub)
    return str(resource)


def grants(translated: dict[str, Any], role: str, service: str) -> set[tuple[str, str]]:
    """Every (action, resource) pair of ``service`` the inline policies of ``role`` allow."""
    pairs = set()
    for statement in inline_statements(translated, role):
        assert "Allow" == statement["Effect"]
        for action in as_list(statement["Action"]):
            if str(action).startswith(service + ":"):
                pairs |= {(action, resource_name(r)) for r in as_list(statement["Resource"])}
    return pairs


def pairs(actions: str, *resources: str) -> set[tuple[str, str]]:
    return {(a, r) for a in actions.split() for r in resources}


def test_every_function_runs_from_the_one_artifact() -> None:
    """Same code, runtime, architecture and makefile build for every function."""
    shared = {key: FUNCTION[key] for key in ("CodeUri", "Runtime", "Architectures")}
    for name in ALL_FUNCTIONS:
        function = RESOURCES[name]
        assert {"BuildMethod": "makefile"} == function["Metadata"], name
        assert shared == {key: function["Properties"][key] for key in shared}, name


@pytest.mark.parametrize("name", NOTIFICATION_FUNCTIONS)
def test_notification_function_is_built_by_the_report_recipe(
    recipes: dict[str, str], name: str
) -> None:
    """build.mk has a build-<function> target for each, running the report's exact commands."""
    assert recipes["ReportFunction"] == recipes[name]


def test_artifact_keeps_botocore_data_for_every_service_a_role_grants(
    translated: dict[str, Any],
) -> None:
    """A function allowed to call a service needs that service's botocore model in the artifact
    (build.mk trims the others away)."""
    kept_line = next(
        line
        for line in (ROOT / "build.mk").read_text(encoding="utf-8").splitlines()
        if line.startswith("BOTOCORE_SERVICES")
    )
    kept = set(kept_line.split(":=", 1)[1].split())
    granted = {
        str(action).split(":")[0]
        for name in ALL_FUNCTIONS
        for statement in inline_statements(translated, f"{name}Role")
        for action in as_list(statement["Action"])
    }
    assert {"sqs", "dynamodb", "secretsmanager", "s3"} <= granted
    assert [] == sorted(granted - kept)


@pytest.mark.parametrize("name", ALL_FUNCTIONS)
def test_every_function_logs_to_its_own_log_group_kept_90_days(name: str) -> None:
    """JSON logs to a log group of the stack, named for the function, with a retention."""
    logging = properties(name)["LoggingConfig"]
    assert "JSON" == logging["LogFormat"]
    group = properties(logging["LogGroup"]["Ref"])
    assert 90 == group["RetentionInDays"]
    assert group["LogGroupName"]["Fn::Sub"].startswith("/aws/lambda/${AWS::StackName}-")


def test_log_group_names_are_distinct() -> None:
    """No two functions write into one log group."""
    groups = [properties(n)["LoggingConfig"]["LogGroup"]["Ref"] for n in ALL_FUNCTIONS]
    names = [properties(g)["LogGroupName"]["Fn::Sub"] for g in groups]
    assert len(ALL_FUNCTIONS) == len(set(groups)) == len(set(names))


def test_intake_consumes_its_queue_reporting_batch_item_failures() -> None:
    """Batches of ten from IntakeQueue; only the messages the handler lists come back."""
    source = properties("IntakeQueueEventSource")
    assert {
        "EventSourceArn": {"Fn::GetAtt": ["IntakeQueue", "Arn"]},
        "FunctionName": {"Ref": "IntakeFunction"},
        "BatchSize": 10,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
    } == source


def test_sender_consumes_the_outbox_with_bounded_concurrency() -> None:
    """Batches of ten within a second, partial failures, at most SenderMaximumConcurrency
    instances (2 by default, the least SQS allows)."""
    source = properties("OutboxQueueEventSource")
    assert {
        "EventSourceArn": {"Fn::GetAtt": ["OutboxQueue", "Arn"]},
        "FunctionName": {"Ref": "SenderFunction"},
        "BatchSize": 10,
        "MaximumBatchingWindowInSeconds": 1,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "ScalingConfig": {"MaximumConcurrency": {"Ref": "SenderMaximumConcurrency"}},
    } == source
    parameter = PARAMETERS["SenderMaximumConcurrency"]
    assert (2, 2, 1000) == (parameter["Default"], parameter["MinValue"], parameter["MaxValue"])


def test_each_queue_has_exactly_one_consumer(translated: dict[str, Any]) -> None:
    """The two event sources are the only ones; no SAM SQS event adds a second poller."""
    sources = resources_of_type(translated, "AWS::Lambda::EventSourceMapping")
    assert sorted(CONSUMERS) == sorted(sources)


@pytest.mark.parametrize("source", sorted(CONSUMERS))
def test_queue_visibility_outlasts_six_function_timeouts(source: str) -> None:
    """VisibilityTimeout >= 6 x the consumer's Timeout + its batching window (AWS's advice), so
    a batch still running is never handed to a second instance."""
    queue, function, _ = CONSUMERS[source]
    window = properties(source).get("MaximumBatchingWindowInSeconds", 0)
    needed = 6 * properties(function)["Timeout"] + window
    assert properties(queue)["VisibilityTimeout"] >= needed


@pytest.mark.parametrize("source", sorted(CONSUMERS))
def test_queue_redrives_to_its_dead_letter_queue(source: str) -> None:
    """After MaxReceiveCount receives (5 by default) a message moves to the queue's own DLQ."""
    queue, _, dead_letters = CONSUMERS[source]
    assert {
        "deadLetterTargetArn": {"Fn::GetAtt": [dead_letters, "Arn"]},
        "maxReceiveCount": {"Ref": "MaxReceiveCount"},
    } == properties(queue)["RedrivePolicy"]
    assert 5 == PARAMETERS["MaxReceiveCount"]["Default"]
    assert "RedrivePolicy" not in properties(dead_letters)


@pytest.mark.parametrize("source", sorted(CONSUMERS))
def test_dead_letters_are_kept_14_days_longer_than_their_source(source: str) -> None:
    """A dead letter keeps its first enqueue time: its queue keeps it 14 days, more than the
    source queue, so it is still there when someone looks."""
    queue, _, dead_letters = CONSUMERS[source]
    kept = properties(dead_letters)["MessageRetentionPeriod"]
    assert 14 * 86400 == kept
    assert kept > properties(queue)["MessageRetentionPeriod"]


@pytest.mark.parametrize("queue", QUEUES)
def test_queue_is_encrypted_at_rest(queue: str) -> None:
    """SQS-managed server-side encryption on every notification queue."""
    assert properties(queue)["SqsManagedSseEnabled"] is True


def test_intake_url_requires_signed_requests(translated: dict[str, Any]) -> None:
    """AWS_IAM auth on the intake's URL, and no public permission on the function."""
    url = resources_of_type(translated, "AWS::Lambda::Url")["IntakeFunctionUrl"]
    assert {"TargetFunctionArn": {"Ref": "IntakeFunction"}, "AuthType": "AWS_IAM"} == url[
        "Properties"
    ]
    permissions = [
        p["Properties"]
        for p in resources_of_type(translated, "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Ref": "IntakeFunction"}
    ]
    assert [] == permissions


def test_data_action_url_is_public_for_genesys(translated: dict[str, Any]) -> None:
    """AuthType NONE (the shared-secret header is checked in code), invocable via the URL only."""
    url = resources_of_type(translated, "AWS::Lambda::Url")["DataActionFunctionUrl"]
    assert {"TargetFunctionArn": {"Ref": "DataActionFunction"}, "AuthType": "NONE"} == url[
        "Properties"
    ]
    permissions = [
        p["Properties"]
        for p in resources_of_type(translated, "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Ref": "DataActionFunction"}
    ]
    assert {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"} == {
        p["Action"] for p in permissions
    }
    assert all(
        p.get("FunctionUrlAuthType") == "NONE" or p.get("InvokedViaFunctionUrl") is True
        for p in permissions
    )


def test_only_the_intake_and_data_action_serve_urls_besides_download() -> None:
    """The sender and the DNC sync have no URL: nothing outside the stack can invoke them."""
    with_url = sorted(n for n in ALL_FUNCTIONS if "FunctionUrlConfig" in properties(n))
    assert [
        "DataActionFunction",
        "DownloadFunction",
        "IntakeFunction",
        "SendGridWebhookFunction",
    ] == with_url


def test_dnc_sync_runs_on_its_own_schedule(translated: dict[str, Any]) -> None:
    """Scheduler invokes the DNC sync at DncSyncSchedule (hourly by default), unnamed."""
    schedule = resources_of_type(translated, "AWS::Scheduler::Schedule")["DncSyncFunctionHourly"]
    props = schedule["Properties"]
    assert {"Ref": "DncSyncSchedule"} == props["ScheduleExpression"]
    assert {"Fn::GetAtt": ["DncSyncFunction", "Arn"]} == props["Target"]["Arn"]
    assert "Name" not in props
    parameter = PARAMETERS["DncSyncSchedule"]
    assert "rate(1 hour)" == parameter["Default"]
    assert re.fullmatch(parameter["AllowedPattern"], parameter["Default"])


def test_messages_table_is_on_demand_with_ttl_pitr_and_sse() -> None:
    """Key pk, TTL on expires_at (what messages.py writes), point-in-time recovery, encryption."""
    table = properties("MessagesTable")
    assert [{"AttributeName": "pk", "KeyType": "HASH"}] == table["KeySchema"]
    assert "PAY_PER_REQUEST" == table["BillingMode"]
    assert {"AttributeName": "expires_at", "Enabled": True} == table["TimeToLiveSpecification"]
    assert {"PointInTimeRecoveryEnabled": True} == table["PointInTimeRecoverySpecification"]
    assert {"SSEEnabled": True} == table["SSESpecification"]


def test_suppression_table_is_on_demand_with_pitr_and_never_deleted() -> None:
    """Point-in-time recovery, encryption, no TTL, and kept when the stack goes (opt-outs)."""
    resource = RESOURCES["SuppressionTable"]
    table = resource["Properties"]
    assert "PAY_PER_REQUEST" == table["BillingMode"]
    assert {"PointInTimeRecoveryEnabled": True} == table["PointInTimeRecoverySpecification"]
    assert {"SSEEnabled": True} == table["SSESpecification"]
    assert "TimeToLiveSpecification" not in table
    assert ("Retain", "Retain") == (resource["DeletionPolicy"], resource["UpdateReplacePolicy"])


def described(create: Any) -> dict[str, Any]:
    """The table ``create`` (a seam's create_*_table) makes, as moto's DescribeTable shows it
    (its TTL under "ttl")."""
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create(client, "t")
        table = dict(client.describe_table(TableName="t")["Table"])
        ttl = client.describe_time_to_live(TableName="t")["TimeToLiveDescription"]
        return {**table, "ttl": ttl}


def test_suppression_table_matches_the_seams_table_and_index(aws_env: None) -> None:
    """Key, attributes and the by_channel index (HASH channel, RANGE pk, ALL) are the ones
    suppression.py creates for a local stack and queries."""
    from gcnotify.aws.suppression import INDEX, create_suppression_table

    code = described(create_suppression_table)
    table = properties("SuppressionTable")
    assert code["KeySchema"] == table["KeySchema"]
    assert sorted(code["AttributeDefinitions"], key=str) == sorted(
        table["AttributeDefinitions"], key=str
    )
    (index,) = table["GlobalSecondaryIndexes"]
    assert "by_channel" == index["IndexName"] == INDEX
    assert [
        {"AttributeName": "channel", "KeyType": "HASH"},
        {"AttributeName": "pk", "KeyType": "RANGE"},
    ] == index["KeySchema"]
    (code_index,) = code["GlobalSecondaryIndexes"]
    assert (code_index["KeySchema"], code_index["Projection"]) == (
        index["KeySchema"],
        index["Projection"],
    )


def test_messages_table_matches_the_seams_table(aws_env: None) -> None:
    """Key, attributes and TTL attribute are the ones messages.py creates for a local stack."""
    from gcnotify.aws.messages import create_messages_table

    code = described(create_messages_table)
    table = properties("MessagesTable")
    assert code["KeySchema"] == table["KeySchema"]
    assert code["AttributeDefinitions"] == table["AttributeDefinitions"]
    assert code["ttl"]["AttributeName"] == table["TimeToLiveSpecification"]["AttributeName"]


# What each function may do in DynamoDB and SQS: exactly these, on exactly these resources.
DYNAMODB_GRANTS = {
    "ReportFunction": pairs("dynamodb:GetItem dynamodb:UpdateItem", "LedgerTable")
    | pairs("dynamodb:GetItem", "SuppressionTable")
    | pairs("dynamodb:Query", "MessagesTable/index/by_day"),
    "DownloadFunction": set(),
    "IntakeFunction": pairs("dynamodb:GetItem dynamodb:PutItem", "MessagesTable"),
    "DataActionFunction": pairs("dynamodb:GetItem dynamodb:PutItem", "MessagesTable")
    | pairs("dynamodb:GetItem dynamodb:UpdateItem", "SuppressionTable"),
    "SenderFunction": pairs(
        "dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem", "LedgerTable", "MessagesTable"
    )
    | pairs("dynamodb:GetItem", "SuppressionTable"),
    "DncSyncFunction": pairs(
        "dynamodb:Scan dynamodb:Query", "SuppressionTable", "SuppressionTable/index/by_channel"
    )
    | pairs("dynamodb:UpdateItem", "SuppressionTable"),
    "CampaignFunction": pairs(
        "dynamodb:GetItem dynamodb:BatchGetItem dynamodb:PutItem", "MessagesTable"
    )
    | pairs("dynamodb:BatchGetItem", "SuppressionTable")
    | pairs("dynamodb:GetItem dynamodb:UpdateItem", "LedgerTable"),
    "SendGridWebhookFunction": pairs(
        "dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem dynamodb:DeleteItem", "LedgerTable"
    )
    | pairs("dynamodb:GetItem dynamodb:UpdateItem", "MessagesTable")
    | pairs("dynamodb:Query", "MessagesTable/index/awaiting")
    | pairs("dynamodb:UpdateItem", "SuppressionTable"),
    "ReceiptsPollFunction": pairs("dynamodb:Query", "MessagesTable/index/awaiting")
    | pairs("dynamodb:GetItem dynamodb:UpdateItem", "MessagesTable")
    | pairs("dynamodb:UpdateItem", "SuppressionTable")
    | pairs("dynamodb:PutItem", "LedgerTable"),
}
POLL = "sqs:ReceiveMessage sqs:DeleteMessage sqs:GetQueueAttributes sqs:ChangeMessageVisibility"
SQS_GRANTS = {
    # Lambda's OnFailure destination of the asynchronous invocations (added by SAM).
    "ReportFunction": pairs("sqs:SendMessage", "FailureQueue"),
    "DownloadFunction": set(),
    "IntakeFunction": pairs("sqs:SendMessage", "OutboxQueue") | pairs(POLL, "IntakeQueue"),
    "DataActionFunction": pairs("sqs:SendMessage", "OutboxQueue"),
    "SenderFunction": pairs("sqs:SendMessage", "OutboxQueue") | pairs(POLL, "OutboxQueue"),
    "DncSyncFunction": set(),
    "CampaignFunction": pairs("sqs:SendMessage", "OutboxQueue"),
    "SendGridWebhookFunction": pairs("sqs:SendMessage", "OutboxQueue"),
    "ReceiptsPollFunction": pairs("sqs:SendMessage", "OutboxQueue"),
}
READS_SECRET = (
    "ReportFunction",
    "DownloadFunction",
    "DataActionFunction",
    "SenderFunction",
    "CampaignFunction",
    "SendGridWebhookFunction",
    "ReceiptsPollFunction",
)


@pytest.mark.parametrize("name", ALL_FUNCTIONS)
def test_function_has_exactly_its_dynamodb_grants(translated: dict[str, Any], name: str) -> None:
    """Each role allows the DynamoDB actions its function needs, on its tables, and no more."""
    assert DYNAMODB_GRANTS[name] == grants(translated, f"{name}Role", "dynamodb")


@pytest.mark.parametrize("name", ALL_FUNCTIONS)
def test_function_has_exactly_its_sqs_grants(translated: dict[str, Any], name: str) -> None:
    """Each role allows the SQS actions its function (or its event source) needs, on its
    queues, and no more."""
    assert SQS_GRANTS[name] == grants(translated, f"{name}Role", "sqs")


@pytest.mark.parametrize("name", [*READS_SECRET, "DncSyncFunction"])
def test_secret_readers_may_read_the_one_secret_only(translated: dict[str, Any], name: str) -> None:
    """GetSecretValue on the SecretName ARN (six random characters after '-'), nothing else."""
    secret = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"
    expected = {("secretsmanager:GetSecretValue", secret + "${SecretName}-??????")}
    assert expected == grants(translated, f"{name}Role", "secretsmanager")


def test_intake_cannot_read_the_secret(translated: dict[str, Any]) -> None:
    """The intake trusts IAM for its URL and reads no credentials."""
    assert set() == grants(translated, "IntakeFunctionRole", "secretsmanager")


@pytest.mark.parametrize("name", ALL_FUNCTIONS)
def test_roles_attach_only_the_basic_execution_policy(
    translated: dict[str, Any], name: str
) -> None:
    """No managed policy but logging: in particular not AWSLambdaSQSQueueExecutionRole, which
    would let a function read and delete the messages of every queue in the account."""
    role = resources_of_type(translated, "AWS::IAM::Role")[f"{name}Role"]
    managed = [json.dumps(arn) for arn in role["Properties"].get("ManagedPolicyArns", [])]
    assert 1 == len(managed)
    assert managed[0].endswith('service-role/AWSLambdaBasicExecutionRole"')


@pytest.mark.parametrize("name", NOTIFICATION_FUNCTIONS)
def test_notification_role_grants_no_service_beyond_its_own(
    translated: dict[str, Any], name: str
) -> None:
    """Nothing but DynamoDB, SQS and the secret: no S3, no Lambda, no IAM."""
    services = {
        str(action).split(":")[0]
        for statement in inline_statements(translated, f"{name}Role")
        for action in as_list(statement["Action"])
    }
    assert services <= {"dynamodb", "sqs", "secretsmanager"}


ALARMS: dict[str, dict[str, Any]] = {
    name: r["Properties"]
    for name, r in resources_of_type(TEMPLATE, "AWS::CloudWatch::Alarm").items()
}


def test_every_alarm_pages_the_alarm_topic() -> None:
    """All alarms, old and new, act on the one topic and nothing else."""
    assert len(ALARMS) >= 12
    assert {name: [{"Ref": "AlarmTopic"}] for name in ALARMS} == {
        name: p["AlarmActions"] for name, p in ALARMS.items()
    }


@pytest.mark.parametrize("queue", ["IntakeDeadLetterQueue", "OutboxDeadLetterQueue"])
def test_a_dead_letter_pages_at_once(queue: str) -> None:
    """One visible message in either dead-letter queue fires its alarm."""
    alarm = ALARMS[f"{queue}Alarm"]
    assert (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}],
        0,
        "GreaterThanThreshold",
    ) == (
        alarm["Namespace"],
        alarm["MetricName"],
        alarm["Dimensions"],
        alarm["Threshold"],
        alarm["ComparisonOperator"],
    )


def test_an_old_outbox_message_pages() -> None:
    """The outbox's oldest message past OutboxAgeAlarmSeconds (an hour by default; never below
    a deferral hop of 15 minutes) fires the alarm, whose text explains deferred messages."""
    alarm = ALARMS["OutboxAgeAlarm"]
    assert ("ApproximateAgeOfOldestMessage", "Maximum", {"Ref": "OutboxAgeAlarmSeconds"}) == (
        alarm["MetricName"],
        alarm["Statistic"],
        alarm["Threshold"],
    )
    assert [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["OutboxQueue", "QueueName"]}}] == alarm[
        "Dimensions"
    ]
    parameter = PARAMETERS["OutboxAgeAlarmSeconds"]
    assert 3600 == parameter["Default"]
    assert parameter["MinValue"] > 900
    assert "15 minutes" in alarm["AlarmDescription"]


@pytest.mark.parametrize("function", ["SenderFunction", "IntakeFunction", "DataActionFunction"])
def test_error_rate_over_five_percent_pages(function: str) -> None:
    """Errors / Invocations of the function, in percent over 5 minutes, above 5 fires."""
    alarm = ALARMS[f"{function.removesuffix('Function')}ErrorRateAlarm"]
    metrics = {m["Id"]: m for m in alarm["Metrics"]}
    for metric_id, metric_name in (("errors", "Errors"), ("invocations", "Invocations")):
        stat = metrics[metric_id]["MetricStat"]
        assert (
            "AWS/Lambda",
            metric_name,
            [{"Name": "FunctionName", "Value": {"Ref": function}}],
            "Sum",
            300,
        ) == (
            stat["Metric"]["Namespace"],
            stat["Metric"]["MetricName"],
            stat["Metric"]["Dimensions"],
            stat["Stat"],
            stat["Period"],
        )
        assert metrics[metric_id]["ReturnData"] is False
    (returned,) = [m for m in alarm["Metrics"] if m.get("ReturnData", True)]
    assert re.fullmatch(
        r"IF\(invocations > 0, 100 \* FILL\(errors, 0\) / invocations, 0\)", returned["Expression"]
    )
    assert (5, "GreaterThanThreshold", "notBreaching") == (
        alarm["Threshold"],
        alarm["ComparisonOperator"],
        alarm["TreatMissingData"],
    )


def test_any_dnc_sync_failure_pages() -> None:
    """The hourly sync's Errors above zero fires."""
    alarm = ALARMS["DncSyncErrorsAlarm"]
    assert ("Errors", [{"Name": "FunctionName", "Value": {"Ref": "DncSyncFunction"}}], 0) == (
        alarm["MetricName"],
        alarm["Dimensions"],
        alarm["Threshold"],
    )


@pytest.mark.parametrize("metric", ["MessagesUnknown", "MessagesFailed", "TemplatePreflightFailed"])
def test_one_unknown_or_failed_message_pages(metric: str) -> None:
    """The sender's metric (namespace gcnotify, no dimension), Sum >= 1 in 5 minutes, fires;
    no data (nothing went wrong) does not."""
    alarm = ALARMS[f"{metric}Alarm"]
    assert {
        "Namespace": "gcnotify",
        "MetricName": metric,
        "Statistic": "Sum",
        "Period": 300,
        "EvaluationPeriods": 1,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
    } == {k: alarm[k] for k in alarm if k not in ("AlarmDescription", "AlarmActions")}


def test_outputs_name_the_notification_urls_queues_and_tables() -> None:
    """Both URLs, both queues and both tables are stack outputs."""
    outputs = {name: o["Value"] for name, o in TEMPLATE["Outputs"].items()}
    assert {
        "IntakeFunctionUrl": {"Fn::GetAtt": ["IntakeFunctionUrl", "FunctionUrl"]},
        "DataActionUrl": {"Fn::GetAtt": ["DataActionFunctionUrl", "FunctionUrl"]},
        "IntakeQueueUrl": {"Ref": "IntakeQueue"},
        "OutboxQueueUrl": {"Ref": "OutboxQueue"},
        "MessagesTableName": {"Ref": "MessagesTable"},
        "SuppressionTableName": {"Ref": "SuppressionTable"},
    } == {k: outputs[k] for k in outputs if k.startswith(("Intake", "DataAction", "Outbox"))} | {
        k: outputs[k] for k in ("MessagesTableName", "SuppressionTableName")
    }


# --- campaigns ----------------------------------------------------------------------------------


def test_campaign_function_has_time_for_a_details_job_and_its_lookups() -> None:
    """Lambda's longest timeout: the details job alone may be polled for five minutes."""
    campaign = properties("CampaignFunction")
    assert 900 == campaign["Timeout"]
    assert campaign["MemorySize"] >= 512


def test_campaign_function_is_triggered_by_one_schedule_only(translated: dict[str, Any]) -> None:
    """One Scheduler schedule every 15 minutes in UTC, fed scheduled-time (each campaign's local
    time is the handler's to check); no event source mapping and no URL."""
    (event,) = properties("CampaignFunction")["Events"].values()
    assert "ScheduleV2" == event["Type"]
    schedule = event["Properties"]
    assert ("cron(0/15 * * * ? *)", "UTC") == (
        schedule["ScheduleExpression"],
        schedule["ScheduleExpressionTimezone"],
    )
    assert {"scheduled_time": "<aws.scheduler.scheduled-time>"} == json.loads(schedule["Input"])
    assert schedule["OmitName"] is True
    assert "FunctionUrlConfig" not in properties("CampaignFunction")
    sources = resources_of_type(translated, "AWS::Lambda::EventSourceMapping").values()
    assert {"Ref": "CampaignFunction"} not in [s["Properties"]["FunctionName"] for s in sources]


def test_the_campaign_schedule_retries_and_ends_in_the_failure_queue(
    translated: dict[str, Any],
) -> None:
    """As the report's: Scheduler retries handing the event over, then dead-letters it; its
    events are no older than a tick or two (the next tick catches up anyway)."""
    schedule = resources_of_type(translated, "AWS::Scheduler::Schedule")["CampaignFunctionDaily"]
    target = schedule["Properties"]["Target"]
    assert {"Fn::GetAtt": ["FailureQueue", "Arn"]} == target["DeadLetterConfig"]["Arn"]
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    assert 60 <= target["RetryPolicy"]["MaximumEventAgeInSeconds"] <= 3600
    assert {"Fn::GetAtt": ["CampaignFunction", "Arn"]} == target["Arn"]


def test_the_campaign_schedule_input_once_filled_in_is_a_tick(translated: dict[str, Any]) -> None:
    """What Scheduler delivers is accepted by the campaign handler's parser as a tick."""
    from gcnotify.handlers.campaign import ScheduledEvent, parse_event

    schedule = resources_of_type(translated, "AWS::Scheduler::Schedule")["CampaignFunctionDaily"]
    delivered = schedule["Properties"]["Target"]["Input"].replace(
        "<aws.scheduler.scheduled-time>", "2026-11-23T14:30:00Z"
    )
    request = parse_event(json.loads(delivered), ["sms-followup"])
    assert isinstance(request, ScheduledEvent)
    assert "2026-11-23T14:30:00+00:00" == request.scheduled_time.isoformat()


def test_campaign_function_cannot_send_or_pace(translated: dict[str, Any]) -> None:
    """It takes requests as the intake does; sending is the sender's: on the ledger table only
    its daily run records (GetItem, UpdateItem; never PutItem), no UpdateItem on the messages
    table, no polling of the outbox."""
    dynamodb = grants(translated, "CampaignFunctionRole", "dynamodb")
    assert {("dynamodb:GetItem", "LedgerTable"), ("dynamodb:UpdateItem", "LedgerTable")} == {
        g for g in dynamodb if g[1] == "LedgerTable"
    }
    assert ("dynamodb:UpdateItem", "MessagesTable") not in dynamodb
    assert {("sqs:SendMessage", "OutboxQueue")} == grants(translated, "CampaignFunctionRole", "sqs")


def test_any_campaign_failure_pages() -> None:
    """One failed campaign invocation fires CampaignErrorsAlarm."""
    alarm = ALARMS["CampaignErrorsAlarm"]
    assert (
        "AWS/Lambda",
        "Errors",
        [{"Name": "FunctionName", "Value": {"Ref": "CampaignFunction"}}],
        "Sum",
        0,
        "GreaterThanThreshold",
    ) == (
        alarm["Namespace"],
        alarm["MetricName"],
        alarm["Dimensions"],
        alarm["Statistic"],
        alarm["Threshold"],
        alarm["ComparisonOperator"],
    )


def test_the_campaign_handler_reads_what_its_role_allows() -> None:
    """The campaign path makes only the table and queue calls the role grants: the run reads
    messages and suppressions with GetItem and writes through the intake (PutItem, SendMessage).
    """
    run = (ROOT / "src/gcnotify/campaigns/run.py").read_text(encoding="utf-8")
    handler = (ROOT / "src/gcnotify/handlers/campaign.py").read_text(encoding="utf-8")
    assert "ledger" not in run
    for call in ("pace", ".transition(", ".enqueue("):
        assert call not in run + handler, call
    # The daily run records: lookup is GetItem; claim and the marks are conditional UpdateItems.
    used = set(re.findall(r"\bledger\.([a-z_]+)\(", handler))
    assert {"lookup", "claim", "mark_sent", "mark_failed"} == used


def test_receipts_poller_runs_on_its_own_schedule(translated: dict[str, Any]) -> None:
    """Scheduler invokes the poller at ReceiptsPollSchedule (receipts.poll_every), unnamed."""
    schedules = resources_of_type(translated, "AWS::Scheduler::Schedule")
    props = schedules["ReceiptsPollFunctionPoll"]["Properties"]
    assert {"Ref": "ReceiptsPollSchedule"} == props["ScheduleExpression"]
    assert {"Fn::GetAtt": ["ReceiptsPollFunction", "Arn"]} == props["Target"]["Arn"]
    assert "<aws.scheduler.scheduled-time>" in props["Target"]["Input"]
    assert "Name" not in props


def test_the_receipt_failure_rate_alarm_reads_the_pollers_metrics() -> None:
    """The alarm's metrics are the ones the poller emits, and its rate is failed over all."""
    from gcnotify.handlers import receipts_poll

    source = Path(receipts_poll.__file__).read_text(encoding="utf-8")
    alarm = TEMPLATE["Resources"]["ReceiptsFailureRateAlarm"]["Properties"]
    names = {m["MetricStat"]["Metric"]["MetricName"] for m in alarm["Metrics"] if "MetricStat" in m}
    assert {"ReceiptsFailed", "ReceiptsDelivered", "ReceiptsRead"} == names
    assert all(f'"{name}"' in source for name in names)
    assert [{"Ref": "AlarmTopic"}] == alarm["AlarmActions"]


def test_unknown_receipt_codes_page_at_most_once_a_day() -> None:
    """The poller's unknown-code count is alarmed over a day's period."""
    alarm = TEMPLATE["Resources"]["ReceiptsUnknownCodesAlarm"]["Properties"]
    assert ("ReceiptsUnknownCodes", 86400, 1) == (
        alarm["MetricName"],
        alarm["Period"],
        alarm["Threshold"],
    )
