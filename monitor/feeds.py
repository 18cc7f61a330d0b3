"""feedparser -> typed entries with clean text. `parse_feed` never raises."""

from __future__ import annotations

import functools
import io
import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import feedparser
from pydantic import BaseModel, Field

from monitor import feedparser_tuning
from monitor.article_text import choose_charset, html_to_text, plain_to_text
from monitor.entries import content_hash, make_entry_id, normalise_link
from monitor.fetched import FetchResult
from monitor.plain_rss import read_plain_rss

__all__ = ["FeedEntry", "ParsedFeed", "parse_feed", "parse_plain_feed", "entry_from_feedparser", "normalise_link", "html_to_text"]

log = logging.getLogger(__name__)
T = TypeVar("T")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LETTER = re.compile(r"[^\W\d_]")
_SUBTAG_SEP = re.compile(r"[-_]")
_PRIMARY = re.compile(r"[a-z]{2,3}")
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.I | re.S)
feedparser_tuning.install()


class FeedEntry(BaseModel):
    """One feed item with plain-text fields and a stable identity."""

    entry_id: str
    link: str | None = None
    title: str = ""
    published: datetime | None = Field(default=None, description="UTC, naive")
    summary_text: str = ""
    content_text: str = ""
    has_full_content: bool = False
    content_hash: str
    lang: str | None = None


class ParsedFeed(BaseModel):
    """A parsed feed: entries, feed metadata, and an error when nothing usable came out."""

    entries: list[FeedEntry] = Field(default_factory=list)
    title: str | None = None
    link: str | None = None
    ttl_minutes: int | None = None
    version: str | None = None
    encoding: str | None = None
    bozo: bool = False
    error: str | None = None
    warning: str | None = None


def _text_of(detail: Any, fallback: str | None = None, memo: dict[tuple[bool, str], str] | None = None) -> str:
    """Plain text of a feedparser text construct ({'type', 'value'}), by its declared type.

    `memo` caches conversions within one entry: feeds often repeat a value (summary = content).
    """
    if isinstance(detail, dict):  # plain dict lookups: "value" and "type" are no feedparser aliases
        value, kind = dict.get(detail, "value", fallback), dict.get(detail, "type", "text/html")
    else:
        value, kind = fallback, "text/html"
    if not value:
        return ""
    key = (kind == "text/plain", value)
    if memo is not None and key in memo:
        return memo[key]
    text = plain_to_text(value) if key[0] else html_to_text(value)
    if memo is not None:
        memo[key] = text
    return text


@functools.lru_cache(maxsize=256)
def _primary_subtag(tag: str) -> str | None:
    primary = _SUBTAG_SEP.split(tag.strip().lower(), maxsplit=1)[0]
    return primary if _PRIMARY.fullmatch(primary) else None


def _lang(tag: str | None) -> str | None:
    """Primary language subtag, lowercase: 'zh-CN' -> 'zh'."""
    if not tag or not isinstance(tag, str):
        return None
    return _primary_subtag(tag)  # a feed repeats one tag on every entry: cache it


def _guess_lang(text: str) -> str | None:
    """'zh' when most letters are CJK; we only guess what the extractors need to know."""
    sample = text[:2000]
    if sample.isascii() or not _CJK.search(sample):  # no CJK at all: nothing to count
        return None
    letters = len(_LETTER.findall(sample))
    return "zh" if letters and len(_CJK.findall(sample)) / letters > 0.3 else None


def _published(entry: dict[str, Any]) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:
            try:
                return datetime(*parsed[:6])  # feedparser's parsed times are already UTC
            except (TypeError, ValueError):
                continue
    return None


def _best_content(contents: list[Any], memo: dict[tuple[bool, str], str]) -> str:
    """Text of the longest content block (content:encoded / atom:content)."""
    texts = [_text_of(c, memo=memo) for c in contents if isinstance(c, dict)]
    return max(texts, key=len, default="")


def _declared_lang(details: list[Any]) -> str | None:
    """The first usable xml:lang among an entry's text constructs."""
    for detail in details:
        if isinstance(detail, dict) and (lang := _lang(dict.get(detail, "language"))):
            return lang
    return None


