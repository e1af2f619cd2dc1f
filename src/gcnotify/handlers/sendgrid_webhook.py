"""AWS Lambda entry point of the SendGrid Event Webhook: ``gcnotify.handlers.sendgrid_webhook
.lambda_handler``, behind a function URL with ``AuthType: NONE``.

SendGrid cannot sign AWS requests, so the function URL is open and the Signed Event Webhook's
signature is the authentication: every POST must carry SendGrid's ECDSA signature over its
timestamp and exact body, made with the key whose public half is ``sendgrid.webhook_public_key``,
and a timestamp at most 300 s from now. Anything else is answered 401 (413 over 1 MiB) and
nothing is read further, recorded or logged of its body.

A genuine POST's events are applied (``receipts/webhook.py``) and answered 200 with the counts:
``received, recorded, duplicates, ignored, malformed, unmatched, suppressed`` (and ``alerted``,
``retried``, ``failed``). When a table fails, the events already applied stay applied, the
others are released, and the answer is 500: SendGrid retries the POST, and what was applied
comes back as duplicates. A body that is not a JSON array is answered 400 (SendGrid retries it
for 24 hours too). The key is loaded once per container; ``cryptography`` is imported only here.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gcnotify.core.config import load_config
from gcnotify.core.errors import ConfigError, GcnotifyError
from gcnotify.handlers.http_event import answer, is_http_event
from gcnotify.handlers.lambda_context import deadline_of
from gcnotify.runtime.log import quiet_sdk_loggers
from gcnotify.runtime.metrics import emit
from gcnotify.runtime.redact import RedactingFilter
from gcnotify.runtime.settings import Settings
from gcnotify.sendgrid.webhook import (
    MAX_BODY_BYTES,
    EventBatch,
    Refusal,
    SignatureVerifier,
    parse_events,
)

if TYPE_CHECKING:
    from gcnotify.core.model import Config
    from gcnotify.receipts.settings import ReceiptSettings
    from gcnotify.receipts.webhook import RecipientSuppressed, WebhookTargets
    from gcnotify.reports.runner import Services

__all__ = ["handle", "lambda_handler", "reset"]

logger = logging.getLogger("gcnotify")
quiet_sdk_loggers()
if not any(isinstance(f, RedactingFilter) for f in logger.filters):
    logger.addFilter(RedactingFilter())

# A Base64 body of MAX_BODY_BYTES is 4/3 as long; beyond that it is refused before decoding.
_MAX_RAW_CHARS = (MAX_BODY_BYTES + 2) // 3 * 4
_METRICS = {
    "recorded": "WebhookEventsRecorded",
    "duplicates": "WebhookEventsDuplicate",
    "ignored": "WebhookEventsIgnored",
    "malformed": "WebhookEventsMalformed",
    "unmatched": "WebhookEventsUnmatched",
    "suppressed": "WebhookAddressesSuppressed",
    "failed": "WebhookEventsFailed",
    # The receipts poller's names: one failure-rate alarm for every channel.
    "delivered": "ReceiptsDelivered",
    "read": "ReceiptsRead",
    "failures": "ReceiptsFailed",
}


@dataclass
class _State:
    """What a container builds once: the config, the verifier (the key loaded), the tables."""

    settings: Settings
    config: Config
    receipts: ReceiptSettings
    verifier: SignatureVerifier | None
    _targets: WebhookTargets | None = None
    _session: Any = None
    _alerts: Any = None  # the report handler's cold start, made for the first alert
    _deadline: datetime | None = field(default=None, repr=False)

    def _client(self, service: str, error: type[GcnotifyError]) -> Any:
        import boto3
        from botocore.exceptions import BotoCoreError

        if self._session is None:
            self._session = boto3.session.Session()
        try:
            return self._session.client(service, endpoint_url=self.settings.aws_endpoint_url)
        except BotoCoreError as exc:
            raise error(
                f"cannot create the AWS {service} client ({type(exc).__name__}); set "
                "AWS_DEFAULT_REGION and AWS credentials (Lambda provides both)"
            ) from None

    def targets(self) -> WebhookTargets:
        if self._targets is None:
            from gcnotify.aws.event_ids import EventIds
            from gcnotify.aws.ledger import Ledger
            from gcnotify.aws.messages import MessageStore
            from gcnotify.aws.suppression import SuppressionTable
            from gcnotify.core.errors import LedgerError, SuppressionError
            from gcnotify.receipts.webhook import SentMessageIds, WebhookTargets

            ledger_table = self.settings.ledger_table
            suppression_table = self.settings.suppression_table
            if ledger_table is None:
                raise LedgerError(
                    "GCNOTIFY_LEDGER_TABLE is not set; template.yaml sets it for the webhook "
                    "function (event ids are claimed there)"
                )
            if suppression_table is None:
                raise SuppressionError(
                    "GCNOTIFY_SUPPRESSION_TABLE is not set; template.yaml sets it for the "
                    "webhook function"
                )
            dynamodb = self._client("dynamodb", LedgerError)
            store = (
                MessageStore(dynamodb, self.settings.messages_table)
                if self.settings.messages_table
                else None
            )
            self._targets = WebhookTargets(
                events=EventIds(dynamodb, ledger_table),
                suppression=SuppressionTable(dynamodb, suppression_table),
                settings=self.receipts,
                ledger=Ledger(dynamodb, ledger_table),
                store=store,
                outbox=self._outbox(),
                alert=self._alert if self.config.alerts.to or self.config.alerts.chat else None,
                message_ids=SentMessageIds(store) if store is not None else None,
            )
        return self._targets

    def _outbox(self) -> Any:
        """The outbox, where a temporary failure is queued again (None: no notifications)."""
        if self.settings.outbox_queue_url is None:
            return None
        from gcnotify.aws.queue import Outbox
        from gcnotify.core.errors import QueueError

        return Outbox(self._client("sqs", QueueError), self.settings.outbox_queue_url)

    def _services(self) -> Services:
        # The report function's own seams (secret, SendGrid, renderer, guard, chat), so an alert
        # here is the very mail and post a failed report sends.
        from gcnotify.handlers.report import _ColdStart

        if self._alerts is None:
            self._alerts = _ColdStart(settings=self.settings, config=self.config)
        services: Services = self._alerts.get_services(None, self._deadline)
        return services

    def _alert(self, suppressed: RecipientSuppressed) -> bool:
        from gcnotify.reports.alerts import send_recipient_alert

        if not self.config.alerts.to:
            logger.warning(
                "report recipient suppressed; alerts.to is not set, so nobody is mailed",
                extra={"report": suppressed.report_id, "reason": suppressed.reason},
            )
        at = suppressed.at.isoformat() if suppressed.at else "an unknown time"
        problem = (
            f"SendGrid reported {suppressed.code} at {at}"
            + (f" ({suppressed.text})" if suppressed.text else "")
            + f"; the address was added to the suppression table (reason {suppressed.reason}, "
            f"source report:{suppressed.report_id})."
        )
        try:
            services = self._services()
        except GcnotifyError as exc:
            logger.error("could not alert about a suppressed recipient", extra={"error": str(exc)})
            return False
        now = datetime.now(UTC)
        return (
            send_recipient_alert(
                self.config,
                services,
                report_id=suppressed.report_id,
                business_date=suppressed.business_date,
                address=suppressed.address,
                problem=problem,
                day=now.date(),
            )
            > 0
        )


_state: _State | None = None


def reset() -> None:
    """Forget the cached state (tests; a new container does this)."""
    global _state  # noqa: PLW0603 - the per-container cache is module state by design
    _state = None


def _cold_start(environ: Mapping[str, str]) -> _State:
    global _state  # noqa: PLW0603
    if _state is None:
        from gcnotify.receipts.settings import receipts_block, receipts_of

        settings = Settings.from_env(environ)
        try:
            config = load_config(settings.config_path, blocks={"receipts": receipts_block()})
        except ConfigError as exc:
            raise ConfigError(
                exc.problems, exc.source, note="no webhook event was recorded"
            ) from None
        key = config.sendgrid.webhook_public_key
        verifier = SignatureVerifier(key) if key is not None else None
        _state = _State(settings, config, receipts_of(config), verifier)
    return _state


def _body(event: Mapping[str, Any]) -> bytes | dict[str, Any]:
    """The request's exact bytes (Base64 decoded when Lambda encoded them), or the refusal."""
    raw = event.get("body") or ""
    if not isinstance(raw, str) or len(raw) > _MAX_RAW_CHARS:
        return answer(413, {"status": "refused", "reason": f"body over {MAX_BODY_BYTES:,} bytes"})
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            return answer(400, {"status": "refused", "reason": "body is not Base64"})
    return raw.encode("utf-8", "surrogatepass")


