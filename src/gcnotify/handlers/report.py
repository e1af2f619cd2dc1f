"""AWS Lambda entry point: ``gcnotify.handlers.report.lambda_handler``.

Cold-start work (reading the environment, validating the config, reading the secret, opening
HTTP sessions) happens once per container and is reused by warm invocations; the Genesys token
cached inside the client lives as long as the container. Heavy imports (Jinja2, holidays) wait
until a report needs them.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from gcnotify.core.config import load_config
from gcnotify.core.errors import ConfigError, EventError, GcnotifyError, RunFailedError
from gcnotify.core.model import Config
from gcnotify.handlers.lambda_context import deadline_of
from gcnotify.reports.events import RunRequest, parse_event
from gcnotify.runtime.log import quiet_sdk_loggers
from gcnotify.runtime.redact import REDACTOR, RedactingFilter
from gcnotify.runtime.resources import precomputed_holidays
from gcnotify.runtime.settings import Settings

if TYPE_CHECKING:
    from gcnotify.aws.ledger import Ledger
    from gcnotify.aws.messages import MessageStore
    from gcnotify.aws.secrets import Credentials
    from gcnotify.aws.storage import ArtifactStore
    from gcnotify.aws.suppression import SuppressionTable
    from gcnotify.chat.client import ChatClient
    from gcnotify.core.model import ReportConfig
    from gcnotify.core.windows import ReportWindow
    from gcnotify.genesys.client import GenesysClient
    from gcnotify.reports.render import Renderer
    from gcnotify.reports.runner import ReportResult, Services
    from gcnotify.sendgrid.client import SendGridClient

__all__ = ["handle", "lambda_handler", "reset_cold_start"]

logger = logging.getLogger("gcnotify")
quiet_sdk_loggers()
if not any(isinstance(f, RedactingFilter) for f in logger.filters):
    logger.addFilter(RedactingFilter())


@dataclass
class _ColdStart:
    """Everything built once per container."""

    settings: Settings
    config: Config
    seams: _Seams | None = None
    aws_session: Any = None

    def aws_client(self, service: str, error: type[GcnotifyError], *, config: Any = None) -> Any:
        """A boto3 client from the container's one Session (clients share its loaded models).

        A missing region or a bad endpoint becomes our error, with the fix.
        """
        import boto3
        from botocore.exceptions import BotoCoreError

        if self.aws_session is None:
            self.aws_session = boto3.session.Session()
        try:
            return self.aws_session.client(
                service, endpoint_url=self.settings.aws_endpoint_url, config=config
            )
        except BotoCoreError as exc:
            raise error(
                f"cannot create the AWS {service} client ({type(exc).__name__}: {exc}). Every "
                "run, a dry run too, reads the credentials secret from Secrets Manager: set "
                "AWS_DEFAULT_REGION (boto3 reads it; Lambda sets it) and AWS credentials. To try "
                "it with no account, run `gcnotify demo --serve` in another shell and export the "
                "variables it prints"
            ) from None

    def _read_secret(self, client: Any) -> Credentials:
        from gcnotify.aws.secrets import load_credentials

        return load_credentials(
            client,
            self.settings.resolve_secret_id(self.config),
            self.config.secret_keys(),
            # Needed only when a standup's files must be linked instead of attached.
            optional_keys=("download_signing_key",),
        )

    def _make_ledger(self) -> Ledger | None:
        if self.settings.ledger_table is None:
            return None
        from gcnotify.aws.ledger import Ledger
        from gcnotify.core.errors import LedgerError

        client = self.aws_client("dynamodb", LedgerError)
        return Ledger(client, self.settings.ledger_table)

    def _make_tables(self) -> tuple[MessageStore | None, SuppressionTable | None]:
        """The messages table (delivery summaries count it) and the suppression table (report
        recipients found there are left out), when the stack names them; one client for both."""
        messages_table = self.settings.messages_table
        suppression_table = self.settings.suppression_table
        if messages_table is None and suppression_table is None:
            return None, None
        from gcnotify.aws.messages import MessageStore
        from gcnotify.aws.suppression import SuppressionTable
        from gcnotify.core.errors import MessageStoreError, SuppressionError

        error = SuppressionError if suppression_table is not None else MessageStoreError
        client = self.aws_client("dynamodb", error)
        return (
            MessageStore(client, messages_table) if messages_table is not None else None,
            SuppressionTable(client, suppression_table) if suppression_table is not None else None,
        )

    def connect(self) -> tuple[Credentials, Ledger | None]:
        """The secret and the ledger, once per container, the read overlapping the client.

        Building a boto3 client is CPU work (~15-20 ms); the Secrets Manager read is a network
        round trip. The read runs on a worker thread while this thread builds the DynamoDB
        client, so the round trip costs nothing. Clients are made on this thread only: a boto3
        Session is not thread-safe, its clients are.
        """
        from concurrent.futures import ThreadPoolExecutor

        from gcnotify.core.errors import SecretError

        secrets_client = self.aws_client("secretsmanager", SecretError)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gcnotify-secret") as pool:
            read = pool.submit(self._read_secret, secrets_client)
            try:
                ledger = self._make_ledger()
            finally:
                # The secret's error (the first step's) wins over the ledger's, as in sequence.
                credentials = read.result()
        return credentials, ledger

    def get_services(self, out_dir: Path | None, deadline: datetime | None = None) -> Services:
        """The run's seams; built on the first call, reused by every later invocation."""
        if self.seams is None:
            from gcnotify.genesys.client import GenesysClient
            from gcnotify.reports.render import Renderer
            from gcnotify.runtime.resources import compiled_templates_dir, templates_dir
            from gcnotify.sendgrid.client import SendGridClient

            creds, ledger = self.connect()
            messages, suppression = self._make_tables()
            templates = templates_dir()
            endpoints = self.settings.endpoints(self.config)
            self.seams = _Seams(
                genesys=GenesysClient(
                    login_url=endpoints.genesys_login,
                    api_url=endpoints.genesys_api,
                    client_id=creds.genesys_client_id,
                    client_secret=creds.genesys_client_secret,
                ),
                sendgrid=SendGridClient(creds.sendgrid_api_key, endpoints.sendgrid),
                ledger=ledger,
                # Templates are loaded and checked at cold start, before anything is fetched.
                renderer=Renderer(templates, compiled_templates_dir(templates)),
                extra_secrets=dict(creds.extra),
                messages=messages,
                suppression=suppression,
            )
        from gcnotify.aws.once import Once
        from gcnotify.reports.runner import Services

        services = Services(
            genesys=self.seams.genesys,
            renderer=self.seams.renderer,
            sendgrid=self.seams.sendgrid,
            out_dir=out_dir,
            deadline=deadline,
            messages=self.seams.messages,
            suppression=self.seams.suppression,
        )
        if self.seams.ledger is not None:
            services.once = Once(self.seams.ledger, now=services.now)
        if self.config.secret_keys():
            from gcnotify.chat.client import ChatClient

            if self.seams.chat is None:
                self.seams.chat = ChatClient()
            self.seams.chat.time_left = services.time_left
            services.chat = self.seams.chat
            services.chat_urls = self.seams.extra_secrets
        self.seams.sendgrid.time_left = services.time_left
        self.seams.genesys.time_left = services.time_left
        signing_key = self.seams.extra_secrets.get("download_signing_key")
        bucket, download_url = self.settings.artifact_bucket, self.settings.download_url
        if bucket and download_url and signing_key:
            services.linker = partial(
                self._linker,
                _LinkSettings(bucket, download_url, signing_key.encode("utf-8")),
                services.now,
            )
        return services

    def _linker(
        self,
        where: _LinkSettings,
        now: Callable[[], datetime],
        report: ReportConfig,
        window: ReportWindow,
    ) -> Any:
        """Stores a standup's files in the artifact bucket and links them through the download
        function, valid until the end of the recipients' day (the send's local date)."""
        from gcnotify.aws.storage import ArtifactStore, client_config
        from gcnotify.core.errors import StorageError
        from gcnotify.core.links import link_expiry
        from gcnotify.core.windows import local_date
        from gcnotify.reports.standup.budget import s3_linker

        if self.seams is not None and self.seams.store is None:
            client = self.aws_client("s3", StorageError, config=client_config())
            self.seams.store = ArtifactStore(client, where.bucket)
        store = self.seams.store if self.seams is not None else None
        if store is None:
            raise StorageError("the artifact store could not be set up")
        return s3_linker(
            store,
            report_id=report.id,
            business_date=window.business_date,
            signing_key=where.signing_key,
            download_url=where.download_url,
            expires=link_expiry(local_date(now(), report.timezone), report.timezone),
        )


