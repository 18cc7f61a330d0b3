"""feedparser's own test corpus, served over loopback, through fetch -> parse_feed -> entries.

Every file must come through without an exception (including ones swallowed by parse_feed's
never-raise guard), and no content of script/style/iframe/noscript elements in the source may
reach any text field.
"""

from __future__ import annotations

import html
import logging
import re
from pathlib import Path
from urllib.parse import quote, unquote

import pytest

from monitor.feeds import parse_feed

CORPUS = Path("/work/shared/corpora/feedparser-tests")
_HIDDEN = re.compile(r"<(script|style|iframe|noscript)\b[^>]*>(.*?)</\1\s*>", re.I | re.S)
_TAG_MARKERS = ("<script", "</script", "<style", "</style", "<iframe", "<noscript")


def hidden_snippets(source: str) -> set[str]:
    """Distinctive lines of script/style/iframe/noscript content in the source, escaped or not."""
    snippets: set[str] = set()
    for text in (source, html.unescape(source), html.unescape(html.unescape(source))):
        for _, inner in _HIDDEN.findall(text):
            inner = inner.replace("<![CDATA[", "").replace("]]>", "")
            snippets.update(line.strip() for line in inner.splitlines() if len(line.strip()) >= 6)
    return snippets


def text_fields(parsed) -> list[str]:
    fields = [parsed.title or ""]
    for e in parsed.entries:
        fields += [e.title, e.summary_text, e.content_text]
    return fields


@pytest.mark.timeout(120)
def test_feedparser_corpus_over_http(server, fetcher, caplog):
    if not CORPUS.is_dir():
        pytest.skip(f"{CORPUS} is absent")
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix in (".xml", ".rdf", ".atom", ".rss"))
    assert len(files) > 1000

    def serve_file(h):
        rel = h.path.split("?", 1)[0][len("/corpus/"):]
        h.reply(200, (CORPUS / unquote(rel)).read_bytes(), "application/xml")

    server.route_prefix("/corpus/", serve_file)
    caplog.set_level(logging.WARNING, logger="monitor")
    problems: list[str] = []
    checked_hidden = entries = 0
    for path in files:
        rel = path.relative_to(CORPUS).as_posix()
        result = fetcher.fetch(server.url("/corpus/" + quote(rel)))
        if result.status != "ok":
            problems.append(f"{rel}: fetch {result.error}")
            continue
        parsed = parse_feed(result, "corpus")
        entries += len(parsed.entries)
        if parsed.error and parsed.error.startswith("could not parse the feed"):
            problems.append(f"{rel}: {parsed.error}")
        snippets = hidden_snippets(path.read_text("utf-8", errors="replace"))
        checked_hidden += bool(snippets)
        for text in text_fields(parsed):
            low = text.lower()
            leaked = [m for m in _TAG_MARKERS if m in low] + [s for s in snippets if s in text]
            if leaked:
                problems.append(f"{rel}: hidden content in text {text[:80]!r}: {leaked[:3]}")
    crashes = [r.getMessage() for r in caplog.records if "skipped an entry" in r.getMessage() or "parser failure" in r.getMessage()]
    assert not problems and not crashes, "\n".join((problems + crashes)[:30])
    assert checked_hidden >= 40 and entries > 500  # the check really looked at script-bearing files
