"""A fast reader for plain RSS 2.0 that gives exactly what feedparser gives, or declines.

feedparser's SAX handlers cost about as much as everything else we do with an entry. Most feeds
are plain RSS 2.0: one channel, items of title/link/guid/pubDate/description/content:encoded,
text without markup children. For those this module runs the same expat parser feedparser uses
and builds the same values with feedparser's own helpers (charset detection, date parsing, URI
joins, the HTML guess for titles, its two text repairs), as dicts shaped like feedparser's. For
anything else (another format, a DOCTYPE, xml:lang or xml:base, an element or attribute not
listed here, a repeated element, markup inside a text element, a charset problem, no items) it
returns None and feedparser reads the feed. Only elements whose feedparser handling is known to
leave the fields we read untouched are skipped; a test compares both readers over the
feedparser corpus and over variants of every case handled here.
"""

from __future__ import annotations

import re
from typing import Any
from xml.parsers import expat

import feedparser.mixin
from feedparser.datetimes import _parse_date
from feedparser.encodings import convert_to_utf8
from feedparser.html import _cp1252
from feedparser.urls import make_safe_absolute_uri

__all__ = ["read_plain_rss"]

_CONTENT = "http://purl.org/rss/1.0/modules/content/ encoded"
_ATOM_LINK = "http://www.w3.org/2005/Atom link"
_DC_CREATOR = "http://purl.org/dc/elements/1.1/ creator"
# Read: their text becomes a field. Skipped: feedparser files them under keys we never read.
_CHANNEL_READ = frozenset({"title", "link", "language", "ttl"})
_CHANNEL_SKIP = frozenset({
    "description", "lastBuildDate", "pubDate", "generator", "docs", "copyright", "managingEditor", "webMaster",
    "category", "http://purl.org/rss/1.0/modules/syndication/ updatePeriod",
    "http://purl.org/rss/1.0/modules/syndication/ updateFrequency",
})
_ITEM_READ = frozenset({"title", "link", "description", "guid", "pubDate", _CONTENT})
_ITEM_SKIP = frozenset({
    "author", "category", "comments", "enclosure", _DC_CREATOR,
    "http://wellformedweb.org/CommentAPI/ commentRss", "http://purl.org/rss/1.0/modules/slash/ comments",
})
_IMAGE_PARTS = frozenset({"url", "title", "link", "width", "height", "description"})
# Attributes feedparser only files away (anything else may change a field: type, mode, xml:base...).
_ALLOWED_ATTRS = {"rss": {"version"}, "guid": {"isPermaLink"}, "category": {"domain"}, "enclosure": {"url", "length", "type"},
                  _ATOM_LINK: {"href", "rel", "type"}}
_DOCTYPE = re.compile(rb"<!(DOCTYPE|ENTITY)", re.I)
_QUERY_ENTITY = re.compile("&([A-Za-z0-9_]+);")
# An http(s) URL that feedparser's join hands back unchanged whatever the base: a host, and nothing
# urllib would clean or re-split (spaces and controls, `;` params, an empty `?` or `#`, brackets,
# `@`, extra slashes after the scheme). Most links are such, and skipping their join saves about a
# seventh of reading an entry.
_SETTLED_URL = re.compile(r"https?://[^/?#;@\[\]\x00-\x20\x7f]+(?:/[^?#;\x00-\x20\x7f]*)?"
                          r"(?:\?[^#;\x00-\x20\x7f]+)?(?:#[^;\x00-\x20\x7f]+)?", re.ASCII)
# A relative reference that is one plain path segment (no scheme, slash, query, dot segment...):
# GUIDs such as "12345" or "story-12345". Joined onto a settled base it only replaces the base's
# last path segment (see _join_prefix).
_PLAIN_SEGMENT = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]*", re.ASCII)
_looks_like_html = feedparser.mixin._FeedParserMixin.looks_like_html


def _join_prefix(base: str) -> str | None:
    """What feedparser's join of a plain path segment onto `base` puts before the segment (the base
    up to its last `/`, without query or fragment); None where the join itself must run (a base
    that is not settled, or whose path holds dot segments or empty ones, which the join rewrites)."""
    if not (base.isascii() and _SETTLED_URL.fullmatch(base)):
        return None
    start = base.index("//") + 2
    end = min((i for i in (base.find("?", start), base.find("#", start)) if i != -1), default=len(base))
    slash = base.find("/", start, end)
    if slash == -1:
        return base[:end] + "/"  # no path: the join gives the segment the root path
    path = base[slash:end]
    if "//" in path or "/." in path:
        return None
    return base[:base.rfind("/", slash, end) + 1]


