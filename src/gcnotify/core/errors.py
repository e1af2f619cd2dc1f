"""The one exception tree of gcnotify.

Every error a user can meet is a ``GcnotifyError`` whose message says what happened, which key,
value or HTTP status was involved, and what to do about it. No message ever holds a secret value
(client secret, API key, access token): the seams build messages from names, never from values.

    GcnotifyError
    ├── ConfigError                  the config file is invalid (lists every problem)
    ├── SecretError                  the Secrets Manager secret is missing, unreadable or incomplete
    ├── EventError                   the invocation event (or CLI arguments) is malformed
    ├── RequestError                 a notification request is invalid (lists every problem)
    ├── ReportError                  a report cannot be built (e.g. a queue name does not exist)
    │   ├── QueueNotFoundError
    │   ├── UnexpectedAnswerError    the Genesys answer does not fit the query (other queues, …)
    │   └── RecipientsSuppressedError  every recipient of a report is suppressed: nothing sent
    ├── RenderError                  a template is missing or failed to render
    ├── MessageTemplateError         a message template is invalid, fails to render, or is too long
    ├── ApiError                     an HTTP API answered with an error or could not be reached
    │   ├── GenesysError
    │   │   ├── GenesysAuthError         token request refused, or 401 after a fresh token
    │   │   ├── GenesysPermissionError   403: the OAuth client's roles lack a permission
    │   │   ├── GenesysRequestError      other 4xx (e.g. an aggregates 400), with Genesys's message
    │   │   └── GenesysUnavailableError  429/5xx/timeouts that outlasted the retry budget
    │   │       └── GenesysOutcomeUnknownError  a send went out but its outcome is unknown
    │   ├── ChatError                a Slack/Teams webhook refused the post or was unreachable
    │   └── SendGridError
    │       ├── SendGridAuthError        401: the API key is wrong or revoked
    │       ├── SendGridForbiddenError   403: unverified sender, or the account is blocked
    │       ├── SendGridTooLargeError    413: the message is too large
    │       ├── SendGridRequestError     other 4xx, with SendGrid's own error messages
    │       └── SendGridUnavailableError 429/5xx/timeouts that outlasted the retry budget
    │           └── SendGridOutcomeUnknownError  the request was sent but the answer was lost
    ├── LedgerError                  the DynamoDB send ledger could not be read or written
    ├── MessageStoreError            the DynamoDB messages table could not be read or written
    ├── SuppressionError             the suppression table could not be used, or an address is bad
    ├── StorageError                 the S3 artifact bucket could not be written or linked
    ├── AmbiguousSendError           an earlier attempt may have sent this report; not re-sent
    └── RunFailedError               at least one report failed; the message holds the summary
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "AmbiguousSendError",
    "ApiError",
    "ChatError",
    "ConfigError",
    "ConfigProblem",
    "EventError",
    "GcnotifyError",
    "GenesysAuthError",
    "GenesysError",
    "GenesysOutcomeUnknownError",
    "GenesysPermissionError",
    "GenesysRequestError",
    "GenesysUnavailableError",
    "LedgerError",
    "MessageStoreError",
    "MessageTemplateError",
    "QueueNotFoundError",
    "RecipientsSuppressedError",
    "RenderError",
    "ReportError",
    "RequestError",
    "RunFailedError",
    "SecretError",
    "SendGridAuthError",
    "SendGridError",
    "SendGridForbiddenError",
    "SendGridOutcomeUnknownError",
    "SendGridRequestError",
    "SendGridTooLargeError",
    "SendGridUnavailableError",
    "StorageError",
    "SuppressionError",
    "UnexpectedAnswerError",
]


class GcnotifyError(Exception):
    """Base of every error gcnotify raises on purpose."""

    # True when the failed request may still have reached the provider (its answer was lost):
    # the exactly-once guard then records the send as unknown instead of failed.
    maybe_sent: bool = False


@dataclass(frozen=True)
class ConfigProblem:
    """One bad key in the config: where it is, what it holds, and how to fix it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ConfigError(GcnotifyError):
    """The config file is invalid; ``problems`` lists every problem found, not just the first."""

    def __init__(
        self, problems: Sequence[ConfigProblem], source: str = "config", *, note: str = ""
    ) -> None:
        self.problems = tuple(problems)
        self.source = source
        lines = "\n".join(f"  - {p}" for p in self.problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        # ``note`` says what the failure stopped (the handler: "nothing was fetched or sent").
        super().__init__(f"{source} has {count} {noun}{'; ' + note if note else ''}:\n{lines}")


class SecretError(GcnotifyError):
    """The credentials secret could not be used. Names the secret id and keys, never values."""


class EventError(GcnotifyError):
    """The invocation event is malformed; names the key and the expected form."""


class RequestError(GcnotifyError):
    """A notification request is invalid; ``problems`` lists every (field, fix) pair at once.

    The calling application fixes its request in one go instead of one rejection per field.
    ``key`` is the request's idempotency key when that field itself was valid, so the rejection
    can still be recorded under it.
    """

    def __init__(self, problems: Sequence[tuple[str, str]], *, key: str | None = None) -> None:
        self.problems = tuple(problems)
        self.key = key
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        lines = "\n".join(f"  - {line}" for line in self.messages)
        super().__init__(f"the notification request has {count} {noun}:\n{lines}")

    @property
    def messages(self) -> tuple[str, ...]:
        """Each problem as one ``field: fix`` line, as the intake answers them."""
        return tuple(f"{field}: {message}" for field, message in self.problems)


class ReportError(GcnotifyError):
    """A report cannot be produced as configured."""


class QueueNotFoundError(ReportError):
    """A configured queue name does not exist in the Genesys org."""

    def __init__(self, missing: Sequence[str], suggestions: dict[str, list[str]]) -> None:
        self.missing = tuple(missing)
        self.suggestions = suggestions
        parts = []
        for name in self.missing:
            close = suggestions.get(name) or []
            hint = f" (closest real names: {', '.join(repr(c) for c in close)})" if close else ""
            parts.append(f"{name!r}{hint}")
        super().__init__(
            "queue not found in Genesys Cloud: "
            + "; ".join(parts)
            + ". Queue names are exact and case-sensitive; fix reports[].queues in gcnotify.yaml "
            "or use the queue id."
        )


class UnexpectedAnswerError(ReportError):
    """The Genesys answer holds data that does not fit the query that was sent.

    Data for queues that were not asked for, results not grouped by queue, negative counts,
    intervals outside the window or of another granularity, stats missing what a metric needs:
    such an answer is refused rather than read as "no activity", because its numbers cannot be
    trusted.
    """


class RecipientsSuppressedError(ReportError):
    """Every recipient of a report is in the suppression table (channel email): nobody is left
    to send it to, so it is not sent. The message names them (masked) and the fix."""


class RenderError(GcnotifyError):
    """An email template is missing or failed to render."""


class MessageTemplateError(GcnotifyError):
    """A notification's template does not compile or render, or renders text its channel refuses.

    The request is rejected and nothing is sent: a missing variable is never sent as ``{{ x }}``,
    and an SMS over the provider's length limit is refused here rather than by Genesys.
    """


class ApiError(GcnotifyError):
    """An HTTP API call failed; carries the HTTP status (None for network errors).

    ``code`` is the provider's own error code when it sent one (a Genesys ``ErrorBody`` code such
    as ``too.many.requests.retry.after``), so callers can tell permanent refusals from passing
    ones without parsing the message. ``retry_after`` is the seconds the provider asked to wait
    before trying again: a caller that cannot sleep that long re-queues the work for then.
    """

    service = "API"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        code: str | None = None,
    ) -> None:
        self.status = status
        self.retry_after = retry_after
        self.code = code
        super().__init__(message)