@dataclass(frozen=True)
class _LinkSettings:
    """Where a standup's over-budget files go, and how their links are signed."""

    bucket: str
    download_url: str
    signing_key: bytes = field(repr=False)


@dataclass
class _Seams:
    genesys: GenesysClient
    sendgrid: SendGridClient
    ledger: Ledger | None
    renderer: Renderer
    extra_secrets: dict[str, str]  # the secret's keys beyond the three: webhook URLs, signing key
    chat: ChatClient | None = None
    store: ArtifactStore | None = None
    messages: MessageStore | None = None
    suppression: SuppressionTable | None = None


_state: _ColdStart | None = None


def reset_cold_start() -> None:
    """Forget the cached config, secret and clients (tests; a new container does this)."""
    global _state  # noqa: PLW0603 - the per-container cache is module state by design
    _state = None


def _cold_start(environ: Mapping[str, str]) -> _ColdStart:
    global _state  # noqa: PLW0603
    if _state is None:
        settings = Settings.from_env(environ)
        try:
            config = load_config(settings.config_path, holidays=precomputed_holidays())
        except ConfigError as exc:
            raise ConfigError(
                exc.problems, exc.source, note="nothing was fetched or sent"
            ) from None
        _state = _ColdStart(settings=settings, config=config)
    return _state


