"""Why an alert fired (`alerts show ID`) and why the rules did or did not fire for an article
(`rules why ARTICLE`).

Nothing new is stored for this. An alert's `fact` JSON is the event the rules saw, baselines
included (`previous`, `same_period_last_year`, `revised_from`), and its message's "Why:" line is
the engine's reason. `rules why` re-extracts the article with today's extractor and replays it,
after every earlier stored article, on a scratch database (monitor.replay, as `rules backtest`
does), then asks each rule in force about each fact: kind, match, status, trigger, confirm,
where, and finally the engine itself (which adds repeat_after and frequency). The real database
is only read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from monitor.alerting import DatabaseHistory
from monitor.replay import Replay, stored_article_args
from monitor.runtime import Runtime
from rules.engine import RuleEngine
from rules.events import ArticleEvent, ContractEvent, FeedEvent, FigureEvent, SeriesPoint
from rules.expressions import activation
from rules.format import amount_words, change_words, metric_words, number_words, pct_change, period_words
from rules.ruleset import CompiledRule, Ruleset, resolve
from rules.triggers import Fired, confirm_reached, effective_status, keyword_text
from storage.db import session_scope
from storage.models import Alert, Article, Delivery, as_utc

_EVENT_MODELS = {"figure": FigureEvent, "contract": ContractEvent, "article": ArticleEvent, "feed": FeedEvent}

#: Where each `match` key reads an event (same meaning as rules.ruleset's matchers).
_MATCH_PATHS = {
    "figure": {"metric": "metric", "entity": "entity", "unit": "unit", "period_kind": "period.kind", "feed": "article.feed"},
    "contract": {"company": "company", "counterparty": "counterparty", "unit": "unit", "feed": "article.feed"},
    "article": {"feed": "article.feed"},
    "feed": {"feed": "feed"},
}


def _ts(value: datetime | None) -> str:
    return f"{as_utc(value):%Y-%m-%d %H:%M} UTC" if value else "-"


def event_from_fact(fact: dict) -> Any | None:
    """The event stored in an alert's `fact`, or None when it cannot be read back."""
    model = _EVENT_MODELS.get(str(fact.get("type", "")))
    if model is None:
        return None
    try:
        return model.model_validate(fact)
    except Exception:
        return None


# --------------------------------------------------------------------------- describing facts


def _source_words(article: Any) -> str:
    if article is None:
        return "source unknown"
    parts = [p for p in (article.title and f'"{article.title}"', article.url and f"<{article.url}>") if p]
    if getattr(article, "feed", None):
        parts.append(f"feed {article.feed}")
    return " ".join(parts) or "source unknown"


def fact_words(ev: Any) -> str:
    """One line saying what the fact is."""
    if isinstance(ev, FigureEvent):
        head = f"figure ({ev.status}): {ev.entity or 'unknown entity'} {metric_words(ev.metric)} = {amount_words(ev.value, ev.unit)}"
        if ev.value is None and ev.change_pct is not None:
            head = f"figure ({ev.status}): {ev.entity or 'unknown entity'} {metric_words(ev.metric)} {change_words(ev.change_pct, ev.change_basis)}"
        period = period_words(ev.period)
        if period:
            head += f" for {period}"
        if ev.value is not None and ev.change_pct is not None:
            head += f", {change_words(ev.change_pct, ev.change_basis)} (as reported)"
        return head + f"  [series {ev.series_key}; {ev.sources} source(s)]"
    if isinstance(ev, ContractEvent):
        text = f"contract ({ev.status}): {ev.company or 'unknown company'}"
        text += f" with {ev.counterparty}" if ev.counterparty else ""
        text += f" for {ev.project}" if ev.project else ""
        text += f": {amount_words(ev.value, ev.unit)}" if ev.value is not None else ": value not given"
        if ev.usd_value is not None and (ev.unit or "").upper() != "USD":
            text += f" (about {amount_words(ev.usd_value, 'USD')})"
        return text + f"  [{ev.sources} source(s)]"
    if isinstance(ev, ArticleEvent):
        return f"article ({ev.status}): {ev.article.title or '(no title)'}"
    if isinstance(ev, FeedEvent):
        return f"feed {ev.feed}: {ev.consecutive_errors} consecutive error(s), last success {_ts(ev.last_success)}"
    return str(ev)


