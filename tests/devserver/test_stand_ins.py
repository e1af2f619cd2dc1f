"""The local Genesys and SendGrid stand-ins, over real sockets with requests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import pytz
import requests

from gcnotify.core.model import Queue
from gcnotify.devserver import GenesysStandIn, SendGridStandIn
from gcnotify.devserver.aggregates import _filter, parse_interval
from gcnotify.devserver.genesys_server import AGGREGATES_PATH, QUEUES_PATH, TOKEN_PATH
from gcnotify.devserver.sendgrid_server import MAIL_SEND_PATH
from gcnotify.devserver.traffic import SHORT_ABANDON_MS, TrafficModel, generate
from tests.support import schema_errors

CLIENT_ID = "stand-in-client-id"
CLIENT_SECRET = "stand-in-SECRET-value-42"
API_KEY = "SG.standin-key.ABCDEFGHIJKLMNOP"
TIMEOUT = 5
NY = "America/New_York"
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)  # the stand-ins' "present": later traffic is future

QUEUES = [
    Queue("00000000-0000-4000-8000-000000000001", "Support"),
    Queue("00000000-0000-4000-8000-000000000002", "Billing"),
    Queue("00000000-0000-4000-8000-000000000003", "Sales"),
    Queue("00000000-0000-4000-8000-000000000004", "Claims"),
    Queue("00000000-0000-4000-8000-000000000005", "Retention"),
    Queue("00000000-0000-4000-8000-000000000006", "Accounts"),
    Queue("00000000-0000-4000-8000-000000000007", "Onboarding"),
]
QUEUE_IDS = [q.id for q in QUEUES]
FRIDAY = "2026-11-20T00:00:00-05:00/2026-11-21T00:00:00-05:00"  # a New York business day
METRICS = [
    "nOffered",
    "tAnswered",
    "tAbandon",
    "tShortAbandon",
    "tFlowOut",
    "tWait",
    "tHandle",
    "tTalk",
    "tHeld",
    "tAcw",
    "nTransferred",
    "nOverSla",
    "oServiceLevel",
    "oServiceTarget",
]


def query(
    interval: str = FRIDAY,
    *,
    queue_ids: list[str] | None = None,
    granularity: str | None = "P1D",
    metrics: list[str] | None = None,
    group_by: list[str] | None = None,
) -> dict[str, Any]:
    """An aggregates body shaped like queries.build_aggregates_query's."""
    ids = QUEUE_IDS if queue_ids is None else queue_ids
    body: dict[str, Any] = {
        "interval": interval,
        "timeZone": NY,
        "groupBy": ["queueId"] if group_by is None else group_by,
        "filter": {
            "type": "and",
            "clauses": [
                {
                    "type": "or",
                    "predicates": [
                        {
                            "type": "dimension",
                            "dimension": "queueId",
                            "operator": "matches",
                            "value": q,
                        }
                        for q in ids
                    ],
                }
            ],
        },
        "metrics": METRICS if metrics is None else metrics,
    }
    if granularity is not None:
        body["granularity"] = granularity
    return body


def totals(response: dict[str, Any], metric: str, stat: str = "count") -> int:
    """Sum of one stat of one metric over every group and bucket."""
    return sum(
        m["stats"][stat]
        for group in response.get("results", [])
        for point in group["data"]
        for m in point["metrics"]
        if m["metric"] == metric
    )


