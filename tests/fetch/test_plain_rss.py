"""The plain-RSS fast path: it reads what it accepts exactly as feedparser does, and declines the rest.

Every comparison is of whole ParsedFeeds (entries with ids, links, text, dates, languages, hashes):
`parse_feed` with the fast path against `parse_feed(..., fast_path=False)`, which is feedparser.
The tests at the end compare single links with feedparser's own URI join.
"""

from __future__ import annotations

from pathlib import Path

import feedparser.mixin
import feedparser.urls
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.feeds import _feedparser_headers, parse_feed
from monitor.fetched import FetchResult
from monitor.plain_rss import _Reader, _repaired, read_plain_rss

CORPUS = Path("/work/shared/corpora/feedparser-tests")
CONTENT_NS = 'xmlns:content="http://purl.org/rss/1.0/modules/content/"'


def rss(items: str, channel: str = "<title>Feed</title><link>https://site.example/</link>",
        root: str = f'<rss version="2.0" {CONTENT_NS}>', prolog: str = '<?xml version="1.0" encoding="utf-8"?>') -> bytes:
    """A feed document around the given channel elements and items."""
    return f"{prolog}{root}<channel>{channel}{items}</channel></rss>".encode()


def fetched(body: bytes, url: str = "http://127.0.0.1:8080/feeds/news.xml", headers: dict[str, str] | None = None) -> FetchResult:
    return FetchResult(status="ok", url=url, body=body,
                       headers={"Content-Type": "application/rss+xml"} if headers is None else headers)


def assert_same_as_feedparser(result: FetchResult) -> None:
    """The fast path accepts the document and gives feedparser's result."""
    assert read_plain_rss(result.body or b"", _feedparser_headers(result)) is not None, "the fast path declined"
    fast, slow = parse_feed(result, "feed"), parse_feed(result, "feed", fast_path=False)
    assert slow.entries, "the case must give entries to compare"
    assert fast == slow


ACCEPTED = {
    "entities and CDATA": "<item><title>AT&amp;T &lt;3 &#169;</title><link>https://a.example/1</link>"
                          "<description><![CDATA[<p>Profit <b>rose</b> 5%</p>]]></description></item>",
    "a title that looks like HTML": "<item><title>&lt;b&gt;Bold&lt;/b&gt;\nmove &amp;amp; more</title>"
                                    "<link>https://a.example/2</link></item>"
                                    "<item><title>Q &amp;amp; A</title><link>https://a.example/2a</link></item>",
    "a title that merely mentions a tag": "<item><title>Why 3 &lt; 4 and 5 &gt; 2</title><guid>g-3</guid></item>",
    "UTF-8 read as Latin-1 (mojibake)": "<item><title>Caf\u00c3\u00a9 \u00e2\u0080\u0094 news</title>"
                                        "<guid>g-4</guid></item>",
    "cp1252 code points": "<item><title>Quote &#147;here&#148; &#150; dash</title><guid>g-5</guid>"
                          "<description>&#128;5 billion</description></item>",
    "Chinese text": "<item><title>\u4e2d\u56fd\u4e2d\u8f66\u7b7e\u7f72\u5408\u540c</title><guid>g-6</guid>"
                    "<description>\u51fa\u53e3\u589e\u957f3.9%\uff0c\u8fbe1.79\u4e07\u4ebf\u5143</description></item>",
    "a permalink GUID and no link": '<item><title>T</title><guid isPermaLink="true">https://a.example/7</guid></item>',
    "a relative GUID (resolved like a link)": "<item><title>T</title><guid>story-8</guid></item>",
    "a GUID that is not a permalink": '<item><title>T</title><guid isPermaLink="false">urn:x:9</guid>'
                                      "<link>https://a.example/9?utm_source=rss&amp;id=9</link></item>",
    "a GUID before the link": "<item><guid>https://a.example/guid/10</guid><link>/relative/10</link><title>T</title></item>",
    "a link with escaped query entities": "<item><title>T</title><link>https://a.example/11?a=1&amp;amp;b=2&amp;c;=3</link></item>",
    "empty and padded elements": "<item><title>  </title><link>\n https://a.example/12 \n</link><description/>"
                                 "<guid></guid></item>",
    "content:encoded after the description": "<item><title>T</title><guid>g-13</guid><description>Short</description>"
                                             "<content:encoded>&lt;p&gt;Longer text here&lt;/p&gt;</content:encoded></item>",
    "content:encoded before the description": "<item><title>T</title><guid>g-14</guid>"
                                              "<content:encoded>&lt;p&gt;Longer text&lt;/p&gt;</content:encoded>"
                                              "<description>Short</description></item>",
    "dates: RFC 822, ISO, broken, none": "<item><title>A</title><guid>g-15</guid><pubDate>Mon, 02 Dec 2024 08:00:00 +0800</pubDate></item>"
                                        "<item><title>B</title><guid>g-16</guid><pubDate>2024-12-02T08:00:00Z</pubDate></item>"
                                        "<item><title>C</title><guid>g-17</guid><pubDate>yesterday-ish</pubDate></item>"
                                        "<item><title>D</title><guid>g-18</guid></item>",
    "skipped item elements": '<item><title>T</title><guid>g-19</guid><author>a@b.example (A)</author>'
                             '<category domain="x">Energy</category><comments>https://a.example/c</comments>'
                             '<enclosure url="https://a.example/e.mp3" length="1" type="audio/mpeg"/></item>',
    "a script in the description": "<item><title>T</title><guid>g-20</guid><description>&lt;script&gt;alert(1)"
                                   "&lt;/script&gt;&lt;p&gt;Text&lt;/p&gt;</description></item>",
}
CHANNELS = {
    "language and ttl": "<title>F</title><language>zh-CN</language><ttl>45</ttl>",
    "language with an underscore": "<title>F</title><language>en_GB</language>",
    "skipped channel elements": '<title>F</title><description>d</description><lastBuildDate>Mon, 02 Dec 2024 08:00:00 GMT'
                                '</lastBuildDate><generator>g</generator><copyright>c</copyright>'
                                "<image><url>https://s.example/i.png</url><title>Logo</title><link>https://s.example/</link>"
                                '</image><atom:link xmlns:atom="http://www.w3.org/2005/Atom" href="https://s.example/f" '
                                'rel="self" type="application/rss+xml"/><sy:updatePeriod xmlns:sy='
                                '"http://purl.org/rss/1.0/modules/syndication/">hourly</sy:updatePeriod>',
    "an HTML-looking feed title and a link with entities": "<title>&lt;i&gt;F&lt;/i&gt;</title>"
                                                           "<link>https://s.example/?a=1&amp;b=2</link>",
}


