"""CloudWatch metrics as Embedded Metric Format lines on stdout, which Lambda's log pipeline
turns into metrics (the alarms in template.yaml watch them).

A line is one JSON object with an ``_aws`` block naming the metrics and the values beside it
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
Written here in a dozen lines rather than importing a metrics library at every cold start.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping
from typing import TextIO

__all__ = ["NAMESPACE", "MetricValue", "emf_line", "emit"]

NAMESPACE = "gcnotify"


MetricValue = int | float | list[int | float]


def emf_line(
    metrics: Mapping[str, MetricValue],
    *,
    dimensions: Mapping[str, str] | None = None,
    now_ms: int | None = None,
    namespace: str = NAMESPACE,
    units: Mapping[str, str] | None = None,
) -> str:
    """One EMF line; metrics are counts unless ``units`` names another unit (``Milliseconds``),
    a list is up to 100 values of one metric (CloudWatch keeps their distribution, so alarms
    and dashboards can read percentiles), dimensions at most a few low-cardinality names."""
    dims = dict(dimensions or {})
    unit_of = dict(units or {})
    document: dict[str, object] = {
        "_aws": {
            "Timestamp": now_ms if now_ms is not None else int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [sorted(dims)],
                    "Metrics": [
                        {"Name": name, "Unit": unit_of.get(name, "Count")} for name in metrics
                    ],
                }
            ],
        },
        **dims,
        **metrics,
    }
    return json.dumps(document, separators=(",", ":"))


def emit(
    metrics: Mapping[str, MetricValue],
    *,
    dimensions: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    units: Mapping[str, str] | None = None,
) -> None:
    """Print the line inside Lambda (or to ``out``); nothing when every count is zero.

    Outside Lambda nobody turns the line into a metric, so the command line and the demo stay
    quiet unless a stream is given.
    """
    if not any(metrics.values()):
        return
    if out is None and not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return
    line = emf_line(metrics, dimensions=dimensions, units=units)
    print(line, file=out or sys.stdout, flush=True)
