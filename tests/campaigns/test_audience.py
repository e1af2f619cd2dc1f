"""The campaign's window and audience: customers found, de-duplicated, every exclusion counted."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from gcnotify.campaigns import (
    EXCLUSION_REASONS,
    AudienceBuilder,
    Candidate,
    campaign_key,
    campaign_window,
    customers,
    mask,
)

from .conftest import campaign_of

NY = "America/New_York"


@dataclass(frozen=True)
class Contact:
    id: str
    first_name: str | None = None
    last_name: str | None = None
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()


def uuid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def conversation(
    n: int,
    *,
    contact: str | None = None,
    media: str = "message",
    message_type: str | None = "webmessaging",
    address: str | None = None,
    queue: str = "q-support",
    direction: str = "inbound",
) -> dict[str, Any]:
    """One conversation in the details shape: a customer, the ACD leg and an agent."""
    session: dict[str, Any] = {"mediaType": media, "direction": direction}
    if message_type is not None:
        session["messageType"] = message_type
    if address is not None:
        session["addressFrom" if direction == "inbound" else "addressTo"] = address
        session["addressTo" if direction == "inbound" else "addressFrom"] = "+13175550100"
    customer: dict[str, Any] = {"participantId": f"p{n}", "purpose": "customer"}
    customer["sessions"] = [session]
    if contact is not None:
        customer["externalContactId"] = contact
    acd = {
        "purpose": "acd",
        "sessions": [{"mediaType": media, "segments": [{"queueId": queue}]}],
    }
    agent = {"purpose": "agent", "userId": "u1", "sessions": [{"mediaType": media}]}
    return {
        "conversationId": f"c{n}",
        "conversationStart": "2026-03-01T10:00:00.000Z",
        "participants": [customer, acd, agent],
    }


def builder(**kwargs: Any) -> AudienceBuilder:
    defaults: dict[str, Any] = {
        "campaign_id": "follow",
        "channel": "webmessaging",
        "media": "message",
        "message_type": "webmessaging",
        "suppressed": lambda channel, addresses: set(),
        "taken": lambda keys: set(),
    }
    defaults.update(kwargs)
    return AudienceBuilder(**defaults)


def test_window_starts_at_local_midnight_days_before() -> None:
    """Thirty days back from a 09:00 run is local 00:00 thirty days before, to the run."""
    run_at = datetime(2026, 1, 31, 14, 0, tzinfo=UTC)  # 09:00 in New York
    start, end = campaign_window(run_at, 30, NY)
    assert datetime(2026, 1, 1, tzinfo=ZoneInfo(NY)) == start
    assert run_at == end
    assert timedelta(hours=-5) == start.utcoffset()


def test_window_across_spring_forward_is_an_hour_shorter() -> None:
    """Across the March DST change the window starts at EST midnight and loses an hour."""
    run_at = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)  # 00:00 EDT on 10 March
    start, end = campaign_window(run_at, 2, NY)
    assert datetime(2026, 3, 8, 5, 0, tzinfo=UTC) == start  # 00:00 EST on 8 March
    assert timedelta(hours=47) == end - start
    assert (timedelta(hours=-5), timedelta(hours=-4)) == (start.utcoffset(), end.utcoffset())
    assert (0, 0) == (start.hour, end.hour)  # both ends read as local midnight


def test_window_across_fall_back_is_an_hour_longer() -> None:
    """Across the November change the window starts at EDT midnight and gains an hour."""
    run_at = datetime(2026, 11, 3, 5, 0, tzinfo=UTC)  # 00:00 EST on 3 November
    start, end = campaign_window(run_at, 2, NY)
    assert datetime(2026, 11, 1, 4, 0, tzinfo=UTC) == start  # 00:00 EDT on 1 November
    assert timedelta(hours=49) == end - start


def test_window_uses_the_run_date_in_the_campaign_zone() -> None:
    """At 02:00 UTC it is still the previous day in New York: the days count from that day."""
    run_at = datetime(2026, 6, 2, 2, 0, tzinfo=UTC)  # 22:00 EDT on 1 June
    start, _ = campaign_window(run_at, 1, NY)
    assert datetime(2026, 5, 31, 4, 0, tzinfo=UTC) == start


def test_window_refuses_a_naive_run_time() -> None:
    """A run time without a zone could be any instant: refused."""
    with pytest.raises(ValueError, match="naive"):
        campaign_window(datetime(2026, 1, 1, 9), 3, NY)


def test_customers_are_the_customer_participants_of_the_media() -> None:
    """Only purpose customer with a session of the medium and message type is a candidate."""
    found = list(
        customers(
            [
                conversation(1, contact=uuid(1).upper(), address="a1"),
                conversation(2, contact=uuid(2), message_type="sms"),
                conversation(3, contact=uuid(3), media="voice", message_type=None),
            ],
            media="message",
            message_type="webmessaging",
        )
    )
    assert [Candidate("c1", uuid(1), "a1")] == found


def test_voice_customers_are_told_apart_by_their_number() -> None:
    """A voice customer's address is the ani of an inbound call, without its tel: scheme."""
    call = conversation(1, media="voice", message_type=None)
    call["participants"][0]["sessions"][0]["ani"] = "tel:+13175550142"
    found = list(customers([call], media="voice"))
    assert [Candidate("c1", None, "+13175550142")] == found


