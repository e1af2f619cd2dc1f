"""gcnotify: Genesys Cloud notification pipelines on AWS Lambda, without servers.

The public API is re-exported here lazily (PEP 562): ``import gcnotify`` stays cheap on a Lambda
cold start, and ``from gcnotify import Renderer`` imports Jinja2 only when it is asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Config": "core.model",
    "ReportConfig": "core.model",
    "load_config": "core.config",
    "parse_config": "core.config",
    "ReportWindow": "core.windows",
    "plan_window": "core.windows",
    "build_aggregates_query": "reports.query",
    "GenesysClient": "genesys.client",
    "build_table": "reports.metrics",
    "format_value": "reports.metrics",
    "METRICS": "reports.metrics",
    "Renderer": "reports.render",
    "RenderedEmail": "core.mail",
    "build_mail_body": "sendgrid.client",
    "SendGridClient": "sendgrid.client",
    "Ledger": "aws.ledger",
    "Credentials": "aws.secrets",
    "run_reports": "reports.runner",
    "lambda_handler": "handlers.report",
    "GcnotifyError": "core.errors",
}

__all__ = [
    "METRICS",
    "Config",
    "Credentials",
    "GcnotifyError",
    "GenesysClient",
    "Ledger",
    "RenderedEmail",
    "Renderer",
    "ReportConfig",
    "ReportWindow",
    "SendGridClient",
    "__version__",
    "build_aggregates_query",
    "build_mail_body",
    "build_table",
    "format_value",
    "lambda_handler",
    "load_config",
    "parse_config",
    "plan_window",
    "run_reports",
]

if TYPE_CHECKING:
    from gcnotify.aws.ledger import Ledger
    from gcnotify.aws.secrets import Credentials
    from gcnotify.core.config import load_config, parse_config
    from gcnotify.core.errors import GcnotifyError
    from gcnotify.core.mail import RenderedEmail
    from gcnotify.core.model import Config, ReportConfig
    from gcnotify.core.windows import ReportWindow, plan_window
    from gcnotify.genesys.client import GenesysClient
    from gcnotify.handlers.report import lambda_handler
    from gcnotify.reports.metrics import METRICS, build_table, format_value
    from gcnotify.reports.query import build_aggregates_query
    from gcnotify.reports.render import Renderer
    from gcnotify.reports.runner import run_reports
    from gcnotify.sendgrid.client import SendGridClient, build_mail_body


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gcnotify' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
