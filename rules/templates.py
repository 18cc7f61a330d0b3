"""Alert subjects and messages: users' Jinja2 templates, and the default wording.

Templates run in Jinja's sandbox with StrictUndefined and autoescape off (alerts are plain text).
The context is the event's fields (`metric`, `value`, `period`, `article`, ...) plus `event`,
`baseline` (the SeriesPoint the rule compared with, or None), `baseline_label`, `rule`,
`reason`, `key`, `state` ("stale"/"recovered" for stale rules, else None) and `silent_since`.
Filters: `amount(unit)`, `pct`, `change(basis)`, `period`, `metric`, `when`, `number`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel

from rules.events import SeriesPoint
from rules.format import (
    amount_words,
    change_words,
    metric_words,
    number_words,
    pct_change,
    percent_words,
    period_words,
    when_words,
)

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
_ENV.filters.update(
    amount=amount_words,
    pct=percent_words,
    change=change_words,
    period=period_words,
    metric=metric_words,
    when=when_words,
    number=number_words,
)
_ENV.globals.update(amount_words=amount_words, change_words=change_words, pct_change=pct_change)

MAX_SUBJECT = 250


class TemplateProblem(ValueError):
    """A template that does not compile or names something the context lacks.

    `lineno` is the template line of a syntax error (1-based), when known.
    """

    def __init__(self, message: str, lineno: int | None = None) -> None:
        super().__init__(message)
        self.lineno = lineno


@dataclass
class AlertContext:
    """What a decision is about: the inputs of both templates and the default wording."""

    event: BaseModel
    rule: Any  # rules.schema.Rule; typed loosely to keep this module free of the schema
    reason: str
    key: str
    baseline: SeriesPoint | None = None
    baseline_label: str = ""
    state: str | None = None
    silent_since: datetime | None = None

    def variables(self) -> dict[str, Any]:
        """The Jinja context."""
        ev = self.event
        out: dict[str, Any] = {name: getattr(ev, name) for name in type(ev).model_fields}
        out.update(
            event=ev,
            article=getattr(ev, "article", None),
            baseline=self.baseline,
            baseline_label=self.baseline_label,
            rule=self.rule,
            reason=self.reason,
            key=self.key,
            state=self.state,
            silent_since=self.silent_since,
        )
        return out


def compile_template(source: str) -> Template:
    """Compile a template; raise TemplateProblem with the template line on a syntax error."""
    try:
        return _ENV.from_string(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"template line {exc.lineno}: {exc.message}", exc.lineno) from None
    except (TemplateError, RecursionError, ValueError, TypeError) as exc:
        raise TemplateProblem(f"template does not compile: {exc}") from None


def render(template: Template, ctx: AlertContext) -> str:
    """Render; raise TemplateProblem on any failure (undefined name, bad filter argument...)."""
    try:
        return template.render(ctx.variables())
    except TemplateError as exc:
        raise TemplateProblem(str(getattr(exc, "message", None) or exc)) from None
    except Exception as exc:  # a filter given a wrong type raises ordinary Python errors
        raise TemplateProblem(f"{type(exc).__name__}: {exc}") from None


def one_line(text: str) -> str:
    """Subjects are one line and bounded."""
    line = " ".join(text.split())
    return line if len(line) <= MAX_SUBJECT else line[: MAX_SUBJECT - 1] + "…"


# --------------------------------------------------------------------------- default wording


def _figure_head(ev: Any) -> str:
    who = " ".join(p for p in (ev.entity, metric_words(ev.metric)) if p)
    return who or "figure"


def _figure_value(ev: Any) -> str:
    if ev.value is not None:
        qualifier = f"{ev.qualifier} " if ev.qualifier else ""
        return qualifier + amount_words(ev.value, ev.unit)
    return change_words(ev.change_pct, ev.change_basis) or "no value given"


def default_subject(ctx: AlertContext) -> str:
    """One line: "[info] SOEs exports: 1.79 trillion yuan (January-November 2024)"."""
    ev, sev = ctx.event, f"[{ctx.rule.severity}]"
    kind = getattr(ev, "type", "")
    if ctx.state in ("stale", "recovered"):
        what = f"feed {ev.feed}" if kind == "feed" else f"series {_figure_head(ev)}"
        if ctx.state == "recovered":
            return one_line(f"{sev} {what} recovered")
        return one_line(f"{sev} {what} silent since {when_words(ctx.silent_since)}")
    if kind == "figure":
        period = period_words(ev.period)
        tail = f" ({period})" if period else ""
        revised = " revised" if ev.status == "revision" else ""
        return one_line(f"{sev} {_figure_head(ev)}{revised}: {_figure_value(ev)}{tail}")
    if kind == "contract":
        parts = [f"{sev} {ev.company or 'unknown company'} contract: {amount_words(ev.value, ev.unit) if ev.value is not None else 'value not given'}"]
        if ev.counterparty:
            parts.append(f"with {ev.counterparty}")
        if ev.project:
            parts.append(f"({ev.project})")
        return one_line(" ".join(parts))
    if kind == "article":
        return one_line(f"{sev} {ctx.rule.name}: {ev.article.title or ev.article.url or 'article'}")
    if kind == "feed":
        return one_line(f"{sev} feed {ev.feed}: {ctx.reason}")
    return one_line(f"{sev} {ctx.rule.name}")


def _source(article: Any) -> str:
    if article is None:
        return ""
    return article.url or article.title or ""


def default_message(ctx: AlertContext) -> str:
    """The full alert in words: the fact, why it fired, the baseline, the quote and the link."""
    ev = ctx.event
    kind = getattr(ev, "type", "")
    lines: list[str] = []
    if kind == "figure":
        period = period_words(ev.period)
        head = f"{_figure_head(ev)}: {_figure_value(ev)}"
        if period:
            head += f" for {period}"
        if ev.value is not None and ev.change_pct is not None:
            head += f", {change_words(ev.change_pct, ev.change_basis)}"
        lines.append(head + ".")
        if ev.status == "revision" and ev.revised_from is not None:
            lines.append(f"Revised from {amount_words(ev.revised_from.value, ev.revised_from.unit or ev.unit)}.")
    elif kind == "contract":
        lines.append(
            f"{ev.company or 'Unknown company'} contract"
            + (f" with {ev.counterparty}" if ev.counterparty else "")
            + (f" for {ev.project}" if ev.project else "")
            + (f" in {ev.location}" if ev.location else "")
            + f": {amount_words(ev.value, ev.unit) if ev.value is not None else 'value not given'}"
            + (f" (about {amount_words(ev.usd_value, 'USD')})" if ev.usd_value is not None and (ev.unit or '').upper() != "USD" else "")
            + "."
        )
    elif kind == "article":
        lines.append(f"Article: {ev.article.title or '(no title)'}")
    elif kind == "feed":
        lines.append(
            f"Feed {ev.feed}: last success {when_words(ev.last_success)}, last new entry {when_words(ev.last_new_entry)}, "
            f"{ev.consecutive_errors} consecutive error(s)" + (f", last error: {ev.last_error}" if ev.last_error else "") + "."
        )
    lines.append(f"Why: {ctx.reason}")
    base = ctx.baseline
    if base is not None:
        label = f" ({ctx.baseline_label})" if ctx.baseline_label else ""
        text = f"Compared with: {amount_words(base.value, base.unit or getattr(ev, 'unit', None))}"
        if base.period is not None and period_words(base.period):
            text += f" for {period_words(base.period)}"
        text += label
        src = _source(base.article)
        if src:
            text += f", source: {src}"
        lines.append(text)
    quote = getattr(ev, "quote", "")
    if quote:
        lines.append(f'Quote: "{quote}"')
    article = getattr(ev, "article", None)
    if article is not None and (article.url or article.title):
        lines.append(f"Article: {' '.join(p for p in (article.title, article.url) if p)}" if kind != "article" else f"Link: {article.url or ''}")
    lines.append(f"Rule: {ctx.rule.name}" + (f" ({ctx.rule.description})" if ctx.rule.description else ""))
    return "\n".join(lines)
