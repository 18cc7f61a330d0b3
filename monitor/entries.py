"""Entry identity: link normalisation, stable entry ids and content hashes."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["normalise_link", "make_entry_id", "content_hash", "TRACKING_PARAMS"]

# Query parameters that only say where a click came from; they never change the article.
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid", "mc_cid", "mc_eid",
    "_hsenc", "_hsmi", "mkt_tok", "spm", "from", "scm", "share_token", "isappinstalled", "wxshare_count",
    "share_from", "sharer_shareid", "sharer_sharetime", "ref_src", "cmpid", "ncid", "ocid", "rss",
})
_DEFAULT_PORTS = {"http": 80, "https": 443}
# A link already in canonical form: lower-case scheme and host name, no port, credentials, query or
# fragment, a path, nothing urllib would strip or re-split. Most article links are such.
_CANONICAL = re.compile(r"https?://[a-z0-9-]+(?:\.[a-z0-9-]+)*/[^?#\x00-\x20\x7f]*", re.ASCII)


def _is_tracking(key: str) -> bool:
    key = key.lower()
    return key.startswith("utm_") or key in TRACKING_PARAMS


def normalise_link(url: str) -> str:
    """Canonical form of an article URL, so the same article always gets the same id.

    Lowercases scheme and host, drops default ports, the fragment and tracking parameters
    (utm_*, fbclid, gclid, spm, from...), and sorts the remaining query. Strings that are not
    absolute http(s) URLs come back stripped but otherwise unchanged.
    """
    url = (url or "").strip()
    if url.isascii() and _CANONICAL.fullmatch(url):
        return url  # what _normalised would give
    return _normalised(url)


def _normalised(url: str) -> str:
    """`normalise_link` of a stripped URL, step by step."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    hostname = parts.hostname  # a property that re-parses the netloc: read it once
    if scheme not in ("http", "https") or not hostname:
        return url
    host = hostname.lower().rstrip(".")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if parts.username:  # credentials in a feed link are rare but must not be lost silently
        netloc = f"{parts.username}{':' + parts.password if parts.password else ''}@{netloc}"
    query = ""
    if parts.query:  # most article links have none
        query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)))
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def _norm_text(text: str) -> str:
    # split/join collapses and strips exactly the whitespace that re's \s matches, without a regex
    return " ".join(unicodedata.normalize("NFC", text or "").split()).lower()


def content_hash(title: str, text: str) -> str:
    """sha256 of normalised title + text: equal for the same article republished with other whitespace."""
    return hashlib.sha256(f"{_norm_text(title)}\n{_norm_text(text)}".encode("utf-8")).hexdigest()


def make_entry_id(guid: str | None, link: str | None, title: str, text: str, *, feed_name: str = "") -> str:
    """Stable identity of an entry: its GUID, else its normalised link, else a content hash.

    Short opaque GUIDs ("123") are only unique inside one feed, so they are prefixed with the feed
    name; GUIDs that look global (URLs, tag: URIs, UUIDs) are used as they are.
    """
    guid = (guid or "").strip()
    if guid:
        looks_global = ":" in guid or "/" in guid or len(guid) >= 32
        return guid if looks_global or not feed_name else f"{feed_name}:{guid}"
    link = normalise_link(link or "")
    if link:
        return link
    return "sha256:" + content_hash(title, text)
