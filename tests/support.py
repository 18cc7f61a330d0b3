"""Real servers on loopback and a CLI runner, shared by the whole suite."""

from __future__ import annotations

import email
import html
import os
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port nobody listens on right now (aiosmtpd's port=0 does not work)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Route:
    """What the test HTTP server answers on one path."""

    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


class LoopbackHTTP:
    """A threaded HTTP server on 127.0.0.1 whose routes tests change while it runs; it records POSTs."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.posts: list[tuple[str, bytes]] = []
        self.hits: dict[str, int] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                owner.hits[self.path] = owner.hits.get(self.path, 0) + 1
                route = owner.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(route.body)))
                for k, v in route.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(route.body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                owner.posts.append((self.path, self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        """Absolute URL of a path on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()




class SmtpSink:
    """A real aiosmtpd SMTP server on loopback that keeps every message it accepts."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.messages: list[Message] = []
        self._controller = None

    def start(self) -> None:
        """Start listening (tests may start it late to simulate an outage)."""
        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
                sink.messages.append(email.message_from_bytes(envelope.original_content or envelope.content))
                return "250 OK"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        """Stop listening."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def url(self) -> str:
        """The apprise URL that sends plain SMTP to this server."""
        return f"mailto://127.0.0.1:{self.port}?from=monitor@example.com&to=analyst@example.com&mode=insecure"


def message_text(msg: Message) -> str:
    """All text parts of a mail, decoded."""
    parts = msg.walk() if msg.is_multipart() else [msg]
    out = []
    for part in parts:
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True) or b""
            out.append(payload.decode(part.get_content_charset() or "utf-8", errors="replace"))
    return "\n".join(out)




@dataclass
class CliResult:
    """Outcome of one CLI subprocess."""

    code: int
    stdout: str
    stderr: str


def run_cli(args: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> CliResult:
    """Run `python -m monitor ARGS` as a real subprocess."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "monitor", *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def wait_for(condition, timeout: float = 60.0, interval: float = 0.2, what: str = "condition"):  # type: ignore[no-untyped-def]
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds (a bound, not a speed test)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def start_daemon(config: Path, *, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start `python -m monitor run` in the background, stderr to a log file next to the config."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    log = open(config.parent / "daemon.log", "ab")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"], cwd=cwd, env=full_env,
                            stdout=log, stderr=subprocess.STDOUT)


@dataclass
class Item:
    """One RSS item."""

    guid: str
    title: str
    body: str
    date: str  # RFC 822
    link: str


def rss(items: list[Item]) -> bytes:
    """An RSS 2.0 document with full content in each item."""
    parts = ['<?xml version="1.0" encoding="utf-8"?>', '<rss version="2.0"><channel><title>t</title>',
             "<link>http://example.org/</link><description>d</description>"]
    for it in items:
        parts.append(f"<item><title>{html.escape(it.title)}</title><link>{it.link}</link>"
                     f'<guid isPermaLink="false">{it.guid}</guid><pubDate>{it.date}</pubDate>'
                     f"<description>{html.escape('<p>' + html.escape(it.body) + '</p>')}</description></item>")
    parts.append("</channel></rss>")
    return "\n".join(parts).encode()
