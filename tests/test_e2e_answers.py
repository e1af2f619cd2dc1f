"""End to end over real sockets: an aggregates answer that does not fit the query fails the
report loudly (no report email, no "No activity" email) and alerts, instead of reading as a
quiet day."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from gcnotify.cli.demo import DemoStack
from gcnotify.core.errors import RunFailedError
from gcnotify.handlers import report as handler

pytestmark = pytest.mark.e2e

AGGREGATES = "/api/v2/analytics/conversations/aggregates/query"
OTHER_ORG_QUEUE = "0b9e7c1d-2f3a-4b5c-8d6e-7f8091a2b3c4"


def other_queue_answer(query: Mapping[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """The real numbers, but every group names a queue the query did not ask for."""
    for result in answer.get("results", []):
        result["group"]["queueId"] = OTHER_ORG_QUEUE
    return answer


def failed_summary(stack: DemoStack) -> dict[str, Any]:
    """The run summary the handler raises with when a report failed."""
    handler.reset_cold_start()
    with pytest.raises(RunFailedError) as info:
        handler.handle(
            {"report_date": "2026-11-20", "reports": ["support-daily"]}, environ=stack.environ
        )
    summary: dict[str, Any] = json.loads(str(info.value).split(": ", 1)[1])
    return summary


def test_answer_for_other_queues_fails_the_report_and_alerts(stack: DemoStack) -> None:
    """Genesys answers with other queues' data: failed, no report email, one alert naming it."""
    stack.genesys.rewrite_aggregates = other_queue_answer
    summary = failed_summary(stack)
    [daily] = summary["reports"]
    assert ("failed", "UnexpectedAnswerError") == (daily["status"], daily["error_type"])
    assert OTHER_ORG_QUEUE in daily["error"]
    assert 1 == stack.genesys.aggregates_queries
    messages = stack.sendgrid.messages
    assert [] == [m for m in messages if not m.custom_args.get("gcnotify_alert")]
    [alert] = [m for m in messages if m.custom_args.get("gcnotify_alert")]
    assert ("cc-ops@example.com",) == alert.recipients
    assert "support-daily" in alert.subject
    assert OTHER_ORG_QUEUE in alert.text
    assert "no activity" not in alert.subject.lower()
