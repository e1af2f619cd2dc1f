"""gcnotify: Genesys Cloud notification pipelines on AWS Lambda, without servers.

The public API is re-exported here lazily (PEP 562): ``import gcnotify`` stays cheap on a Lambda
cold start, and ``from gcnotify import Renderer`` imports Jinja2 only when it is asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Config": "model",
    "ReportConfig": "model",
    "load_config": "config",
    "parse_config": "config",
    "ReportWindow": "windows",
    "plan_window": "windows",
    "build_aggregates_query": "queries",
    "GenesysClient": "genesys",
    "build_table": "metrics",
    "format_value": "metrics",
    "METRICS": "metrics",
    "Renderer": "render",
    "RenderedEmail": "mail",
    "build_mail_body": "sendgrid",
    "SendGridClient": "sendgrid",
    "Ledger": "ledger",
    "Credentials": "secrets",
    "run_reports": "runner",
    "lambda_handler": "handler",
    "GcnotifyError": "errors",
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
    from .config import load_config, parse_config
    from .errors import GcnotifyError
    from .genesys import GenesysClient
    from .handler import lambda_handler
    from .ledger import Ledger
    from .mail import RenderedEmail
    from .metrics import METRICS, build_table, format_value
    from .model import Config, ReportConfig
    from .queries import build_aggregates_query
    from .render import Renderer
    from .runner import run_reports
    from .secrets import Credentials
    from .sendgrid import SendGridClient, build_mail_body
    from .windows import ReportWindow, plan_window


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gcnotify' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
