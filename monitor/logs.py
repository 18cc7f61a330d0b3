"""Logging set-up: text, logfmt or JSON lines on stderr, with every secret redacted."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import datetime, timezone

from monitor.config import Config


class LogfmtFormatter(logging.Formatter):
    """key=value lines that log shippers parse without configuration."""

    def format(self, record: logging.LogRecord) -> str:
        """Render one record as logfmt."""
        msg = record.getMessage().replace('"', '\\"')
        line = f'ts={datetime.fromtimestamp(record.created, timezone.utc).isoformat()} level={record.levelname.lower()} logger={record.name} msg="{msg}"'
        if record.exc_info:
            line += ' exc="' + self.formatException(record.exc_info).replace('"', '\\"').replace("\n", "\\n") + '"'
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        """Render one record as JSON."""
        data = {"ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(), "level": record.levelname.lower(),
                "logger": record.name, "msg": record.getMessage()}
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def config_secrets(config: Config) -> list[str]:
    """Every channel URL, expanded: each is a secret as a whole and holds secrets in its parts."""
    return [c.url for c in config.channels.values() if c.url]


def setup_logging(level: str = "INFO", fmt: str = "text", secrets: Iterable[str] = ()) -> None:
    """Configure the root logger once; apprise stays at INFO or above (its DEBUG logs leak tokens)."""
    from monitor.notify.redact import RedactingFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter({"logfmt": LogfmtFormatter(), "json": JsonFormatter()}.get(
        fmt, logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")))
    handler.addFilter(RedactingFilter(list(secrets)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("apprise").setLevel(max(logging.INFO, root.level))
    for noisy in ("httpx", "httpcore", "apscheduler.executors.default", "trafilatura", "htmldate", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
