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

__all__ = ["NAMESPACE", "emf_line", "emit"]

NAMESPACE = "gcnotify"


def emf_line(
    metrics: Mapping[str, int | float],
    *,
    dimensions: Mapping[str, str] | None = None,
    now_ms: int | None = None,
    namespace: str = NAMESPACE,
) -> str:
    """One EMF line; metrics are counts, dimensions at most a few low-cardinality names."""
    dims = dict(dimensions or {})
    document: dict[str, object] = {
        "_aws": {
            "Timestamp": now_ms if now_ms is not None else int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [sorted(dims)],
                    "Metrics": [{"Name": name, "Unit": "Count"} for name in metrics],
                }
            ],
        },
        **dims,
        **metrics,
    }
    return json.dumps(document, separators=(",", ":"))


def emit(
    metrics: Mapping[str, int | float],
    *,
    dimensions: Mapping[str, str] | None = None,
    out: TextIO | None = None,
) -> None:
    """Print the line inside Lambda (or to ``out``); nothing when every count is zero.

    Outside Lambda nobody turns the line into a metric, so the command line and the demo stay
    quiet unless a stream is given.
    """
    if not any(metrics.values()):
        return
    if out is None and not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return
    print(emf_line(metrics, dimensions=dimensions), file=out or sys.stdout, flush=True)
