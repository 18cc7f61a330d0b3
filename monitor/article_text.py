"""HTML -> plain text, charset choice, and full-text fetching of article pages with trafilatura."""

from __future__ import annotations

import codecs
import logging
import re
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

import charset_normalizer
from lxml import etree

if TYPE_CHECKING:
    from monitor.fetch import Fetcher

__all__ = [
    "html_to_text", "plain_to_text", "choose_charset", "decode_html", "FullTextCache", "fetch_full_text",
]

log = logging.getLogger(__name__)

# Elements whose content is never text a reader sees: dropped with everything inside.
DROP_TAGS = frozenset({"script", "style", "iframe", "noscript", "template", "object", "embed", "applet",
                       "frame", "frameset", "svg", "math", "select", "button", "textarea", "head"})
# Elements that start a new line of text.
BLOCK_TAGS = frozenset({
    "p", "div", "br", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
    "thead", "tbody", "tfoot", "blockquote", "pre", "section", "article", "header", "footer", "aside", "nav",
    "figure", "figcaption", "hr", "address", "main", "form", "fieldset", "details", "summary", "caption",
    "center", "title", "body", "html",
})
_NL = "\x00"  # line-break marker while collecting; real whitespace in text is collapsed
# Zero-width and control characters, and \r: removed outright rather than read as spaces.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\x01-\x08\x0b\x0c\x0e-\x1f\x7f\r]")
# XML serialisers write <textarea .../>; HTML parsers ignore the "/" and would swallow the rest.
_SELF_CLOSED = re.compile(r"<(textarea|object|title)\b([^<>]*?)/\s*>", re.I)
# Hidden blocks are cut out before parsing too: a recovering parser can mistake a mangled start
# tag ("<p><x<style>") for something else and hand the block's content back as text.
_HIDDEN = ("script", "style", "iframe", "noscript", "template")
_HIDDEN_OPEN = re.compile(r"<(%s)\b" % "|".join(_HIDDEN), re.I)
_HIDDEN_CLOSE = {name: re.compile(r"</%s\b" % name, re.I) for name in _HIDDEN}
# Substrings a match of _HIDDEN_OPEN / _SELF_CLOSED must contain, in a _probe()d string.
_HIDDEN_STARTS = tuple(f"<{name}" for name in _HIDDEN)
_SELF_CLOSED_STARTS = ("<textarea", "<object", "<title")


_local = threading.local()


def _parser() -> etree.HTMLParser:
    # One parser per thread: lxml parsers are not safe to share across threads.
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = etree.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True,
                                                  no_network=True, recover=True, default_doctype=False)
    return parser


def _collect(root: etree._Element) -> list[str]:
    """Text pieces in document order, skipping DROP_TAGS subtrees; iterative, so deep trees are fine."""
    out: list[str] = []
    skipping: etree._Element | None = None
    for event, el in etree.iterwalk(root, events=("start", "end")):
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if skipping is not None:
            if event == "end" and el is skipping:
                skipping = None
                out.append(el.tail or "")  # the tail is outside the dropped element
            continue
        if event == "start":
            if tag in DROP_TAGS:
                skipping = el
                continue
            if tag in BLOCK_TAGS:
                out.append(_NL)
            if tag:  # comments and processing instructions carry no text of their own
                out.append(el.text or "")
        else:
            if tag in BLOCK_TAGS:
                out.append(_NL)
            if el is not root:
                out.append(el.tail or "")
    return out


def _cut_hidden_blocks(html: str) -> str:
    """Remove <script>...</script> and the like by scanning, in one linear pass.

    An unclosed block runs to the end, as in browsers; a self-closed one (<iframe .../>, written by
    XML serialisers) is only its tag.
    """
    out: list[str] = []
    pos = 0
    while (m := _HIDDEN_OPEN.search(html, pos)) is not None:
        out.append(html[pos:m.start()])
        gt = html.find(">", m.end())
        if gt == -1:
            return "".join(out)
        if html[m.end():gt].rstrip().endswith("/"):
            pos = gt + 1
            continue
        close = _HIDDEN_CLOSE[_probe(m.group(1))].search(html, gt + 1)  # "<ſcript" matched too
        if close is None:
            return "".join(out)
        end = html.find(">", close.end())
        pos = len(html) if end == -1 else end + 1
    out.append(html[pos:])
    return "".join(out)


