"""The URI-join caches in front of feedparser: installed, and invisible in what comes out."""

from __future__ import annotations

import pytest

import monitor.feeds  # noqa: F401 - installs the caches
from monitor import feedparser_tuning
from monitor.feeds import ParsedFeed, parse_feed
from monitor.fetched import FetchResult

# Relative links and GUIDs under nested, changing and unsafe bases, and a javascript: link.
ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="/news/">
<title>t</title><id>urn:x</id><updated>2025-01-06T08:00:00Z</updated>
<entry xml:base="2025/"><title>One</title><id>one</id><link href="a.html?utm_source=x"/>
<updated>2025-01-06T08:00:00Z</updated><content type="html">&lt;p&gt;First &lt;a href="x"&gt;text&lt;/a&gt;&lt;/p&gt;</content></entry>
<entry xml:base="https://other.example/base/"><title>Two</title><id>two</id><link href="../b.html"/>
<updated>2025-01-06T08:00:00Z</updated><summary>Second</summary></entry>
<entry xml:base="javascript:alert(1)//"><title>Three</title><id>three</id><link href="c.html"/>
<updated>2025-01-06T08:00:00Z</updated><summary>Third</summary></entry>
<entry><title>Four</title><link href="javascript:alert(2)"/><updated>2025-01-06T08:00:00Z</updated>
<summary>Fourth</summary></entry>
</feed>"""


def parse(url: str) -> ParsedFeed:
    return parse_feed(FetchResult(status="ok", url=url, body=ATOM, headers={"Content-Type": "application/atom+xml"}),
                      "t")


def test_the_caches_are_installed_and_install_is_idempotent() -> None:
    assert feedparser_tuning.installed()
    before = [getattr(m, n) for m, n in feedparser_tuning._TARGETS]
    feedparser_tuning.install()
    assert [getattr(m, n) for m, n in feedparser_tuning._TARGETS] == before


@pytest.mark.parametrize("url", ["https://site.example/feeds/all.xml", "http://127.0.0.1:8080/a/b/feed"])
def test_results_equal_feedparsers_own_joins(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cached = [parse(url) for _ in range(2)]  # the second run is answered from the caches
    for module, name in feedparser_tuning._TARGETS:
        monkeypatch.setattr(module, name, getattr(module, name).__wrapped__)
    assert not feedparser_tuning.installed()
    uncached = parse(url)
    assert cached[0] == cached[1] == uncached
    links = [e.link for e in uncached.entries]
    assert links[0].endswith("/news/2025/a.html") and links[1] == "https://other.example/b.html"