def intervals(response: dict[str, Any]) -> list[str]:
    return sorted({p["interval"] for g in response["results"] for p in g["data"]})


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def genesys() -> Iterator[GenesysStandIn]:
    """One stand-in shared by the read-only aggregates tests (traffic is generated once)."""
    with GenesysStandIn(QUEUES, client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as server:
        server.now = lambda: NOW
        yield server


@pytest.fixture
def fresh_genesys() -> Iterator[GenesysStandIn]:
    """A stand-in for tests that revoke, forbid or inject faults."""
    with GenesysStandIn(
        QUEUES, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, page_size_max=3
    ) as server:
        yield server


@pytest.fixture
def sendgrid() -> Iterator[SendGridStandIn]:
    with SendGridStandIn(API_KEY) as server:
        yield server


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


def get_token(session: requests.Session, server: GenesysStandIn) -> str:
    response = session.post(
        server.url + TOKEN_PATH,
        data={"grant_type": "client_credentials"},
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=TIMEOUT,
    )
    assert 200 == response.status_code
    token: str = response.json()["access_token"]
    return token


@pytest.fixture(scope="module")
def ask(genesys: GenesysStandIn) -> Iterator[Any]:
    """POST an aggregates body to the shared stand-in; returns the requests Response."""
    with requests.Session() as s:
        headers = {"Authorization": "Bearer " + get_token(s, genesys)}

        def post(body: Any) -> requests.Response:
            return s.post(genesys.url + AGGREGATES_PATH, json=body, headers=headers, timeout=30)

        yield post


def mail(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "personalizations": [
            {
                "to": [{"email": "supervisor@example.com"}],
                "cc": [{"email": "cc-ops@example.com"}],
                "subject": "Support queues — Fri 20 Nov 2026",
                "custom_args": {"gcnotify_report_id": "support-daily"},
            }
        ],
        "from": {"email": "reports@example.com", "name": "Contact Center Reports"},
        "subject": "Support queues — Fri 20 Nov 2026",
        "content": [
            {"type": "text/plain", "value": "Support: offered 412"},
            {"type": "text/html", "value": "<p>Support: offered 412</p>"},
        ],
        "mail_settings": {"sandbox_mode": {"enable": False}},
    }
    body.update(overrides)
    return body


def send(session: requests.Session, server: SendGridStandIn, body: Any, **kw: Any) -> Any:
    headers = {"Authorization": f"Bearer {kw.pop('key', API_KEY)}", "Accept": "application/json"}
    return session.post(server.url + MAIL_SEND_PATH, json=body, headers=headers, **kw)


# --------------------------------------------------------------------------- OAuth


def test_token_is_issued_for_basic_credentials(
    fresh_genesys: GenesysStandIn, session: requests.Session
) -> None:
    """Client id and secret in HTTP Basic get a bearer token with the configured lifetime."""
    response = session.post(
        fresh_genesys.url + TOKEN_PATH,
        data={"grant_type": "client_credentials"},
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=TIMEOUT,
    )
    body = response.json()
    assert (200, "bearer", 86400) == (response.status_code, body["token_type"], body["expires_in"])
    assert [] == schema_errors("genesys-token-response", body)


def test_token_with_wrong_secret_is_refused(
    fresh_genesys: GenesysStandIn, session: requests.Session
) -> None:
    """A wrong secret gets 401 with a JSON error and no token."""
    response = session.post(
        fresh_genesys.url + TOKEN_PATH,
        data={"grant_type": "client_credentials"},
        auth=(CLIENT_ID, "not-the-secret"),
        timeout=TIMEOUT,
    )
    assert (401, "invalid_client") == (response.status_code, response.json()["error"])


def test_token_with_credentials_in_the_body_is_a_bad_request(
    fresh_genesys: GenesysStandIn, session: requests.Session
) -> None:
    """Credentials in the form body (a common mistake) are refused with 400: only Basic works."""
    response = session.post(
        fresh_genesys.url + TOKEN_PATH,
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
        timeout=TIMEOUT,
    )
    assert 400 == response.status_code


def test_api_call_without_token_gets_error_body(
    fresh_genesys: GenesysStandIn, session: requests.Session
) -> None:
    """No bearer token: 401 with a complete Genesys ErrorBody."""
    response = session.get(fresh_genesys.url + QUEUES_PATH, timeout=TIMEOUT)
    body = response.json()
    assert (401, "bad.credentials", 401) == (response.status_code, body["code"], body["status"])
    assert {"message", "code", "status", "contextId", "details", "errors"} == set(body)


def test_revoked_token_is_refused_and_a_new_one_works(
    fresh_genesys: GenesysStandIn, session: requests.Session
) -> None:
    """After revoke_tokens the old token gets 401 and a fresh token is accepted again."""
    old = get_token(session, fresh_genesys)
    assert (old,) == fresh_genesys.issued_tokens
    fresh_genesys.revoke_tokens()
    refused = session.get(
        fresh_genesys.url + QUEUES_PATH, headers={"Authorization": f"Bearer {old}"}, timeout=5
    )
    new = get_token(session, fresh_genesys)
    accepted = session.get(
        fresh_genesys.url + QUEUES_PATH, headers={"Authorization": f"Bearer {new}"}, timeout=5
    )
    assert (401, 200) == (refused.status_code, accepted.status_code)


def test_forbidden_path_names_the_missing_permission(
    fresh_genesys: GenesysStandIn, session: requests.Session
) -> None:
    """forbid() makes the path answer 403 missing.any.permissions naming the permission."""
    fresh_genesys.forbid(AGGREGATES_PATH)
    token = get_token(session, fresh_genesys)
    response = session.post(
        fresh_genesys.url + AGGREGATES_PATH,
        json=query(),
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    body = response.json()
    assert (403, "missing.any.permissions") == (response.status_code, body["code"])
    assert "analytics:conversationAggregate:view" in body["message"]


# --------------------------------------------------------------------------- queues


def test_queue_listing_pages_through_all_queues_sorted_by_name(
    fresh_genesys: GenesysStandIn, session: requests.Session
) -> None:
    """Pages of 3 cover all 7 queues in name order; only the last page lacks nextUri."""
    headers = {"Authorization": "Bearer " + get_token(session, fresh_genesys)}
    names: list[str] = []
    next_uris: list[bool] = []
    for page in (1, 2, 3):
        listing = session.get(
            fresh_genesys.url + QUEUES_PATH,
            params={"pageSize": 3, "pageNumber": page},
            headers=headers,
            timeout=TIMEOUT,
        ).json()
        names += [e["name"] for e in listing["entities"]]
        next_uris.append("nextUri" in listing)
        assert (7, 3) == (listing["total"], listing["pageCount"])
    assert sorted(q.name for q in QUEUES) == names
    assert [True, True, False] == next_uris


def test_queue_page_size_is_capped(
    fresh_genesys: GenesysStandIn, session: requests.Session
) -> None:
    """A pageSize above page_size_max is served at the maximum."""
    headers = {"Authorization": "Bearer " + get_token(session, fresh_genesys)}
    listing = session.get(
        fresh_genesys.url + QUEUES_PATH, params={"pageSize": 100}, headers=headers, timeout=5
    ).json()
    assert (3, 3) == (listing["pageSize"], len(listing["entities"]))


# --------------------------------------------------------------------------- aggregates


def test_aggregates_response_validates_against_schema(ask: Any) -> None:
    """A full P1D answer matches genesys-aggregates-response.schema.json."""
    response = ask(query())
    assert 200 == response.status_code
    assert [] == schema_errors("genesys-aggregates-response", response.json())


def test_interval_shifted_by_the_offset_gives_other_numbers(ask: Any) -> None:
    """The UTC day and the New York day (5 h later) count different offers."""
    local_day = totals(ask(query(FRIDAY)).json(), "nOffered")
    utc_day = totals(ask(query("2026-11-20T00:00:00Z/2026-11-21T00:00:00Z")).json(), "nOffered")
    assert local_day > 0
    assert local_day != utc_day


def test_hourly_buckets_add_up_to_the_daily_totals(ask: Any) -> None:
    """Counts and sums over PT1H buckets equal the P1D bucket's."""
    daily = ask(query(granularity="P1D")).json()
    hourly = ask(query(granularity="PT1H")).json()
    pairs = [("nOffered", "count"), ("tAnswered", "count"), ("tAnswered", "sum")]
    pairs += [("tAbandon", "count"), ("tHandle", "sum"), ("nOverSla", "count")]
    assert [totals(daily, m, s) for m, s in pairs] == [totals(hourly, m, s) for m, s in pairs]


def test_daily_bucket_starts_at_new_york_midnight_in_utc(ask: Any) -> None:
    """P1D buckets are local days: 05:00Z in winter, 04:00Z in summer, 23 h on spring-forward."""
    winter = intervals(ask(query(FRIDAY)).json())
    summer = intervals(ask(query("2026-07-15T00:00:00-04:00/2026-07-16T00:00:00-04:00")).json())
    spring = intervals(ask(query("2026-03-08T00:00:00-05:00/2026-03-09T00:00:00-04:00")).json())
    assert ["2026-11-20T05:00:00.000Z/2026-11-21T05:00:00.000Z"] == winter
    assert ["2026-07-15T04:00:00.000Z/2026-07-16T04:00:00.000Z"] == summer
    assert ["2026-03-08T05:00:00.000Z/2026-03-09T04:00:00.000Z"] == spring


def test_daily_buckets_across_dst_follow_local_midnights(ask: Any) -> None:
    """A three-day P1D query over the spring change has one bucket per local day."""
    body = query("2026-03-07T00:00:00-05:00/2026-03-10T00:00:00-04:00")
    assert [
        "2026-03-07T05:00:00.000Z/2026-03-08T05:00:00.000Z",
        "2026-03-08T05:00:00.000Z/2026-03-09T04:00:00.000Z",
        "2026-03-09T04:00:00.000Z/2026-03-10T04:00:00.000Z",
    ] == intervals(ask(body).json())


def test_offers_match_the_synthetic_conversations(ask: Any) -> None:
    """nOffered per queue is the number of conversations offered in the window."""
    start, end = parse_interval(FRIDAY)
    expected = {q: 0 for q in QUEUE_IDS}
    for conversation in generate(QUEUES, start, end, seed=7):
        expected[conversation.queue_id] += 1
    response = ask(query(metrics=["nOffered"])).json()
    got = {
        g["group"]["queueId"]: g["data"][0]["metrics"][0]["stats"]["count"]
        for g in response["results"]
    }
    assert expected == got


def test_filter_on_two_queues_returns_exactly_their_groups(ask: Any) -> None:
    """Only the two filtered queues come back, one group each."""
    wanted = [QUEUE_IDS[1], QUEUE_IDS[4]]
    response = ask(query(queue_ids=wanted)).json()
    assert sorted(wanted) == sorted(g["group"]["queueId"] for g in response["results"])


def qp(queue_id: str) -> dict[str, str]:
    return {"type": "dimension", "dimension": "queueId", "operator": "matches", "value": queue_id}


def mp(media: str) -> dict[str, str]:
    return {"type": "dimension", "dimension": "mediaType", "operator": "matches", "value": media}


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        # gcnotify's shape: an `or` of queueId predicates (answered by a set lookup)
        (
            {"type": "or", "predicates": [qp("q1"), qp("q3")]},
            {("q1", "voice"), ("q1", "message"), ("q3", "voice"), ("q3", "message")},
        ),
        (
            {"type": "or", "predicates": [mp("message")]},
            {("q1", "message"), ("q2", "message"), ("q3", "message")},
        ),
        # mixed dimensions in one `or`: each predicate on its own
        (
            {"type": "or", "predicates": [qp("q2"), mp("voice")]},
            {("q1", "voice"), ("q2", "voice"), ("q3", "voice"), ("q2", "message")},
        ),
        # and of or-clauses, as the report query with media types
        (
            {
                "type": "and",
                "clauses": [
                    {"type": "or", "predicates": [qp("q1"), qp("q2")]},
                    {"type": "or", "predicates": [mp("voice")]},
                ],
            },
            {("q1", "voice"), ("q2", "voice")},
        ),
        ({"type": "or", "predicates": []}, set()),
    ],
)
def test_filter_semantics(flt: dict[str, Any], expected: set[tuple[str, str]]) -> None:
    """The filter's answer for every (queue, media) pair, whichever way it is evaluated."""
    test = _filter(flt)
    pairs = {(q, m) for q in ("q1", "q2", "q3") for m in ("voice", "message")}
    assert expected == {pair for pair in pairs if test(*pair)}


