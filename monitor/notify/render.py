"""Alerts -> OutgoingMessage: plain text, HTML email and Slack bodies, single or as a digest.

Everything that comes from an article (title, text, quote, link) is untrusted: the HTML is built
with Jinja2 autoescape, links are only emitted for http(s) URLs, and the Slack body escapes the
characters Slack gives meaning to (& < >), so article text can neither inject markup nor mention
@channel.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import DictLoader, Environment, StrictUndefined

from monitor.notify.message import OutgoingMessage

APP_NAME = "SOE Monitor"

_ALERT_HTML = """\
<html><body style="font-family:Arial,Helvetica,sans-serif">
<h2>{{ subject }}</h2>
<p><b>{{ severity | upper }}</b> &middot; rule <code>{{ rule }}</code>{% if when %} &middot; {{ when }}{% endif %}</p>
{% for para in paragraphs %}<p>{{ para }}</p>
{% endfor %}{% if quote %}<blockquote style="border-left:3px solid #ccc;margin:0;padding-left:8px">{{ quote }}</blockquote>
{% endif %}{% if link %}<p>Source: <a href="{{ link }}">{{ link_title or link }}</a></p>
{% elif link_title %}<p>Source: {{ link_title }}</p>
{% endif %}{% if chart %}<p>Chart of the series history attached.</p>
{% endif %}<p style="color:#888">{{ app }}{% if alert_id %} &middot; alert #{{ alert_id }}{% endif %}</p>
</body></html>
"""

_DIGEST_HTML = """\
<html><body style="font-family:Arial,Helvetica,sans-serif">
<h2>{{ title }}</h2>
<table border="1" cellpadding="4" cellspacing="0" style="border-collapse:collapse">
<tr><th>Time (UTC)</th><th>Severity</th><th>Rule</th><th>Subject</th><th>Link</th></tr>
{% for row in rows %}<tr><td>{{ row.when }}</td><td>{{ row.severity }}</td><td>{{ row.rule }}</td><td>{{ row.subject }}</td><td>{% if row.link %}<a href="{{ row.link }}">{{ row.link_title or "article" }}</a>{% endif %}</td></tr>
{% endfor %}</table>
<p style="color:#888">{{ app }}</p>
</body></html>
"""

_env = Environment(
    loader=DictLoader({"alert.html": _ALERT_HTML, "digest.html": _DIGEST_HTML}),
    autoescape=True,
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)

# Characters the CommonMark -> Slack conversion (apprise) would treat as markup.
_MD_SPECIAL = re.compile(r"([\\`*\[\]<>#])")
_SAFE_URL = re.compile(r"^https?://[^\s]+$", re.I)


# --- small helpers ---------------------------------------------------------------------------


def _get(alert: Any, name: str, default: Any = None) -> Any:
    return getattr(alert, name, default) if not isinstance(alert, dict) else alert.get(name, default)


def alert_link(fact: dict) -> tuple[str | None, str | None]:
    """(url, title) of the alert's article, from the fact JSON; url only when it is http(s)."""
    article = fact.get("article") if isinstance(fact.get("article"), dict) else {}
    url = article.get("url") or article.get("link") or fact.get("link") or fact.get("url")
    title = article.get("title") or fact.get("title")
    url = str(url).strip() if url else None
    return (url if url and _SAFE_URL.match(url) else None), (str(title) if title else None)


def _when(alert: Any) -> str:
    created = _get(alert, "created_at")
    return created.strftime("%Y-%m-%d %H:%M UTC") if isinstance(created, datetime) else ""


def slack_escape(text: str) -> str:
    """Escape article text for the Slack body (CommonMark that apprise converts to mrkdwn).

    After apprise's conversion, & < > arrive as &amp; &lt; &gt; (Slack's own escaping rules), and
    `*`, `` ` ``, `[`, `#` stay literal instead of becoming formatting.
    """
    return _MD_SPECIAL.sub(r"\\\1", text)


def _slack_url(url: str) -> str:
    # Characters that would end or split Slack's <url|label> are percent-encoded.
    return quote(url, safe=":/?#=&%+,;@!$'()*~.-_")


def slack_link(url: str, label: str) -> str:
    """A link that Slack shows as <url|label>."""
    return f"[{slack_escape(label.replace(chr(10), ' '))}](<{_slack_url(url)}>)"


def _quote_lines(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines() if line.strip())


# --- one alert -------------------------------------------------------------------------------


