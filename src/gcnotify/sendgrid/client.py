"""The SendGrid seam: a pure mail/send body builder and a small HTTP client.

The builder enforces the limits SendGrid's schema cannot express (recipients across to/cc/bcc,
30 MB, custom_args size), so a bad message fails here with a clear error instead of as a 400 at
send time. The client sends exactly once unless the request certainly never reached SendGrid:
mail/send has no idempotency key, so a lost answer must not become a duplicate email.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from gcnotify import __version__
from gcnotify.core.errors import (
    SecretError,
    SendGridAuthError,
    SendGridError,
    SendGridForbiddenError,
    SendGridOutcomeUnknownError,
    SendGridRequestError,
    SendGridTooLargeError,
    SendGridUnavailableError,
)
from gcnotify.core.mail import RenderedEmail
from gcnotify.core.model import Address, Recipients, SendGridSettings
from gcnotify.core.regions import SENDGRID_HOSTS, sendgrid_url
from gcnotify.core.retry import RETRYABLE_STATUSES, RetryPolicy, server_wait
from gcnotify.runtime.http import is_connect_failure, request_with_retry
from gcnotify.runtime.redact import REDACTOR

__all__ = [
    "MAX_CUSTOM_ARGS_BYTES",
    "MAX_MESSAGE_BYTES",
    "MAX_RECIPIENTS",
    "SENDGRID_HOSTS",
    "SendGridClient",
    "SendResult",
    "build_mail_body",
    "encode_body",
    "sendgrid_base_url",
    "unique_recipients",
]


# SendGrid: "must be less than 30MB". Whether MB means 10^6 or 2^20 and whether the Base64/JSON
# overhead counts is not documented, so the budget is the smaller reading, on the encoded body.
MAX_MESSAGE_BYTES = 30_000_000
MAX_RECIPIENTS = 1000
MAX_CUSTOM_ARGS_BYTES = 10_000
MAX_CATEGORIES = 10
MAX_CATEGORY_LENGTH = 255

# An API-key-looking token, as the official library refuses to send. Real keys are
# "SG." + 22 + "." + 43 URL-safe characters; the length floors keep short dotted names such as a
# queue called "SG.Sales.Voice" (Singapore sites) from blocking a report every night.
_KEY_CHARS = r"[0-9A-Za-z_-]"
_API_KEY_PATTERN = rf"(?<!{_KEY_CHARS})SG\.{_KEY_CHARS}{{16,}}\.{_KEY_CHARS}{{16,}}"
_API_KEY_TEXT = re.compile(_API_KEY_PATTERN)
_API_KEY_BYTES = re.compile(_API_KEY_PATTERN.encode("ascii"))

_USER_AGENT = f"gcnotify/{__version__}"


def unique_recipients(recipients: Recipients) -> Recipients:
    """Drop repeated addresses, case-insensitively, keeping the first (to > cc > bcc).

    SendGrid rejects a personalization whose address repeats across to, cc and bcc.
    """
    seen: set[str] = set()

    def keep(addresses: Iterable[str]) -> tuple[str, ...]:
        kept: list[str] = []
        for address in addresses:
            key = address.lower()
            if key not in seen:
                seen.add(key)
                kept.append(address)
        return tuple(kept)

    to = keep(recipients.to)
    cc = keep(recipients.cc)
    bcc = keep(recipients.bcc)
    return Recipients(to=to, cc=cc, bcc=bcc)


def encode_body(body: Mapping[str, Any]) -> bytes:
    """The exact bytes sent, so the size checked is the size SendGrid receives."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode(
        "utf-8"
    )


def _address(address: Address) -> dict[str, str]:
    entry = {"email": address.email}
    if address.name:
        entry["name"] = address.name
    return entry


def _check_custom_args(custom_args: Mapping[str, str]) -> dict[str, str]:
    checked: dict[str, str] = {}
    for key, value in custom_args.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ValueError(
                f"custom_args[{key!r}] must map a string to a string, got "
                f"{type(key).__name__} -> {type(value).__name__}; SendGrid answers 400 otherwise"
            )
        checked[key] = value
    size = len(encode_body(checked))
    if size >= MAX_CUSTOM_ARGS_BYTES:
        raise ValueError(
            f"custom_args are {size} bytes; SendGrid allows less than {MAX_CUSTOM_ARGS_BYTES}"
        )
    return checked


