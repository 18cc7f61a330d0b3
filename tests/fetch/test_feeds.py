"""fetch -> parse_feed over loopback: encodings, non-feeds, broken XML, entry fields."""

from __future__ import annotations

from datetime import datetime

import pytest

from monitor.feeds import FeedEntry, ParsedFeed, parse_feed
from monitor.fetch import FetchResult

ZH_TITLE = "中国中车签约迪拜地铁蓝线项目"
ZH_TEXT = "中央企业1-11月累计实现营业收入77.9万亿元，同比增长2.1%。"
TW_TITLE = "臺灣電力公司營業收入"
TW_TEXT = "經濟部國營事業營收增長，金額為新臺幣三千億元。"


def rss(title: str, text: str, encoding: str, language: str = "zh-cn", channel: str = "国资委新闻") -> bytes:
    """A small RSS 2.0 feed encoded in `encoding` with a matching XML declaration."""
    doc = f"""<?xml version="1.0" encoding="{encoding}"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>{channel}</title><language>{language}</language><ttl>60</ttl>
<item><title>{title}</title><link>http://www.sasac.gov.cn/n2588025/c1.html?from=timeline#top</link>
<guid isPermaLink="false">sasac-1</guid><pubDate>Mon, 06 Jan 2025 08:00:00 +0800</pubDate>
<description>&lt;p&gt;{text}&lt;/p&gt;</description></item>
</channel></rss>"""
    return doc.encode(encoding)


def fetch_and_parse(server, fetcher, path: str, body: bytes, content_type: str) -> ParsedFeed:
    url = server.serve(path, body, content_type)
    result = fetcher.fetch(url)
    assert result.status == "ok", result.error
    return parse_feed(result, "test")


def only_entry(parsed: ParsedFeed) -> FeedEntry:
    assert parsed.error is None, parsed.error
    assert len(parsed.entries) == 1
    return parsed.entries[0]


@pytest.mark.parametrize("encoding", ["gb2312", "gbk", "gb18030"])
def test_gbk_feed_gives_correct_chinese(server, fetcher, encoding):
    parsed = fetch_and_parse(server, fetcher, "/gbk.xml", rss(ZH_TITLE, ZH_TEXT, encoding), "application/rss+xml")
    entry = only_entry(parsed)
    assert parsed.title == "国资委新闻" and parsed.ttl_minutes == 60
    assert entry.title == ZH_TITLE and entry.content_text == ZH_TEXT and entry.lang == "zh"
    assert entry.link == "http://www.sasac.gov.cn/n2588025/c1.html"
    assert entry.published == datetime(2025, 1, 6, 0, 0)  # 08:00 +08:00 in naive UTC


@pytest.mark.parametrize("header", ["text/xml; charset=big5", "application/rss+xml; charset=ISO-8859-1"])
def test_big5_feed_gives_correct_chinese(server, fetcher, header):
    body = rss(TW_TITLE, TW_TEXT, "big5", "zh-tw", channel="國資新聞")
    parsed = fetch_and_parse(server, fetcher, "/big5.xml", body, header)
    entry = only_entry(parsed)
    assert parsed.title == "國資新聞"
    assert entry.title == TW_TITLE and entry.content_text == TW_TEXT and entry.lang == "zh"


@pytest.mark.parametrize("wrong", ["ISO-8859-1", "utf-8", "windows-1252"])
def test_wrong_charset_header_does_not_beat_the_xml_declaration(server, fetcher, neighbour_ok, wrong):
    # feedparser alone lets the header win (RFC 3023) and stores mojibake; we must not.
    body = rss(ZH_TITLE, ZH_TEXT, "gb2312")
    parsed = fetch_and_parse(server, fetcher, "/wrong.xml", body, f"application/rss+xml; charset={wrong}")
    entry = only_entry(parsed)
    assert entry.title == ZH_TITLE and entry.content_text == ZH_TEXT
    neighbour_ok(fetcher)


