"""Fetcher against real loopback servers: normal, conditional, hostile, concurrent."""

from __future__ import annotations

import email.utils
import gzip
import socket
import threading
import tracemalloc
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from functools import cache

import brotli
import pytest

from monitor.config import FetchConfig
from monitor.fetch import Fetcher, FetchResult, parse_max_age, parse_retry_after

MB = 1 << 20
FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'


def fetch_alongside(fetcher: Fetcher, url: str, neighbour_ok: Callable[[Fetcher], None],
                    started: threading.Event | None = None) -> FetchResult:
    """Fetch a hostile URL in a thread while a normal feed is fetched from the same server."""
    box: dict[str, FetchResult] = {}
    thread = threading.Thread(target=lambda: box.setdefault("r", fetcher.fetch(url)))
    thread.start()
    if started is not None:
        assert started.wait(5), "hostile handler never started"
    neighbour_ok(fetcher)
    thread.join(30)
    assert not thread.is_alive()
    return box["r"]


def headers_then(h, length: int, content_type: str = "application/xml", extra: dict[str, str] | None = None) -> None:
    h.send_response(200)
    h.send_header("Content-Type", content_type)
    h.send_header("Content-Length", str(length))
    for k, v in (extra or {}).items():
        h.send_header(k, v)
    h.end_headers()