class _Decline(Exception):
    """The document is not plain RSS 2.0: feedparser reads it."""


def _repaired(text: str) -> str:
    """feedparser's last two steps for every value: undo UTF-8 read as Latin-1, map cp1252 extras."""
    if text.isascii():  # both steps leave ASCII as it is
        return text
    try:
        text = text.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    return text.translate(_cp1252)


class _Reader:
    """expat handlers that collect the channel's and items' fields, declining on anything unusual."""

    def __init__(self, base: str, lang: str | None) -> None:
        self.base, self.lang = base, lang
        self.join_prefix = _join_prefix(base)
        self.path: list[str] = []  # element names from the root
        self.feed: dict[str, Any] = {}
        self.entries: list[dict[str, Any]] = []
        self.channel_seen: set[str] = set()  # fields already given in the channel
        self.item_seen: set[str] = set()  # ... and in the current item
        self.text: list[str] | None = None  # character data of the element being read
        self.skip_depth = 0  # > 0 inside a skipped subtree
        self.guid_is_link = False

    # -- structure --------------------------------------------------------------------------

    def start(self, name: str, attrs: dict[str, str]) -> None:
        """Check where an element may stand, then start collecting its text if we read it."""
        if self.text is not None:
            raise _Decline("markup inside a text element")
        depth = len(self.path)
        self.path.append(name)
        if self.skip_depth:
            self._start_skipped(name, attrs)
            return
        allowed = _ALLOWED_ATTRS.get(name, ())
        if any(a not in allowed for a in attrs):
            raise _Decline(f"attributes on {name}")
        if depth == 0:
            return self._start_root(name, attrs)
        if depth == 1:
            return self._start_channel(name)
        parent = self.path[-2]
        if parent == "channel":
            return self._start_in_channel(name, attrs)
        if parent == "item":
            return self._start_in_item(name, attrs)
        raise _Decline(f"{name} inside {parent}")

    def _start_root(self, name: str, attrs: dict[str, str]) -> None:
        if name != "rss" or not attrs.get("version", "").startswith("2."):  # what feedparser calls rss20
            raise _Decline("not RSS 2.0")
        if self.lang:  # feedparser gives the feed the root's language, here Content-Language's
            self.feed["language"] = self.lang

    def _start_channel(self, name: str) -> None:
        if name != "channel" or "channel" in self.channel_seen:
            raise _Decline("not one channel")
        self.channel_seen.add("channel")

    def _start_in_channel(self, name: str, attrs: dict[str, str]) -> None:
        if name == "item":
            self.entries.append({})
            self.item_seen, self.guid_is_link = set(), False
        elif name in _CHANNEL_READ:
            self._begin(name, self.channel_seen)
        elif name == "image" or name in _CHANNEL_SKIP or self._self_link(name, attrs):
            self.skip_depth = len(self.path)
        else:
            raise _Decline(f"channel element {name}")

    def _start_in_item(self, name: str, attrs: dict[str, str]) -> None:
        if name in _ITEM_READ:
            if name == "guid":
                self.guid_is_link = attrs.get("isPermaLink", "true") == "true"
            self._begin(name, self.item_seen)
        elif name in _ITEM_SKIP:
            self.skip_depth = len(self.path)
        else:
            raise _Decline(f"item element {name}")

    def _start_skipped(self, name: str, attrs: dict[str, str]) -> None:
        # Only an image has children we allow (its url, title, link...), all plain.
        if self.path[self.skip_depth - 1] != "image" or len(self.path) != self.skip_depth + 1 \
                or name not in _IMAGE_PARTS or attrs:
            raise _Decline(f"{name} inside a skipped element")

    @staticmethod
    def _self_link(name: str, attrs: dict[str, str]) -> bool:
        # An atom:link to the feed itself; without an href feedparser would read its text as the link.
        return name == _ATOM_LINK and attrs.get("rel") == "self" and "href" in attrs

    def _begin(self, name: str, seen: set[str]) -> None:
        if name in seen:  # feedparser's rules for repeats depend on order and depth
            raise _Decline(f"repeated {name}")
        seen.add(name)
        self.text = []

    def chars(self, data: str) -> None:
        """Collect the text of the element being read."""
        if self.text is not None:
            self.text.append(data)
        elif not self.skip_depth and data.strip():
            raise _Decline("text between elements")

    def end(self, name: str) -> None:
        """Finish the element: store a read field, or leave a skipped subtree."""
        self.path.pop()
        if self.skip_depth:
            if len(self.path) < self.skip_depth:
                self.skip_depth = 0
            return
        if self.text is not None:
            text, self.text = "".join(self.text).strip(), None
            if self.path[-1] == "item":
                self._item_field(name, text)
            else:
                self._channel_field(name, text)

    # -- values, as feedparser computes them -----------------------------------------------

    def _detail(self, kind: str, value: str) -> dict[str, Any]:
        return {"type": kind, "language": self.lang, "base": self.base, "value": value}

    def _uri(self, text: str) -> str:
        if not text or (text.isascii() and _SETTLED_URL.fullmatch(text)):
            return text  # what the join (and _repaired, for ASCII) would give
        if self.join_prefix is not None and _PLAIN_SEGMENT.fullmatch(text):
            return self.join_prefix + text  # what the join gives, without urllib's general case
        # Looked up at call time: monitor.feedparser_tuning puts a cache in front of it.
        return _repaired(feedparser.mixin._urljoin(self.base, text))

    def _title(self, text: str) -> tuple[str, dict[str, Any]]:
        kind = "text/html" if _looks_like_html(text) else "text/plain"
        value = _repaired(text)
        return value, self._detail(kind, value)

    def _item_field(self, name: str, text: str) -> None:
        entry = self.entries[-1]
        if name == "title":
            entry["title"], entry["title_detail"] = self._title(text)
        elif name == "link":
            entry["link"] = _QUERY_ENTITY.sub(r"&\g<1>", self._uri(text).replace("&amp;", "&"))
        elif name == "guid":
            entry["id"] = value = self._uri(text) if self.guid_is_link else _repaired(text)
            if self.guid_is_link:  # a permalink GUID is the link when the item has none (before or after)
                entry.setdefault("link", value)
        elif name == "pubDate":
            entry["published_parsed"] = _parse_date(_repaired(text))
        elif name == "description":
            entry["summary"] = value = _repaired(text)
            entry["summary_detail"] = self._detail("text/html", value)
        else:  # content:encoded
            value = _repaired(text)
            entry["content"] = [self._detail("text/html", value)]
            entry.setdefault("summary", value)

    def _channel_field(self, name: str, text: str) -> None:
        if name == "title":
            self.feed["title"], self.feed["title_detail"] = self._title(text)
        elif name == "link":
            self.feed["link"] = _QUERY_ENTITY.sub(r"&\g<1>", self._uri(text))
        else:  # language, ttl
            self.feed[name] = _repaired(text)


