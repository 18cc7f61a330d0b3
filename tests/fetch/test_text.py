"""Unit tests: html_to_text, link normalisation, entry identity, charsets, poll delays, full text."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import monitor.article_text as article_text
import monitor.entries as entries
from monitor.article_text import FullTextCache, choose_charset, decode_html, fetch_full_text, html_to_text, plain_to_text
from monitor.entries import content_hash, make_entry_id, normalise_link
from monitor.fetch import next_poll_delay

# ----------------------------------------------------------------------------- html_to_text


@pytest.mark.parametrize("html,expected", [
    ("<p>One</p><p>Two</p>", "One\nTwo"),
    ("a<br>b<br/>c", "a\nb\nc"),
    ("<ul><li>x</li><li>y</li></ul>", "x\ny"),
    ("AT&amp;T &lt;b&gt; &#20013;&#x56FD; &nbsp;&eacute;", "AT&T <b> 中国 é"),
    ("  lots   of\n\n   space\t here ", "lots of space here"),
    ("<p>keep <b>inline</b> <a href='x'>links</a> together</p>", "keep inline links together"),
    ("before<script>alert('x')</script>after", "beforeafter"),
    ("<style>p { color: red }</style><p>text</p>", "text"),
    ("<iframe src='http://evil/'>frame text</iframe>visible", "visible"),
    ("<noscript><img src=x>enable js</noscript>ok", "ok"),
    ("<script type='text/javascript'>var a = '</p>';</script>rest", "rest"),
    ("safe<iframe src='http://example.com/'/> description", "safe description"),
    ("<p>unclosed <b>bold <i>mess", "unclosed bold mess"),
    ("</p></div>stray closers<p", "stray closers"),
    ("<!-- comment --><p>text</p>", "text"),
    ("<?php echo 1 ?>x", "x"),
    ("", ""),
    ("plain text", "plain text"),
])
def test_html_to_text(html, expected):
    assert html_to_text(html) == expected


@pytest.mark.parametrize("html", [
    "<p><text<style>.SECRET{}</style>",  # a mangled tag before <style> (found by hypothesis)
    "<x<script>SECRET()</script>",
    "<SCRIPT>SECRET()</SCRIPT >",
    "<script>SECRET()",  # unclosed: hidden to the end, as in browsers
    "<a title='<script>'>SECRET</a>",  # over-removal is the safe direction
    "<iframe src='x'>SECRET",
])
def test_hidden_content_never_leaks_from_mangled_markup(html):
    assert "SECRET" not in html_to_text(html)


def test_html_to_text_full_document_drops_head():
    doc = "<html><head><title>T</title><style>body{}</style><script>x()</script></head><body><h1>H</h1><p>P</p></body></html>"
    assert html_to_text(doc) == "H\nP"  # <head> (title, style, script) is not article text


@pytest.mark.timeout(20)
def test_html_to_text_is_linear_and_survives_pathological_input():
    for nasty in ("<div>" * 50_000, "<a " * 50_000, "<iframe " * 50_000 + "/>", "<style>x</style" * 20_000, "<" * 200_000, "&" * 200_000, "<script>" * 20_000 + "x",
                  "<p>" + "word " * 200_000):
        assert isinstance(html_to_text(nasty), str)
    small, big = "<p>para <b>x</b> &amp; y</p>" * 2_000, "<p>para <b>x</b> &amp; y</p>" * 20_000
    t0 = time.perf_counter(); html_to_text(small); t_small = time.perf_counter() - t0
    t0 = time.perf_counter(); html_to_text(big); t_big = time.perf_counter() - t0
    assert t_big < 40 * t_small + 0.5  # 10x the input, nowhere near 100x the time


def test_plain_to_text_keeps_lines_and_drops_script():
    assert plain_to_text("line one\r\nline two") == "line one\nline two"
    assert plain_to_text("a <script>steal()</script> b\nc") == "a b\nc"
    assert plain_to_text("profit < 5%") == "profit < 5%"


# ----------------------------------------------------------------------------- links and ids


@pytest.mark.parametrize("url,expected", [
    ("HTTP://News.Example.COM:80/a/b?x=1#frag", "http://news.example.com/a/b?x=1"),
    ("https://example.com:443", "https://example.com/"),
    ("https://example.com:8443/a", "https://example.com:8443/a"),
    ("https://x.com/a?utm_source=rss&utm_medium=feed&id=7", "https://x.com/a?id=7"),
    ("https://x.com/a?b=2&fbclid=abc&a=1&gclid=z&spm=a2c.1&from=timeline", "https://x.com/a?a=1&b=2"),
    ("https://x.com/a?UTM_Campaign=Q1&page=2", "https://x.com/a?page=2"),
    ("  https://x.com/a  ", "https://x.com/a"),
    ("https://x.com/news?q=", "https://x.com/news?q="),
    ("/relative/path", "/relative/path"),
    ("not a url", "not a url"),
    ("http://[::1]:8080/x", "http://[::1]:8080/x"),
    ("", ""),
])
def test_normalise_link(url, expected):
    assert normalise_link(url) == expected


@settings(max_examples=3000, deadline=None)
@given(scheme=st.sampled_from(["http://", "https://", "HTTP://", "https:", "ftp://", ""]),
       host=st.text(alphabet="aZ1.-:@[]_\u00e9", max_size=10),
       rest=st.text(alphabet="a1/?#=&;.%:@ \t\n\x00\x7f\u00e9", max_size=16))
def test_a_canonical_link_skips_the_steps_and_gets_what_they_give(scheme, host, rest):
    url = scheme + host + rest
    assert normalise_link(url) == entries._normalised(url.strip())


def test_a_canonical_link_is_not_split_at_all(monkeypatch):
    monkeypatch.setattr(entries, "urlsplit", lambda url: pytest.fail(f"split {url}"))
    assert normalise_link("https://news.example.com/2025/01/a-story.html") == "https://news.example.com/2025/01/a-story.html"
    with pytest.raises(pytest.fail.Exception):
        normalise_link("https://news.example.com/a?utm_source=x")


def test_normalise_link_is_idempotent():
    for url in ("HTTP://A.com/x?b=2&a=1&utm_x=1#f", "https://x.com:8443/a?z=&y=1"):
        once = normalise_link(url)
        assert normalise_link(once) == once


def test_entry_id_prefers_guid_then_link_then_hash():
    assert make_entry_id("tag:x,2025:1", "http://x/a", "T", "B") == "tag:x,2025:1"
    assert make_entry_id(" urn:uuid:1 ", None, "T", "B") == "urn:uuid:1"
    assert make_entry_id("17", None, "T", "B", feed_name="sasac") == "sasac:17"
    assert make_entry_id(None, "HTTP://X.com/a?utm_source=1#c", "T", "B") == "http://x.com/a"
    hashed = make_entry_id(None, None, "Title", "Body")
    assert hashed == "sha256:" + content_hash("Title", "Body")


def test_entry_id_is_stable_across_tracking_and_whitespace_changes():
    a = make_entry_id(None, "https://x.com/a?id=1&utm_source=rss", "T", "B")
    b = make_entry_id(None, "https://X.com/a?utm_medium=email&id=1#comments", "other", "text")
    assert a == b
    assert make_entry_id(None, None, " Title ", "Body\n text") == make_entry_id(None, None, "title", "body text")
    assert content_hash("A", "B") != content_hash("A", "C")


# ----------------------------------------------------------------------------- charsets

ZH = "中国石化前三季度营业收入2.3万亿元"


def test_choose_charset_prefers_a_clean_declaration_over_a_wrong_header():
    page = f'<html><head><meta charset="gb2312"></head><body>{ZH}</body></html>'.encode("gbk")
    assert choose_charset(page, "iso-8859-1") == "gb18030"
    assert ZH in decode_html(page, "iso-8859-1")


def test_choose_charset_uses_header_then_detection():
    body = f"<p>{ZH}，{ZH}。</p>".encode("gbk") * 5
    assert ZH in decode_html(body, "gbk")
    assert ZH in decode_html(body, None)  # no label at all: statistical detection
    assert decode_html(f"<p>{ZH}</p>".encode("utf-8"), None) == f"<p>{ZH}</p>"
    assert decode_html('<meta http-equiv="Content-Type" content="text/html; charset=big5">臺灣'.encode("big5")).endswith("臺灣")


# ----------------------------------------------------------------------------- poll delays


def test_next_poll_delay_plain_interval():
    assert next_poll_delay(900, consecutive_errors=0) == 900


def test_next_poll_delay_backs_off_exponentially_and_caps():
    assert [next_poll_delay(60, consecutive_errors=n) for n in range(4)] == [60, 120, 240, 480]
    assert next_poll_delay(60, consecutive_errors=10, max_interval_s=3600) == 3600
    assert next_poll_delay(60, consecutive_errors=100) == 86400  # 24 h cap without max_interval
    assert next_poll_delay(60, consecutive_errors=10**6) == 86400  # no overflow


def test_next_poll_delay_honours_server_hints_but_not_to_poll_faster():
    assert next_poll_delay(300, max_age=1800) == 1800
    assert next_poll_delay(300, max_age=60) == 300
    assert next_poll_delay(300, ttl_minutes=60) == 3600
    assert next_poll_delay(300, ttl_minutes=60, max_interval_s=1200) == 1200
    assert next_poll_delay(300, retry_after=7200) == 7200
    assert next_poll_delay(300, retry_after=7200, max_interval_s=1200) == 7200  # the server asked
    assert next_poll_delay(300, retry_after=10**9) == 86400


def test_next_poll_delay_clamps_to_min_interval():
    assert next_poll_delay(30, min_interval_s=300) == 300
    assert next_poll_delay(30, consecutive_errors=1, min_interval_s=300, max_interval_s=600) == 300


# ----------------------------------------------------------------------------- full text

ARTICLE = """<!DOCTYPE html><html><head><meta charset="gb2312"><title>中国中车</title>
<script>var tracking = "do not extract";</script></head><body>
<nav><a href="/">首页</a> | <a href="/news">新闻</a></nav>
<article><h1>中国中车签约迪拜地铁蓝线项目</h1>
<p>中国中车股份有限公司近日与迪拜道路交通管理局签署合同，合同金额约为56亿美元，这是公司迄今为止在海外签订的最大单笔合同之一。</p>
<p>根据合同，中国中车将为迪拜地铁蓝线提供列车及相关维保服务，项目预计于2029年投入运营，将进一步提升当地的城市轨道交通水平。</p>
<p>国务院国资委表示，中央企业前十一个月累计实现营业收入77.9万亿元，同比增长2.1%，利润总额继续保持稳定增长态势。</p>
</article><footer>版权所有</footer></body></html>"""


def test_fetch_full_text_gbk_page_with_wrong_header(server, fetcher):
    url = server.serve("/article.html", ARTICLE.encode("gbk"), "text/html; charset=ISO-8859-1")
    cache = FullTextCache(max_items=2)
    text = fetch_full_text(fetcher, url, cache=cache)
    assert text is not None and "合同金额约为56亿美元" in text and "77.9万亿元" in text
    assert "do not extract" not in text
    hits = len(server.requests)
    assert fetch_full_text(fetcher, url + "?utm_source=rss", cache=cache) == text  # cached by normalised URL
    assert len(server.requests) == hits


def test_fetch_full_text_failures_give_none(server, fetcher):
    assert fetch_full_text(fetcher, server.url("/missing.html"), cache=FullTextCache()) is None
    url = server.serve("/empty.html", b"<html><body></body></html>", "text/html")
    assert fetch_full_text(fetcher, url, cache=FullTextCache()) is None
    assert fetch_full_text(fetcher, "file:///etc/passwd", cache=FullTextCache()) is None
    pdf = server.serve("/report.pdf", b"%PDF-1.7 binary", "application/pdf")
    assert fetch_full_text(fetcher, pdf, cache=FullTextCache()) is None


def test_full_text_cache_is_a_bounded_lru():
    cache = FullTextCache(max_items=2)
    cache.put("a", "A")
    cache.put("b", "B")
    assert cache.get("a") == (True, "A")  # a is now most recent
    cache.put("c", "C")
    assert cache.get("b") == (False, None) and cache.get("a") == (True, "A") and len(cache) == 2


def test_trafilatura_caches_are_reset_periodically(monkeypatch):
    import trafilatura.meta

    calls = []
    monkeypatch.setattr(trafilatura.meta, "reset_caches", lambda: calls.append(1))
    monkeypatch.setattr(article_text, "_extractions", 0)
    for _ in range(article_text.RESET_EVERY * 2):
        article_text._count_extraction()
    assert len(calls) == 2


def test_valid_utf8_wins_over_wrong_labels():
    body = f'<meta charset="gb2312"><p>{ZH}</p>'.encode("utf-8")
    assert choose_charset(body, "iso-8859-1") == "utf-8"
    assert choose_charset(b"plain ascii", "iso-8859-1") == "cp1252"  # ASCII: any label is right
    assert choose_charset("\ufeff<p>x</p>".encode("utf-16"), None) == "utf-16"


# ----------------------------------------------------------------------------- properties

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_fragments = st.lists(st.sampled_from([
    "<p>", "</p>", "<div>", "<br>", "<b>", "</b>", "&amp;", "&lt;", "&#20013;", "<!--", "-->", "<", ">", "\"",
    "text", "中国", " ", "\n", "<script>", "</script>", "<style>", "</style>", "<iframe>", "</iframe>",
]), max_size=40).map("".join)


@settings(max_examples=300, deadline=None, database=None)
@given(before=_fragments, after=_fragments)
def test_script_content_never_survives(before, after):
    html = f"{before}<script>SECRET_JS()</script>{after}<style>.SECRET_CSS{{}}</style><iframe>SECRET_FRAME</iframe>"
    text = html_to_text(html)
    assert "SECRET" not in text and "<script" not in text.lower()
    assert "SECRET" not in plain_to_text(html)


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(max_size=200))
def test_html_to_text_never_raises_and_is_tidy(s):
    text = html_to_text(s)
    assert text == text.strip() and "\n\n" not in text and "  " not in text


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.tuples(st.sampled_from(["id", "utm_source", "fbclid", "page", "b", "a"]), st.text("az09", max_size=3)), max_size=5),
       st.sampled_from(["http://Example.com", "HTTPS://x.org:443", "https://x.org:8080"]))
def test_normalise_link_idempotent_and_order_free(params, base):
    from urllib.parse import urlencode
    url = f"{base}/p?{urlencode(params)}"
    once = normalise_link(url)
    assert normalise_link(once) == once
    assert normalise_link(f"{base}/p?{urlencode(list(reversed(params)))}") == once
    assert "utm_" not in once and "fbclid" not in once