@pytest.mark.parametrize("items", ACCEPTED.values(), ids=ACCEPTED.keys())
@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/feeds/news.xml", "https://Site.Example:443/a/b/../feed?x=1#top"])
def test_accepted_items_read_as_feedparser_reads_them(items: str, url: str) -> None:
    assert_same_as_feedparser(fetched(rss(items), url))


@pytest.mark.parametrize("channel", CHANNELS.values(), ids=CHANNELS.keys())
def test_accepted_channels_read_as_feedparser_reads_them(channel: str) -> None:
    parsed = parse_feed(fetched(rss(ACCEPTED["entities and CDATA"], channel)), "feed")
    assert parsed.entries
    assert_same_as_feedparser(fetched(rss(ACCEPTED["entities and CDATA"], channel)))


@pytest.mark.parametrize("headers", [
    {"Content-Type": "application/rss+xml", "Content-Language": "zh_CN"},
    {"Content-Type": "application/xml; charset=utf-8"},
    {"Content-Type": "text/xml"},
])
@pytest.mark.parametrize("items", [ACCEPTED["entities and CDATA"], ACCEPTED["Chinese text"]], ids=["ASCII", "UTF-8"])
def test_response_headers_count_as_for_feedparser(headers: dict[str, str], items: str) -> None:
    assert_same_as_feedparser(fetched(rss(items), headers=headers))


def test_content_language_reaches_entries_without_text_details() -> None:
    """An item with no title or description takes its language from the feed (here the header)."""
    result = fetched(rss("<item><guid>https://a.example/only-a-guid</guid></item>", channel=""),
                     headers={"Content-Type": "application/rss+xml", "Content-Language": "zh_CN"})
    assert_same_as_feedparser(result)
    assert parse_feed(result, "feed").entries[0].lang == "zh"


def test_a_document_without_a_content_type_is_left_to_feedparser() -> None:
    result = fetched(rss(ACCEPTED["entities and CDATA"]), headers={})
    assert read_plain_rss(result.body or b"", _feedparser_headers(result)) is None  # feedparser flags it: bozo
    assert parse_feed(result, "feed") == parse_feed(result, "feed", fast_path=False)