def test_group_by_media_type_splits_the_queue_totals(ask: Any) -> None:
    """Grouping by queueId and mediaType partitions the same offers."""
    by_queue = totals(ask(query()).json(), "nOffered")
    split = ask(query(group_by=["queueId", "mediaType"])).json()
    assert by_queue == totals(split, "nOffered")
    assert {"voice"} <= {g["group"]["mediaType"] for g in split["results"]}


def test_service_level_is_numerator_over_denominator(ask: Any) -> None:
    """oServiceLevel reports answered-within-20s over answered plus long abandons."""
    response = ask(query(metrics=["oServiceLevel", "tAnswered", "nOverSla"])).json()
    point = response["results"][0]["data"][0]
    stats = {m["metric"]: m["stats"] for m in point["metrics"]}
    level = stats["oServiceLevel"]
    assert stats["tAnswered"]["count"] - stats["nOverSla"]["count"] == level["numerator"]
    assert level["numerator"] / level["denominator"] == level["ratio"]


def test_future_interval_is_an_empty_object(ask: Any) -> None:
    """Nothing happened yet: the body is {} with no results key."""
    response = ask(query("2026-12-07T00:00:00-05:00/2026-12-08T00:00:00-05:00"))
    assert (200, {}) == (response.status_code, response.json())