def point_words(point: SeriesPoint, unit: str | None = None) -> str:
    """A baseline in words: value and period."""
    period = period_words(point.period)
    return amount_words(point.value, point.unit or unit) + (f" for {period}" if period else "")


def baseline_lines(point: SeriesPoint | None, label: str, unit: str | None, indent: str = "          ") -> list[str]:
    """The baseline, its period and where it came from."""
    if point is None:
        return [f"none{f' ({label})' if label else ''}"]
    lines = [f"{point_words(point, unit)}" + (f" ({label})" if label else "")]
    lines.append(f"{indent}source: {_source_words(point.article)}"
                 + (f", stored {_ts(point.observed_at)}" if point.observed_at else ""))
    if point.quote:
        lines.append(f'{indent}quote: "{point.quote}"')
    return lines


# --------------------------------------------------------------------------- alerts show

_WHY = re.compile(r"^Why: (.+)$", re.MULTILINE)


def _default_baseline(ev: FigureEvent) -> tuple[SeriesPoint | None, str]:
    if ev.status == "revision" and ev.revised_from is not None:
        return ev.revised_from, "value before the revision"
    return ev.previous, "previous period"


def alert_lines(alert: Alert, deliveries: list[Any], ruleset: Ruleset | None) -> list[str]:
    """Everything about one stored alert, explained: rule, fact, quote, baseline, why, deliveries."""
    fact = alert.fact or {}
    ev = event_from_fact(fact)
    cr = ruleset.by_name().get(alert.rule) if ruleset is not None else None
    lines = [f"alert {alert.id}  rule {alert.rule}  severity {alert.severity}  created {_ts(alert.created_at)}",
             f"key:      {alert.key}", f"subject:  {alert.subject}", ""]
    if cr is not None:
        r = cr.rule
        lines.append(f"Rule:     {r.name}: kind {r.kind}, trigger {_trigger_words(r.trigger)}"
                     + (f", where `{r.where}`" if r.where else "") + (" (disabled now)" if not r.enabled else ""))
        if r.description:
            lines.append(f"          {r.description}")
    else:
        lines.append(f"Rule:     {alert.rule} (not among the rules loaded now)")
    if ev is None:
        lines.append("Fact:     (not readable; see the JSON below)")
    else:
        lines.append(f"Fact:     {fact_words(ev)}")
        quote = getattr(ev, "quote", "")
        if quote:
            lines.append(f'Quote:    "{quote}"')
        article = getattr(ev, "article", None)
        if article is not None:
            lines.append(f"Article:  {_source_words(article)}"
                         + (f", published {_ts(article.published)}" if article.published else ""))
    # Why: the engine's own words are in the default message; recompute them when a template hid them.
    fired: Fired | None = None
    if cr is not None and ev is not None and not isinstance(ev, FeedEvent):
        try:
            fired = cr.checker(ev, effective_status(ev))
        except Exception:
            fired = None
    stated = _WHY.search(alert.message or "")
    if stated:
        lines.append(f"Why:      {stated.group(1)}")
    elif fired is not None and fired.reason:
        lines.append(f"Why:      {fired.reason}  (recomputed with the rule as it is now)")
    else:
        lines.append("Why:      not in the message (a custom template), and the rule cannot tell now")
    if isinstance(ev, FigureEvent):
        if fired is not None:
            base, label = fired.baseline, fired.baseline_label
        else:
            base, label = _default_baseline(ev)
        rows = baseline_lines(base, label or "no baseline", ev.unit)
        lines.append(f"Baseline: {rows[0]}")
        lines.extend(rows[1:])
        others = [(name, getattr(ev, attr)) for name, attr in (("previous period", "previous"),
                  ("same period last year", "same_period_last_year"), ("value before the revision", "revised_from"))]
        extra = [f"{name}: {point_words(p, ev.unit)}" for name, p in others if p is not None and p is not base]
        if extra:
            lines.append("Also known: " + "; ".join(extra))
    elif ev is not None:
        lines.append(f"Baseline: none ({ev.type} facts have no baseline)")
    lines += ["", "Message as sent:"] + [f"  | {line}" for line in (alert.message or "").splitlines()]
    lines += ["", "Deliveries:"]
    for d in deliveries:
        sent = f", sent {_ts(d.sent_at)}" if d.sent_at else ""
        lines.append(f"  {d.channel}: {d.status}, {d.attempts} attempt(s){sent}"
                     + (f", last error: {d.last_error}" if d.last_error else ""))
    if not deliveries:
        lines.append("  (no channel)")
    lines += ["", "Fact (JSON):", json.dumps(fact, ensure_ascii=False, indent=2, default=str)]
    return lines


