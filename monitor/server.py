"""The /healthz and /metrics endpoint, on a daemon thread of the running monitor."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from monitor.metrics import Metrics
from monitor.rulebook import RuleBook

log = logging.getLogger(__name__)


def health(db: Engine, rulebook: RuleBook, scheduler_alive: Callable[[], bool]) -> tuple[bool, dict]:
    """Database reachable, scheduler alive, rules loaded: (healthy, details)."""
    try:
        with db.connect() as conn:
            conn.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # report, never crash the endpoint
        database = f"unreachable: {type(exc).__name__}"
    details = {
        "database": database,
        "scheduler": "running" if scheduler_alive() else "stopped",
        "rules_loaded": len(rulebook.rule_names),
        "last_reload_error": rulebook.last_error,
    }
    healthy = database == "ok" and details["scheduler"] == "running" and bool(rulebook.rule_names)
    return healthy, details


class StatusServer:
    """Serves /healthz (200 or 503, JSON) and /metrics (Prometheus text format)."""

    def __init__(self, listen: str, db: Engine, rulebook: RuleBook, metrics: Metrics,
                 scheduler_alive: Callable[[], bool]) -> None:
        host, _, port = listen.rpartition(":")
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.startswith("/healthz"):
                    ok, details = health(db, rulebook, scheduler_alive)
                    outer._send(self, 200 if ok else 503, "application/json",
                                json.dumps({"healthy": ok, **details}).encode())
                elif self.path.startswith("/metrics"):
                    outer._send(self, 200, CONTENT_TYPE_LATEST, generate_latest(metrics.registry))
                else:
                    outer._send(self, 404, "text/plain", b"not found: try /healthz or /metrics\n")

        self.httpd = ThreadingHTTPServer((host or "127.0.0.1", int(port)), Handler)
        self.httpd.daemon_threads = True
        self.address = f"{self.httpd.server_address[0]}:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="status-server", daemon=True)

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, code: int, ctype: str, body: bytes) -> None:
        handler.send_response(code)
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def start(self) -> None:
        """Serve in the background."""
        self._thread.start()
        log.info("health and metrics on http://%s/healthz and /metrics", self.address)

    def stop(self) -> None:
        """Stop serving."""
        self.httpd.shutdown()
        self.httpd.server_close()