def _check_categories(categories: Sequence[str]) -> list[str]:
    unique: list[str] = []
    for category in categories:
        if not isinstance(category, str) or not category:
            raise ValueError(f"category {category!r} must be a non-empty string")
        if len(category) > MAX_CATEGORY_LENGTH:
            raise ValueError(
                f"category {category[:40]!r}… is {len(category)} characters; "
                f"SendGrid allows at most {MAX_CATEGORY_LENGTH}"
            )
        if category not in unique:
            unique.append(category)
    if len(unique) > MAX_CATEGORIES:
        raise ValueError(
            f"{len(unique)} categories given; SendGrid allows at most {MAX_CATEGORIES}"
        )
    return unique


def _refuse_api_keys(email: RenderedEmail, extra: Iterable[str]) -> None:
    """Fail before a SendGrid API key (ours or anyone's) is mailed out; never echo it."""
    texts = {"subject": email.subject, "text part": email.text, "HTML part": email.html}
    places = [name for name, text in texts.items() if _API_KEY_TEXT.search(text)]
    places += [
        f"attachment {a.filename!r}"
        for a in email.attachments
        if _API_KEY_TEXT.search(a.filename) or _API_KEY_BYTES.search(a.content)
    ]
    if any(_API_KEY_TEXT.search(text) for text in extra):
        places.append("custom_args or categories")
    if places:
        raise ValueError(
            f"the email's {', '.join(places)} contains a string that looks like a SendGrid API "
            "key (SG.<id>.<secret>); refusing to build a message that would mail a credential"
        )


def build_mail_body(
    email: RenderedEmail,
    *,
    sender: SendGridSettings,
    recipients: Recipients,
    custom_args: Mapping[str, str],
    categories: Sequence[str] = (),
    sandbox: bool = False,
) -> dict[str, Any]:
    """The mail/send JSON body for one message to one set of recipients.

    Tracking is off: the reports are internal, click tracking would rewrite every link through
    SendGrid, and open tracking adds a pixel. Sandbox mode is always stated, never implied, so a
    dry run can never be mistaken for a send (or the reverse).
    """
    unique = unique_recipients(recipients)
    if not unique.to:
        raise ValueError("recipients.to is empty; SendGrid needs at least one 'to' address")
    total = len(unique.to) + len(unique.cc) + len(unique.bcc)
    if total > MAX_RECIPIENTS:
        raise ValueError(
            f"{total} unique recipients (to+cc+bcc); SendGrid accepts at most {MAX_RECIPIENTS} "
            "per message; use a distribution list address instead"
        )
    for name, value in (("subject", email.subject), ("text", email.text), ("html", email.html)):
        if not value:
            raise ValueError(f"the email's {name} is empty; SendGrid requires it to be non-empty")
    checked_args = _check_custom_args(custom_args)
    checked_categories = _check_categories(categories)
    _refuse_api_keys(email, [*checked_args.values(), *checked_categories])

    personalization: dict[str, Any] = {"to": [{"email": a} for a in unique.to]}
    if unique.cc:
        personalization["cc"] = [{"email": a} for a in unique.cc]
    if unique.bcc:
        personalization["bcc"] = [{"email": a} for a in unique.bcc]

    body: dict[str, Any] = {
        "personalizations": [personalization],
        "from": _address(sender.from_),
        "subject": email.subject,
        # RFC 1341 (section 7.2) order, which SendGrid enforces: text/plain first, then text/html.
        "content": [
            {"type": "text/plain", "value": email.text},
            {"type": "text/html", "value": email.html},
        ],
    }
    if sender.reply_to is not None:
        body["reply_to"] = _address(sender.reply_to)
    if email.attachments:
        attachments = []
        for attachment in email.attachments:
            if not attachment.content:
                raise ValueError(f"attachment {attachment.filename!r} is empty")
            attachments.append(
                {
                    "content": base64.b64encode(attachment.content).decode("ascii"),
                    "type": attachment.mime_type,
                    "filename": attachment.filename,
                    "disposition": "attachment",
                }
            )
        body["attachments"] = attachments
    if checked_categories:
        body["categories"] = checked_categories
    if checked_args:
        body["custom_args"] = checked_args
    body["mail_settings"] = {"sandbox_mode": {"enable": bool(sandbox)}}
    body["tracking_settings"] = {
        "click_tracking": {"enable": False, "enable_text": False},
        "open_tracking": {"enable": False},
        # Internal reports: no unsubscribe footer, no rewritten or tagged links.
        "subscription_tracking": {"enable": False},
        "ganalytics": {"enable": False},
    }
    _check_size(len(encode_body(body)), len(email.attachments))
    return body