# --------------------------------------------------------------------------- rules why


def _trigger_words(trigger: Any) -> str:
    params = {k: v for k, v in trigger.model_dump(mode="json").items() if k != "type" and v not in (None, [], {})}
    return trigger.type + (f" {params}" if params else "")


def _match_failures(cr: CompiledRule, ev: Any) -> list[str]:
    paths = _MATCH_PATHS.get(cr.rule.kind, {})
    out = []
    for name in type(cr.rule.match).model_fields:
        wanted = getattr(cr.rule.match, name)
        if wanted is None or name not in paths:
            continue
        value = resolve(ev, paths[name])
        if value is None or str(value).casefold() not in {w.casefold() for w in wanted}:
            out.append(f"{name} is {value!r}, the rule wants {' or '.join(repr(w) for w in wanted)}")
    return out


def _status_words(cr: CompiledRule, ev: Any, status: str) -> str:
    if status == "source":
        return ("a repeated report of a fact already known (status source): only rules with `confirm` "
                "look at those")
    wanted = " or ".join(sorted(cr.statuses)) or "nothing"
    return f"trigger {cr.rule.trigger.type} looks only at {wanted} {ev.type}s; this one is {status}"


def _trigger_not(cr: CompiledRule, ev: Any, status: str) -> str:
    """Why the trigger did not fire, in words."""
    t = cr.rule.trigger
    if t.type == "new_period":
        if status != "new":
            return f"not a new value (status {status})"
        if not ev.is_latest:
            return "a later period of this series is already stored"
        prev = ev.previous
        return f"{period_words(ev.period)} is not later than the baseline's {period_words(prev.period) if prev else '?'}"
    if t.type == "revision":
        return "not a revision" if status != "revision" else "the revised value equals the old one"
    if t.type == "change":
        label = "previous period" if t.compare == "previous" else "same period last year"
        base = ev.previous if t.compare == "previous" else ev.same_period_last_year
        if base is None or base.value is None:
            return f"no baseline to compare with ({label})"
        if ev.value is None:
            return "the figure has no level, only a rate"
        pct = pct_change(ev.value, base.value)
        diff = ev.value - base.value
        beyond = ((t.pct_above is not None and pct is not None and pct > t.pct_above)
                  or (t.pct_below is not None and pct is not None and pct < -t.pct_below)
                  or (t.abs_above is not None and diff > t.abs_above) or (t.abs_below is not None and diff < -t.abs_below))
        if beyond:  # the move is large enough, so the checker found the two not comparable
            return (f"the baseline {point_words(base, ev.unit)} is not comparable (a year-to-date total "
                    "across a year boundary, or another unit)")
        limits = ", ".join(f"{k} {v:g}" for k, v in (("pct_above", t.pct_above), ("pct_below", t.pct_below),
                           ("abs_above", t.abs_above), ("abs_below", t.abs_below)) if v is not None)
        moved = change_words(pct, t.compare) if pct is not None else f"changed by {amount_words(ev.value - base.value, ev.unit)}"
        return (f"{moved or 'unchanged'} ({point_words(base, ev.unit)} -> {amount_words(ev.value, ev.unit)}): "
                f"within the limits ({limits})")
    if t.type == "threshold":
        value = getattr(ev, t.field, None)
        bounds = " and ".join(f"{sym} {number_words(b)}" for sym, b in ((">=", t.gte), (">", t.gt), ("<=", t.lte), ("<", t.lt))
                              if b is not None)
        if value is None:
            return f"{t.field} has no value (null never fires)"
        return f"{t.field} is {number_words(value)}, not {bounds}"
    if t.type == "record":
        if ev.value is None:
            return "the figure has no level"
        if ev.series_max is None and ev.series_min is None:
            return "no earlier value of the series (the first value is no record)"
        return (f"{amount_words(ev.value, ev.unit)} is within the series range "
                f"({amount_words(ev.series_min, ev.unit)} to {amount_words(ev.series_max, ev.unit)})")
    if t.type == "keyword":
        where = "title and text" if ev.type == "article" else "quote"
        if not keyword_text(ev):
            return f"no text to search ({where} empty)"
        return f"none of the words or patterns occur in the {where}"
    if t.type == "stale":
        return "stale rules are checked on a schedule, not for each fact (see `soe-monitor status`)"
    return "the trigger did not fire"


