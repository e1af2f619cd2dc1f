"""What the notification handlers (intake, data action, sender, campaign) build once per container.

The config (with its ``messaging:`` block validated, templates compiled), the boto3 clients and
the table and queue seams are made on first use and reused by warm invocations. Credentials are
read only by the handlers that need them: the intake never reads the secret, the data action
reads only its shared secret's key, the sender the provider credentials.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gcnotify.core.config import load_config
from gcnotify.core.errors import ConfigError, ConfigProblem, GcnotifyError
from gcnotify.handlers.lambda_context import deadline_of
from gcnotify.messaging.settings import messaging_block, messaging_of
from gcnotify.runtime.resources import read_template
from gcnotify.runtime.settings import Settings

if TYPE_CHECKING:
    from gcnotify.aws.ledger import Ledger
    from gcnotify.aws.messages import MessageStore
    from gcnotify.aws.pace import Pace
    from gcnotify.aws.queue import Outbox
    from gcnotify.aws.secrets import Credentials
    from gcnotify.aws.suppression import SuppressionTable
    from gcnotify.campaigns.settings import CampaignSettings
    from gcnotify.core.model import Config
    from gcnotify.genesys.client import GenesysClient
    from gcnotify.messaging.settings import MessagingSettings
    from gcnotify.sendgrid.client import SendGridClient

__all__ = ["NotifyState", "deadline_of", "load_notify_config", "reset", "state"]


def load_notify_config(settings: Settings) -> Config:
    """The config with its messaging block validated; a bad one names every problem."""
    try:
        return load_config(
            settings.config_path, blocks={"messaging": messaging_block(read_template)}
        )
    except ConfigError as exc:
        raise ConfigError(exc.problems, exc.source, note="nothing was taken or sent") from None


@dataclass
class NotifyState:
    """The per-container cache; each seam is made on first use."""

    settings: Settings
    config: Config
    messaging: MessagingSettings
    _clients: dict[str, Any] = field(default_factory=dict)
    _seams: dict[str, Any] = field(default_factory=dict)
    _credentials: Credentials | None = None

    def client(self, service: str, error: type[GcnotifyError]) -> Any:
        """One boto3 client per service, from one Session (a missing region is our error)."""
        if service not in self._clients:
            import boto3
            from botocore.exceptions import BotoCoreError

            session = self._clients.setdefault("_session", boto3.session.Session())
            try:
                self._clients[service] = session.client(
                    service, endpoint_url=self.settings.aws_endpoint_url
                )
            except BotoCoreError as exc:
                raise error(
                    f"cannot create the AWS {service} client ({type(exc).__name__}); set "
                    "AWS_DEFAULT_REGION and AWS credentials (Lambda provides both)"
                ) from None
        return self._clients[service]

    def _required(self, value: str | None, variable: str, error: type[GcnotifyError]) -> str:
        if value is None:
            raise error(f"{variable} is not set; template.yaml sets it for every notify function")
        return value

    @property
    def store(self) -> MessageStore:
        if "store" not in self._seams:
            from gcnotify.aws.messages import MessageStore
            from gcnotify.core.errors import MessageStoreError

            table = self._required(
                self.settings.messages_table, MessageStore.env_var, MessageStoreError
            )
            client = self.client("dynamodb", MessageStoreError)
            self._seams["store"] = MessageStore(client, table)
        store: MessageStore = self._seams["store"]
        return store

    @property
    def suppression(self) -> SuppressionTable:
        if "suppression" not in self._seams:
            from gcnotify.aws.suppression import SuppressionTable
            from gcnotify.core.errors import SuppressionError

            table = self._required(
                self.settings.suppression_table, SuppressionTable.env_var, SuppressionError
            )
            client = self.client("dynamodb", SuppressionError)
            self._seams["suppression"] = SuppressionTable(client, table)
        table_seam: SuppressionTable = self._seams["suppression"]
        return table_seam

    @property
    def ledger(self) -> Ledger:
        if "ledger" not in self._seams:
            from gcnotify.aws.ledger import Ledger
            from gcnotify.core.errors import LedgerError

            table = self._required(self.settings.ledger_table, "GCNOTIFY_LEDGER_TABLE", LedgerError)
            self._seams["ledger"] = Ledger(self.client("dynamodb", LedgerError), table)
        ledger: Ledger = self._seams["ledger"]
        return ledger

    @property
    def pace(self) -> Pace:
        if "pace" not in self._seams:
            from gcnotify.aws.pace import Pace
            from gcnotify.core.errors import LedgerError

            table = self._required(self.settings.ledger_table, "GCNOTIFY_LEDGER_TABLE", LedgerError)
            self._seams["pace"] = Pace(self.client("dynamodb", LedgerError), table)
        pace: Pace = self._seams["pace"]
        return pace

    @property
    def outbox(self) -> Outbox:
        if "outbox" not in self._seams:
            from gcnotify.aws.queue import Outbox
            from gcnotify.core.errors import QueueError

            url = self._required(self.settings.outbox_queue_url, Outbox.env_var, QueueError)
            self._seams["outbox"] = Outbox(self.client("sqs", QueueError), url)
        outbox: Outbox = self._seams["outbox"]
        return outbox

    @property
    def campaigns(self) -> tuple[CampaignSettings, ...]:
        """The ``campaigns:`` block, validated and checked against the messaging block once.

        Only the campaign function reads it, so the other functions neither parse nor fail on it.
        """
        if "campaigns" not in self._seams:
            from gcnotify.campaigns.settings import cross_check, load_campaigns

            source = str(self.settings.config_path)
            raw = self.config.blocks.get("campaigns")
            if raw is None:
                raise ConfigError(
                    [
                        ConfigProblem(
                            "campaigns",
                            "is missing: list each campaign with id, audience, channel, template "
                            "and timezone (docs/CAMPAIGNS.md)",
                        )
                    ],
                    source,
                    note="nothing was read or queued",
                )
            try:
                campaigns = load_campaigns(raw, source=source)
            except ConfigError as exc:
                raise ConfigError(exc.problems, source, note="nothing was read or queued") from None
            problems = [ConfigProblem(p, m) for p, m in cross_check(campaigns, self.messaging)]
            if problems:
                raise ConfigError(problems, source, note="nothing was read or queued")
            self._seams["campaigns"] = campaigns
        found: tuple[CampaignSettings, ...] = self._seams["campaigns"]
        return found

    def credentials(self) -> Credentials:
        """The secret, read once per container; the intake's shared secret key included."""
        if self._credentials is None:
            from gcnotify.aws.secrets import load_credentials
            from gcnotify.core.errors import SecretError

            self._credentials = load_credentials(
                self.client("secretsmanager", SecretError),
                self.settings.resolve_secret_id(self.config),
                self.config.secret_keys(),
            )
        return self._credentials

    def providers(self) -> tuple[GenesysClient, SendGridClient]:
        """The Genesys and SendGrid clients (one HTTP session each, the token cached inside)."""
        if "genesys" not in self._seams:
            from gcnotify.genesys.client import GenesysClient
            from gcnotify.sendgrid.client import SendGridClient

            creds = self.credentials()
            endpoints = self.settings.endpoints(self.config)
            self._seams["genesys"] = GenesysClient(
                login_url=endpoints.genesys_login,
                api_url=endpoints.genesys_api,
                client_id=creds.genesys_client_id,
                client_secret=creds.genesys_client_secret,
            )
            self._seams["sendgrid"] = SendGridClient(creds.sendgrid_api_key, endpoints.sendgrid)
        return self._seams["genesys"], self._seams["sendgrid"]


_state: NotifyState | None = None


def reset() -> None:
    """Forget the cached state (tests; a new container does this)."""
    global _state  # noqa: PLW0603 - the per-container cache is module state by design
    _state = None


def state(environ: Mapping[str, str] | None = None) -> NotifyState:
    """This container's state, built on first use."""
    global _state  # noqa: PLW0603
    if _state is None:
        settings = Settings.from_env(os.environ if environ is None else environ)
        config = load_notify_config(settings)
        _state = NotifyState(settings, config, messaging_of(config))
    return _state
