"""The one place that reads environment variables; everything else gets values.

The variables are documented in docs/CONFIG.md ("Environment variables").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gcnotify.core.model import Config
from gcnotify.core.regions import api_url, login_url, sendgrid_url
from gcnotify.runtime.resources import default_config_path

__all__ = ["ENV_VARS", "Endpoints", "Settings"]

# Every variable Settings.from_env reads; template.yaml declares them all (a test checks it).
ENV_VARS = (
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

DEFAULT_SECRET_ID = "gcnotify/credentials"  # noqa: S105 - a name, not a value


def _get(environ: Mapping[str, str], name: str) -> str | None:
    """An env var's value; empty counts as unset (SAM declares unused overrides as '')."""
    value = environ.get(name, "").strip()
    return value or None


def _receives(value: str | None) -> int:
    """The outbox's maxReceiveCount as the template sets it; the SQS default-like 5 without."""
    if value is None:
        return 5
    if not value.isdigit() or not 1 <= int(value) <= 1000:
        raise ValueError(
            f"GCNOTIFY_OUTBOX_MAX_RECEIVES={value!r} must be a whole number from 1 to 1000, the "
            "outbox queue's maxReceiveCount"
        )
    return int(value)


@dataclass(frozen=True)
class Settings:
    config_path: Path
    secret_id: str | None
    genesys_login_url: str | None
    genesys_api_url: str | None
    sendgrid_api_url: str | None
    ledger_table: str | None
    aws_endpoint_url: str | None
    # Where files too large to attach are stored, and the download function that links them.
    artifact_bucket: str | None = None
    download_url: str | None = None
    # The notification pipeline's tables and queue, and the receives before SQS gives up.
    messages_table: str | None = None
    suppression_table: str | None = None
    outbox_queue_url: str | None = None
    outbox_max_receives: int = 5

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        config = _get(environ, "GCNOTIFY_CONFIG")
        return cls(
            config_path=Path(config) if config else default_config_path(),
            secret_id=_get(environ, "GCNOTIFY_SECRET_ID"),
            genesys_login_url=_get(environ, "GCNOTIFY_GENESYS_LOGIN_URL"),
            genesys_api_url=_get(environ, "GCNOTIFY_GENESYS_API_URL"),
            sendgrid_api_url=_get(environ, "GCNOTIFY_SENDGRID_API_URL"),
            ledger_table=_get(environ, "GCNOTIFY_LEDGER_TABLE"),
            aws_endpoint_url=_get(environ, "AWS_ENDPOINT_URL"),
            artifact_bucket=_get(environ, "GCNOTIFY_ARTIFACT_BUCKET"),
            download_url=_get(environ, "GCNOTIFY_DOWNLOAD_URL"),
            messages_table=_get(environ, "GCNOTIFY_MESSAGES_TABLE"),
            suppression_table=_get(environ, "GCNOTIFY_SUPPRESSION_TABLE"),
            outbox_queue_url=_get(environ, "GCNOTIFY_OUTBOX_QUEUE_URL"),
            outbox_max_receives=_receives(_get(environ, "GCNOTIFY_OUTBOX_MAX_RECEIVES")),
        )

    def endpoints(self, config: Config) -> Endpoints:
        """Resolve the API base URLs: an env override wins over the config's region."""
        env = config.genesys.environment
        sendgrid = self.sendgrid_api_url or sendgrid_url(config.sendgrid.data_residency)
        return Endpoints(
            genesys_login=(self.genesys_login_url or login_url(env)).rstrip("/"),
            genesys_api=(self.genesys_api_url or api_url(env)).rstrip("/"),
            sendgrid=sendgrid.rstrip("/"),
        )

    def resolve_secret_id(self, config: Config) -> str:
        return self.secret_id or config.secret_id or DEFAULT_SECRET_ID


@dataclass(frozen=True)
class Endpoints:
    genesys_login: str
    genesys_api: str
    sendgrid: str