@dataclass
class Verdict:
    """One rule's answer for one fact."""

    rule: str
    fired: bool
    why: str


def rule_verdict(cr: CompiledRule, ev: Any, fired_reasons: dict[str, str], history: DatabaseHistory, now: datetime) -> Verdict:
    """Whether `cr` fired for `ev` (fired_reasons: the engine's own decisions) and why, or why not."""
    name = cr.name
    if name in fired_reasons:
        return Verdict(name, True, fired_reasons[name])
    rule = cr.rule
    if not rule.enabled:
        return Verdict(name, False, "disabled (enabled: false)")
    status = getattr(ev, "status", "feed") if ev.type != "feed" else "feed"
    failures = _match_failures(cr, ev)
    if failures:
        return Verdict(name, False, "match: " + "; ".join(failures))
    if status not in cr.statuses:
        return Verdict(name, False, _status_words(cr, ev, status))
    eff = effective_status(ev)
    fired = cr.checker(ev, eff)
    if fired is None:
        return Verdict(name, False, f"trigger {rule.trigger.type}: {_trigger_not(cr, ev, eff)}")
    if rule.confirm is not None and not confirm_reached(ev, rule.confirm.sources, rule.confirm.within):
        return Verdict(name, False, f"confirm: needs {rule.confirm.sources} sources"
                       + (" within the window" if rule.confirm.within else "") + f"; this report makes {ev.sources}")
    if cr.where is not None:
        fields = dict(ev.model_dump(mode="json"))
        base = fired.baseline
        fields["baseline"] = base.model_dump(mode="json") if base is not None else None
        fields["has_baseline"] = base is not None
        if not cr.where.test(activation(fields)):
            return Verdict(name, False, f"where `{rule.where}` is false for this fact")
    key = cr.key(ev)
    last = history.last_fired(name, key)
    if rule.trigger.type == "frequency":
        since = now - rule.trigger.window
        count = history.count_matches(name, key, since)
        if count < rule.trigger.count:
            return Verdict(name, False, f"frequency: {count} match(es) within the window, {rule.trigger.count} needed")
        return Verdict(name, False, "frequency: this burst already alerted" + (f" at {_ts(last)}" if last else ""))
    if rule.repeat_after is not None and last is not None and now - as_utc(last) < rule.repeat_after:
        return Verdict(name, False, f"repeat_after: the rule already alerted for key {key!r} at {_ts(last)}")
    if ev.type == "article" and status == "updated" and last is not None:
        return Verdict(name, False, "the article already alerted before it was updated")
    return Verdict(name, False, f"everything held ({fired.reason}), but the rule failed on this fact (see the log)")


def find_article(session: Session, ref: str) -> Article | None:
    """A stored article by id, link or uid."""
    ref = ref.strip()
    if ref.isdigit():
        found = session.get(Article, int(ref))
        if found is not None:
            return found
    return session.exec(select(Article).where((Article.link == ref) | (Article.uid == ref)).order_by(Article.id)).first()


