"""JSON log lines for the command line.

In Lambda, template.yaml sets ``LoggingConfig: LogFormat: JSON`` and the runtime itself turns
stdlib records (with their ``extra`` fields) into JSON, at no import cost; measured, Powertools'
Logger would add ~23 ms to every cold start for the same output (see bench/). Locally the
command line uses this formatter so the lines look the same.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

__all__ = ["JsonFormatter", "configure_cli_logging", "quiet_sdk_loggers"]

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}


def quiet_sdk_loggers() -> None:
    """Keep the AWS SDK's DEBUG lines off even when the function logs at DEBUG.

    botocore logs whole response bodies at DEBUG, and the Secrets Manager response body *is* the
    secret; urllib3's DEBUG lines add nothing an operator needs.
    """
    for name in ("botocore", "boto3", "urllib3", "s3transfer"):
        logging.getLogger(name).setLevel(logging.WARNING)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_cli_logging(level: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    from gcnotify.runtime.redact import RedactingFilter

    handler.addFilter(RedactingFilter())
    root = logging.getLogger("gcnotify")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
