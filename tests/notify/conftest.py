"""Real loopback servers (SMTP via aiosmtpd, HTTP via http.server) and an outbox on a real SQLite file."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.engine import Engine

from monitor.config import ChannelConfig, Config, DeliveryConfig
from storage.db import init_db, make_engine, session_scope
from storage.models import Alert, Delivery

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def free_port() -> int:
    """A loopback port nobody listens on (aiosmtpd's Controller(port=0) does not work)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def no_throttle(service: Any) -> None:
    """apprise waits ~5.5 s between two sends of one email service: not in tests."""
    service.request_rate_per_sec = 0


# --- SMTP --------------------------------------------------------------------------------------


class ScriptedSMTP:
    """aiosmtpd handler: answers DATA with the scripted replies first (e.g. '451 ...'), then 250."""

    def __init__(self) -> None:
        self.replies: list[str] = []
        self.always: str | None = None
        self.messages: list[bytes] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.always:
                return self.always
            if self.replies:
                return self.replies.pop(0)
            self.messages.append(envelope.original_content or envelope.content)
        return "250 Message accepted"


@dataclass
class SMTPServer:
    port: int
    handler: ScriptedSMTP
    controller: Controller | None = None
    kwargs: dict = field(default_factory=dict)

    def url(self, userinfo: str = "") -> str:
        return f"mailto://{userinfo}127.0.0.1:{self.port}?from=a@example.com&to=b@example.com"

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **self.kwargs)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    """A started SMTP server on a free loopback port (stop()/start() to close and reopen it)."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    server = SMTPServer(free_port(), ScriptedSMTP())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_closed() -> Iterator[SMTPServer]:
    """An SMTP server object whose port is closed until the test calls start()."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    server = SMTPServer(free_port(), ScriptedSMTP())
    yield server
    server.stop()


# --- HTTP --------------------------------------------------------------------------------------


class HTTPCatcher:
    """A loopback HTTP server recording every POST (path, headers, JSON body)."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.status: list[int] = []  # scripted status codes, then 200
        catcher = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    code = catcher.status.pop(0) if catcher.status else 200
                    if code == 200:
                        try:
                            parsed = json.loads(body)
                        except ValueError:
                            parsed = body.decode("utf-8", "replace")
                        catcher.posts.append({"path": self.path, "json": parsed})
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                # Slack webhooks answer the bare text "ok".
                ok_body = b"ok" if self.path.startswith("/services/") else b'{"ok": true}'
                self.wfile.write(ok_body if code == 200 else b'{"ok": false}')

            def log_message(self, *args: Any) -> None:
                pass

        lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def json_url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def http() -> Iterator[HTTPCatcher]:
    catcher = HTTPCatcher()
    yield catcher
    catcher.close()


# --- database ----------------------------------------------------------------------------------


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'monitor.db'}")
    init_db(engine)
    return engine


def make_config(channels: dict[str, str | dict], **delivery: Any) -> Config:
    """A Config with these channels (URL or {url, digest}) and delivery settings."""
    chans = {}
    for name, spec in channels.items():
        table = {"url": spec} if isinstance(spec, str) else dict(spec)
        chans[name] = ChannelConfig(**table, display=table["url"])
    defaults = {"max_attempts": 5, "backoff_initial": timedelta(seconds=1), "backoff_max": timedelta(seconds=10)}
    # DeliveryConfig parses durations from text or seconds.
    settings = {k: v.total_seconds() if isinstance(v, timedelta) else v for k, v in {**defaults, **delivery}.items()}
    return Config(channels=chans, delivery=DeliveryConfig(**settings))


_counter = iter(range(1, 10**6))


def add_alert(engine: Engine, channels: dict[str, str], *, subject: str = "SOE exports up 3.9%",
              message: str = "SOE exports reached 1.79 trillion yuan.", fact: dict | None = None,
              severity: str = "info", rule: str = "soe-exports", at: datetime = T0) -> int:
    """Insert an alert and one delivery row per channel (channel -> initial status); returns the alert id."""
    n = next(_counter)
    fact = fact if fact is not None else {
        "type": "contract", "quote": "Exports rose 3.9 percent.",
        "article": {"title": "SOE exports grow", "url": "https://news.example.com/soe?id=1&x=2"},
    }
    with session_scope(engine) as session:
        alert = Alert(rule=rule, key=f"k{n}", dedup_key=f"d{n}", severity=severity, subject=subject,
                      message=message, fact=fact, created_at=at)
        session.add(alert)
        session.flush()
        for channel, status in channels.items():
            session.add(Delivery(alert_id=alert.id, channel=channel, status=status, next_attempt_at=at, created_at=at))
        return alert.id  # type: ignore[return-value]


def deliveries(engine: Engine) -> list[Delivery]:
    """All delivery rows, by id."""
    from sqlmodel import select

    with session_scope(engine) as session:
        return list(session.exec(select(Delivery).order_by(Delivery.id)))