def test_interval_running_into_the_present_is_partial(ask: Any) -> None:
    """Only events before now count: the day of NOW has fewer offers than its whole."""
    day = "2026-12-01T00:00:00-05:00/2026-12-02T00:00:00-05:00"
    start, end = parse_interval(day)
    whole_day = len(generate(QUEUES, start, end, seed=7))
    assert 0 < totals(ask(query(day, metrics=["nOffered"])).json(), "nOffered") < whole_day


def test_unknown_metric_name_is_a_bad_request(ask: Any) -> None:
    """A metric name Genesys does not have ('handled' is gcnotify's, not Genesys's) is a 400."""
    response = ask(query(metrics=["nOffered", "handled"]))
    body = response.json()
    assert (400, "bad.request") == (response.status_code, body["code"])
    assert "handled" in body["message"]


def test_unsupported_group_by_says_so(ask: Any) -> None:
    """A valid dimension the stand-in does not model is a 400 naming the stand-in."""
    response = ask(query(group_by=["userId"]))
    assert 400 == response.status_code
    assert "stand-in" in response.json()["message"]


def test_view_answers_validate_and_respect_the_range(ask: Any) -> None:
    """A rangeBound view on tAbandon counts only abandons of at least 5 s."""
    body = query(metrics=["tAbandon"], granularity="PT30M")
    body["views"] = [
        {
            "name": "abandonOver5s",
            "target": "tAbandon",
            "function": "rangeBound",
            "range": {"gte": 5000},
        }
    ]
    response = ask(body).json()
    view_mins = [
        v["stats"]["min"]
        for g in response["results"]
        for p in g["data"]
        for v in p.get("views", [])
    ]
    assert [] == schema_errors("genesys-aggregates-response", response)
    assert view_mins
    assert min(view_mins) >= 5000