def test_outbound_session_address_is_where_it_went() -> None:
    """An outbound message's customer address is its addressTo."""
    found = list(
        customers([conversation(1, address="+13175550142", direction="outbound")], media="message")
    )
    assert "+13175550142" == found[0].address


def test_queue_filter_keeps_only_conversations_in_those_queues() -> None:
    """With queue ids, a conversation routed elsewhere is not a candidate."""
    stream = [conversation(1, contact=uuid(1)), conversation(2, contact=uuid(2), queue="q-sales")]
    found = list(customers(stream, media="message", queue_ids={"q-support"}))
    assert ["c1"] == [c.conversation_id for c in found]


def test_malformed_conversations_are_skipped() -> None:
    """Entries not shaped like conversations yield nothing and raise nothing."""
    odd: list[Any] = [
        None,
        {"participants": "x"},
        {"participants": [None, {"purpose": "customer"}]},
    ]
    assert [] == list(customers(odd, media="message"))


def test_dedupe_by_contact_across_conversations() -> None:
    """A customer with three conversations is one recipient; the conversations are all counted."""
    stream = [conversation(i, contact=uuid(7)) for i in range(3)]
    audience = builder().consume(stream).result()
    assert 3 == audience.conversations
    assert (1, [uuid(7)]) == (audience.candidates, [r.contact_id for r in audience.recipients])


def test_dedupe_by_address_without_a_contact() -> None:
    """Customers without a contact are counted once per address, and never notified."""
    stream = [
        conversation(1, address="+13175550142"),
        conversation(2, address="tel:+13175550142"),
        conversation(3, address="+13175550143"),
    ]
    audience = builder(channel="sms", contact_lookup=lambda c: None).consume(stream).result()
    assert (2, 2, ()) == (audience.candidates, audience.excluded["no_contact"], audience.recipients)


def test_same_address_on_two_contacts_is_notified_once() -> None:
    """Two contacts with one phone number: the second is excluded as duplicate_address."""
    contacts = {uuid(1): Contact(uuid(1), phones=("+13175550142",))}
    contacts[uuid(2)] = Contact(uuid(2), phones=("+13175550142",))
    stream = [conversation(1, contact=uuid(1)), conversation(2, contact=uuid(2))]
    audience = builder(channel="sms", contact_lookup=contacts.get).consume(stream).result()
    assert [uuid(1)] == [r.contact_id for r in audience.recipients]
    assert 1 == audience.excluded["duplicate_address"]


