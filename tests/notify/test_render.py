"""Message formatting: escaping for HTML and Slack, links, digests, charts."""

from __future__ import annotations

from apprise.plugins.slack import NotifySlack

from monitor.notify.chart import chart_file, render_chart
from monitor.notify.render import render_alert, render_digest, slack_escape, slack_link
from tests.notify.conftest import T0

PNG = b"\x89PNG\r\n\x1a\n"

EVIL = {
    "id": 3, "rule": "soe-exports", "severity": "warning", "created_at": T0,
    "subject": "Exports & <b>imports</b> up",
    "message": "Article says <script>alert('x')</script> & <!channel> <@U123> *now*",
    "fact": {"quote": "Profits > 5% & rising",
             "article": {"title": "CRRC | wins [big] deal", "url": "https://news.example.com/a?b=1&c=2"}},
}


def to_slack(markdown: str) -> str:
    """What apprise's Slack plugin makes of our (declared-markdown) body."""
    return NotifySlack._commonmark_to_slack(markdown)


def test_html_escapes_article_text_quote_and_subject() -> None:
    html = render_alert(EVIL).html
    assert html is not None
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>imports</b>" not in html and "&lt;b&gt;imports&lt;/b&gt;" in html
    assert "Profits &gt; 5% &amp; rising" in html
    assert 'href="https://news.example.com/a?b=1&amp;c=2"' in html


def test_html_never_links_non_http_urls() -> None:
    alert = {**EVIL, "fact": {"article": {"title": "x", "url": "javascript:alert(1)"}}}
    assert "javascript:" not in (render_alert(alert).html or "")


def test_text_body_has_message_quote_and_link() -> None:
    text = render_alert(EVIL).text
    assert "<script>alert('x')</script>" in text  # plain text is not HTML: shown as written
    assert '"Profits > 5% & rising"' in text
    assert "<https://news.example.com/a?b=1&c=2>" in text


def test_slack_body_escapes_bolds_subject_and_links() -> None:
    slack = to_slack(render_alert(EVIL).slack or "")
    first = slack.splitlines()[0]
    assert first == "*Exports &amp; &lt;b&gt;imports&lt;/b&gt; up*"
    assert "&lt;script&gt;alert('x')&lt;/script&gt; &amp; &lt;!channel&gt; &lt;@U123&gt;" in slack
    assert "<!channel>" not in slack and "<@U123>" not in slack  # no mention injection
    assert "> Profits &gt; 5% &amp; rising" in slack
    assert "<https://news.example.com/a?b=1&amp;c=2|CRRC | wins [big] deal>" in slack


def test_slack_escape_and_link_helpers() -> None:
    assert to_slack(slack_escape("a & b < c > d")) == "a &amp; b &lt; c &gt; d"
    assert to_slack(slack_link("https://x.example/p q>", "T")) == "<https://x.example/p%20q%3E|T>"


def test_digest_html_is_a_table_with_escaped_cells_and_links() -> None:
    other = {**EVIL, "id": 4, "subject": "Second", "severity": "critical", "fact": {}}
    message = render_digest([EVIL, other], "morning")
    assert message.title == "SOE Monitor digest: 2 alerts (morning)"
    assert message.severity == "critical"
    html = message.html or ""
    assert html.count("<tr>") == 3 and "<th>Severity</th>" in html
    assert "&lt;b&gt;imports&lt;/b&gt;" in html and '<a href="https://news.example.com/a?b=1&amp;c=2">' in html
    assert "Second" in message.text and "2026-01-05 09:00 UTC" in message.text
    slack = to_slack(message.slack or "")
    assert "<https://news.example.com/a?b=1&amp;c=2|Exports &amp; &lt;b&gt;imports&lt;/b&gt; up>" in slack


def test_chart_is_a_png_and_its_temp_file_is_removed() -> None:
    points = [("2023", 1.5e12), ("2024", 1.79e12), ("H1 2025", None), ("2025", 1.9e12)]
    assert render_chart(points, "exports SOEs", "CNY")[:8] == PNG  # type: ignore[index]
    assert render_chart([("2024", 1.0)]) is None  # one point is not a chart
    with chart_file(points) as path:
        assert path is not None and path.read_bytes()[:8] == PNG
    assert not path.exists()
