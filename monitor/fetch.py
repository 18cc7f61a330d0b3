"""HTTP and file fetching with hard limits: one hostile server must not hurt the other feeds.

`Fetcher.fetch()` never raises: every failure becomes a `FetchResult` with status "error" and a
message that names the URL and says what to do. Limits enforced on every fetch:

- connect and read timeouts, plus a total deadline: the deadline is checked before every socket
  read and write (so slowly dripped headers are cut off too) and between body chunks;
- a maximum body size counted after decompression (we decompress ourselves, in bounded steps, so
  a gzip bomb never expands more than one small step beyond the limit);
- a maximum number of redirects; http/https only, file:// and plain paths only on request;
- a per-host concurrency limit shared by all threads.
"""

from __future__ import annotations

import email.utils
import re
import sys
import threading
import time
import weakref
import zlib
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

import brotli
import httpcore

# httpx imports its command-line tool whenever click and rich are installed (typer brings them),
# and with it rich and pygments: ~6 MB of the daemon's memory for a tool we never run. A None entry
# makes that one import fail, and httpx then leaves its CLI out, as it does when rich is missing.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
import httpx  # noqa: E402

from monitor.config import FetchConfig
from monitor.fetched import FetchResult

__all__ = ["FetchResult", "Fetcher", "next_poll_delay", "parse_retry_after", "parse_max_age"]