def test_every_exclusion_reason_is_counted() -> None:
    """One customer per reason, and two who get through: each counted where it belongs."""
    contacts = {
        uuid(1): Contact(uuid(1), first_name="Ana", phones=("+13175550101",)),
        uuid(2): Contact(uuid(2), phones=()),  # no phone: no_address
        uuid(3): Contact(uuid(3), phones=("+13175550103",)),  # suppressed
        uuid(4): Contact(uuid(4), phones=("+13175550104",)),  # active
        uuid(5): Contact(uuid(5), phones=("+13175550105",)),  # already notified
        uuid(7): Contact(uuid(7), phones=("+13175550101",)),  # same phone as 1
        uuid(8): Contact(uuid(8), phones=(" +13175550108",)),
        uuid(9): Contact(uuid(9), phones=("+13175550109",)),  # over the limit of 2
    }
    looked_up: list[str] = []

    def lookup(contact_id: str) -> Contact | None:
        looked_up.append(contact_id)
        return contacts.get(contact_id)

    stream = [
        conversation(0, address="+13175550199"),  # no contact id
        *(conversation(i, contact=uuid(i)) for i in (1, 2, 3, 4, 5, 6, 7, 8, 9)),
    ]
    audience = builder(
        channel="sms",
        contact_lookup=lookup,
        suppressed=lambda channel, addresses: {
            a for a in addresses if (channel, a) == ("sms", "+13175550103")
        },
        active={uuid(4).upper()},
        taken=lambda keys: {k for k in keys if k == campaign_key("follow", uuid(5))},
        limit=2,
    ).consume(stream)
    result = audience.result()
    assert {
        "no_contact": 2,  # no id, and id 6 whose record is gone
        "active": 1,
        "over_limit": 1,
        "already_notified": 1,
        "no_address": 1,
        "suppressed": 1,
        "duplicate_address": 1,
    } == dict(result.excluded)
    assert list(EXCLUSION_REASONS) == list(result.excluded)
    assert [(uuid(1), "+13175550101", "Ana"), (uuid(8), "+13175550108", None)] == [
        (r.contact_id, r.address, r.first_name) for r in result.recipients
    ]
    assert result.candidates == len(result.recipients) + sum(result.excluded.values())
    assert result.limit_reached
    assert uuid(4) not in looked_up  # active: excluded before any lookup
    assert uuid(5) not in looked_up  # already notified: its key is read before the lookup
    assert uuid(9) not in looked_up  # over the limit: not looked up at all


def test_limit_caps_recipients_and_counts_the_rest() -> None:
    """With a limit of 3, ten customers give 3 recipients and 7 over_limit."""
    stream = [conversation(i, contact=uuid(i)) for i in range(10)]
    result = builder(limit=3).consume(stream).result()
    assert (3, 7, 3) == (len(result.recipients), result.excluded["over_limit"], result.limit)
    assert result.limit_reached


def test_no_limit_reached_when_under_it() -> None:
    """Under the cap nothing is over the limit."""
    result = builder(limit=5).consume([conversation(1, contact=uuid(1))]).result()
    assert (0, False) == (result.excluded["over_limit"], result.limit_reached)


def test_email_takes_the_contacts_first_email_never_a_session_address() -> None:
    """Email goes to the contact's email; a contact with only a phone has no address for it."""
    contacts = {
        uuid(1): Contact(uuid(1), emails=("Ana@Example.com", "other@example.com")),
        uuid(2): Contact(uuid(2), phones=("+13175550102",)),
    }
    stream = [
        conversation(1, contact=uuid(1), address="session@example.com"),
        conversation(2, contact=uuid(2), address="+13175550199"),
    ]
    result = builder(channel="email", contact_lookup=contacts.get).consume(stream).result()
    assert ["ana@example.com"] == [r.address for r in result.recipients]
    assert 1 == result.excluded["no_address"]


def test_webmessaging_sends_to_the_contact_id_without_a_lookup() -> None:
    """For web messaging the contact id is the address; the suppression check gets it."""
    checked: list[tuple[str, list[str]]] = []

    def suppressed(channel: str, addresses: Sequence[str]) -> set[str]:
        checked.append((channel, list(addresses)))
        return set()

    result = builder(suppressed=suppressed).consume([conversation(1, contact=uuid(1))]).result()
    assert [uuid(1)] == [r.address for r in result.recipients]
    assert [("webmessaging", [uuid(1)])] == checked


def test_a_channel_needing_addresses_requires_a_lookup() -> None:
    """An sms audience without contact_lookup is refused when built."""
    with pytest.raises(ValueError, match="needs contact_lookup"):
        builder(channel="sms")