def entry_from_feedparser(entry: Any, *, feed_name: str, feed_lang: str | None = None) -> FeedEntry:
    """Build a FeedEntry from one feedparser entry dict."""
    # A plain copy: FeedParserDict.get resolves aliases ('guid' -> 'id'...) on every lookup, and
    # none of the keys read here is an alias. ('updated_parsed' falls back to 'published_parsed'
    # there, which _published reads first anyway.)
    entry = dict(entry)
    memo: dict[tuple[bool, str], str] = {}
    title_detail, summary_detail = entry.get("title_detail"), entry.get("summary_detail")
    contents = entry.get("content") or []
    title = _text_of(title_detail, entry.get("title"), memo)
    # feedparser copies atom:content into `summary` when there is no summary: only a
    # summary_detail means the feed really gave one.
    summary = _text_of(summary_detail, memo=memo) if summary_detail else ""
    content = _best_content(contents, memo)
    text = content if len(content) > len(summary) else summary
    link = normalise_link(entry.get("link") or "") or None
    lang = _declared_lang([title_detail, summary_detail, *contents]) or _lang(feed_lang)
    return FeedEntry(
        entry_id=make_entry_id(entry.get("id"), link, title, text, feed_name=feed_name),
        link=link,
        title=title,
        published=_published(entry),
        summary_text=summary or text,
        content_text=text,
        has_full_content=bool(content) and len(content) > len(summary),
        content_hash=content_hash(title, text),
        lang=lang or _guess_lang(title + "\n" + text[:2000]),  # only the first 2000 characters count
    )


def _feedparser_headers(result: FetchResult) -> dict[str, str]:
    """Response headers for feedparser: lowercase, body already decoded, our choice of charset.

    feedparser lets a charset in Content-Type override the document's own declaration, and
    servers often label GBK/Big5 feeds ISO-8859-1. So for non-ASCII bodies we choose the charset
    ourselves (see choose_charset) and put it in the header feedparser sees.
    """
    headers = {k.lower(): v for k, v in result.headers.items() if k.lower() not in ("content-encoding", "content-length")}
    headers["content-location"] = result.url
    body = result.body or b""
    if not body.isascii():
        charset = choose_charset(body, result.charset)
        media = re.sub(r";\s*charset\s*=\s*[^;]*", "", headers.get("content-type", ""), flags=re.I).strip() or "application/xml"
        headers["content-type"] = f"{media}; charset={charset}"
    return headers


def _ttl(feed: Any) -> int | None:
    try:
        ttl = int(str(feed.get("ttl", "")).strip())
    except ValueError:
        return None
    return ttl if ttl > 0 else None


def _no_entries_error(result: FetchResult, parsed: Any) -> str | None:
    """Why a feed without entries is unusable, or None for a valid empty feed."""
    body = result.body or b""
    exc = parsed.get("bozo_exception")
    if not body.strip():
        return f"empty body from {result.url}: the server sent nothing; check the feed URL"
    if not parsed.get("version"):
        if result.content_type in ("text/html", "application/xhtml+xml") or _HTML_START.match(body[:2048]):
            return (f"not a feed: got HTML from {result.url} (Content-Type {result.content_type or 'unknown'}): "
                    "this is a web page; use the address of its RSS or Atom feed")
    line = getattr(exc, "getLineNumber", lambda: None)() if exc is not None else None
    if line is not None:
        if not body.lstrip(b"\xef\xbb\xbf").startswith(b"<?xml"):
            line = max(1, line - 1)  # feedparser prepended an XML declaration line
        return f"malformed XML at line {line} in {result.url}: {getattr(exc, 'getMessage', lambda: exc)()}"
    if not parsed.get("version"):
        return f"not a feed: {result.url} has no RSS, Atom or RDF root element; check the feed URL"
    return None


def parse_feed(result: FetchResult, feed_name: str, *, fast_path: bool = True) -> ParsedFeed:
    """Parse a fetched feed into typed entries. Never raises.

    `error` is set when there are no entries and the document is not a valid empty feed; a feed
    with XML errors whose entries were recovered keeps them, with a `warning`. Plain RSS 2.0 is
    read by `monitor.plain_rss` (same result, several times faster) unless `fast_path` is False.
    """
    if result.status == "not_modified":
        return ParsedFeed()  # nothing new, and nothing wrong
    if result.status != "ok":
        return ParsedFeed(error=result.error or f"fetching {result.url} failed")
    return _guarded(result, feed_name, lambda: _parse(result, feed_name, fast_path))