def _squeeze_lines(text: str) -> str:
    """Collapse whitespace runs within each line to one space, strip lines, drop blank ones."""
    # str.split() and the re module agree on what whitespace is (nbsp, ideographic space...).
    return "\n".join(filter(None, (" ".join(line.split()) for line in text.split("\n"))))


def _probe(html: str) -> str:
    """html lowercased for a cheap "can the tag regexes match at all?" test before running them.

    re.IGNORECASE also matches the non-ASCII letters İ and ı to "i" and ſ to "s", which lower()
    does not: fold them first. The test may say yes wrongly (then the regex runs), never no.
    """
    return html.replace("\u0130", "i").replace("\u0131", "i").replace("\u017f", "s").lower()


def _mentions(probe: str, starts: tuple[str, ...]) -> bool:
    """True when the probe contains any of the tag starts."""
    return any(start in probe for start in starts)


def _tidy(text: str) -> str:
    """Collapse spaces, keep one newline between paragraphs, drop invisible characters."""
    return _squeeze_lines(_INVISIBLE.sub("", text))


def _one_line(text: str) -> str:
    """Markup-free text as HTML renders it: all whitespace (newlines too) collapsed, invisibles dropped."""
    line = " ".join(text.split())
    # Printable means no zero-width or control characters: the common case needs no regex.
    return line if line.isprintable() else _tidy(line)


def html_to_text(html: str | None) -> str:
    """Plain text of an HTML fragment or document.

    Entities are decoded, block elements (p, div, br, li, h1...) become newlines, and the content of
    script, style, iframe, noscript (and other non-text elements) never appears. Linear-time
    (libxml2's recovering parser) and robust to broken HTML; never raises.
    """
    if not html:
        return ""
    if "<" not in html and "&" not in html:  # no markup, no entities: skip the parser
        return _one_line(html)
    probe = _probe(html)
    if _mentions(probe, _HIDDEN_STARTS):  # most feed HTML has no script/style/iframe at all
        html = _cut_hidden_blocks(html)
        probe = _probe(html)  # cutting can join "<tex" and "tarea/>"
    if _mentions(probe, _SELF_CLOSED_STARTS):
        html = _SELF_CLOSED.sub(r"<\1\2></\1>", html)
    try:
        root = etree.fromstring(html.encode("utf-8", "replace"), _parser())
    except (etree.LxmlError, ValueError):
        root = None
    if root is None:  # nothing parseable, e.g. only a comment: there is no visible text
        return ""
    # Newlines inside text are plain whitespace; only the markers become line breaks. libxml2
    # never returns NUL in text (it substitutes U+FFFD), so the markers are unambiguous.
    text = "".join(_collect(root)).replace("\n", " ").replace(_NL, "\n")
    return _tidy(text)


def plain_to_text(text: str | None) -> str:
    """Tidy text declared as text/plain, keeping its line breaks.

    feedparser does not sanitise text/plain, so text that contains markup still goes through the
    HTML path (line breaks kept) to drop any script/style/iframe content.
    """
    if not text:
        return ""
    if "<" not in text:
        return _tidy(text)
    return html_to_text(text.replace("\r\n", "\n").replace("\n", "<br>"))


# ---------------------------------------------------------------------------------------------
# Charsets

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([\w.:-]+)["']""", re.I)
# Labels that servers and pages use for a superset; decoding with the superset is always right.
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
              "big5": "big5hkscs", "iso-8859-1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252",
              "ascii": "cp1252", "shift_jis": "cp932", "euc-kr": "cp949", "ks_c_5601-1987": "cp949"}