class GenesysError(ApiError):
    service = "Genesys Cloud"


class GenesysAuthError(GenesysError):
    pass


class GenesysPermissionError(GenesysError):
    pass


class GenesysRequestError(GenesysError):
    pass


class GenesysUnavailableError(GenesysError):
    pass


class GenesysOutcomeUnknownError(GenesysUnavailableError):
    """An agentless send went out but no usable answer came back: Genesys may have sent it.

    Agentless sends have no idempotency key, so this is never retried automatically.
    """

    maybe_sent = True


class SendGridError(ApiError):
    service = "SendGrid"


class SendGridAuthError(SendGridError):
    pass


class SendGridForbiddenError(SendGridError):
    pass


class SendGridTooLargeError(SendGridError):
    pass


class SendGridRequestError(SendGridError):
    pass


class SendGridUnavailableError(SendGridError):
    pass


class SendGridOutcomeUnknownError(SendGridUnavailableError):
    """The mail/send request went out but no answer came back: SendGrid may have accepted it.

    mail/send has no idempotency key, so this is never retried automatically.
    """

    maybe_sent = True


class ChatError(ApiError):
    """A Slack or Teams incoming webhook refused the post or could not be reached.

    The webhook URL is the credential, so the message names the channel kind and the secret key
    that holds the URL, never the URL itself.
    """

    service = "chat webhook"


class LedgerError(GcnotifyError):
    """The DynamoDB send ledger could not be used; the report is not sent without it."""


class MessageStoreError(GcnotifyError):
    """The DynamoDB messages table could not be used; a request is not taken or moved without it."""


class QueueError(GcnotifyError):
    """An SQS queue could not be used: a request is not reported as taken until it is queued."""


class SuppressionError(GcnotifyError):
    """The suppression table could not be used, or an address cannot be normalised.

    Nothing is sent to an address whose suppression could not be checked.
    """


class StorageError(GcnotifyError):
    """The S3 artifact bucket could not be used: files too large to attach cannot be linked."""


class RunFailedError(GcnotifyError):
    """Raised by the handler after all reports ran and at least one failed.

    Raising (rather than returning) makes Lambda count an error, so the alarms and the async
    retry/failure-destination configuration in template.yaml see it.
    """


class AmbiguousSendError(GcnotifyError):
    """An earlier attempt claimed this send and did not record its outcome.

    It may have been delivered, so gcnotify does not send again by itself; a person checks
    SendGrid's Email Activity and re-runs with ``force`` if it was not delivered.
    """
