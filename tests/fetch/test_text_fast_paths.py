"""The fast paths of html_to_text / plain_to_text / entry conversion give what the slow paths give."""

from __future__ import annotations

import pytest

from monitor.article_text import html_to_text, plain_to_text
from monitor.feeds import _guess_lang, entry_from_feedparser


@pytest.mark.parametrize("text,as_html,as_plain", [
    ("a\x0bb", "a b", "ab"),  # a vertical tab is whitespace to HTML, an invisible character in plain text
    ("a \u200b b", "a b", "a b"),
    ("a\u200bb", "ab", "ab"),
    (" x\u3000\xa0y \n\n z\t", "x y z", "x y\nz"),
    ("line1\r\nline2\rx", "line1 line2 x", "line1\nline2x"),
    ("国企\n\n  改革 ", "国企 改革", "国企\n改革"),
    ("a\x1cb\nc", "a b c", "ab\nc"),
    ("\ufeffhello", "hello", "hello"),
    ("  \n \t ", "", ""),
])
def test_markup_free_text(text, as_html, as_plain):
    assert html_to_text(text) == as_html
    assert plain_to_text(text) == as_plain


@pytest.mark.parametrize("html,expected", [
    ("<TITLE/>after", "after"),  # self-closed title: still found by the cheap pre-check
    ("<tex<script>x</script>tarea/>after", "after"),  # cutting the script joins a self-closed tag
    ("<p>no hidden blocks &amp; no self-closed tags</p>", "no hidden blocks & no self-closed tags"),
])
def test_markup_pre_checks(html, expected):
    assert html_to_text(html) == expected


def test_guess_lang():
    assert _guess_lang("plain ASCII text") is None
    assert _guess_lang("Café au lait") is None
    assert _guess_lang("国有企业改革 SOE reform") == "zh"


def test_repeated_value_is_converted_once_and_identically():
    entry = {
        "title_detail": {"type": "text/plain", "value": "T"},
        "summary_detail": {"type": "text/html", "value": "<p>Same</p><p>text</p>"},
        "content": [{"type": "text/html", "value": "<p>Same</p><p>text</p>"}],
        "link": "https://Example.com/a?utm_source=x",
    }
    out = entry_from_feedparser(entry, feed_name="f")
    assert (out.summary_text, out.content_text, out.has_full_content) == ("Same\ntext", "Same\ntext", False)
    assert out.link == out.entry_id == "https://example.com/a"


@pytest.mark.parametrize("tag", ["ſcript", "scrıpt", "scrİpt"])
def test_hidden_block_spelled_with_letters_that_fold_is_cut_without_error(tag: str) -> None:
    # re.IGNORECASE matches these to "script"; the block must be cut, not crash the lookup.
    assert html_to_text(f"<p>before</p><{tag}>var x = 1;</{tag}><p>after</p>") == "before\nafter"