@cache
def gzip_bomb() -> bytes:
    """~100 KB of gzip that expands to 100 MB of zeros."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(MB)
    return b"".join(comp.compress(zeros) for _ in range(100)) + comp.flush()


# ----------------------------------------------------------------------------- normal fetches


def test_ok_fetch_sends_identity_headers(server, fetcher):
    url = server.serve("/f.xml", FEED, "application/rss+xml; charset=utf-8",
                       headers={"ETag": '"v1"', "Last-Modified": "Mon, 06 Jan 2025 08:00:00 GMT", "Cache-Control": "max-age=600"})
    result = fetcher.fetch(url)
    assert result.status == "ok" and result.http_status == 200 and result.body == FEED
    assert result.etag == '"v1"' and result.last_modified == "Mon, 06 Jan 2025 08:00:00 GMT"
    assert result.max_age == 600 and result.error is None and result.elapsed_ms > 0
    assert result.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert all(k == k.lower() for k in result.headers)
    sent = server.requests[-1][1]
    assert sent["user-agent"] == FetchConfig().user_agent
    assert {"gzip", "deflate", "br"} <= {p.strip() for p in sent["accept-encoding"].split(",")}


@pytest.mark.parametrize("encoding,encode", [
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some servers send
    ("br", brotli.compress),
])
def test_compressed_bodies_are_decoded(server, fetcher, encoding, encode):
    url = server.serve("/c.xml", encode(FEED), headers={"Content-Encoding": encoding})
    result = fetcher.fetch(url)
    assert result.status == "ok", result.error
    assert result.body == FEED


def test_redirects_are_followed_to_the_final_url(server, fetcher):
    server.serve("/old", b"", status=301, headers={"Location": "/mid"})
    server.serve("/mid", b"", status=302, headers={"Location": server.url("/good.xml")})
    result = fetcher.fetch(server.url("/old"))
    assert result.status == "ok" and result.url == server.url("/good.xml")


def test_conditional_get_gives_not_modified(server, fetcher, neighbour_ok):
    def handler(h):
        if h.headers.get("If-None-Match") == '"v7"':
            h.send_response(304)  # without repeating the ETag, as servers may
            h.send_header("Content-Length", "0")
            h.end_headers()
        else:
            h.reply(200, FEED, headers={"ETag": '"v7"'})

    url = server.route("/cond.xml", handler)
    first = fetcher.fetch(url)
    assert first.status == "ok" and first.etag == '"v7"'
    second = fetcher.fetch(url, etag=first.etag, last_modified="Mon, 06 Jan 2025 08:00:00 GMT")
    assert second.status == "not_modified" and second.http_status == 304 and second.body is None
    assert second.etag == '"v7"' and second.last_modified == "Mon, 06 Jan 2025 08:00:00 GMT"
    assert server.requests[-1][1]["if-modified-since"] == "Mon, 06 Jan 2025 08:00:00 GMT"
    assert "if-none-match" not in server.requests[0][1]
    neighbour_ok(fetcher)


def test_http_errors_have_clear_messages(server, fetcher):
    result = fetcher.fetch(server.url("/missing.xml"))
    assert result.status == "error" and result.http_status == 404
    assert result.error == f"HTTP 404 Not Found from {server.url('/missing.xml')}: check the feed URL"


def test_429_with_retry_after_seconds(server, fetcher, neighbour_ok):
    url = server.serve("/busy", b"slow down", "text/plain", status=429, headers={"Retry-After": "120"})
    result = fetch_alongside(fetcher, url, neighbour_ok)
    assert result.status == "error" and result.http_status == 429 and result.retry_after == 120
    assert "wait 120 s" in result.error and url in result.error


def test_503_with_retry_after_http_date(server, fetcher, neighbour_ok):
    when = email.utils.format_datetime(datetime.now(timezone.utc) + timedelta(hours=1), usegmt=True)
    url = server.serve("/down", b"", "text/plain", status=503, headers={"Retry-After": when})
    result = fetch_alongside(fetcher, url, neighbour_ok)
    assert result.status == "error" and result.http_status == 503
    assert 3500 < result.retry_after <= 3600


# ----------------------------------------------------------------------------- hostile servers


@pytest.mark.timeout(30)
def test_huge_body_is_cut_at_max_bytes(server, fetcher, neighbour_ok):
    started = threading.Event()

    def huge(h):
        headers_then(h, 100 * MB)
        started.set()
        chunk = b"x" * 65536
        for _ in range(100 * MB // len(chunk)):
            if server.stop.is_set():
                return
            h.wfile.write(chunk)

    url = server.route("/huge.xml", huge)
    tracemalloc.start()
    try:
        result = fetch_alongside(fetcher, url, neighbour_ok, started)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.status == "error" and result.body is None
    assert result.error.startswith("body larger than 1000000 bytes from ")
    assert peak < 8 * MB


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", ["gzip", "br"])
def test_compression_bomb_is_cut_at_max_bytes(server, fetcher, neighbour_ok, kind):
    bomb = gzip_bomb() if kind == "gzip" else brotli.compress(bytes(100 * MB), quality=1)
    assert len(bomb) < 200_000
    url = server.serve("/bomb.xml", bomb, headers={"Content-Encoding": kind})
    tracemalloc.start()
    try:
        result = fetch_alongside(fetcher, url, neighbour_ok)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.status == "error" and "body larger than 1000000 bytes" in result.error
    assert peak < 8 * MB  # a whole-chunk decoder would have allocated ~64 MB


@pytest.mark.timeout(15)
def test_dripping_body_is_cut_at_the_deadline(server, neighbour_ok):
    started = threading.Event()

    def drip(h):
        headers_then(h, 1000)
        started.set()
        for _ in range(1000):
            h.wfile.write(b"<")
            h.wfile.flush()
            if server.stop.wait(1.0):
                return

    url = server.route("/drip.xml", drip)
    with Fetcher(FetchConfig(read_timeout=5, deadline=2)) as fetcher:
        result = fetch_alongside(fetcher, url, neighbour_ok, started)
    assert result.status == "error" and "2 s deadline" in result.error and url in result.error


@pytest.mark.timeout(15)
def test_dripping_headers_are_cut_at_the_deadline(server, neighbour_ok):
    def drip(h):
        h.wfile.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(1000):
            h.wfile.write(b"X")
            h.wfile.flush()
            if server.stop.wait(0.5):
                return

    url = server.route("/slowheaders.xml", drip)
    with Fetcher(FetchConfig(read_timeout=5, deadline=2)) as fetcher:
        result = fetch_alongside(fetcher, url, neighbour_ok)
    assert result.status == "error" and "deadline" in result.error


@pytest.mark.timeout(30)
@pytest.mark.parametrize("encoding", [None, "gzip"])
def test_huge_redirect_body_is_not_read(server, fetcher, neighbour_ok, encoding):
    def redirect(h):
        h.send_response(302)
        h.send_header("Location", "/good.xml")
        h.send_header("Content-Length", str(100 * MB))
        if encoding:
            h.send_header("Content-Encoding", encoding)
        h.end_headers()
        chunk = gzip_bomb()[:65536] if encoding else b"x" * 65536
        for _ in range(100 * MB // len(chunk)):
            if server.stop.is_set():
                return
            h.wfile.write(chunk)

    url = server.route("/moved-huge", redirect)
    tracemalloc.start()
    try:
        result = fetch_alongside(fetcher, url, neighbour_ok)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.status == "ok" and result.url == server.url("/good.xml")
    assert peak < 8 * MB


@pytest.mark.timeout(15)
def test_redirect_loop_is_an_error(server, fetcher, neighbour_ok):
    server.serve("/loop-a", b"", status=302, headers={"Location": "/loop-b"})
    url = server.serve("/loop-b", b"", status=302, headers={"Location": "/loop-a"})
    result = fetch_alongside(fetcher, url, neighbour_ok)
    assert result.status == "error" and "too many redirects (more than 5)" in result.error


@pytest.mark.timeout(15)
def test_connection_reset_mid_body(server, fetcher, neighbour_ok):
    def reset(h):
        headers_then(h, 10_000)
        h.wfile.write(b"<rss>" + b"x" * 100)
        h.reset()

    url = server.route("/reset.xml", reset)
    result = fetch_alongside(fetcher, url, neighbour_ok)
    assert result.status == "error" and "broke off" in result.error and url in result.error


def test_connection_refused(fetcher):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    result = fetcher.fetch(f"http://127.0.0.1:{port}/feed.xml")
    assert result.status == "error" and result.error.startswith(f"cannot connect to http://127.0.0.1:{port}/feed.xml")


@pytest.mark.parametrize("url,needle", [
    ("", "empty URL"),
    ("ftp://example.com/feed.xml", "unsupported URL scheme 'ftp'"),
    ("http://", "invalid URL"),
    ("http://exa mple.com/feed", "invalid URL"),
    ("http://[::1/feed", "invalid URL"),
    ("/etc/hostname", "local files are not allowed"),
    ("file:///etc/hostname", "local files are not allowed"),
])
def test_bad_urls_are_errors_not_exceptions(fetcher, neighbour_ok, url, needle):
    result = fetcher.fetch(url)
    assert result.status == "error" and needle in result.error
    neighbour_ok(fetcher)


def test_local_files_when_allowed(fetcher, tmp_path):
    feed = tmp_path / "feed.xml"
    feed.write_bytes(FEED)
    for url in (str(feed), feed.as_uri()):
        result = fetcher.fetch(url, allow_file=True)
        assert result.status == "ok" and result.body == FEED and result.url == feed.as_uri()
    missing = fetcher.fetch(str(tmp_path / "nope.xml"), allow_file=True)
    assert missing.status == "error" and "cannot read" in missing.error
    big = tmp_path / "big.xml"
    big.write_bytes(b"x" * 1_000_001)
    assert "body larger than" in fetcher.fetch(str(big), allow_file=True).error


# ----------------------------------------------------------------------------- concurrency


@pytest.mark.timeout(30)
def test_per_host_limit_holds_under_16_threads(server):
    def slow(h):
        server.stop.wait(0.02)
        h.reply(200, FEED)

    url = server.route("/slow.xml", slow)
    per_host = 3
    results: list[FetchResult] = []
    lock = threading.Lock()
    with Fetcher(FetchConfig(per_host=per_host, workers=16)) as fetcher:
        def worker():
            for _ in range(4):
                r = fetcher.fetch(url)
                with lock:
                    results.append(r)

        threads = [threading.Thread(target=worker) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
    assert len(results) == 64 and all(r.status == "ok" and r.body == FEED for r in results)
    assert 1 < server.max_active <= per_host


# ----------------------------------------------------------------------------- header helpers


def test_parse_retry_after():
    now = datetime(2025, 1, 6, 8, 0, tzinfo=timezone.utc)
    assert parse_retry_after("30", now=now) == 30
    assert parse_retry_after("Mon, 06 Jan 2025 08:05:00 GMT", now=now) == 300
    assert parse_retry_after("Mon, 06 Jan 2025 07:00:00 GMT", now=now) == 0
    assert parse_retry_after("soon", now=now) is None and parse_retry_after(None) is None


def test_parse_max_age():
    assert parse_max_age("public, max-age=900") == 900
    assert parse_max_age("no-cache") == 0
    assert parse_max_age("public") is None and parse_max_age(None) is None


@pytest.mark.timeout(15)
def test_tls_failure_is_an_error(server, fetcher, neighbour_ok):
    # https:// to a plain-HTTP server: the TLS handshake fails.
    url = server.url("/good.xml").replace("http://", "https://")
    result = fetcher.fetch(url)
    assert result.status == "error" and result.error.startswith(f"TLS error connecting to {url}")
    neighbour_ok(fetcher)