def _context(alert: Any) -> dict[str, Any]:
    fact = _get(alert, "fact") or {}
    link, link_title = alert_link(fact)
    message = _get(alert, "message", "") or ""
    quote = (fact.get("quote") or "").strip()
    return {
        "subject": _get(alert, "subject", "") or "",
        "message": message,
        # The default rule message already quotes the sentence: never print it twice.
        "quote": "" if quote and quote in message else quote,
        "link": link,
        "link_title": link_title,
        "severity": _get(alert, "severity", "info") or "info",
        "rule": _get(alert, "rule", "") or "",
        "alert_id": _get(alert, "id"),
        "when": _when(alert),
    }


def render_text(alert: Any) -> str:
    """Plain-text body of one alert."""
    c = _context(alert)
    lines = [c["message"].strip()] if c["message"].strip() else []
    if c["quote"]:
        lines.append(f'"{c["quote"]}"')
    if (c["link"] or c["link_title"]) and not (c["link"] and c["link"] in c["message"]):
        lines.append("Source: " + " ".join(x for x in (c["link_title"], f"<{c['link']}>" if c["link"] else None) if x))
    lines.append(f"Rule {c['rule']} · {c['severity']}" + (f" · alert #{c['alert_id']}" if c["alert_id"] else ""))
    return "\n\n".join(lines)


def render_html(alert: Any, chart: bool = False) -> str:
    """HTML email body of one alert; every article-derived string is escaped."""
    c = _context(alert)
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", c["message"]) if p.strip()]
    return _env.get_template("alert.html").render(**c, paragraphs=paragraphs, chart=chart, app=APP_NAME)


def render_slack(alert: Any) -> str:
    """Slack body of one alert: bold subject, message, quoted source sentence, article link."""
    c = _context(alert)
    parts = [f"**{slack_escape(c['subject'])}**"]
    if c["message"].strip():
        parts.append(slack_escape(c["message"].strip()))
    if c["quote"]:
        parts.append(_quote_lines(slack_escape(c["quote"]), "> "))
    if c["link"]:
        parts.append(slack_link(c["link"], c["link_title"] or c["link"]))
    elif c["link_title"]:
        parts.append(slack_escape(c["link_title"]))
    parts.append(slack_escape(f"{c['severity']} · {c['rule']}"))
    return "\n".join(parts)


def render_alert(alert: Any, chart: Path | None = None) -> OutgoingMessage:
    """All bodies of one alert (an Alert row or a dict with the same fields)."""
    c = _context(alert)
    return OutgoingMessage(
        title=c["subject"] or f"{APP_NAME} alert",
        text=render_text(alert),
        html=render_html(alert, chart=chart is not None),
        slack=render_slack(alert),
        attachments=[chart] if chart is not None else [],
        severity=c["severity"],
    )


# --- digests ---------------------------------------------------------------------------------

_SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


def render_digest(alerts: Sequence[Any], channel_name: str = "") -> OutgoingMessage:
    """One message listing many alerts (oldest first): text lines, an HTML table, Slack lines."""
    rows = [_context(a) for a in alerts]
    title = f"{APP_NAME} digest: {len(rows)} alert{'s' if len(rows) != 1 else ''}"
    if channel_name:
        title += f" ({channel_name})"
    text_lines = [
        f"- {r['when']} [{r['severity']}] {r['rule']}: {r['subject']}" + (f" <{r['link']}>" if r["link"] else "")
        for r in rows
    ]
    slack_lines = [f"**{slack_escape(title)}**"] + [
        "• " + slack_escape(f"{r['when']} [{r['severity']}] {r['rule']}: ")
        + (slack_link(r["link"], r["subject"]) if r["link"] else slack_escape(r["subject"]))
        for r in rows
    ]
    worst = max((r["severity"] for r in rows), key=lambda s: _SEVERITY_RANK.get(s, 0), default="info")
    return OutgoingMessage(
        title=title,
        text="\n".join(text_lines),
        html=_env.get_template("digest.html").render(title=title, rows=rows, app=APP_NAME),
        slack="\n".join(slack_lines),
        severity=worst,
    )


def render_test(channel_name: str) -> OutgoingMessage:
    """The message `soe-monitor notify-test CHANNEL` sends."""
    return render_alert({
        "subject": f"{APP_NAME} test notification",
        "message": f"This is a test message for channel '{channel_name}'. If you can read it, the channel works.",
        "severity": "info", "rule": "notify-test", "fact": {},
    })
