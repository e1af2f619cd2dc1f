"""A campaign run against the Genesys stand-in and moto, over real sockets: the audience read by
the sync query or an async job, every exclusion, the requests taken once by key, and each
failure stopping the run before anything is queued."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gcnotify.aws.messages import NewMessage
from gcnotify.campaigns import CampaignSettings, campaign_key, campaign_window, parse_campaigns
from gcnotify.campaigns.run import ACTIVE_LOOKBACK, CampaignResult, run_campaign
from gcnotify.cli.demo_campaign import campaign_stack
from gcnotify.cli.demo_notify import NotifyStack
from gcnotify.core.errors import (
    ConfigError,
    GenesysRequestError,
    GenesysUnavailableError,
    QueueNotFoundError,
)
from gcnotify.devserver.details_endpoints import QUERY_PATH
from gcnotify.genesys.contacts import ExternalContacts
from gcnotify.genesys.details import ConversationDetails
from gcnotify.handlers import notify_state

QUEUES = ("Support", "Billing")
_counter = iter(range(1_000_000))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NotifyStack]:
    notify_state.reset()
    with (
        campaign_stack(tmp_path_factory.mktemp("campaign-run"), conversations=2000) as running,
        pytest.MonkeyPatch.context() as patch,
    ):
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
            patch.setenv(key, running.environ[key])
        yield running
    notify_state.reset()


def campaign(
    *, channel: str = "webmessaging", template: str = "web-followup", **audience: Any
) -> CampaignSettings:
    """A campaign with an id of its own, so each test's keys are its own."""
    raw = {
        "id": f"run-{next(_counter)}",
        "audience": {"media": "webmessaging", "days": 30, "exclude_active": False, **audience},
        "channel": channel,
        "template": template,
        "timezone": "America/New_York",
        "variables": {"first_name": "there", "brand": "Example"},
    }
    found: list[tuple[str, str]] = []
    parsed = parse_campaigns([raw], lambda p, m: found.append((p, m)))
    assert [] == found
    assert parsed is not None
    return parsed[0]


def run(
    stack: NotifyStack,
    settings: CampaignSettings,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    **details_options: Any,
) -> tuple[CampaignResult, ConversationDetails]:
    state = notify_state.state(stack.environ)
    client, _ = state.providers()
    details = ConversationDetails(client, sleep=lambda _: None, **details_options)
    result = run_campaign(
        settings,
        messaging=state.messaging,
        details=details,
        contacts=ExternalContacts(client),
        suppression=state.suppression,
        store=state.store,
        outbox=state.outbox,
        genesys_calls=lambda: client.calls,
        now=now or datetime.now(UTC),
        dry_run=dry_run,
        resolve_queues=lambda refs: [q.id for q in client.resolve_queues(refs)],
    )
    return result, details


def model_customers(
    stack: NotifyStack,
    settings: CampaignSettings,
    now: datetime,
    *,
    queues: tuple[str, ...] = (),
    since: datetime | None = None,
    open_only: bool = False,
) -> dict[str, int]:
    """What the stand-in's model says: contact id -> customer index, for the window's
    conversations of the campaign's media (read from the model, not through the API)."""
    model = stack.genesys.details.model
    start, end = campaign_window(now, settings.audience.days, settings.timezone)
    if since is not None:
        start = since
    queue_ids = {q.id for q in stack.genesys.queues if q.name in queues}
    found: dict[str, int] = {}
    for conv in model.conversations:
        when = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=conv.start_ms)
        if not start <= when < end or conv.message_type != settings.audience.media:
            continue
        if queue_ids and conv.queue_id not in queue_ids:
            continue
        if open_only and conv.end_ms is not None:
            continue
        contact = model.customer(conv.customer).contact_id
        if contact is not None:
            found[contact] = conv.customer
    return found


def queued_keys(stack: NotifyStack, settings: CampaignSettings, contacts: list[str]) -> set[str]:
    store = notify_state.state(stack.environ).store
    keys = {campaign_key(settings.id, c) for c in contacts}
    return {k for k in keys if store.get(k) is not None}