def _codec(label: str | None) -> str | None:
    """Python codec name for a charset label (upgraded to its common superset), or None if unknown."""
    if not label:
        return None
    label = label.strip().lower()
    label = _SUPERSETS.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _decodes_cleanly(body: bytes, codec: str) -> bool:
    """True when the body decodes with (almost) no errors: a stray bad byte is tolerated."""
    text = body.decode(codec, errors="replace")
    return text.count("\ufffd") <= max(1, len(text) // 1000)


def declared_charset(body: bytes) -> str | None:
    """The charset the document itself declares: BOM, XML declaration or HTML <meta>."""
    for bom, name in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if body.startswith(bom):
            return name
    head = body[:4096]
    match = _XML_DECL.search(head) or _META_CHARSET.search(head)
    return match.group(1).decode("ascii", "replace").lower() if match else None


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def choose_charset(body: bytes, header_charset: str | None, declared: str | None = None) -> str:
    """The codec to decode a document with.

    Non-ASCII bytes that form valid UTF-8 are UTF-8 whatever the labels say (GBK or Latin-1 text
    practically never is). Otherwise the document's own declaration wins over the HTTP header when
    it decodes the body cleanly: servers often send a default (ISO-8859-1) for pages that are
    really GBK or Big5. Then the header, then statistical detection.
    """
    if declared is None:
        declared = declared_charset(body)
    if declared in ("utf-16", "utf-32") or not body.isascii() and _is_utf8(body):
        return _codec(declared) if declared in ("utf-16", "utf-32") else "utf-8"
    for label in (declared, header_charset):
        codec = _codec(label)
        if codec and _decodes_cleanly(body, codec):
            return codec
    if body.isascii():
        return "utf-8"
    best = charset_normalizer.from_bytes(body[:200_000]).best()
    return _codec(best.encoding) if best is not None and _codec(best.encoding) else "utf-8"


def decode_html(body: bytes, header_charset: str | None = None) -> str:
    """Decode an HTML page to text, choosing the charset with `choose_charset`."""
    codec = choose_charset(body, header_charset)
    text = body.decode(codec, errors="replace")
    return text[1:] if text.startswith("\ufeff") else text


# ---------------------------------------------------------------------------------------------
# Full text


class FullTextCache:
    """A small thread-safe LRU of extracted article text by URL (None = extraction failed)."""

    def __init__(self, max_items: int = 512) -> None:
        """Keep at most max_items URLs."""
        self.max_items = max_items
        self._data: OrderedDict[str, str | None] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, url: str) -> tuple[bool, str | None]:
        """(found, text) for url, marking it recently used."""
        with self._lock:
            if url not in self._data:
                return False, None
            self._data.move_to_end(url)
            return True, self._data[url]

    def put(self, url: str, text: str | None) -> None:
        """Store text for url, evicting the least recently used entry beyond max_items."""
        with self._lock:
            self._data[url] = text
            self._data.move_to_end(url)
            while len(self._data) > self.max_items:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


_default_cache = FullTextCache()
_extractions = 0
_extract_lock = threading.Lock()
RESET_EVERY = 300  # trafilatura's module caches grow without bound in a long-running process


def _count_extraction() -> None:
    global _extractions
    with _extract_lock:
        _extractions += 1
        reset = _extractions % RESET_EVERY == 0
    if reset:
        import trafilatura.meta

        trafilatura.meta.reset_caches()


def extract_main_text(body: bytes, url: str, header_charset: str | None = None) -> str | None:
    """Main text of an article page with trafilatura, or None if it finds none. Never raises."""
    import trafilatura  # on first use: feeds with full content never need it (~14 MB)

    try:
        html = decode_html(body, header_charset)
        text = trafilatura.extract(html, url=url, include_comments=False, output_format="txt")
    except Exception as exc:  # noqa: BLE001 - a bad page must not stop the feed
        log.warning("text extraction failed for %s: %r", url, exc)
        return None
    finally:
        _count_extraction()
    text = plain_to_text(text) if text else ""
    return text or None


def fetch_full_text(fetcher: Fetcher, url: str, *, cache: FullTextCache | None = None) -> str | None:
    """Fetch an article page under the fetcher's limits and return its main text; None on any failure.

    Results (including failures) are cached by normalised URL in a bounded LRU, so a page that
    cannot be read is not fetched again every poll while it stays in the cache.
    """
    from monitor.entries import normalise_link

    cache = _default_cache if cache is None else cache
    key = normalise_link(url)
    found, text = cache.get(key)
    if found:
        return text
    result = fetcher.fetch(url)
    if result.status != "ok" or not result.body:
        log.info("full text not fetched for %s: %s", url, result.error or result.status)
        # Transient failures (timeouts, 5xx) are not cached: the next poll may succeed.
        return None
    if result.content_type and not re.search(r"html|xml|^text/", result.content_type):
        log.info("full text skipped for %s: %s is not a web page", url, result.content_type)
        cache.put(key, None)
        return None
    text = extract_main_text(result.body, result.url, result.charset)
    cache.put(key, text)
    return text
