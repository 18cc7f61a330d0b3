"""A real threaded HTTP server on loopback with a per-path handler registry."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from monitor.config import FetchConfig
from monitor.fetch import Fetcher

Handler = Callable[["RequestHandler"], None]

GOOD_RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Good feed</title><ttl>30</ttl>
<item><title>CRRC wins Dubai Metro contract</title><link>https://news.example.com/a/1?utm_source=rss</link>
<guid>https://news.example.com/a/1</guid><pubDate>Mon, 06 Jan 2025 08:00:00 +0800</pubDate>
<description>CRRC Corp signed a $5.6 billion contract.</description></item>
</channel></rss>"""


class RequestHandler(BaseHTTPRequestHandler):
    """Dispatches GET to the server's registry; unknown paths get 404."""

    protocol_version = "HTTP/1.1"  # keep-alive, so the client's connection pool is exercised
    disable_nagle_algorithm = True  # headers and body go out in two writes: avoid 40 ms stalls
    server: "LoopbackServer"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet tests
        pass

    def handle(self) -> None:
        # Clients hang up on hostile handlers on purpose: that is not a test failure.
        try:
            super().handle()
        except (ConnectionError, TimeoutError, OSError):
            pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = self.path.split("?", 1)[0]
        handler = self.server.routes.get(path) or self.server.prefix_handler(path)
        self.server.record(self)
        with self.server.track():
            if handler is None:
                self.reply(404, b"not found", "text/plain")
            else:
                handler(self)

    def reply(self, status: int, body: bytes, content_type: str = "application/xml",
              headers: dict[str, str] | None = None) -> None:
        """Send a complete response."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0) instead of a clean close."""
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


class LoopbackServer(ThreadingHTTPServer):
    """ThreadingHTTPServer on 127.0.0.1 that counts concurrent requests and records requests."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), RequestHandler)
        self.routes: dict[str, Handler] = {}
        self.prefixes: list[tuple[str, Handler]] = []
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.active = 0
        self.max_active = 0
        self.stop = threading.Event()  # slow handlers poll this so teardown is quick
        self._lock = threading.Lock()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, handler: Handler) -> str:
        """Register a handler for an exact path; returns the full URL."""
        self.routes[path] = handler
        return self.url(path)

    def route_prefix(self, prefix: str, handler: Handler) -> None:
        self.prefixes.append((prefix, handler))

    def serve(self, path: str, body: bytes, content_type: str = "application/xml", *, status: int = 200,
              headers: dict[str, str] | None = None) -> str:
        """Register a fixed response; returns the full URL."""
        return self.route(path, lambda h: h.reply(status, body, content_type, headers))

    def prefix_handler(self, path: str) -> Handler | None:
        return next((h for p, h in self.prefixes if path.startswith(p)), None)

    def record(self, handler: RequestHandler) -> None:
        with self._lock:
            self.requests.append((handler.path, {k.lower(): v for k, v in handler.headers.items()}))

    def track(self) -> "_Active":
        return _Active(self)


class _Active:
    def __init__(self, server: LoopbackServer) -> None:
        self.server = server

    def __enter__(self) -> None:
        with self.server._lock:
            self.server.active += 1
            self.server.max_active = max(self.server.max_active, self.server.active)

    def __exit__(self, *exc: object) -> None:
        with self.server._lock:
            self.server.active -= 1


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    """A fresh loopback server; GOOD_RSS is always at /good.xml."""
    srv = LoopbackServer()
    srv.serve("/good.xml", GOOD_RSS, "application/rss+xml")
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield srv
    srv.stop.set()
    srv.shutdown()
    srv.server_close()
    thread.join(5)


@pytest.fixture
def fetch_config() -> FetchConfig:
    """Small limits so hostile tests finish fast."""
    return FetchConfig(connect_timeout=2, read_timeout=5, deadline=5, max_bytes=1_000_000, max_redirects=5, per_host=2)


@pytest.fixture
def fetcher(fetch_config: FetchConfig) -> Iterator[Fetcher]:
    with Fetcher(fetch_config) as f:
        yield f


@pytest.fixture
def neighbour_ok(server: LoopbackServer) -> Callable[[Fetcher], None]:
    """Check that a normal feed on the same server still fetches and parses while a hostile one is busy."""
    from monitor.feeds import parse_feed

    def check(fetcher: Fetcher) -> None:
        result = fetcher.fetch(server.url("/good.xml"))
        assert result.status == "ok", result.error
        parsed = parse_feed(result, "good")
        assert parsed.error is None and [e.title for e in parsed.entries] == ["CRRC wins Dubai Metro contract"]

    return check