def handle(
    event: Mapping[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    deadline: datetime | None = None,
) -> dict[str, Any]:
    """One function URL request."""
    if not is_http_event(event):
        return answer(400, {"status": "refused", "reason": "not a function URL request"})
    method = str(event["requestContext"]["http"].get("method", "")).upper()
    if method != "POST":
        return answer(405, {"status": "refused", "reason": "POST the Event Webhook's batches"})
    body = _body(event)
    if isinstance(body, dict):
        return body
    try:
        state = _cold_start(os.environ if environ is None else environ)
    except ConfigError as exc:
        logger.error("webhook not set up", extra={"error": str(exc)})
        return answer(500, {"status": "error", "reason": "not set up; see the function's logs"})
    if state.verifier is None:
        logger.error(
            "webhook POST refused: sendgrid.webhook_public_key is not set in gcnotify.yaml; "
            "copy the Verification Key from SendGrid's Signed Event Webhook settings"
        )
        return answer(503, {"status": "error", "reason": "not set up; see the function's logs"})
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    refusal = state.verifier.check(headers, body, now=now())
    batch: EventBatch | Refusal = refusal if refusal is not None else parse_events(body)
    if isinstance(batch, Refusal):
        logger.warning(
            "webhook POST refused", extra={"reason": batch.reason, "status": batch.status}
        )
        emit({"WebhookPostsRefused": 1})
        return answer(batch.status, {"status": "refused", "reason": batch.reason})
    from gcnotify.receipts.webhook import receive

    state._deadline = deadline
    try:
        targets = state.targets()
    except GcnotifyError as exc:
        logger.error("webhook tables unavailable", extra={"error": str(exc)})
        return answer(503, {"status": "error", "reason": "not recorded; retry"})
    counts = receive(batch, targets, now=now())
    result = counts.to_dict()
    logger.info("webhook batch", extra={"counts": result})
    emit({metric: result[name] for name, metric in _METRICS.items()})
    if counts.failed:
        return answer(500, {"status": "error", **result})
    return answer(200, {"status": "ok", **result})


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Lambda entry point."""
    return handle(event, deadline=deadline_of(context))