def test_a_gb2312_document_reads_as_feedparser_reads_it() -> None:
    body = rss(ACCEPTED["Chinese text"], prolog='<?xml version="1.0" encoding="gb2312"?>').decode().encode("gb2312")
    assert_same_as_feedparser(fetched(body))
    assert "\u4e2d\u56fd" in parse_feed(fetched(body), "feed").entries[0].title


def test_the_fast_path_keeps_what_matters() -> None:
    """Beyond equality: the values themselves (a fast path and feedparser could agree on nothing)."""
    parsed = parse_feed(fetched(rss(ACCEPTED["a GUID that is not a permalink"] + ACCEPTED["cp1252 code points"],
                                    "<title>F</title><language>zh-CN</language><ttl>45</ttl>")), "feed")
    first, second = parsed.entries
    assert (first.entry_id, first.link) == ("urn:x:9", "https://a.example/9?id=9")
    assert second.title == "Quote \u201chere\u201d \u2013 dash" and second.content_text == "\u20ac5 billion"
    assert (parsed.title, parsed.ttl_minutes, parsed.version, parsed.bozo) == ("F", 45, "rss20", False)


DECLINED = {
    "Atom": b'<feed xmlns="http://www.w3.org/2005/Atom"><title>F</title><entry><title>T</title></entry></feed>',
    "RSS 0.91": rss("<item><title>T</title></item>", root='<rss version="0.91">'),
    "a DOCTYPE": rss("<item><title>T</title></item>", prolog='<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY e "x">]>'),
    "xml:lang": rss('<item><title xml:lang="fr">T</title></item>'),
    "xml:base": rss('<item xml:base="https://b.example/"><title>T</title><link>x</link></item>'),
    "a type attribute": rss('<item><title>T</title><description type="text/plain">d</description></item>'),
    "an unknown item element": rss('<item><title>T</title><media:content xmlns:media="http://search.yahoo.com/mrss/" '
                                   'url="x"/></item>'),
    "a repeated title": rss("<item><title>A</title><title>B</title></item>"),
    "markup inside a description": rss("<item><title>T</title><description><p>x</p></description></item>"),
    "broken XML": rss("<item><title>T</item>"),
    "an atom:link that is not to itself": rss("<item><title>T</title></item>", '<atom:link xmlns:atom="http://www.w3.org/2005/Atom" '
                                             'href="https://x.example/" rel="alternate"/>'),
    "no items": rss(""),
    "a default namespace on the root": rss("<item><title>T</title></item>", root='<rss version="2.0" xmlns="urn:x">'),
}


@pytest.mark.parametrize("body", DECLINED.values(), ids=DECLINED.keys())
def test_everything_else_is_left_to_feedparser(body: bytes) -> None:
    result = fetched(body)
    assert read_plain_rss(body, _feedparser_headers(result)) is None
    assert parse_feed(result, "feed") == parse_feed(result, "feed", fast_path=False)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="feedparser's test corpus is not on this machine")
def test_over_feedparsers_corpus_the_fast_path_agrees_wherever_it_accepts() -> None:
    accepted = 0
    for path in sorted(p for p in CORPUS.rglob("*") if p.is_file()):
        body = path.read_bytes()
        for headers in ({"Content-Type": "application/rss+xml"}, {"Content-Type": "application/xml; charset=iso-8859-1"},
                        {"Content-Type": "application/rss+xml", "Content-Language": "zh_CN"}):
            result = fetched(body, url=f"http://127.0.0.1:8080/{path.name}", headers=headers)
            if read_plain_rss(body, _feedparser_headers(result)) is None:
                continue
            accepted += 1
            assert parse_feed(result, "feed") == parse_feed(result, "feed", fast_path=False), path
    assert accepted > 200  # the fast path really ran on a good part of it


# Text that stresses the value rules: entities, CDATA, markup, mojibake, cp1252, URL pieces, CJK.
_PIECES = [b"&amp;", b"&lt;b&gt;", b"<![CDATA[<i>x</i>]]>", "\u00e9".encode(), "\u00c3\u00a9".encode(), b"&#150;",
           b" ", b"\n", "\u4e2d".encode(), b"&#x80;", b"<!-- c -->", b"\xc2\x96", b"../", b"?a=1&amp;b=2", b"#f",
           b"&amp;amp;", b"javascript:", b"\r\n"]


