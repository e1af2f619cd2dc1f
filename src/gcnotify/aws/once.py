"""The exactly-once guard: every pipeline that sends goes through ``Once.send`` with a key.

Neither SendGrid's mail/send nor Genesys' agentless messaging takes an idempotency key, so
"never twice" is ours. The rules, all here:

- **already sent** (a ``sent`` record): answer ``already_sent`` without calling anything.
- **held by a live run** (an ``in_progress`` claim whose lease has not ended): leave it, answer
  ``in_progress``. The lease ends when the claiming invocation can no longer be running (its
  Lambda deadline plus a margin), not after a fixed time.
- **outcome unknown** (the provider's answer was lost, or a claim outlived its lease because the
  process died after claiming): answer ``unknown``; it is never re-sent unless forced, because
  the message may have gone out.
- **failed** (the send certainly did not happen): the next run may claim and send again.

A claim carries a fresh owner token. If DynamoDB applied the claim but its answer was lost, the
SDK's retry meets that claim: the token shows it is this run's own, so the send goes ahead
instead of being mistaken for someone else's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from gcnotify.core.errors import GcnotifyError

if TYPE_CHECKING:
    from gcnotify.aws.ledger import Ledger, LedgerRecord

__all__ = ["DEFAULT_LEASE", "LEASE_MARGIN", "Blocked", "Once", "Sent", "interpret"]

# Without a known deadline (the command line), a claim is assumed live this long.
DEFAULT_LEASE = timedelta(minutes=15)
# Added to a deadline: clock skew between hosts, and the last write after the deadline check.
LEASE_MARGIN = timedelta(seconds=30)
# Records written before leases were stored: claimed_at plus this.
_LEGACY_LEASE = timedelta(minutes=15)


@dataclass(frozen=True)
class Blocked:
    """Why this send must not happen now; ``status`` is what the caller reports."""

    status: Literal["already_sent", "in_progress", "unknown"]
    note: str
    record: LedgerRecord

    @property
    def message_id(self) -> str | None:
        return self.record.message_id if self.status == "already_sent" else None


@dataclass(frozen=True)
class Sent:
    """This call sent: the provider's message id (None when it gave none)."""

    message_id: str | None
    note: str | None = None  # set when the send happened but could not be recorded


def _lease_end(record: LedgerRecord) -> datetime | None:
    if record.lease_until is not None:
        return record.lease_until
    return record.claimed_at + _LEGACY_LEASE if record.claimed_at is not None else None


def interpret(record: LedgerRecord | None, now: datetime) -> Blocked | None:
    """What an existing record means for a new send: None when the send may go ahead."""
    if record is None or record.status == "failed":
        return None
    if record.status == "sent":
        return Blocked("already_sent", f"sent at {record.sent_at}; use force to send again", record)
    claimed = record.claimed_at.isoformat() if record.claimed_at else "an unknown time"
    lease_end = _lease_end(record)
    if record.status == "in_progress" and lease_end is not None and now < lease_end:
        return Blocked(
            "in_progress",
            f"another invocation claimed this send at {claimed} and may still be sending "
            f"(until {lease_end.isoformat()}); a later run will see how it ended",
            record,
        )
    why = f" ({record.error})" if record.error else ", and that attempt never finished"
    return Blocked(
        "unknown",
        f"an earlier attempt claimed this send at {claimed}{why}. The message may have gone out, "
        "so it is not re-sent automatically: check the provider's activity log for it, and only "
        "if it was not delivered, send again with force",
        record,
    )


class Once:
    """The guard over one ledger; ``now`` and ``new_token`` are injectable for tests."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        now: Callable[[], datetime],
        new_token: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self.ledger = ledger
        self._now = now
        self._new_token = new_token

    def check(self, key: str) -> Blocked | None:
        """Before any work: a blocked key costs one read and nothing else."""
        return interpret(self.ledger.lookup(key), self._now())

    def send(
        self,
        key: str,
        send: Callable[[], str | None],
        *,
        deadline: datetime | None = None,
        force: bool = False,
        attributes: Mapping[str, str | Sequence[str]] | None = None,
        sent_attributes: Mapping[str, str | Sequence[str]] | None = None,
    ) -> Sent | Blocked:
        """Claim ``key``, call ``send`` (which returns the provider's message id), record it.

        ``send`` raising a ``GcnotifyError`` with ``maybe_sent`` (the request may have reached
        the provider) records ``unknown``; any other exception records ``failed`` (a retry
        may send). Either way the exception propagates. ``deadline``: when the calling
        invocation must have finished; the claim's lease ends a margin after it.
        """
        now = self._now()
        lease_until = (deadline if deadline is not None else now + DEFAULT_LEASE) + LEASE_MARGIN
        token = self._new_token()
        claim = self.ledger.claim(
            key,
            owner=token,
            now=now,
            lease_until=lease_until,
            force=force,
            attributes=attributes,
        )
        if not claim.won:
            blocked = interpret(claim.existing, self._now())
            if blocked is None:
                # The record changed between the write and the read: leave it to the next run.
                raise GcnotifyError(
                    f"the send ledger refused the claim on {key!r} but holds no blocking record; "
                    "nothing was sent, re-run to retry"
                )
            return blocked
        try:
            message_id = send()
        except GcnotifyError as exc:
            self._record_failure(key, token, exc, maybe_sent=exc.maybe_sent)
            raise
        except Exception as exc:
            self._record_failure(key, token, exc, maybe_sent=False)
            raise
        try:
            self.ledger.mark_sent(
                key,
                owner=token,
                now=self._now(),
                message_id=message_id,
                attributes=sent_attributes,
            )
        except GcnotifyError as exc:
            # It went out; the claim stays in_progress, so no later run sends it again.
            return Sent(message_id, note=f"sent, but the ledger could not record it: {exc}")
        return Sent(message_id)

    def _record_failure(
        self, key: str, token: str, exc: BaseException, *, maybe_sent: bool
    ) -> None:
        text = str(exc) if isinstance(exc, GcnotifyError) else f"unexpected {type(exc).__name__}"
        try:
            if maybe_sent:
                self.ledger.mark_unknown(key, owner=token, now=self._now(), error=text)
            else:
                self.ledger.mark_failed(key, owner=token, now=self._now(), error=text)
        except GcnotifyError:
            # The claim stays in_progress: once its lease ends it reads as unknown, never as
            # a free slot, so the worst case is a loud "check and force", not a duplicate.
            pass
