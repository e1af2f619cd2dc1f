"""AWS Lambda entry point of the DNC sync: ``gcnotify.handlers.dnc_sync.lambda_handler``.

EventBridge Scheduler runs it (``DncSyncSchedule``); the event's content is not used. It reads the
list ids from ``messaging.suppression.genesys_dnc_lists`` and, when there are none, answers
``skipped`` without reading the secret or calling Genesys. Otherwise it builds the Genesys client
from the credentials secret and the suppression table from ``GCNOTIFY_SUPPRESSION_TABLE`` once per
container, runs ``gcnotify.messaging.dnc_sync.sync`` and logs the counts per list. A list that
failed makes the invocation raise ``RunFailedError`` after the others synced, so Lambda counts an
error and the alarm sees it; the next scheduled run catches up.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from gcnotify.core.errors import ConfigError, RunFailedError, SecretError, SuppressionError
from gcnotify.runtime.log import quiet_sdk_loggers
from gcnotify.runtime.redact import REDACTOR, RedactingFilter
from gcnotify.runtime.settings import Settings

if TYPE_CHECKING:
    from gcnotify.aws.suppression import SuppressionTable
    from gcnotify.core.model import Config
    from gcnotify.genesys.dnc import DncLists

__all__ = ["DncSyncServices", "handle", "lambda_handler", "list_ids", "reset_cold_start"]

logger = logging.getLogger("gcnotify")
quiet_sdk_loggers()
if not any(isinstance(f, RedactingFilter) for f in logger.filters):
    logger.addFilter(RedactingFilter())

NO_LISTS = (
    "no Genesys DNC lists are configured (messaging.suppression.genesys_dnc_lists); nothing to sync"
)
# Seconds kept back from Lambda's deadline for logging the counts after the last call.
_DEADLINE_MARGIN = 10.0


@dataclass(frozen=True)
class DncSyncServices:
    """The seams the sync needs: Genesys's DNC lists and the suppression table."""

    dnc: DncLists
    table: SuppressionTable


def list_ids(config: Config) -> tuple[str, ...]:
    """The configured DNC list ids; none without a parsed ``messaging`` block."""
    from gcnotify.messaging.settings import MessagingSettings

    block = config.blocks.get("messaging")
    if isinstance(block, MessagingSettings):
        return block.suppression.genesys_dnc_lists
    return ()


def handle(
    lists: Sequence[str],
    services: DncSyncServices | Callable[[], DncSyncServices],
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Sync ``lists``; ``services`` may be a builder, called only when there is a list."""
    if not lists:
        logger.info("dnc sync skipped: %s", NO_LISTS)
        return {"status": "skipped", "reason": NO_LISTS}
    from gcnotify.messaging.dnc_sync import sync

    seams = services if isinstance(services, DncSyncServices) else services()
    result = sync(lists, seams.dnc, seams.table, now if now is not None else datetime.now(UTC))
    summary = {"status": "ok" if result.ok else "failed", **result.to_dict()}
    summary = cast("dict[str, Any]", REDACTOR.mask_all(summary))
    logger.info("dnc sync finished", extra={"summary": summary})
    return summary


@dataclass
class _ColdStart:
    """Built once per container: the settings, the list ids and, on first use, the seams."""

    settings: Settings
    lists: tuple[str, ...]
    config: Config
    environ: Mapping[str, str]
    seams: DncSyncServices | None = None

    def services(self) -> DncSyncServices:
        if self.seams is None:
            self.seams = self._connect()
        return self.seams

    def _connect(self) -> DncSyncServices:
        import boto3
        from botocore.exceptions import BotoCoreError

        from gcnotify.aws.secrets import load_credentials
        from gcnotify.aws.suppression import SuppressionTable
        from gcnotify.genesys.client import GenesysClient
        from gcnotify.genesys.dnc import DncLists

        name = self.environ.get(SuppressionTable.env_var, "").strip()
        if not name:
            raise SuppressionError(
                f"{SuppressionTable.env_var} is not set; template.yaml sets it to the stack's "
                "SuppressionTable"
            )
        session = boto3.session.Session()
        endpoint = self.settings.aws_endpoint_url
        try:
            secrets = session.client("secretsmanager", endpoint_url=endpoint)
            dynamodb = session.client("dynamodb", endpoint_url=endpoint)
        except BotoCoreError as exc:
            raise SecretError(
                f"cannot create the AWS clients ({type(exc).__name__}); set AWS_DEFAULT_REGION "
                "(Lambda sets it) and AWS credentials"
            ) from None
        creds = load_credentials(secrets, self.settings.resolve_secret_id(self.config), ())
        endpoints = self.settings.endpoints(self.config)
        genesys = GenesysClient(
            login_url=endpoints.genesys_login,
            api_url=endpoints.genesys_api,
            client_id=creds.genesys_client_id,
            client_secret=creds.genesys_client_secret,
        )
        return DncSyncServices(DncLists(genesys), SuppressionTable(dynamodb, name))


_state: _ColdStart | None = None


def reset_cold_start() -> None:
    """Forget the cached config, secret and clients (tests; a new container does this)."""
    global _state  # noqa: PLW0603 - the per-container cache is module state by design
    _state = None


def _cold_start(environ: Mapping[str, str]) -> _ColdStart:
    global _state  # noqa: PLW0603
    if _state is None:
        from gcnotify.core.config import load_config
        from gcnotify.messaging.settings import parse_messaging
        from gcnotify.runtime.resources import precomputed_holidays

        settings = Settings.from_env(environ)
        try:
            config = load_config(
                settings.config_path,
                holidays=precomputed_holidays(),
                blocks={"messaging": parse_messaging},
            )
        except ConfigError as exc:
            raise ConfigError(exc.problems, exc.source, note="nothing was synced") from None
        _state = _ColdStart(settings, list_ids(config), config, dict(environ))
    return _state


def lambda_handler(event: object, context: object) -> dict[str, Any]:
    """Lambda entry point; raises ``RunFailedError`` when a list failed (after the others)."""
    state = _cold_start(os.environ)

    def services() -> DncSyncServices:
        seams = state.services()
        seams.dnc.client.time_left = _time_left(context)
        return seams

    summary = handle(state.lists, services)
    if summary["status"] == "failed":
        raise RunFailedError(
            f"the DNC sync failed for {len(summary['failed'])} of {len(summary['lists'])} "
            f"list(s): {', '.join(summary['failed'])}; see the 'dnc sync finished' log line for "
            "each list's error. The next scheduled run tries again."
        )
    return summary


def _time_left(context: object) -> Callable[[], float | None] | None:
    """Seconds this invocation may still spend, from the Lambda context, if it tells."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return None

    def left() -> float | None:
        try:
            return float(remaining()) / 1000.0 - _DEADLINE_MARGIN
        except (TypeError, ValueError):
            return None

    return left
