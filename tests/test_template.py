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
    "AWS_ENDPOINT_URL",
)

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
    """The transform yields one Scheduler schedule in the configured zone, fed scheduled-time."""
    schedules = resources_of_type(translated, "AWS::Scheduler::Schedule")
    assert 1 == len(schedules)
    props = next(iter(schedules.values()))["Properties"]
    assert {"Ref": "ScheduleTimezone"} == props["ScheduleExpressionTimezone"]
    assert {"Ref": "ScheduleExpression"} == props["ScheduleExpression"]
    assert {"Ref": "ScheduleState"} == props["State"]
    assert "<aws.scheduler.scheduled-time>" in props["Target"]["Input"]
    assert "Name" not in props  # OmitName: the stack can be deployed twice in one account


def test_schedule_input_once_filled_in_is_a_valid_event(translated: dict[str, Any]) -> None:
    """What Scheduler delivers (placeholders filled in) is accepted by the handler's parser."""
    (schedule,) = resources_of_type(translated, "AWS::Scheduler::Schedule").values()
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


@pytest.mark.parametrize("name", ["ReportFunction", "DownloadFunction"])
def test_handler_path_names_a_lambda_handler_function(name: str) -> None:
    """Each function's Handler (gcnotify.handlers.<module>.lambda_handler) names a def there."""
    handler = TEMPLATE["Resources"][name]["Properties"]["Handler"]
    module, _, function = handler.rpartition(".")
    source = ROOT / "src" / Path(*module.split(".")).with_suffix(".py")
    assert source.is_file()
    assert re.search(rf"^def {function}\(", source.read_text(encoding="utf-8"), re.MULTILINE)


def test_every_documented_environment_variable_is_declared() -> None:
    """Each documented variable is in the function's environment (else sam local ignores it)."""
    assert [] == [name for name in DOCUMENTED_ENV_VARS if name not in ENV_VARS]


def test_every_variable_settings_reads_is_declared() -> None:
    """A variable the code reads but the template omits could never be set by sam local."""
    source = (ROOT / "src" / "gcnotify" / "runtime" / "settings.py").read_text(encoding="utf-8")
    read = set(re.findall(r"\"((?:GCNOTIFY|AWS)_[A-Z_]+)\"", source))
    assert read  # the pattern still finds the names
    assert [] == sorted(read - set(ENV_VARS))


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
    source = "".join((aws / n).read_text(encoding="utf-8") for n in ("ledger.py", "dynamodb.py"))
    calls = set(re.findall(r"_client\.([a-z_]+)\(", source))
    assert calls
    needed = {"dynamodb:" + "".join(p.title() for p in call.split("_")) for call in calls}
    statements = [
        s
        for s in inline_statements(translated)
        if any(str(a).startswith("dynamodb:") for a in as_list(s["Action"]))
    ]
    assert sorted(needed) == sorted(a for s in statements for a in as_list(s["Action"]))
    assert all({"Fn::GetAtt": ["LedgerTable", "Arn"]} == s["Resource"] for s in statements)


def test_both_retry_layers_end_in_the_failure_queue(translated: dict[str, Any]) -> None:
    """Scheduler's dead letters and Lambda's OnFailure records both land in FailureQueue."""
    queue_arn = {"Fn::GetAtt": ["FailureQueue", "Arn"]}
    (schedule,) = resources_of_type(translated, "AWS::Scheduler::Schedule").values()
    target = schedule["Properties"]["Target"]
    assert queue_arn == target["DeadLetterConfig"]["Arn"]
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    (invoke,) = resources_of_type(translated, "AWS::Lambda::EventInvokeConfig").values()
    assert queue_arn == invoke["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]


def test_alarms_watch_errors_failures_and_silence() -> None:
    """Errors, a non-empty failure queue and a day without invocations each page the topic."""
    alarms = resources_of_type(TEMPLATE, "AWS::CloudWatch::Alarm").values()
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
    (url,) = resources_of_type(translated, "AWS::Lambda::Url").values()
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


def test_download_function_is_built_by_the_same_recipe() -> None:
    """build-DownloadFunction runs exactly the commands of build-ReportFunction."""
    recipes = []
    for target in ("build-ReportFunction", "build-DownloadFunction"):
        result = subprocess.run(
            ["make", "-n", "-f", "build.mk", target, "ARTIFACTS_DIR=/tmp/gcnotify-artifact"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        recipes.append(result.stdout)
    assert {"BuildMethod": "makefile"} == DOWNLOAD["Metadata"]
    assert recipes[0] == recipes[1]
    assert "cp -R src/gcnotify" in recipes[1]


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