def _base_uri(url: str) -> str | None:
    """The base feedparser resolves links against (the URL we pass as Content-Location), or None
    when its per-element re-join would not leave it fixed."""
    base = make_safe_absolute_uri("", url) or make_safe_absolute_uri(url) or ""
    base = make_safe_absolute_uri(base, base) or base if base else base
    again = make_safe_absolute_uri(base, base) or base if base else base
    return base if again == base else None


def read_plain_rss(body: bytes, headers: dict[str, str]) -> dict[str, Any] | None:
    """feedparser's result (the keys we read) for a plain RSS 2.0 document, else None.

    `headers` are the lowercase response headers given to feedparser, with Content-Location.
    """
    if b"<rss" not in body[:4096] or _DOCTYPE.search(body):
        return None
    result: dict[str, Any] = {"bozo": False}
    data = convert_to_utf8(headers, body, result)
    base = _base_uri(headers.get("content-location", ""))
    if result.get("bozo") or not result.get("encoding") or base is None:
        return None
    lang = headers.get("content-language") or None
    reader = _Reader(base, lang.replace("_", "-") if lang else None)
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    parser.StartElementHandler, parser.EndElementHandler = reader.start, reader.end
    parser.CharacterDataHandler = reader.chars
    try:
        parser.Parse(data, True)
    except (_Decline, expat.ExpatError):
        return None
    if not reader.entries:
        return None
    return {"feed": reader.feed, "entries": reader.entries, "version": "rss20", "encoding": result["encoding"],
            "bozo": False}