def test_rate_limit_fault_has_retry_after_and_normalized_body(
    fresh_genesys: GenesysStandIn, session: requests.Session
) -> None:
    """An injected 429 carries Retry-After and the too.many.requests.retry.after body."""
    token = get_token(session, fresh_genesys)
    fresh_genesys.fail_next(AGGREGATES_PATH, 429, headers={"Retry-After": "3"})
    response = session.post(
        fresh_genesys.url + AGGREGATES_PATH,
        json=query(),
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    body = response.json()
    assert ("3", "too.many.requests.retry.after") == (response.headers["Retry-After"], body["code"])
    assert "Retry the request in [3] seconds" in body["message"]


def test_fault_applies_the_given_number_of_times(
    fresh_genesys: GenesysStandIn, session: requests.Session
) -> None:
    """fail_next(times=2) fails two requests and the third is served."""
    fresh_genesys.fail_next(TOKEN_PATH, 503, times=2)
    statuses = [
        session.post(
            fresh_genesys.url + TOKEN_PATH,
            data={"grant_type": "client_credentials"},
            auth=(CLIENT_ID, CLIENT_SECRET),
            timeout=TIMEOUT,
        ).status_code
        for _ in range(3)
    ]
    assert [503, 503, 200] == statuses


def test_requests_are_recorded_without_secrets_in_repr(
    fresh_genesys: GenesysStandIn, session: requests.Session
) -> None:
    """The log keeps path, query and Authorization, but reprs show neither token nor secret."""
    token = get_token(session, fresh_genesys)
    session.get(
        fresh_genesys.url + QUEUES_PATH,
        params={"pageSize": 2},
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    recorded = fresh_genesys.requests[-1]
    shown = repr(recorded) + repr(fresh_genesys)
    assert ({"pageSize": "2"}, f"Bearer {token}") == (
        recorded.query,
        recorded.header("authorization"),
    )
    assert token not in shown
    assert CLIENT_SECRET not in shown
    assert 1 == fresh_genesys.count(QUEUES_PATH)


def test_session_reuses_one_keep_alive_connection(
    fresh_genesys: GenesysStandIn, session: requests.Session
) -> None:
    """HTTP/1.1 with Content-Length lets a requests.Session send everything on one connection."""
    token = get_token(session, fresh_genesys)
    for _ in range(3):
        session.get(
            fresh_genesys.url + QUEUES_PATH,
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT,
        )
    assert 1 == fresh_genesys.connections_opened


def test_latency_is_slept_before_each_response(
    fresh_genesys: GenesysStandIn, session: requests.Session
) -> None:
    """latency is passed to the sleep hook once per request."""
    slept: list[float] = []
    fresh_genesys.sleep = slept.append
    fresh_genesys.latency = 0.08
    get_token(session, fresh_genesys)
    session.get(fresh_genesys.url + QUEUES_PATH, timeout=TIMEOUT)
    assert [0.08, 0.08] == slept


# --------------------------------------------------------------------------- traffic


def test_traffic_is_deterministic_per_seed() -> None:
    """The same seed gives the same conversations; another seed does not."""
    start = datetime(2026, 11, 19, 5, tzinfo=UTC)
    end = start + timedelta(days=1)
    first = generate(QUEUES[:2], start, end, seed=7)
    assert first == generate(QUEUES[:2], start, end, seed=7)
    assert first != generate(QUEUES[:2], start, end, seed=8)


def test_a_day_is_the_same_whatever_range_asks_for_it() -> None:
    """Conversations of one day do not depend on the surrounding range."""
    start = datetime(2026, 11, 19, 5, tzinfo=UTC)
    one_day = generate(QUEUES, start, start + timedelta(days=1), seed=7)
    wide = generate(QUEUES, start - timedelta(days=2), start + timedelta(days=3), seed=7)
    assert one_day == [c for c in wide if start <= c.offered_at < start + timedelta(days=1)]


def test_weekday_volume_answer_rate_and_peak_are_realistic() -> None:
    """Weekdays carry 40–1100 offers per queue, ~90 % answered, peaking 10:00–15:00 local."""
    start = datetime(2026, 11, 17, 5, tzinfo=UTC)  # Tuesday in New York
    conversations = generate(QUEUES, start, start + timedelta(days=1), seed=7)
    per_queue = [sum(1 for c in conversations if c.queue_id == q) for q in QUEUE_IDS]
    answered = sum(1 for c in conversations if c.answered_at is not None) / len(conversations)
    hours = [c.offered_at.astimezone(pytz.timezone(NY)).hour for c in conversations]
    peak = max(range(24), key=hours.count)
    assert all(40 <= n <= 1100 for n in per_queue), per_queue
    assert 0.8 <= answered <= 0.97
    assert 10 <= peak <= 15


def test_weekends_are_much_quieter_than_weekdays() -> None:
    """A Sunday carries well under a third of the Tuesday before it."""
    tuesday = datetime(2026, 11, 17, 5, tzinfo=UTC)
    sunday = datetime(2026, 11, 22, 5, tzinfo=UTC)
    weekday = len(generate(QUEUES, tuesday, tuesday + timedelta(days=1), seed=7))
    weekend = len(generate(QUEUES, sunday, sunday + timedelta(days=1), seed=7))
    assert weekend * 3 < weekday


def test_conversation_timestamps_are_consistent() -> None:
    """One outcome each; answer = offer + wait, handle end = answer + talk + hold + ACW."""
    start = datetime(2026, 11, 17, 5, tzinfo=UTC)
    conversations = generate(QUEUES, start, start + timedelta(days=1), seed=7)
    ms = timedelta(milliseconds=1)
    for c in conversations:
        outcomes = [c.answered_at is not None, c.abandoned_at is not None, c.flow_out]
        assert 1 == sum(outcomes)
        if c.answered_at is not None:
            assert c.offered_at + c.wait_ms * ms == c.answered_at
            total = c.talk_ms + c.hold_ms + c.acw_ms
            assert c.answered_at + total * ms == c.handle_end_at


def test_some_abandons_are_short() -> None:
    """A weekday has abandons both under and over the short-abandon threshold."""
    start = datetime(2026, 11, 17, 5, tzinfo=UTC)
    waits = [
        c.wait_ms
        for c in generate(QUEUES, start, start + timedelta(days=1), seed=7)
        if c.abandoned_at is not None
    ]
    assert min(waits) < SHORT_ABANDON_MS <= max(waits)


def test_some_queues_carry_message_conversations() -> None:
    """Besides voice, a share of queues takes the message media type."""
    queues = [Queue(f"q-{i}", f"Q{i}") for i in range(20)]
    start = datetime(2026, 11, 17, 5, tzinfo=UTC)
    media = {c.media_type for c in generate(queues, start, start + timedelta(hours=6), seed=7)}
    assert {"voice", "message"} == media


def test_days_touching_includes_the_day_before_for_late_events() -> None:
    """A query from local midnight also reads the previous day, whose calls end after it."""
    model = TrafficModel(QUEUE_IDS, seed=7)
    start, end = parse_interval(FRIDAY)
    assert [date(2026, 11, 19), date(2026, 11, 20)] == model.days_touching(start, end)


# --------------------------------------------------------------------------- SendGrid


def test_valid_mail_is_accepted_with_a_message_id(
    sendgrid: SendGridStandIn, session: requests.Session
) -> None:
    """202, empty body, a 22-character X-Message-Id, and the message is stored."""
    response = send(session, sendgrid, mail(), timeout=TIMEOUT)
    message_id = response.headers["X-Message-Id"]
    stored = sendgrid.messages
    assert (202, b"", 22) == (response.status_code, response.content, len(message_id))
    assert [message_id] == [m.message_id for m in stored]
    assert ("Support queues — Fri 20 Nov 2026", "<p>Support: offered 412</p>") == (
        stored[0].subject,
        stored[0].html,
    )
    assert ("supervisor@example.com", "cc-ops@example.com") == stored[0].recipients


def test_schema_invalid_mail_is_400_with_field(
    sendgrid: SendGridStandIn, session: requests.Session
) -> None:
    """A personalization without 'to' is refused with SendGrid's error shape."""
    body = mail(personalizations=[{"subject": "x"}])
    response = send(session, sendgrid, body, timeout=TIMEOUT)
    errors = response.json()["errors"]
    assert (400, "personalizations.0") == (response.status_code, errors[0]["field"])
    assert {"message", "field", "help"} == set(errors[0])
    assert [] == sendgrid.messages


def test_address_repeated_across_to_and_cc_is_400(
    sendgrid: SendGridStandIn, session: requests.Session
) -> None:
    """The same address in to and cc (other case) gets SendGrid's duplicate message."""
    body = mail()
    body["personalizations"][0]["cc"] = [{"email": "Supervisor@Example.com"}]
    response = send(session, sendgrid, body, timeout=TIMEOUT)
    error = response.json()["errors"][0]
    assert (400, "personalizations.0") == (response.status_code, error["field"])
    assert error["message"].startswith(
        "Each email address in the personalization block should be unique between to, cc, and bcc."
    )


def test_revoked_key_is_401(sendgrid: SendGridStandIn, session: requests.Session) -> None:
    """After revoke_key the same key gets 401 with SendGrid's message."""
    sendgrid.revoke_key()
    response = send(session, sendgrid, mail(), timeout=TIMEOUT)
    expected = {
        "errors": [
            {
                "message": "The provided authorization grant is invalid, expired, or revoked",
                "field": None,
                "help": None,
            }
        ]
    }
    assert (401, expected) == (response.status_code, response.json())


def test_wrong_key_is_401(sendgrid: SendGridStandIn, session: requests.Session) -> None:
    """Another API key is refused and nothing is stored."""
    response = send(session, sendgrid, mail(), key="SG.other.key", timeout=TIMEOUT)
    assert (401, []) == (response.status_code, sendgrid.messages)


def test_sandbox_mail_is_200_and_not_delivered(
    sendgrid: SendGridStandIn, session: requests.Session
) -> None:
    """Sandbox mode validates, answers 200 with an empty body, and delivers nothing."""
    body = mail(mail_settings={"sandbox_mode": {"enable": True}})
    response = send(session, sendgrid, body, timeout=TIMEOUT)
    assert (200, b"", [], 1) == (
        response.status_code,
        response.content,
        sendgrid.messages,
        len(sendgrid.sandbox_messages),
    )


def test_dropped_answer_stores_the_mail_but_the_client_gets_no_answer(
    sendgrid: SendGridStandIn, session: requests.Session
) -> None:
    """drop_next: SendGrid accepted the mail, the client sees a connection error."""
    sendgrid.drop_next(MAIL_SEND_PATH)
    with pytest.raises(requests.ConnectionError):
        send(session, sendgrid, mail(), timeout=(TIMEOUT, 2))
    assert 1 == len(sendgrid.messages)


def test_too_large_fault_is_nginx_html(
    sendgrid: SendGridStandIn, session: requests.Session
) -> None:
    """An injected 413 comes as nginx's HTML page, not JSON."""
    sendgrid.fail_next(MAIL_SEND_PATH, 413)
    response = send(session, sendgrid, mail(), timeout=TIMEOUT)
    assert (413, "text/html") == (response.status_code, response.headers["Content-Type"])
    assert "<title>413 Request Entity Too Large</title>" in response.text


def test_rate_limit_fault_has_reset_header(
    sendgrid: SendGridStandIn, session: requests.Session
) -> None:
    """An injected 429 carries X-RateLimit-Reset in Unix seconds; the next send is accepted."""
    sendgrid.fail_next(MAIL_SEND_PATH, 429)
    limited = send(session, sendgrid, mail(), timeout=TIMEOUT)
    accepted = send(session, sendgrid, mail(), timeout=TIMEOUT)
    assert (429, 202) == (limited.status_code, accepted.status_code)
    assert int(limited.headers["X-RateLimit-Reset"]) > 1_700_000_000