def test_memory_follows_customers_not_conversations() -> None:
    """Ten thousand conversations of five customers keep five entries, from a generator."""

    def stream() -> Iterator[Mapping[str, object]]:
        for i in range(10_000):
            yield conversation(i, contact=uuid(i % 5))

    audience = builder().consume(stream())
    assert (10_000, 5) == (audience.conversations, len(audience._seen))
    assert 5 == audience.result().candidates


def test_consume_can_be_called_per_page() -> None:
    """Pages consumed one after another dedupe across pages."""
    audience = builder()
    audience.consume([conversation(1, contact=uuid(1))])
    audience.consume([conversation(2, contact=uuid(1)), conversation(3, contact=uuid(2))])
    result = audience.result()
    assert (3, 2) == (result.conversations, len(result.recipients))


def test_for_campaign_takes_media_channel_and_limit() -> None:
    """A builder from a campaign reads its media, channel, limit and exclude_active."""
    campaign = campaign_of(
        channel="webmessaging",
        template="web-plain",
        variables=None,
        audience={"media": "sms", "days": 3, "limit": 1, "exclude_active": False},
    )
    built = AudienceBuilder.for_campaign(
        campaign,
        suppressed=lambda c, a: set(),
        taken=lambda k: set(),
        active={uuid(1)},
    )
    stream = [conversation(i, contact=uuid(i), message_type="sms") for i in (1, 2)]
    result = built.consume(stream).result()
    assert ("message", "sms", "webmessaging") == (built.media, built.message_type, built.channel)
    assert ([uuid(1)], 1) == (
        [r.contact_id for r in result.recipients],
        result.excluded["over_limit"],
    )


def test_sample_is_masked_and_bounded() -> None:
    """The preview sample shows at most five recipients, masked."""
    contacts = {uuid(i): Contact(uuid(i), emails=(f"user{i}@example.com",)) for i in range(8)}
    stream = [conversation(i, contact=uuid(i)) for i in range(8)]
    result = builder(channel="email", contact_lookup=contacts.get).consume(stream).result()
    assert ["u***@example.com"] * 5 == list(result.sample)
    assert {"campaign", "conversations", "candidates", "audience", "excluded"} <= set(
        result.summary()
    )
    assert 8 == result.summary()["audience"]


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("+13175550142", "+*******0142"),
        ("+3524123456", "+******3456"),
        ("+35212345", "+*****345"),
        ("+6831234", "+****234"),
        ("+68312", "+***12"),
        ("ana.smith@example.com", "a***@example.com"),
        ("@example.com", "***@example.com"),
        ("6a1d2e3f-4a5b-4c6d-9e7f-8091a2b3c4d5", "***c4d5"),
        ("abc", "***"),
    ],
)
def test_mask_keeps_only_what_identifies(address: str, masked: str) -> None:
    """A phone keeps its last 2 to 4 digits, an email its first letter and domain."""
    assert masked == mask(address)


def test_campaign_key_is_stable_across_case() -> None:
    """The key names the campaign and the contact, lowercased, the same on every run."""
    assert f"campaign:follow:{uuid(1)}" == campaign_key("follow", uuid(1).upper())


def reference(
    stream: list[dict[str, Any]],
    contacts: Mapping[str, Contact],
    *,
    suppressed: set[str],
    taken: set[str],
    active: set[str],
    limit: int | None,
) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """The audience by the rules alone, one customer at a time in arrival order: no batches."""
    recipients: list[tuple[str, str]] = []
    excluded = dict.fromkeys(EXCLUSION_REASONS, 0)
    seen: set[str] = set()
    addresses: set[str] = set()
    for candidate in customers(stream, media="message", message_type="webmessaging"):
        contact_id = candidate.contact_id
        if contact_id is None:
            if candidate.address is None or f"a:{candidate.address}" not in seen:
                seen.add(f"a:{candidate.address}")
                excluded["no_contact"] += 1
            continue
        if contact_id in seen:
            continue
        seen.add(contact_id)
        contact = contacts.get(contact_id)
        address = next((p.strip() for p in contact.phones), None) if contact else None
        if contact_id in active:
            reason = "active"
        elif limit is not None and len(recipients) >= limit:
            reason = "over_limit"
        elif campaign_key("follow", contact_id) in taken:
            reason = "already_notified"
        elif contact is None:
            reason = "no_contact"
        elif address is None:
            reason = "no_address"
        elif address in suppressed:
            reason = "suppressed"
        elif address in addresses:
            reason = "duplicate_address"
        else:
            addresses.add(address)
            recipients.append((contact_id, address))
            continue
        excluded[reason] += 1
    return recipients, excluded