def test_a_30_day_window_is_read_by_a_job_and_every_customer_queued_once(
    stack: NotifyStack,
) -> None:
    """30 days go by an async job (plus the sync query after the datalake's date); every web
    messaging customer of the named queues with a contact is queued under its campaign key."""
    settings = campaign(queues=list(QUEUES))
    now = datetime.now(UTC)
    expected = model_customers(stack, settings, now, queues=QUEUES)
    result, details = run(stack, settings, now=now)
    assert 1 == details.last.jobs
    assert details.last.sync_windows >= 1
    assert len(expected) == result.queued == len(result.audience.recipients)
    assert {campaign_key(settings.id, c) for c in expected} == queued_keys(
        stack, settings, list(expected)
    )
    summary = result.to_dict()
    assert {
        "campaign": settings.id,
        "dry_run": False,
        "audience": len(expected),
        "queued": len(expected),
    }.items() <= summary.items()
    # The details read's calls, then one bulk read per 100 contacts: never one call per contact.
    bulk = [r for r in stack.genesys.requests if r.path.endswith("/externalcontacts/bulk/contacts")]
    looked_up = sum(len(r.json["entities"]) for r in bulk)
    assert len(expected) <= looked_up
    assert len(bulk) == -(-looked_up // 100)
    assert not [r for r in stack.genesys.requests if "/externalcontacts/contacts/" in r.path]
    # Besides: the token, the queue names and the open conversations (exclude_active).
    assert result.genesys_api_calls >= details.last.calls + len(bulk)


def test_a_1_day_window_is_read_by_the_sync_query_only(stack: NotifyStack) -> None:
    """No job for a short window: the sync query's pages, at most two UTC days each."""
    settings = campaign(days=1)
    now = datetime.now(UTC)
    result, details = run(stack, settings, now=now, dry_run=True)
    assert 0 == details.last.jobs
    assert details.last.pages >= 1
    assert len(model_customers(stack, settings, now)) == len(result.audience.recipients)


def test_a_dry_run_queues_nothing(stack: NotifyStack) -> None:
    """A preview builds the audience and records no request."""
    settings = campaign(days=1)
    result, _ = run(stack, settings, dry_run=True)
    contacts = [r.contact_id for r in result.audience.recipients]
    assert contacts
    assert 0 == result.queued
    assert set() == queued_keys(stack, settings, contacts)
    assert all(s.startswith("***") for s in result.to_dict()["sample"])  # type: ignore[attr-defined]


def test_a_failed_job_stops_the_run_before_anything_is_queued(stack: NotifyStack) -> None:
    """The job ends FAILED: the error says so, and no request of the campaign exists."""
    settings = campaign()
    expected = model_customers(stack, settings, datetime.now(UTC))
    stack.genesys.details.fail_next_job("Query timed out")
    with pytest.raises(GenesysRequestError, match="ended FAILED: Query timed out"):
        run(stack, settings)
    assert set() == queued_keys(stack, settings, list(expected))


def test_a_job_that_never_completes_is_cancelled_and_nothing_queued(stack: NotifyStack) -> None:
    """A job still PENDING past the budget is cancelled; the run raises, queuing nothing."""
    settings = campaign()
    expected = model_customers(stack, settings, datetime.now(UTC))
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    state = notify_state.state(stack.environ)
    client, _ = state.providers()
    details = ConversationDetails(client, sleep=sleep, clock=lambda: clock[0], job_budget=60)
    stack.genesys.details.stall_jobs = True
    try:
        with pytest.raises(GenesysUnavailableError, match=r"was still PENDING.*cancelled"):
            run_campaign(
                settings,
                messaging=state.messaging,
                details=details,
                contacts=ExternalContacts(client),
                suppression=state.suppression,
                store=state.store,
                outbox=state.outbox,
                genesys_calls=lambda: client.calls,
                now=datetime.now(UTC),
                dry_run=False,
            )
    finally:
        stack.genesys.details.stall_jobs = False
    assert stack.genesys.details.cancelled
    assert set() == queued_keys(stack, settings, list(expected))


def test_a_throttled_page_is_retried_and_the_audience_is_whole(stack: NotifyStack) -> None:
    """A 429 on a results page is retried after Retry-After; nobody is missing."""
    settings = campaign(days=1)
    baseline, _ = run(stack, settings, dry_run=True)
    stack.genesys.fail_next(QUERY_PATH, 429, headers={"Retry-After": "0"})
    result, details = run(stack, settings)
    assert details.last.calls > details.last.pages  # the retried page
    assert baseline.audience.recipients == result.audience.recipients
    assert len(baseline.audience.recipients) == result.queued


def test_a_contact_without_a_phone_is_excluded_from_an_sms_campaign(stack: NotifyStack) -> None:
    """Every fifth contact of the stand-in has no phone: no_address, never a guessed number."""
    settings = campaign(media="sms", channel="sms", template="sms-followup", days=7)
    now = datetime.now(UTC)
    expected = model_customers(stack, settings, now)
    phoneless = {c for c, index in expected.items() if index % 5 == 0}
    assert phoneless
    result, _ = run(stack, settings, now=now)
    assert len(phoneless) == result.audience.excluded["no_address"]
    assert set(expected) - phoneless == {r.contact_id for r in result.audience.recipients}
    assert all(r.address.startswith("+1317") for r in result.audience.recipients)
    assert set() == queued_keys(stack, settings, list(phoneless))


def test_past_keys_and_suppressions_are_read_100_customers_a_call(stack: NotifyStack) -> None:
    """Two recipients suppressed (a third removed again) and two notified before: each counted
    where it belongs, and the messages and suppression tables each read once per batch of 100
    customers (BatchGetItem), not once per customer."""
    settings = campaign(media="sms", channel="sms", template="sms-followup", days=30)
    now = datetime.now(UTC)
    first, _ = run(stack, settings, now=now, dry_run=True)
    recipients = first.audience.recipients
    assert len(recipients) > 100  # more than one batch
    state = notify_state.state(stack.environ)
    for r in recipients[:3]:
        state.suppression.add("sms", r.address, "STOP", "test", now)
    state.suppression.remove("sms", recipients[2].address, "START", "test", now)
    for r in recipients[3:5]:
        state.store.accept(
            NewMessage(
                key=campaign_key(settings.id, r.contact_id),
                channel="sms",
                template="sms-followup",
                received_at=now,
            )
        )
    reads = state.store.calls, state.suppression.calls
    again, _ = run(stack, settings, now=now, dry_run=True)
    store_calls = state.store.calls - reads[0]
    suppression_calls = state.suppression.calls - reads[1]
    excluded = again.audience.excluded
    assert (2, 2) == (excluded["suppressed"], excluded["already_notified"])
    assert [r.contact_id for r in recipients if r not in recipients[:2] + recipients[3:5]] == [
        r.contact_id for r in again.audience.recipients
    ]
    asked = len(recipients) + sum(excluded[k] for k in ("no_address", "duplicate_address"))
    batches = -(-(asked + excluded["no_contact"]) // 100)
    assert 1 < store_calls <= batches
    assert 1 < suppression_calls <= store_calls


def test_a_second_run_queues_no_one_again(stack: NotifyStack) -> None:
    """Everyone of the first run is already_notified in the second; 0 new queued."""
    settings = campaign(days=1)
    first, _ = run(stack, settings)
    again, _ = run(stack, settings)
    assert first.queued > 0
    assert 0 == again.queued
    assert first.queued == again.audience.excluded["already_notified"]


def test_two_overlapping_runs_queue_each_recipient_once(stack: NotifyStack) -> None:
    """Two runs at once: the intake's conditional write lets each key in once."""
    settings = campaign(days=1)
    results: list[CampaignResult] = []
    barrier = threading.Barrier(2)

    def one() -> None:
        barrier.wait()
        results.append(run(stack, settings)[0])

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert 2 == len(results)
    audience = {r.contact_id for r in results[0].audience.recipients} | {
        r.contact_id for r in results[1].audience.recipients
    }
    assert len(audience) == sum(r.queued for r in results)
    assert all(0 == r.rejected for r in results)


def test_exclude_active_skips_customers_with_an_open_conversation(stack: NotifyStack) -> None:
    """Customers with a conversation open now (read with open_only) are excluded as active."""
    now = datetime.now(UTC)
    settings = campaign(days=7, exclude_active=True)
    active = model_customers(stack, settings, now, since=now - ACTIVE_LOOKBACK, open_only=True)
    assert active
    result, _ = run(stack, settings, now=now, dry_run=True)
    assert len(active) == result.audience.excluded["active"] == result.active
    assert not set(active) & {r.contact_id for r in result.audience.recipients}
    everyone = replace(settings, audience=replace(settings.audience, exclude_active=False))
    keep, _ = run(stack, everyone, now=now, dry_run=True)
    assert set(active) <= {r.contact_id for r in keep.audience.recipients}


def test_the_limit_caps_the_audience_and_reports_the_rest(stack: NotifyStack) -> None:
    """Over the limit: the first 5 are queued, the others counted over_limit and reported."""
    settings = campaign(days=7, limit=5)
    now = datetime.now(UTC)
    everyone = model_customers(stack, settings, now)
    result, _ = run(stack, settings, now=now)
    summary = result.to_dict()
    assert 5 == result.queued == summary["audience"]
    assert len(everyone) - 5 == result.audience.excluded["over_limit"]
    assert summary["limit_reached"] is True
    assert "limit of 5" in str(summary["note"])


def test_days_beyond_the_guaranteed_history_are_refused_before_any_call(
    stack: NotifyStack,
) -> None:
    """91 days: a ConfigError naming the 90-day limit, and no Genesys call made."""
    settings = campaign()
    long = replace(settings, audience=replace(settings.audience, days=91))
    client, _ = notify_state.state(stack.environ).providers()
    before = client.calls
    with pytest.raises(ConfigError, match=r"audience\.days: 91 is outside 1 to 90"):
        run(stack, long)
    assert before == client.calls


def test_a_template_of_another_channel_is_refused(stack: NotifyStack) -> None:
    """An SMS campaign with a web messaging template names the channel mismatch and the fix."""
    settings = campaign(media="sms", channel="sms", template="web-followup")
    with pytest.raises(ConfigError, match="is a webmessaging template, not sms") as caught:
        run(stack, settings)
    assert "nothing was read or queued" in str(caught.value)


def test_an_unknown_queue_names_the_closest_ones(stack: NotifyStack) -> None:
    """A queue name that does not exist fails the run with the closest real names."""
    settings = campaign(queues=["Suport"])
    with pytest.raises(QueueNotFoundError, match="Support"):
        run(stack, settings)