def test_header_charset_is_used_when_the_body_declares_nothing(server, fetcher):
    body = rss(ZH_TITLE, ZH_TEXT, "gbk").replace(b' encoding="gbk"', b"")
    entry = only_entry(fetch_and_parse(server, fetcher, "/hdr.xml", body, "application/rss+xml; charset=gbk"))
    assert entry.title == ZH_TITLE


def test_wrong_declaration_falls_back_to_the_header(server, fetcher):
    body = rss(ZH_TITLE, ZH_TEXT, "gbk").replace(b'encoding="gbk"', b'encoding="utf-8"')
    entry = only_entry(fetch_and_parse(server, fetcher, "/decl.xml", body, "application/rss+xml; charset=gbk"))
    assert entry.title == ZH_TITLE


def test_html_instead_of_a_feed(server, fetcher, neighbour_ok):
    page = b"<!DOCTYPE html><html><head><title>Home</title></head><body><p>Welcome</p></body></html>"
    parsed = fetch_and_parse(server, fetcher, "/page", page, "text/html; charset=utf-8")
    assert parsed.entries == [] and parsed.error.startswith("not a feed: got HTML from ")
    neighbour_ok(fetcher)


def test_html_labelled_as_xml_is_still_recognised():
    result = FetchResult(status="ok", url="http://x/feed", body=b"\n<html><body>x</body></html>",
                         headers={"content-type": "application/xml"})
    assert parse_feed(result, "x").error.startswith("not a feed: got HTML")


def test_empty_body(server, fetcher):
    parsed = fetch_and_parse(server, fetcher, "/empty.xml", b"", "application/rss+xml")
    assert parsed.entries == [] and parsed.error.startswith("empty body from ")


def test_malformed_xml_reports_the_line():
    body = b'<?xml version="1.0"?>\n<rss version="2.0">\n<channel>\n<title>x</title><foo></bar>\n</channel></rss>'
    parsed = parse_feed(FetchResult(status="ok", url="http://x/f", body=body), "x")
    assert parsed.bozo and parsed.entries == [] and parsed.error.startswith("malformed XML at line 4 in http://x/f")
    no_decl = parse_feed(FetchResult(status="ok", url="http://x/f", body=body.split(b"\n", 1)[1]), "x")
    assert no_decl.error.startswith("malformed XML at line 3 ")


def test_not_a_feed_xml():
    parsed = parse_feed(FetchResult(status="ok", url="http://x/f", body=b"<?xml version='1.0'?><note>hi</note>"), "x")
    assert parsed.error.startswith("not a feed: http://x/f has no RSS, Atom or RDF root element")


def test_valid_empty_feed_is_not_an_error():
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>quiet</title></channel></rss>'
    parsed = parse_feed(FetchResult(status="ok", url="http://x/f", body=body), "x")
    assert parsed.entries == [] and parsed.error is None and parsed.title == "quiet"


def test_bozo_feed_keeps_recovered_entries_with_a_warning():
    body = b'<rss version="2.0"><channel><item><title>A &bogus; B</title><link>http://x/1</link></item></channel></rss>'
    parsed = parse_feed(FetchResult(status="ok", url="http://x/f", body=body), "x")
    assert parsed.bozo and parsed.error is None and parsed.warning and len(parsed.entries) == 1


