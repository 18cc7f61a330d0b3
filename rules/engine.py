"""The rule engine: an event in, the decisions of the rules it fires out.

Per event the engine looks only at rules of the event's kind (figures: also indexed by metric),
runs each rule's precomputed matcher, the status gate, the trigger, `confirm`, `where`, and then
the stateful parts (frequency, repeat_after, stale) through a RuleHistory. It needs no database.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Any, Iterable

from rules.events import Decision, Event, FeedEvent, FigureEvent
from rules.expressions import activation
from rules.format import duration_words, when_words
from rules.history import RuleHistory
from rules.ruleset import CompiledRule, Ruleset, event_identity
from rules.schema import FrequencyTrigger, Rule, StaleTrigger
from rules.templates import AlertContext, TemplateProblem, default_message, default_subject, one_line, render
from rules.triggers import Fired, confirm_reached, effective_status, utc

log = logging.getLogger(__name__)

RECOVERED_SUFFIX = "#recovered"
MAX_DEDUP_KEY = 255


def make_dedup_key(rule: str, key: str, fingerprint: str) -> str:
    """`rule|key|fingerprint`, shortened with a hash when too long for a database column."""
    text = f"{rule}|{key}|{fingerprint}"
    if len(text) <= MAX_DEDUP_KEY:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:24]
    return f"{text[: MAX_DEDUP_KEY - 26]}#{digest}"


class _HistoryFailed(Exception):
    """The history (the database) failed: never swallowed, unlike a failing rule."""


class _GuardedHistory:
    """Marks exceptions raised by the history, so the engine re-raises them: losing the
    database must fail the transaction (and be retried), not silently drop alerts."""

    __slots__ = ("inner",)

    def __init__(self, inner: RuleHistory) -> None:
        self.inner = inner

    def _call(self, name: str, *args: Any) -> Any:
        method = getattr(self.inner, name, None)
        if method is None:  # record_fired is optional
            return None
        try:
            return method(*args)
        except Exception as exc:
            raise _HistoryFailed() from exc

    def last_fired(self, rule: str, key: str) -> datetime | None:
        return self._call("last_fired", rule, key)

    def record_fired(self, rule: str, key: str, at: datetime) -> None:
        self._call("record_fired", rule, key, at)

    def count_matches(self, rule: str, key: str, since: datetime) -> int:
        return self._call("count_matches", rule, key, since)

    def record_match(self, rule: str, key: str, at: datetime) -> None:
        self._call("record_match", rule, key, at)


class _EventView:
    """Per-event lazy values shared by all rules (the JSON dump is the costly part)."""

    __slots__ = ("event", "_json")

    def __init__(self, event: Any) -> None:
        self.event = event
        self._json: dict[str, Any] | None = None

    def json(self) -> dict[str, Any]:
        if self._json is None:
            self._json = self.event.model_dump(mode="json")
        return self._json


class RuleEngine:
    """Evaluates events against a ruleset. Build one per ruleset (cheap); reuse it for every event."""

    def __init__(self, ruleset: Ruleset) -> None:
        self.ruleset = ruleset
        active = [r for r in ruleset.rules if r.rule.enabled]
        self._by_kind: dict[str, list[CompiledRule]] = {k: [] for k in ("figure", "contract", "article", "feed")}
        for r in active:
            self._by_kind[r.rule.kind].append(r)
        # Figures are by far the most numerous events: index their rules by metric.
        self._figure_any_metric = [r for r in self._by_kind["figure"] if r.rule.match.metric is None]
        self._figure_by_metric: dict[str, list[CompiledRule]] = {}
        for r in self._by_kind["figure"]:
            for m in r.rule.match.metric or ():
                self._figure_by_metric.setdefault(m.casefold(), []).append(r)
        self._figure_cache: dict[str, tuple[CompiledRule, ...]] = {}
        self._stale = [r for r in active if isinstance(r.rule.trigger, StaleTrigger)]
        #: How many (rule, event) pairs were looked at: for benchmarks.
        self.considered = 0

    # ------------------------------------------------------------------ public

    def stale_rules(self) -> list[Rule]:
        """The enabled `stale` rules (the daemon needs them to know what to check)."""
        return [r.rule for r in self._stale]

    def candidates(self, event: Event) -> tuple[CompiledRule, ...] | list[CompiledRule]:
        """The rules that could fire for this event, in rule order."""
        if isinstance(event, FigureEvent):
            metric = event.metric.casefold()
            cached = self._figure_cache.get(metric)
            if cached is None:
                merged = self._figure_by_metric.get(metric, []) + self._figure_any_metric
                cached = tuple(sorted(set(merged), key=lambda r: r.order))
                self._figure_cache[metric] = cached
            return cached
        return self._by_kind.get(getattr(event, "type", ""), [])

    def evaluate(self, event: Event, history: RuleHistory, now: datetime) -> list[Decision]:
        """The decisions of every rule this event fires, in rule order.

        Events with status "source" (a repeated report) reach only `confirm` rules, and fire
        them only when they complete the count of sources.
        """
        now = utc(now)
        view = _EventView(event)
        guarded = _GuardedHistory(history)
        status = getattr(event, "status", "feed") if event.type != "feed" else "feed"
        decisions: list[Decision] = []
        rules = self.candidates(event)
        self.considered += len(rules)
        for cr in rules:
            if status not in cr.statuses or not cr.matcher(event):
                continue
            try:
                decision = self._evaluate_rule(cr, event, view, status, guarded, now)
            except _HistoryFailed as exc:
                raise exc.__cause__ from None  # type: ignore[misc]
            except Exception:  # one broken rule must not hide the others' alerts
                log.exception("rule %s failed on %s", cr.name, getattr(event, "type", "?"))
                continue
            if decision is not None:
                decisions.append(decision)
        return decisions

    def check_stale(self, events: Iterable[FeedEvent | FigureEvent], history: RuleHistory, now: datetime) -> list[Decision]:
        """Run only the stale rules; the daemon calls this periodically.

        Pass every feed's current FeedEvent, and for series staleness the latest FigureEvent of
        each series (its `at` is when the series last had an observation). A silent feed or
        series alerts once per silence; when it speaks again a single "recovered" decision follows.
        """
        now = utc(now)
        guarded = _GuardedHistory(history)
        decisions: list[Decision] = []
        for event in events:
            view = _EventView(event)
            for cr in self._stale:
                if cr.rule.kind != event.type or not cr.matcher(event):
                    continue
                try:
                    decision = self._stale_rule(cr, event, view, guarded, now)
                except _HistoryFailed as exc:
                    raise exc.__cause__ from None  # type: ignore[misc]
                except Exception:
                    log.exception("stale rule %s failed", cr.name)
                    continue
                if decision is not None:
                    decisions.append(decision)
        return decisions

    # ------------------------------------------------------------------ one rule

    def _evaluate_rule(self, cr: CompiledRule, event: Any, view: _EventView, status: str, history: RuleHistory, now: datetime) -> Decision | None:
        rule = cr.rule
        trigger = rule.trigger
        if isinstance(trigger, StaleTrigger):
            return self._stale_rule(cr, event, view, history, now)
        eff = effective_status(event)
        fired = cr.checker(event, eff)
        if fired is None:
            return None
        fingerprint = _fingerprint(event, eff)
        if rule.confirm is not None:
            if not confirm_reached(event, rule.confirm.sources, rule.confirm.within):
                return None
            within = f" within {duration_words(rule.confirm.within.total_seconds())}" if rule.confirm.within else ""
            fired = Fired(f"{fired.reason}; confirmed by {rule.confirm.sources} sources{within}", fired.baseline, fired.baseline_label)
            fingerprint += f"|confirmed:{rule.confirm.sources}"
        if cr.where is not None and not cr.where.test(self._activation(view, fired)):
            return None
        key = cr.key(event)
        if isinstance(trigger, FrequencyTrigger):
            at = utc(getattr(event, "at", now))
            history.record_match(rule.name, key, at)
            since = now - trigger.window
            count = history.count_matches(rule.name, key, since)
            if count < trigger.count:
                return None
            last = history.last_fired(rule.name, key)
            if last is not None and utc(last) > since:
                return None  # this burst already alerted
            fired = Fired(
                f"{count} matching {event.type}s within {duration_words(trigger.window.total_seconds())} (at least {trigger.count})",
                fired.baseline,
                fired.baseline_label,
            )
        if event.type == "article" and status == "updated" and history.last_fired(rule.name, key) is not None:
            return None  # an edited article that already alerted
        if rule.repeat_after is not None:
            last = history.last_fired(rule.name, key)
            if last is not None and now - utc(last) < rule.repeat_after:
                return None
        identity = event_identity(event)
        fp = fingerprint if identity == key else f"{identity}|{fingerprint}"
        decision = self._decision(cr, event, view, key, make_dedup_key(rule.name, key, fp), fired)
        history.record_fired(rule.name, key, now)
        return decision

    def _stale_rule(self, cr: CompiledRule, event: Any, view: _EventView, history: RuleHistory, now: datetime) -> Decision | None:
        trigger: StaleTrigger = cr.rule.trigger  # type: ignore[assignment]
        if event.type == "feed":
            activity = event.last_new_entry if trigger.since == "last_new_entry" else event.last_success
        else:
            activity = event.at
        if activity is None:
            return None  # never active: no silence start to measure from
        activity = utc(activity)
        if cr.where is not None and not cr.where.test(self._activation(view, None)):
            return None
        name, key = cr.rule.name, cr.key(event)
        recovered_key = key + RECOVERED_SUFFIX
        last_stale = history.last_fired(name, key)
        last_recovered = history.last_fired(name, recovered_key)
        known_stale = last_stale is not None and (last_recovered is None or utc(last_recovered) < utc(last_stale))
        what = f"feed {event.feed}" if event.type == "feed" else f"series {event.series_key}"
        if known_stale:
            if activity <= utc(last_stale):  # type: ignore[arg-type]
                return None  # still silent, already alerted for this silence
            fired = Fired(f"{what} active again at {when_words(activity)} after a silence")
            decision = self._decision(
                cr, event, view, recovered_key, make_dedup_key(name, key, f"recovered:{activity.isoformat()}"), fired, state="recovered", since=activity
            )
            history.record_fired(name, recovered_key, now)
            return decision
        silent = now - activity
        if silent < trigger.window:
            return None
        if last_stale is not None and utc(last_stale) >= activity:
            return None  # this silence already alerted (and recovered in between is ruled out above)
        fired = Fired(f"{what} silent for {duration_words(silent.total_seconds())} (since {when_words(activity)}; limit {duration_words(trigger.window.total_seconds())})")
        decision = self._decision(cr, event, view, key, make_dedup_key(name, key, f"stale:{activity.isoformat()}"), fired, state="stale", since=activity)
        history.record_fired(name, key, now)
        return decision

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _activation(view: _EventView, fired: Fired | None) -> dict[str, Any]:
        fields = dict(view.json())
        baseline = fired.baseline if fired is not None else getattr(view.event, "previous", None)
        fields["baseline"] = baseline.model_dump(mode="json") if baseline is not None else None
        fields["has_baseline"] = baseline is not None  # cel-python cannot compare a map with null
        return activation(fields)

    def _decision(
        self,
        cr: CompiledRule,
        event: Any,
        view: _EventView,
        key: str,
        dedup_key: str,
        fired: Fired,
        state: str | None = None,
        since: datetime | None = None,
    ) -> Decision:
        rule = cr.rule
        ctx = AlertContext(event, rule, fired.reason, key, fired.baseline, fired.baseline_label, state, since)
        subject, message = default_subject(ctx), None
        problems: list[str] = []
        if cr.subject is not None:
            try:
                subject = one_line(render(cr.subject, ctx)) or subject
            except TemplateProblem as exc:
                problems.append(f"subject template failed: {exc}")
        if cr.message is not None:
            try:
                message = render(cr.message, ctx)
            except TemplateProblem as exc:
                problems.append(f"message template failed: {exc}")
        if not message or not message.strip():
            message = default_message(ctx)  # never send a blank alert
        if problems:
            message += "\n(" + "; ".join(problems) + ": the default wording was used)"
        labels = dict(rule.labels)
        if state is not None:
            labels["state"] = state
        severity = "info" if state == "recovered" else rule.severity
        return Decision(
            rule=rule.name,
            key=key,
            dedup_key=dedup_key,
            severity=severity,
            channels=list(rule.notify),
            subject=subject,
            message=message,
            labels=labels,
            fact=event.model_dump(mode="json"),  # its own copy: callers may store or edit it
            reason=fired.reason,
        )


def _fingerprint(event: Any, status: str) -> str:
    """What distinguishes this decision within its key: never the time of evaluation."""
    if event.type == "figure":
        return "new" if status == "new" else f"rev:{event.value!r}"
    if event.type == "feed":
        # a threshold on a feed fires once per error streak (identified by its last success)
        return f"streak:{event.last_success.isoformat() if event.last_success else 'never'}"
    if event.type == "article":
        return "article"
    return "new"