def test_random_text_edits_read_as_feedparser_reads_them() -> None:
    """Seeded edits inside the text of every accepted case: wherever the fast path still accepts the
    document, it must agree with feedparser."""
    import random

    rng = random.Random(5)
    seeds = [rss(items) for items in ACCEPTED.values()] + [rss(ACCEPTED["entities and CDATA"], c) for c in CHANNELS.values()]
    accepted = 0
    for _ in range(400):
        body = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            texts = [i + 1 for i in range(len(body) - 1) if body[i] == ord(">") and body[i + 1] != ord("<")]
            at = rng.choice(texts)
            body[at:at] = rng.choice(_PIECES)
        result = fetched(bytes(body), url=rng.choice(["http://127.0.0.1:8080/a/feed.xml", "https://x.example/f?q=1"]))
        if read_plain_rss(result.body or b"", _feedparser_headers(result)) is None:
            continue
        accepted += 1
        assert parse_feed(result, "feed") == parse_feed(result, "feed", fast_path=False), bytes(body)
    assert accepted > 100


def test_a_failing_fast_path_falls_back_to_feedparser(monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    import monitor.feeds

    def broken(body: bytes, headers: dict[str, str]) -> None:
        raise RuntimeError("a bug in the fast path")

    result = fetched(rss(ACCEPTED["a GUID that is not a permalink"]))
    expected = parse_feed(result, "feed", fast_path=False)
    monkeypatch.setattr(monitor.feeds, "read_plain_rss", broken)
    assert parse_feed(result, "feed") == expected and expected.entries
    assert "the plain-RSS reader failed" in caplog.text and "a bug in the fast path" in caplog.text


# ---- links and GUIDs that need no join ------------------------------------------------------------

BASES = ["http://127.0.0.1:8080/feeds/news.xml", "https://site.example/a/b/", "https://x.example/f?q=1", "",
         "http://h.example", "http://h.example?q=1#top", "https://h.example/a/./b.xml", "https://h.example/a/../b/",
         "http://h.example//x/y", "HTTP://h.example/x", "http://h.example/a;p/b", "http://u@h.example/a/b",
         "http://h.example/.well-known/feed", "http://h.example/a/b.xml#frag/x"]


@settings(max_examples=3000, deadline=None)
@given(scheme=st.sampled_from(["http://", "https://", "HTTP://", "http:///", "https:", "ftp://", "//", ""]),
       rest=st.text(alphabet="ab1/:?#;@[]%.-_=&~ \t\n\x00\x7f\u00e9", max_size=24), base=st.sampled_from(BASES))
def test_a_link_reads_as_feedparsers_own_join_gives_it(scheme: str, rest: str, base: str) -> None:
    url = scheme + rest
    # feedparser.urls._urljoin is the join itself, without monitor.feedparser_tuning's cache
    assert _Reader(base, None)._uri(url) == (_repaired(feedparser.urls._urljoin(base, url)) if url else url)


def test_a_plain_absolute_link_is_not_joined_at_all(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_join(base: str, uri: str) -> str:
        raise AssertionError(f"joined {uri}")

    monkeypatch.setattr(feedparser.mixin, "_urljoin", no_join)
    reader = _Reader(BASES[0], None)
    for url in ["https://news.example/2025/01/a.html?id=7&utm_source=x#top", "http://127.0.0.1:8080/b"]:
        assert reader._uri(url) == url
    with pytest.raises(AssertionError):  # a relative one is
        reader._uri("2025/a.html")


@pytest.mark.parametrize("base", BASES)
def test_a_plain_relative_guid_reads_as_feedparsers_join_gives_it(base: str) -> None:
    reader = _Reader(base, None)
    for ref in ["12345", "story-12345", "a.html", "a..b", "_x", "~u", "-", ".x", ".", "..", "a/b", "a:b", "a?b"]:
        assert reader._uri(ref) == _repaired(feedparser.urls._urljoin(base, ref)), (base, ref)


def test_a_plain_relative_guid_on_a_settled_base_is_not_joined(monkeypatch: pytest.MonkeyPatch) -> None:
    reader = _Reader(BASES[0], None)
    monkeypatch.setattr(feedparser.mixin, "_urljoin", lambda base, uri: pytest.fail(f"joined {uri}"))
    assert reader._uri("story-12345") == "http://127.0.0.1:8080/feeds/story-12345"
    assert _Reader("https://h.example/a/../b/", None).join_prefix is None  # the join rewrites that path