def test_fetch_error_passes_through():
    parsed = parse_feed(FetchResult(status="error", url="http://x/f", error="HTTP 404 from http://x/f"), "x")
    assert parsed.error == "HTTP 404 from http://x/f" and parsed.entries == []
    unchanged = parse_feed(FetchResult(status="not_modified", url="http://x/f", http_status=304), "x")
    assert unchanged.entries == [] and unchanged.error is None


ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en-GB"><title type="html">Sino &amp;lt;b&amp;gt;News</title>
<entry><id>tag:example.com,2025:1</id><title type="html">&lt;b&gt;Sinopec&lt;/b&gt; profit &amp;amp; loss</title>
<updated>2025-01-06T08:00:00Z</updated><link href="/a/1?utm_medium=x&amp;b=2&amp;a=1"/>
<summary>Short.</summary>
<content type="html">&lt;p&gt;Sinopec said profit rose 5 percent.&lt;/p&gt;&lt;script&gt;alert("x")&lt;/script&gt;&lt;p&gt;Second paragraph.&lt;/p&gt;</content>
</entry>
<entry><title>Only content</title><link href="http://Example.COM/b"/>
<content type="text">Plain &lt;script&gt;steal()&lt;/script&gt; text
second line</content></entry>
</feed>"""


def test_atom_entry_fields():
    result = FetchResult(status="ok", url="http://example.com/feed.atom", body=ATOM.encode(),
                         headers={"content-type": "application/atom+xml"})
    parsed = parse_feed(result, "atom")
    first, second = parsed.entries
    assert first.entry_id == "tag:example.com,2025:1"
    assert first.title == "Sinopec profit & loss"
    assert first.link == "http://example.com/a/1?a=1&b=2"
    assert first.published == datetime(2025, 1, 6, 8, 0)
    assert first.summary_text == "Short."
    assert first.content_text == "Sinopec said profit rose 5 percent.\nSecond paragraph."
    assert first.has_full_content and first.lang == "en"
    # text/plain content: kept as text with its line break, but never a script body.
    assert second.content_text == "Plain text\nsecond line"
    assert second.has_full_content and second.entry_id == "http://example.com/b"
    assert len(first.content_hash) == 64 and first.content_hash != second.content_hash


def test_entry_without_guid_or_link_gets_a_content_hash_id():
    body = b'<rss version="2.0"><channel><item><title>T</title><description>D</description></item></channel></rss>'
    one = parse_feed(FetchResult(status="ok", url="http://x/f", body=body), "x").entries[0]
    again = parse_feed(FetchResult(status="ok", url="http://x/f", body=body.replace(b"<title>T", b"<title> T ")), "x")
    assert one.entry_id.startswith("sha256:") and one.entry_id == again.entries[0].entry_id
    assert one.has_full_content is False


def test_short_guids_are_scoped_by_feed():
    body = b'<rss version="2.0"><channel><item><title>T</title><guid isPermaLink="false">42</guid></item></channel></rss>'
    result = FetchResult(status="ok", url="http://x/f", body=body)
    assert parse_feed(result, "sasac").entries[0].entry_id == "sasac:42"
    assert parse_feed(result, "xinhua").entries[0].entry_id == "xinhua:42"


def test_empty_items_are_skipped():
    body = b'<rss version="2.0"><channel><item></item><item><title>Real</title></item></channel></rss>'
    parsed = parse_feed(FetchResult(status="ok", url="http://x/f", body=body), "x")
    assert [e.title for e in parsed.entries] == ["Real"] and "1 empty or broken" in parsed.warning


def test_garbage_never_raises():
    for body in (b"\x00\xff" * 1000, b"<" * 5000, b"<rss>" + b"<item>" * 3000, "🙂".encode() * 100):
        parsed = parse_feed(FetchResult(status="ok", url="http://x/f", body=body), "x")
        assert isinstance(parsed, ParsedFeed)


def test_utf8_body_with_a_wrong_gb2312_declaration(server, fetcher):
    body = rss(ZH_TITLE, ZH_TEXT, "gb2312").decode("gb2312").encode("utf-8")  # declaration now lies
    for content_type in ("application/rss+xml", "text/xml", "application/rss+xml; charset=gb2312"):
        entry = only_entry(fetch_and_parse(server, fetcher, "/lie.xml", body, content_type))
        assert entry.title == ZH_TITLE and entry.content_text == ZH_TEXT


def test_gbk_feed_served_as_text_xml_without_charset(server, fetcher):
    parsed = fetch_and_parse(server, fetcher, "/txml.xml", rss(ZH_TITLE, ZH_TEXT, "gbk"), "text/xml")
    assert only_entry(parsed).title == ZH_TITLE and not parsed.bozo