def explain_article(rt: Runtime, ref: str) -> list[str] | None:
    """`rules why`: for each fact of the article and each rule in force, fired or not, and why.
    None when no such article is stored."""
    engine: RuleEngine = rt.rulebook.engine
    ruleset = engine.ruleset
    with session_scope(rt.db) as session:
        target = find_article(session, ref)
        if target is None:
            return None
        target_args = stored_article_args(session, target)
        earlier = [stored_article_args(session, a) for a in session.exec(
            select(Article).where((Article.first_seen < target.first_seen)
                                  | ((Article.first_seen == target.first_seen) & (Article.id < target.id)))
            .order_by(Article.first_seen, Article.id))]
        real_alerts = list(session.exec(select(Alert).where(Alert.article_id == target.id).order_by(col(Alert.id))))
        statuses = {a.id: [f"{d.channel}={d.status}" for d in session.exec(select(Delivery).where(Delivery.alert_id == a.id))]
                    for a in real_alerts}
    at = target_args["at"]
    lines = [f"article {target.id}: {target.title or '(no title)'}" + (f" <{target.link}>" if target.link else ""),
             f"  feed {target_args['feed']}, published {_ts(target.published)}, first seen {_ts(target.first_seen)}",
             f"  re-extracted with today's extractor and replayed after the {len(earlier)} earlier stored article(s), "
             "against the rules in force now (nothing is sent or stored)"]
    with Replay(rt.config, rt.extractor, engine) as replay:
        for args in earlier:
            replay.article(**args, alerting=True)  # baselines and rule history as today's rules would have them
        with session_scope(replay.db) as session:
            stored = replay.ingest(session, **target_args)
            if stored is None:
                lines.append("\nThe same text was stored earlier: nothing new for the rules (no fact, no alert).")
                events = []
            else:
                events = stored[1]
            history = DatabaseHistory(session)
            for ev in events:
                kind_rules = [cr for cr in ruleset.rules if cr.rule.kind == ev.type]
                # The engine's decisions are the truth (same history as the daemon's: one per article);
                # the verdicts explain them.
                fired = {d.rule: d.reason for d in engine.evaluate(ev, history, at)}
                lines.append("")
                lines.append(fact_words(ev))
                if isinstance(ev, FigureEvent):
                    lines.append(f'  quote: "{ev.quote}"')
                    base = ev.revised_from if ev.status == "revision" else ev.previous
                    label = "value before the revision" if ev.status == "revision" else "previous period"
                    lines.append(f"  baseline ({label}): " + (point_words(base, ev.unit) + f", source {_source_words(base.article)}"
                                                              if base else "none (first value of the series)"))
                    if ev.same_period_last_year is not None:
                        lines.append(f"  same period last year: {point_words(ev.same_period_last_year, ev.unit)}")
                elif isinstance(ev, ContractEvent):
                    lines.append(f'  quote: "{ev.quote}"')
                if not kind_rules:
                    lines.append(f"  no rule looks at {ev.type}s")
                for cr in kind_rules:
                    v = rule_verdict(cr, ev, fired, history, at)
                    lines.append(f"  {'FIRES' if v.fired else 'no':<6} {v.rule}: {v.why}")
    others = sorted({cr.rule.kind for cr in ruleset.rules} - {"figure", "contract", "article"})
    for kind in others:
        names = ", ".join(cr.name for cr in ruleset.rules if cr.rule.kind == kind)
        lines.append(f"\n{kind} rules ({names}) look at feed health, not at articles")
    lines.append("")
    if real_alerts:
        lines.append("Alerts this article really raised:")
        for a in real_alerts:
            lines.append(f"  #{a.id} {a.rule}: {a.subject}  [{', '.join(statuses[a.id]) or 'no channel'}]")
    else:
        lines.append("This article really raised no alert (a feed's first poll records a baseline silently, "
                     "and the rules may have been different then).")
    return lines