def _check_size(size: int, attachments: int) -> None:
    if size >= MAX_MESSAGE_BYTES:
        raise SendGridTooLargeError(
            f"the email is {size / 1_000_000:.1f} MB as sent ({attachments} attachment(s)); "
            f"SendGrid accepts less than {MAX_MESSAGE_BYTES // 1_000_000} MB per message. "
            "Nothing was sent; report fewer queues or a coarser interval (P1D)."
        )


def sendgrid_base_url(settings: SendGridSettings) -> str:
    """EU data-residency subusers must use the EU host; everyone else the global one."""
    return sendgrid_url(settings.data_residency)


@dataclass(frozen=True)
class SendResult:
    """What SendGrid said: 202 (queued) or 200 (sandbox), and the X-Message-Id to trace it."""

    status: int
    message_id: str | None


class SendGridClient:
    """POSTs mail/send bodies; maps every failure to a ``SendGridError`` a user can act on."""

    def __init__(
        self,
        api_key: str,
        base_url: str,
        *,
        session: requests.Session | None = None,
        policy: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, so sharing it is safe
        timeout: tuple[float, float] = (3.05, 30.0),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        # requests would put a bad header value, key included, into its own exception message.
        if not api_key or not api_key.isascii() or not api_key.isprintable() or " " in api_key:
            raise SecretError(
                "sendgrid_api_key is empty or holds spaces or control characters; "
                "paste the key exactly as SendGrid showed it into the secret"
            )
        if not base_url.startswith(("https://", "http://")):
            raise ValueError(f"SendGrid base URL {base_url!r} must start with https://")
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self._session = session if session is not None else requests.Session()
        self._policy = policy
        self._timeout = timeout
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self.calls = 0
        # Seconds the current invocation may still spend (set per run); caps the retries.
        self.time_left: Callable[[], float | None] | None = None

    def __repr__(self) -> str:
        return f"SendGridClient(base_url={self.base_url!r}, calls={self.calls})"

    def _count(self) -> None:
        self.calls += 1

    def _server_wait(self, response: requests.Response) -> float | None:
        """Seconds SendGrid asks us to wait; capped so a bogus header cannot hang the Lambda."""
        return server_wait(
            response.headers,
            now=self._wall_clock(),
            cap=self._policy.max_total_seconds,
            reset_header="X-RateLimit-Reset",
        )

    def send(self, body: Mapping[str, Any]) -> SendResult:
        """Send one message; retried only on 429/5xx and on failures to connect."""
        data = encode_body(body)
        _check_size(len(data), len(body.get("attachments") or ()))
        if self._api_key.encode("utf-8") in data:
            raise ValueError("the mail body contains the SendGrid API key itself; not sent")
        url = f"{self.base_url}/v3/mail/send"
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": _USER_AGENT,
        }

        def post() -> requests.Response:
            return self._session.post(
                url, data=data, headers=headers, timeout=self._timeout, allow_redirects=False
            )

        first = self.calls
        try:
            response = request_with_retry(
                post,
                policy=self._policy,
                server_wait=self._server_wait,
                # A read timeout may follow an accepted send; only never-sent requests repeat.
                network_retry="connect_only",
                sleep=self._sleep,
                clock=self._clock,
                on_attempt=self._count,
                time_left=self.time_left,
            )
        except requests.RequestException as exc:
            raise self._network_error(exc, self.calls - first, body) from exc
        return self._result(response, self.calls - first, body, len(data))

    def _network_error(
        self, exc: requests.RequestException, attempts: int, body: Mapping[str, Any]
    ) -> SendGridError:
        kind = type(exc).__name__
        if isinstance(exc, requests.exceptions.SSLError) or is_connect_failure(exc):
            return SendGridUnavailableError(
                f"could not reach SendGrid at {self.base_url} ({kind}) after {attempts} "
                "attempt(s); nothing was sent. Check the Lambda's network egress (NAT, proxy, "
                "DNS) and https://status.sendgrid.com."
            )
        if isinstance(
            exc,
            requests.exceptions.InvalidURL
            | requests.exceptions.MissingSchema
            | requests.exceptions.InvalidSchema,
        ):
            return SendGridRequestError(
                f"the SendGrid URL {self.base_url!r} is invalid ({kind}); nothing was sent. "
                "Fix GCNOTIFY_SENDGRID_API_URL."
            )
        trace = ""
        args = body.get("custom_args")
        if isinstance(args, Mapping) and args:
            trace = " (custom args " + ", ".join(f"{k}={v}" for k, v in args.items()) + ")"
        return SendGridOutcomeUnknownError(
            f"the request to SendGrid was sent but no answer came back ({kind}), so the outcome "
            "is unknown: SendGrid may have accepted the email. It was not retried, to avoid "
            "sending a duplicate (mail/send has no idempotency key). Check SendGrid Email "
            f"Activity for this message{trace} before sending it again."
        )

    def _result(
        self, response: requests.Response, attempts: int, body: Mapping[str, Any], size: int
    ) -> SendResult:
        status = response.status_code
        if 200 <= status < 300:
            return SendResult(status, response.headers.get("X-Message-Id") or None)
        details = _error_details(response)
        if status == 401:
            raise SendGridAuthError(
                "SendGrid refused the API key (HTTP 401): API key wrong or revoked; create a key "
                "with Mail Send permission and update the secret's sendgrid_api_key. "
                "Nothing was sent.",
                status=status,
            )
        if status == 403:
            sender = body.get("from")
            address = sender.get("email") if isinstance(sender, Mapping) else None
            raise SendGridForbiddenError(
                f"SendGrid refused to send (HTTP 403){details}. Usually the from address "
                f"{address!r} is not a verified Sender Identity (verify it under Settings → "
                "Sender Authentication), the API key lacks the Mail Send permission, or the "
                "account is temporarily blocked. Nothing was sent.",
                status=status,
            )
        if status == 413:
            raise SendGridTooLargeError(
                f"SendGrid rejected the email as too large (HTTP 413, {size} bytes sent). "
                "Nothing was sent; report fewer queues or a coarser interval (P1D).",
                status=status,
            )
        if status == 429 or status >= 500:
            wait = self._server_wait(response) if status in RETRYABLE_STATUSES else None
            hint = f"; SendGrid asked to wait {wait:.0f} s" if wait is not None else ""
            raise SendGridUnavailableError(
                f"SendGrid did not accept the email (HTTP {status}{details}) after {attempts} "
                f"attempt(s) within the retry budget{hint}. Re-run later; see "
                "https://status.sendgrid.com.",
                status=status,
            )
        raise SendGridRequestError(
            f"SendGrid rejected the request (HTTP {status}){details}. Nothing was sent.",
            status=status,
        )


def _error_details(response: requests.Response) -> str:
    """SendGrid's own messages (``field: message; …``), or a short excerpt of a non-JSON body;
    masked, since an error body may quote what it was sent (the key included)."""
    return REDACTOR.mask(_raw_error_details(response))


def _raw_error_details(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        parts: list[str] = []
        errors = data.get("errors")
        for item in errors if isinstance(errors, list) else ():
            if not isinstance(item, dict):
                continue
            message = item.get("message") or "(no message)"
            field = item.get("field")
            if isinstance(field, str) and field and field != "null":
                parts.append(f"{field}: {message}")
            else:
                parts.append(str(message))
        if isinstance(data.get("id"), str):
            parts.append(f"error id {data['id']}")
        return ": " + "; ".join(parts) if parts else ""
    text = response.text.strip()
    if not text or "html" in response.headers.get("Content-Type", "").lower():
        return ""
    excerpt = " ".join(text.split())
    return ": " + (excerpt[:200] + "…" if len(excerpt) > 200 else excerpt)