def _guarded(result: FetchResult, feed_name: str, read: Callable[[], T]) -> T | ParsedFeed:
    """`read()`, with a failure logged and turned into the feed's error."""
    try:
        return read()
    except Exception as exc:  # noqa: BLE001 - one broken feed must not stop the others
        log.exception("feed %s: parser failure", feed_name)
        return ParsedFeed(bozo=True, error=f"could not parse the feed from {result.url}: {exc!r}")


def _read_plain(body: bytes, headers: dict[str, str], feed_name: str) -> dict[str, Any] | None:
    """`read_plain_rss`, or None (feedparser then reads the feed) if it fails unexpectedly."""
    try:
        return read_plain_rss(body, headers)
    except Exception:  # noqa: BLE001 - a bug in the fast path must not cost the feed
        log.exception("feed %s: the plain-RSS reader failed; feedparser reads the feed instead", feed_name)
        return None


def parse_plain_feed(result: FetchResult, feed_name: str) -> ParsedFeed | None:
    """`parse_feed` for a plain RSS 2.0 feed, by the fast path alone; None for any other document
    (or fetch outcome), which `parse_feed(..., fast_path=False)` then reads. Never raises.

    The fast path is cheap enough to run in the daemon: handing such a feed to a worker process
    costs about as much as reading it.
    """
    if result.status != "ok":
        return None
    parsed = _read_plain(result.body or b"", _feedparser_headers(result), feed_name)
    if parsed is None:
        return None
    return _guarded(result, feed_name, lambda: _parsed_feed(result, feed_name, parsed))


def _parse(result: FetchResult, feed_name: str, fast_path: bool) -> ParsedFeed:
    body = result.body or b""
    headers = _feedparser_headers(result)
    parsed = _read_plain(body, headers, feed_name) if fast_path else None
    if parsed is None:
        # We turn all markup into plain text ourselves, dropping script/style content with a real
        # HTML parser: feedparser's sanitiser leaks script bodies on broken markup, and resolving
        # links inside content (its slowest step) is wasted work for plain text.
        parsed = feedparser.parse(io.BytesIO(body), response_headers=headers, sanitize_html=False,
                                  resolve_relative_uris=False)
    return _parsed_feed(result, feed_name, parsed)


def _parsed_feed(result: FetchResult, feed_name: str, parsed: dict[str, Any]) -> ParsedFeed:
    """Typed entries and feed metadata from feedparser's result (or the fast path's)."""
    feed = parsed.get("feed", {})
    entries: list[FeedEntry] = []
    skipped = 0
    for raw in parsed.get("entries", []):
        try:
            entry = entry_from_feedparser(raw, feed_name=feed_name, feed_lang=feed.get("language"))
        except Exception as exc:  # noqa: BLE001 - skip one odd entry, keep the rest
            skipped += 1
            log.warning("feed %s: skipped an entry: %r", feed_name, exc)
            continue
        if entry.title or entry.link or entry.content_text:
            entries.append(entry)
        else:  # nothing a reader or the extractors could use
            skipped += 1
    out = ParsedFeed(
        entries=entries,
        title=_text_of(feed.get("title_detail"), feed.get("title")) or None,
        link=normalise_link(feed.get("link") or "") or None,
        ttl_minutes=_ttl(feed),
        version=parsed.get("version") or None,
        encoding=parsed.get("encoding") or None,
        bozo=bool(parsed.get("bozo")),
    )
    if not entries and not skipped:
        out.error = _no_entries_error(result, parsed)
    elif not entries:
        out.error = f"all {skipped} entries of {result.url} were unusable (no title, link or text)"
    problems = []
    if out.bozo:
        problems.append(f"XML problems ({parsed.get('bozo_exception')})")
    if skipped and entries:
        problems.append(f"{skipped} empty or broken entries skipped")
    if out.error is None and problems:
        out.warning = f"feed {result.url}: {'; '.join(problems)}; {len(entries)} entries kept"
    return out