def summarize(request: RunRequest, results: list[ReportResult]) -> dict[str, Any]:
    from gcnotify.reports.runner import NOT_OK

    failed = [r.report for r in results if r.status in NOT_OK]
    return {
        "ok": not failed,
        "scheduled_time": request.scheduled_time.isoformat() if request.scheduled_time else None,
        "report_date": request.report_date.isoformat() if request.report_date else None,
        "execution_id": request.execution_id,
        "dry_run": request.dry_run,
        "failed": failed,
        "reports": [r.to_dict() for r in results],
    }


def handle(
    event: object,
    *,
    environ: Mapping[str, str] | None = None,
    out_dir: Path | None = None,
    deadline: datetime | None = None,
) -> dict[str, Any]:
    """Run one invocation; the Lambda handler and ``gcnotify run`` both come through here.

    ``deadline``: when the invocation must have finished (Lambda's timeout), if known.
    """
    from gcnotify.reports.alerts import send_alerts
    from gcnotify.reports.runner import run_reports

    state = _cold_start(os.environ if environ is None else environ)
    request = parse_event(event, [r.id for r in state.config.reports])
    _refuse_open_days(state.config, request, datetime.now(UTC))
    services = state.get_services(out_dir, deadline)
    results = run_reports(state.config, request, services)
    summary = summarize(request, results)
    if not request.dry_run:
        summary["alerts_sent"] = send_alerts(state.config, results, services)
    summary = cast("dict[str, Any]", REDACTOR.mask_all(summary))
    logger.info("run finished", extra={"summary": summary})
    if not summary["ok"]:
        raise RunFailedError(
            f"{len(summary['failed'])} of {len(results)} report(s) did not succeed: "
            + json.dumps(summary, ensure_ascii=False)
        )
    return summary


def _refuse_open_days(config: Config, request: RunRequest, now: datetime) -> None:
    """A business date whose day is not over in a report's zone has no final numbers yet."""
    day = request.report_date
    if day is None or request.allow_partial:
        return
    from gcnotify.core.windows import day_is_over

    wanted = request.reports or tuple(r.id for r in config.reports)
    open_in = [
        f"{r.id} ({r.timezone})"
        for r in config.reports
        if r.id in wanted and not day_is_over(day, r.timezone, now)
    ]
    if open_in:
        raise EventError(
            f"report_date {day.isoformat()} is not over yet for {', '.join(open_in)}: its numbers "
            "are not final, and sending it now would block that day's real report. Ask for an "
            'earlier date, or send a partial report marked as such with "allow_partial": true '
            "(gcnotify run --allow-partial)"
        )


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Lambda entry point; a dry run writes its email under /tmp (the only writable path)."""
    out_dir = (
        Path("/tmp/gcnotify-out")  # noqa: S108 - Lambda's only writable directory
        if isinstance(event, dict) and event.get("dry_run")
        else None
    )
    return handle(event, out_dir=out_dir, deadline=deadline_of(context))