@pytest.mark.parametrize("batch", [1, 3, 100])
@pytest.mark.parametrize("limit", [None, 1, 17, 60])
@pytest.mark.parametrize("bulk", [True, False])
def test_batches_give_the_audience_one_customer_at_a_time_gives(
    batch: int, limit: int | None, bulk: bool
) -> None:
    """Past keys, contacts and suppressions read in batches, with or without a limit, with the
    bulk lookup or one contact at a time: the recipients and every count the rules give one
    customer at a time; no key or contact asked twice; a taken customer never looked
    up; no batch over its size; nothing asked once the limit is reached."""
    import random

    rng = random.Random(batch * 1000 + (limit or 0))
    contacts = {
        uuid(i): Contact(uuid(i), phones=() if i % 5 == 0 else (f"+1317555{i % 40:04d}",))
        for i in range(90)
        if i % 7 != 3  # gone
    }
    stream = [
        conversation(n, contact=None if n % 11 == 0 else uuid(rng.randrange(100)), address=f"+1{n}")
        for n in range(300)
    ]
    suppressed = {f"+1317555{i:04d}" for i in (9, 13, 21, 38)}
    taken = {campaign_key("follow", uuid(i)) for i in range(2, 100, 9)}
    expected = reference(
        stream, contacts, suppressed=suppressed, taken=taken, active={uuid(4)}, limit=limit
    )
    if limit != 1:  # both in the mix (a limit of 1 is reached by the first recipient)
        assert expected[1]["suppressed"] > 0
        assert expected[1]["already_notified"] > 0
    keys_asked: list[list[str]] = []
    addresses_asked: list[list[str]] = []
    looked_up: list[list[str]] = []

    def ask_taken(keys: Sequence[str]) -> set[str]:
        keys_asked.append(list(keys))
        return {k for k in keys if k in taken}

    def ask_suppressed(channel: str, addresses: Sequence[str]) -> set[str]:
        assert "sms" == channel
        addresses_asked.append(list(addresses))
        return {a for a in addresses if a in suppressed}

    def many(ids: Sequence[str]) -> dict[str, Contact | None]:
        looked_up.append(list(ids))
        return {i: contacts.get(i) for i in ids}

    def one(contact_id: str) -> Contact | None:
        looked_up.append([contact_id])
        return contacts.get(contact_id)

    built = builder(
        channel="sms",
        limit=limit,
        suppressed=ask_suppressed,
        taken=ask_taken,
        active={uuid(4)},
        lookup_batch=batch,
        **({"contacts_lookup": many} if bulk else {"contact_lookup": one}),
    )
    for page in (stream[:120], stream[120:]):  # per page, as the details pages come
        built.consume(page)
    result = built.result()
    assert expected == (
        [(r.contact_id, r.address) for r in result.recipients],
        dict(result.excluded),
    )
    for asked in (keys_asked, looked_up if bulk else []):
        flat = [x for b in asked for x in b]
        assert len(flat) == len(set(flat))
        assert all(1 <= len(b) <= batch for b in asked)
    # Two contacts of two batches may share a phone: an address is asked once per batch.
    assert all(1 <= len(set(b)) == len(b) <= batch for b in addresses_asked)
    ids = {i for b in looked_up for i in b}
    assert not {k for k in taken if k.rpartition(":")[2] in ids}
    assert len(keys_asked) <= len(ids) + result.excluded["already_notified"]
    if limit is not None:
        assert len(result.recipients) <= limit
        # Every customer over the limit came after it was reached: none was asked about.
        assert len(ids) + result.excluded["already_notified"] == sum(map(len, keys_asked))


def test_one_lookup_kind_at_a_time() -> None:
    with pytest.raises(ValueError, match="not both"):
        builder(contact_lookup=lambda i: None, contacts_lookup=lambda ids: {})
