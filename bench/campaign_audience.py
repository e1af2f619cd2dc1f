"""A campaign audience from a large conversation history: gcnotify's path against the naive loop.

The Genesys stand-in and a moto server run in their own process (so their models and pages
neither share this GIL nor show in this process's memory), with ``--conversations``
conversations over 30 days from ``--customers`` people and ``--latency-ms`` added to every
Genesys request. The audience is a 30-day
``--media`` audience notified by SMS; with ``--only-media`` every conversation is of that media
(100,000 web messaging conversations from 53,000 people hold about 40,000 distinct customers),
else the model's mix (voice 40 %, web messaging 25 %, …).

- gcnotify: ``ConversationDetails`` (an async job up to the datalake's availability, results
  pages of 1,000 by cursor, the sync query for the hours after) streamed into the
  ``AudienceBuilder``, each distinct customer's contact looked up once, 100 a request (the bulk
  read, ``ExternalContacts.get_many``).
- naive: the sync query over the whole window, pages of 100, every page collected into one list,
  then one loop over the conversations looking up the contact of every customer participant
  (no cache), de-duplicated at the end.

The first gcnotify row leaves the suppression table and the past keys out (in-memory "no"), as
the naive loop does. Then (unless ``--skip-dynamodb``) a tenth of its recipients get a past key
in the messages table and another tenth an active suppression (and a twentieth one removed
again), on moto, and the gcnotify way runs twice more: reading both tables 100 customers a
BatchGetItem (``MessageStore.existing``, ``SuppressionTable.check_many``, what a run does), and
one GetItem per customer and table (``get``, ``check``: how runs read them before). The two must
agree on recipients.

Columns: Genesys API calls (token and retries included) against the floor (one call per results
page plus one per contact lookup, the job's creation and polls left out), DynamoDB calls (moto
over HTTP on 127.0.0.1), wall time, peak memory of this process (tracemalloc), conversations read
and recipients found.

Usage: python bench/campaign_audience.py [--conversations 100000] [--customers N]
       [--latency-ms 80] [--media webmessaging] [--only-media] [--skip-naive] [--naive-limit N]
       [--skip-dynamodb]
The stand-in's process: python bench/campaign_audience.py --serve COUNT LATENCY_MS CUSTOMERS MEDIA
Not part of ``make bench``: at 80 ms the naive loop's lookups alone take hours at full size.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gcnotify.campaigns import AudienceBuilder, campaign_window, parse_campaigns
from gcnotify.campaigns.settings import CampaignSettings
from gcnotify.core.errors import GenesysRequestError
from gcnotify.genesys.client import GenesysClient
from gcnotify.genesys.contacts import CONTACT_PERMISSION, CONTACTS_PATH, parse_contact
from gcnotify.genesys.details import (
    DETAILS_PERMISSION,
    DETAILS_QUERY_PATH,
    ConversationDetails,
    details_query,
)

if TYPE_CHECKING:
    from gcnotify.aws.messages import MessageStore
    from gcnotify.aws.suppression import SuppressionTable
    from gcnotify.campaigns.audience import Audience

CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-secret"  # noqa: S105 - the stand-in's, in its own process


def serve(count: int, latency_ms: float, customers: int, only_media: str) -> int:
    """The stand-in and moto, in this (child) process, until standard input closes."""
    import logging

    from gcnotify.cli.demo import demo_queues
    from gcnotify.devserver.conversations import KINDS
    from gcnotify.devserver.genesys_server import GenesysStandIn
    from gcnotify.devserver.moto_server import SerializedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    moto = SerializedMotoServer()
    moto.start()

    stand_in = GenesysStandIn(demo_queues(12), client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    kinds = [k for k in KINDS if (k[1] or k[0]) == only_media] or None
    stand_in.details.configure(
        count=count, days=30, seed=7, customers=customers or None, kinds=kinds
    )
    stand_in.details.results_page_size_max = 1000
    stand_in.details.polls_to_finish = 1
    stand_in.start()
    _ = stand_in.details.model  # built now, not inside the first measured request
    stand_in.latency = latency_ms / 1000.0
    print(json.dumps({"url": stand_in.url, "moto": moto.url}), flush=True)
    sys.stdin.read()
    stand_in.close()
    moto.stop()
    return 0


def campaign_of(media: str) -> CampaignSettings:
    raw = {
        "id": "bench",
        "audience": {"media": media, "days": 30, "exclude_active": False},
        "channel": "sms",
        "template": "bench",
        "timezone": "UTC",
    }
    parsed = parse_campaigns([raw], print)
    assert parsed is not None
    return parsed[0]


@dataclass
class Row:
    way: str
    calls: int
    floor: int
    seconds: float
    peak_mb: float
    conversations: int
    recipients: int
    lookups: int
    dynamodb: int | None = None


def measured(run: Callable[[], tuple[int, int, int, int]], client: GenesysClient, way: str) -> Row:
    client.calls = 0
    tracemalloc.start()
    started = time.perf_counter()
    conversations, recipients, lookups, floor = run()
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return Row(way, client.calls, floor, seconds, peak / 1e6, conversations, recipients, lookups)


@dataclass
class Dynamo:
    """How a gcnotify row reads the past keys and the suppression table, and what it cost."""

    way: str
    taken: Callable[[Sequence[str]], set[str]]
    suppressed: Callable[[str, Sequence[str]], set[str]]
    calls: Callable[[], int]


def in_memory() -> Dynamo:
    return Dynamo("DynamoDB left out", lambda _k: set(), lambda _c, _a: set(), lambda: 0)


def batched(store: MessageStore, suppression: SuppressionTable) -> Dynamo:
    return Dynamo(
        "BatchGetItem",
        store.existing,
        suppression.check_many,
        lambda: store.calls + suppression.calls,
    )


def per_customer(store: MessageStore, suppression: SuppressionTable) -> Dynamo:
    """One GetItem per key and per address, as the audience read them one customer at a time."""
    return Dynamo(
        "GetItem each",
        lambda keys: {k for k in keys if store.get(k) is not None},
        lambda channel, addresses: {
            a for a in addresses if suppression.check(channel, a) is not None
        },
        lambda: store.calls + suppression.calls,
    )


def gcnotify_way(
    client: GenesysClient,
    campaign: CampaignSettings,
    now: datetime,
    dynamo: Dynamo,
    built: list[Audience],
) -> Row:
    from gcnotify.genesys.contacts import ExternalContact, ExternalContacts

    def run() -> tuple[int, int, int, int]:
        details = ConversationDetails(client, sleep=lambda _: None)
        contacts = ExternalContacts(client)
        asked: list[int] = []

        def lookup(ids: Sequence[str]) -> dict[str, ExternalContact | None]:
            asked.append(len(ids))
            return contacts.get_many(ids)

        builder = AudienceBuilder.for_campaign(
            campaign,
            suppressed=dynamo.suppressed,
            taken=dynamo.taken,
            contacts_lookup=lookup,
        )
        start, end = campaign_window(now, campaign.audience.days, campaign.timezone)
        builder.consume(
            details.conversations(
                start,
                end,
                media_type=campaign.audience.media_type,
                message_type=campaign.audience.message_type,
            )
        )
        audience = builder.result()
        built.append(audience)
        floor = details.last.pages + sum(asked)
        return audience.conversations, len(audience.recipients), sum(asked), floor

    before = dynamo.calls()
    row = measured(run, client, f"gcnotify, {dynamo.way}")
    row.dynamodb = dynamo.calls() - before
    return row


def seeded(moto_url: str, campaign: CampaignSettings, audience: Audience, now: datetime) -> Any:
    """The two tables on moto: past keys for every 10th recipient, an active suppression for
    every 10th from the 5th, one removed again for every 20th from the 7th."""
    import boto3

    from gcnotify.aws.messages import MessageStore, NewMessage, create_messages_table
    from gcnotify.aws.suppression import SuppressionTable, create_suppression_table
    from gcnotify.campaigns import campaign_key

    dynamodb = boto3.session.Session(
        aws_access_key_id="bench",
        aws_secret_access_key="bench",  # noqa: S106 - moto's, any value does
        region_name="us-east-1",
    ).client("dynamodb", endpoint_url=moto_url)
    create_messages_table(dynamodb, "messages")
    create_suppression_table(dynamodb, "suppression")
    store = MessageStore(dynamodb, "messages")
    suppression = SuppressionTable(dynamodb, "suppression")
    for n, recipient in enumerate(audience.recipients):
        if n % 10 == 0:
            key = campaign_key(campaign.id, recipient.contact_id)
            store.accept(NewMessage(key=key, channel="sms", template="t", received_at=now))
        elif n % 10 == 5 or n % 20 == 7:
            suppression.add("sms", recipient.address, "STOP", "bench", now)
            if n % 20 == 7:
                suppression.remove("sms", recipient.address, "START", "bench", now)
    return store, suppression


def naive_way(
    client: GenesysClient, campaign: CampaignSettings, now: datetime, limit: int | None
) -> Row:
    def run() -> tuple[int, int, int, int]:
        start, end = campaign_window(now, campaign.audience.days, campaign.timezone)
        everything: list[dict[str, Any]] = []
        page = 1
        while True:
            body = details_query(
                start=start,
                end=end,
                media_type=campaign.audience.media_type,
                message_type=campaign.audience.message_type,
                page_size=100,
                page_number=page,
            )
            answer = client.post_json(DETAILS_QUERY_PATH, body, permission=DETAILS_PERMISSION)
            found = answer.get("conversations") or []
            everything.extend(found)
            if len(found) < 100:
                break
            page += 1
        pages = page
        recipients: dict[str, str] = {}
        lookups = 0
        for conversation in everything:
            for participant in conversation.get("participants", []):
                contact_id = participant.get("externalContactId")
                if participant.get("purpose") != "customer" or not contact_id:
                    continue
                if limit is not None and lookups >= limit:
                    continue
                lookups += 1
                path = CONTACTS_PATH.format(contact_id=contact_id)
                try:
                    contact = parse_contact(client.get_json(path, permission=CONTACT_PERMISSION))
                except GenesysRequestError as exc:  # a contact that is gone: skipped
                    if exc.status != 404:
                        raise
                    continue
                if contact.phones:
                    recipients.setdefault(contact.phones[0], contact.id)
        return len(everything), len(set(recipients.values())), lookups, pages + lookups

    return measured(run, client, "naive (sync pages of 100, one loop)")


def main() -> int:
    if len(sys.argv) == 6 and sys.argv[1] == "--serve":
        return serve(int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=float, default=80.0)
    parser.add_argument("--customers", type=int, default=0, help="default: a third of them")
    parser.add_argument("--media", default="webmessaging")
    parser.add_argument("--only-media", action="store_true", help="every conversation of --media")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument(
        "--naive-limit", type=int, help="stop the naive loop's lookups after this many"
    )
    parser.add_argument(
        "--skip-dynamodb", action="store_true", help="no rows reading moto's DynamoDB tables"
    )
    args = parser.parse_args()
    # This same script, with this interpreter.
    child = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            str(args.conversations),
            str(args.latency_ms),
            str(args.customers),
            args.media if args.only_media else "-",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        urls = json.loads(child.stdout.readline())
        url = urls["url"]
        client = GenesysClient(
            login_url=url, api_url=url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
        )
        campaign = campaign_of(args.media)
        now = datetime.now(UTC)
        built: list[Audience] = []
        rows = [gcnotify_way(client, campaign, now, in_memory(), built)]
        if not args.skip_dynamodb:
            store, suppression = seeded(urls["moto"], campaign, built[0], now)
            rows.append(gcnotify_way(client, campaign, now, batched(store, suppression), built))
            rows.append(
                gcnotify_way(client, campaign, now, per_customer(store, suppression), built)
            )
            if built[1] != built[2]:
                raise SystemExit("the batched and per-customer reads found different audiences")
        if not args.skip_naive:
            rows.append(naive_way(client, campaign, now, args.naive_limit))
    finally:
        if child.stdin is not None:
            child.stdin.close()
        child.wait(30)
    print(
        f"{args.conversations:,} conversations in the stand-in "
        f"({'all ' + args.media if args.only_media else 'mixed media'}), "
        f"{args.latency_ms:g} ms per request, 30-day {args.media} audience"
    )
    print(
        f"{'way':<42} {'calls':>7} {'floor':>7} {'DynamoDB':>8} {'seconds':>8} {'peak MB':>8} "
        f"{'convs':>7} {'lookups':>8} {'recipients':>10}"
    )
    for row in rows:
        dynamodb = "-" if row.dynamodb is None else f"{row.dynamodb:,}"
        print(
            f"{row.way:<42} {row.calls:>7,} {row.floor:>7,} {dynamodb:>8} {row.seconds:>8.1f} "
            f"{row.peak_mb:>8.1f} {row.conversations:>7,} {row.lookups:>8,} {row.recipients:>10,}"
        )
    if len(built) == 3:
        excluded = built[1].excluded
        print(
            f"with DynamoDB: {excluded['already_notified']:,} already notified, "
            f"{excluded['suppressed']:,} suppressed"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