_STEP = 64 * 1024  # decompressed bytes produced per step: bounds memory for bombs
_DAY = 86400.0
_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, */*;q=0.5"


class FetchError(Exception):
    """Internal: a failure whose message is ready for the user."""


# ---------------------------------------------------------------------------------------------
# Deadline enforcement at the socket level. httpx has no total timeout, and a server can drip
# headers one byte at a time forever. The sync client does its I/O in the calling thread, so a
# thread-local deadline read by a wrapping network backend bounds every read, write and connect.

_deadline = threading.local()


class DeadlineExceeded(httpcore.ReadTimeout):
    """Raised by the network layer when the fetch's total deadline has passed."""


def _clamp(timeout: float | None) -> float | None:
    """Shrink a socket timeout to what is left of this thread's deadline."""
    end = getattr(_deadline, "end", None)
    if end is None:
        return timeout
    remaining = end - time.monotonic()
    if remaining <= 0:
        raise DeadlineExceeded("total deadline exceeded")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, _clamp(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.connect_tcp(host, port, _clamp(timeout), local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.connect_unix_socket(path, _clamp(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _make_transport(limits: httpx.Limits) -> httpx.HTTPTransport:
    """An httpx transport whose connections obey the thread-local deadline."""
    transport = httpx.HTTPTransport(limits=limits)
    pool = getattr(transport, "_pool", None)
    # httpx (<1, pinned) keeps its httpcore pool here; if that ever changes we still have the
    # between-chunks deadline check, only slow headers would go unbounded.
    if isinstance(pool, httpcore.ConnectionPool):
        pool._network_backend = _DeadlineBackend()
    return transport


# ---------------------------------------------------------------------------------------------
# Bounded decompression: httpx's decoders expand a whole network chunk at once (64 KB of gzip can
# become 64 MB), so we read raw bytes and expand them in steps of at most _STEP bytes.


class _Decoder:
    def feed(self, data: bytes) -> Iterator[bytes]:
        yield data


class _ZlibDecoder(_Decoder):
    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        self._obj = zlib.decompressobj(zlib.MAX_WBITS | 32 if gzip else zlib.MAX_WBITS)
        self._first = True

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._first and not self._gzip:
            self._first = False
            # "deflate" is zlib-wrapped per RFC, but some servers send raw deflate.
            if not (len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0):
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
        while data:
            out = self._obj.decompress(data, _STEP)
            data = self._obj.unconsumed_tail
            if out:
                yield out
            if self._obj.eof:
                return


class _BrotliDecoder(_Decoder):
    def __init__(self) -> None:
        self._obj = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        out = self._obj.process(data, output_buffer_limit=_STEP)
        while True:
            if out:
                yield out
            if self._obj.can_accept_more_data() or self._obj.is_finished():
                return
            out = self._obj.process(b"", output_buffer_limit=_STEP)


def _decoders(content_encoding: str) -> list[_Decoder]:
    """Decoders to apply in order (the header lists the encodings in the order they were applied)."""
    chain: list[_Decoder] = []
    for name in reversed([p.strip().lower() for p in content_encoding.split(",") if p.strip()]):
        if name in ("gzip", "x-gzip"):
            chain.append(_ZlibDecoder(gzip=True))
        elif name == "deflate":
            chain.append(_ZlibDecoder(gzip=False))
        elif name == "br":
            chain.append(_BrotliDecoder())
        # identity and unknown labels (e.g. a misconfigured "UTF-8") pass through.
    return chain


def _decode(chain: list[_Decoder], data: bytes, i: int = 0) -> Iterator[bytes]:
    """Run data through the decoder chain lazily, so memory stays bounded at every stage."""
    if i == len(chain):
        yield data
        return
    for piece in chain[i].feed(data):
        yield from _decode(chain, piece, i + 1)


# ---------------------------------------------------------------------------------------------
# Redirect bodies: httpx reads each redirect response's whole body before following it, with no
# limit. A response hook caps what it can read (and so what its decoder can expand).

_REDIRECT_BODY_CAP = 1024


class _CappedStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, cap: int) -> None:
        self._inner, self._cap = inner, cap

    def __iter__(self) -> Iterator[bytes]:
        left = self._cap
        for chunk in self._inner:
            yield chunk[:left]
            left -= len(chunk)
            if left <= 0:
                return

    def close(self) -> None:
        self._inner.close()


def _cap_redirect_body(response: httpx.Response) -> None:
    """httpx response hook: redirect bodies are never needed, so read at most a few bytes of them."""
    if response.has_redirect_location and isinstance(response.stream, httpx.SyncByteStream):
        response.stream = _CappedStream(response.stream, _REDIRECT_BODY_CAP)


# ---------------------------------------------------------------------------------------------
# Header helpers


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value: delta-seconds or an HTTP-date; None if unusable."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


def parse_max_age(cache_control: str | None) -> float | None:
    """The max-age of a Cache-Control header in seconds (0 for no-cache/no-store), or None."""
    if not cache_control:
        return None
    if re.search(r"\bno-(cache|store)\b", cache_control, re.I):
        return 0.0
    match = re.search(r"\bmax-age\s*=\s*\"?(\d+)", cache_control, re.I)
    return float(match.group(1)) if match else None


def next_poll_delay(
    interval_s: float,
    *,
    consecutive_errors: int = 0,
    retry_after: float | None = None,
    max_age: float | None = None,
    ttl_minutes: int | None = None,
    min_interval_s: float | None = None,
    max_interval_s: float | None = None,
) -> float:
    """Seconds until a feed's next poll.

    Errors back off exponentially (interval * 2**errors, capped at max_interval or 24 h). The
    server's wishes (Retry-After, Cache-Control max-age, RSS <ttl>) can only lengthen the delay,
    never make us poll faster than configured. The result is clamped to [min_interval, max_interval]
    when those are set; Retry-After wins over max_interval (the server asked us to wait), but not
    over the 24 h ceiling.
    """
    cap = max_interval_s if max_interval_s else _DAY
    delay = float(interval_s)
    if consecutive_errors > 0:
        # min() before the power keeps huge error counts from overflowing.
        delay = min(cap, interval_s * 2 ** min(consecutive_errors, 64))
    hints = [h for h in (max_age, ttl_minutes * 60.0 if ttl_minutes else None) if h]
    if hints:
        delay = max(delay, min(max(hints), cap))
    if min_interval_s:
        delay = max(delay, min_interval_s)
    delay = min(delay, cap)
    if retry_after:
        delay = max(delay, min(retry_after, _DAY))
    return max(0.0, delay)


# ---------------------------------------------------------------------------------------------
# The fetcher


_STATUS_HINTS = {
    401: "the feed needs credentials",
    403: "the server refuses us: check the URL or whether the site blocks bots",
    404: "check the feed URL",
    410: "the feed is gone: remove it or find its new URL",
    429: "the server rate-limits us: poll less often",
}


class Fetcher:
    """Fetches feeds and pages with one pooled httpx client; thread-safe; never raises from fetch()."""

    def __init__(self, config: FetchConfig | None = None) -> None:
        """Create the shared client; `config` defaults to FetchConfig()."""
        self.config = config or FetchConfig()
        c = self.config
        self._client = httpx.Client(
            transport=_make_transport(httpx.Limits(max_connections=max(16, c.workers * c.per_host * 2))),
            follow_redirects=True,
            max_redirects=c.max_redirects,
            timeout=httpx.Timeout(connect=c.connect_timeout, read=c.read_timeout, write=c.read_timeout, pool=c.deadline),
            headers={"User-Agent": c.user_agent, "Accept-Encoding": "gzip, deflate, br", "Accept": _ACCEPT},
            event_hooks={"response": [_cap_redirect_body]},
        )
        # Weak values: a host's semaphore lives while a fetch holds it, so months of full-text
        # fetches from thousands of hosts do not pile up semaphores.
        self._host_limits: weakref.WeakValueDictionary[str, threading.BoundedSemaphore] = weakref.WeakValueDictionary()
        self._lock = threading.Lock()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled connections."""
        self._client.close()

    def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
              allow_file: bool = False) -> FetchResult:
        """Fetch `url` under the configured limits; conditional GET with etag/last_modified.

        file:// URLs and plain paths are read only when allow_file is True (a feed configured as a
        local path). Never raises.
        """
        start = time.monotonic()
        try:
            result = self._dispatch(url.strip(), etag, last_modified, allow_file)
        except FetchError as exc:
            result = FetchResult(status="error", url=url, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - the contract is "never raise"
            result = FetchResult(status="error", url=url, error=f"unexpected error fetching {url}: {exc!r}")
        result.elapsed_ms = (time.monotonic() - start) * 1000
        return result

    def _dispatch(self, url: str, etag: str | None, last_modified: str | None, allow_file: bool) -> FetchResult:
        match = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*):", url)
        scheme = match.group(1).lower() if match and len(match.group(1)) > 1 else ""  # "C:" is a drive
        if not url:
            raise FetchError("empty URL: set the feed's url")
        if scheme in ("http", "https"):
            self._check_http_url(url)
            return self._fetch_http(url, etag, last_modified)
        if scheme in ("file", ""):
            if not allow_file:
                raise FetchError(f"{url!r} is not an http(s) URL and local files are not allowed here: "
                                 "use an http:// or https:// URL")
            return self._read_file(url)
        raise FetchError(f"unsupported URL scheme {scheme!r} in {url}: use http:// or https://")

    @staticmethod
    def _check_http_url(url: str) -> None:
        """Reject URLs that cannot be right before any network traffic (no host, spaces, bad port)."""
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError as exc:
            raise FetchError(f"invalid URL {url}: {exc}: check the feed URL") from None
        if not parts.hostname or re.search(r"\s", url):
            raise FetchError(f"invalid URL {url}: no host name, or spaces in the URL: check the feed URL")

    # -- files --

    def _read_file(self, url: str) -> FetchResult:
        path = Path(unquote(urlsplit(url).path)) if url.lower().startswith("file://") else Path(url)
        try:
            with path.open("rb") as fh:
                body = fh.read(self.config.max_bytes + 1)
        except OSError as exc:
            raise FetchError(f"cannot read {path}: {exc.strerror or exc}: check the feed path") from None
        if len(body) > self.config.max_bytes:
            raise FetchError(f"{path}: body larger than {self.config.max_bytes} bytes: raise fetch.max_bytes if it is genuine")
        return FetchResult(status="ok", url=path.resolve().as_uri(), body=body)

    # -- HTTP --

    def _host_limit(self, url: str) -> threading.BoundedSemaphore:
        """The semaphore for url's host:port, created on first use."""
        parts = urlsplit(url)
        key = f"{(parts.hostname or '').lower()}:{parts.port or (443 if parts.scheme.lower() == 'https' else 80)}"
        with self._lock:
            sem = self._host_limits.get(key)
            if sem is None:
                sem = self._host_limits[key] = threading.BoundedSemaphore(max(1, self.config.per_host))
            return sem

    def _fetch_http(self, url: str, etag: str | None, last_modified: str | None) -> FetchResult:
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        with self._host_limit(url):
            _deadline.end = time.monotonic() + self.config.deadline
            try:
                return self._request(url, headers)
            except httpx.HTTPError as exc:
                if time.monotonic() >= _deadline.end:
                    raise FetchError(self._deadline_message(url)) from None
                raise FetchError(self._describe(url, exc)) from None
            except httpx.InvalidURL as exc:
                raise FetchError(f"invalid URL {url}: {exc}: check the feed URL") from None
            finally:
                _deadline.end = None

    def _request(self, url: str, headers: dict[str, str]) -> FetchResult:
        with self._client.stream("GET", url, headers=headers) as resp:
            final = str(resp.url)
            resp_headers = {k.lower(): v for k, v in resp.headers.items()}
            common: dict[str, Any] = {
                "url": final, "http_status": resp.status_code, "headers": resp_headers,
                "etag": resp.headers.get("etag"), "last_modified": resp.headers.get("last-modified"),
                "max_age": parse_max_age(resp.headers.get("cache-control")),
            }
            if resp.status_code == 304:
                # A 304 need not repeat the validators: keep the ones we sent for the next poll.
                common["etag"] = common["etag"] or headers.get("If-None-Match")
                common["last_modified"] = common["last_modified"] or headers.get("If-Modified-Since")
                return FetchResult(status="not_modified", **common)
            if resp.status_code >= 300:
                retry = parse_retry_after(resp.headers.get("retry-after")) if resp.status_code in (429, 503) else None
                return FetchResult(status="error", error=self._status_message(final, resp, retry), retry_after=retry, **common)
            body = self._read_body(final, resp)
        return FetchResult(status="ok", body=body, **common)

    def _read_body(self, url: str, resp: httpx.Response) -> bytes:
        """Stream and decompress the body, stopping at max_bytes or the deadline."""
        limit = self.config.max_bytes
        chain = _decoders(resp.headers.get("content-encoding", ""))
        buf = bytearray()
        for raw in resp.iter_raw():
            try:
                for piece in _decode(chain, raw):
                    buf += piece
                    if len(buf) > limit:
                        raise FetchError(f"body larger than {limit} bytes from {url}: "
                                         "not a normal feed or page; raise fetch.max_bytes if it is genuine")
            except (zlib.error, brotli.error) as exc:
                raise FetchError(f"cannot decompress the body from {url} "
                                 f"(Content-Encoding {resp.headers.get('content-encoding')}): {exc}") from None
            self._check_deadline(url)
        return bytes(buf)

    def _check_deadline(self, url: str) -> None:
        end = getattr(_deadline, "end", None)
        if end is not None and time.monotonic() > end:
            raise FetchError(self._deadline_message(url))

    def _deadline_message(self, url: str) -> str:
        return (f"{url} took longer than the {self.config.deadline:g} s deadline: the server is too slow; "
                "raise fetch.deadline if it is genuine")

    def _status_message(self, url: str, resp: httpx.Response, retry: float | None) -> str:
        msg = f"HTTP {resp.status_code} {resp.reason_phrase} from {url}".rstrip()
        if retry is not None:
            return f"{msg}: the server asks us to wait {retry:g} s before retrying"
        hint = _STATUS_HINTS.get(resp.status_code)
        if hint is None:
            hint = "server error: retrying later" if resp.status_code >= 500 else "check the feed URL"
        return f"{msg}: {hint}"

    def _describe(self, url: str, exc: httpx.HTTPError) -> str:
        """Turn an httpx exception into a message that says what happened and what to do."""
        detail = str(exc) or type(exc).__name__
        if isinstance(exc, httpx.TooManyRedirects):
            return f"too many redirects (more than {self.config.max_redirects}) from {url}: the server redirects in a loop; check the feed URL"
        if isinstance(exc, httpx.ConnectTimeout):
            return f"connecting to {url} timed out after {self.config.connect_timeout:g} s: the host is down or unreachable"
        if isinstance(exc, httpx.ReadTimeout):
            return f"{url} sent nothing for {self.config.read_timeout:g} s: the server is stalled; retrying later"
        if isinstance(exc, httpx.ConnectError):
            if "ssl" in detail.lower() or "certificate" in detail.lower():
                return f"TLS error connecting to {url}: {detail}: the site's certificate is not trusted"
            return f"cannot connect to {url}: {detail}: check the host name, or the site is down"
        if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
            return f"connection to {url} broke off: {detail}: retrying later"
        if isinstance(exc, (httpx.InvalidURL, httpx.UnsupportedProtocol)):
            return f"invalid URL {url}: {detail}"
        return f"fetching {url} failed: {type(exc).__name__}: {detail}"
