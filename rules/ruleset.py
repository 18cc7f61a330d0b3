"""A validated rule with everything precomputed for the engine: matcher, key, checker, where,
templates. Built by the loader; the engine only reads it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from jinja2 import Template

from rules.expressions import WhereExpr
from rules.schema import Rule
from rules.triggers import Checker, make_checker, statuses_for

# --------------------------------------------------------------------------- field access


def _period_label(ev: Any) -> str:
    p = ev.period
    if p is None:
        return ""
    if p.label:
        return p.label
    return f"{p.start or ''}..{p.end or ''}"


def resolve(ev: Any, path: str) -> Any:
    """A dotted field of an event (`period.label`), None when any step is missing."""
    value = ev
    for part in path.split("."):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value


#: How a match key reads an event, per kind (period_kind and feed live in nested objects).
_MATCH_GETTERS: dict[str, dict[str, Callable[[Any], Any]]] = {
    "figure": {
        "metric": lambda e: e.metric,
        "entity": lambda e: e.entity,
        "unit": lambda e: e.unit,
        "period_kind": lambda e: e.period.kind if e.period is not None else None,
        "feed": lambda e: e.article.feed,
    },
    "contract": {
        "company": lambda e: e.company,
        "counterparty": lambda e: e.counterparty,
        "unit": lambda e: e.unit,
        "feed": lambda e: e.article.feed,
    },
    "article": {"feed": lambda e: e.article.feed},
    "feed": {"feed": lambda e: e.feed},
}

#: Default alert identity per kind (see DESIGN.md): never the changing value.
_DEFAULT_KEYS: dict[str, Callable[[Any], str]] = {
    "figure": lambda e: f"{e.series_key}|{_period_label(e)}",
    "contract": lambda e: f"{e.company or ''}|{e.counterparty or ''}|{e.project or ''}",
    "article": lambda e: str(e.article.id if e.article.id is not None else e.article.url or e.article.title),
    "feed": lambda e: e.feed,
}


def event_identity(ev: Any) -> str:
    """Which fact an event is about (part of every dedup key, so two facts never collide)."""
    if ev.type == "figure":
        return f"{ev.series_key}|{_period_label(ev)}"
    if ev.type == "contract":
        return ev.contract_key
    return _DEFAULT_KEYS[ev.type](ev)


Matcher = Callable[[Any], bool]


def make_matcher(rule: Rule) -> Matcher:
    """A predicate for the rule's `match` block: every key must hold, lists mean any of."""
    getters = _MATCH_GETTERS[rule.kind]
    tests: list[tuple[Callable[[Any], Any], frozenset[str]]] = []
    for name in type(rule.match).model_fields:
        wanted = getattr(rule.match, name)
        if wanted is not None and name in getters:
            tests.append((getters[name], frozenset(w.casefold() for w in wanted)))
    if not tests:
        return lambda ev: True
    if len(tests) == 1:  # the common shapes get a loop-free predicate
        (g1, a1), = tests
        return lambda ev: (v := g1(ev)) is not None and v.casefold() in a1
    if len(tests) == 2:
        (g1, a1), (g2, a2) = tests
        return lambda ev: (v := g1(ev)) is not None and v.casefold() in a1 and (w := g2(ev)) is not None and w.casefold() in a2

    def match(ev: Any) -> bool:
        for get, allowed in tests:
            value = get(ev)
            if value is None or value.casefold() not in allowed:
                return False
        return True

    return match


def make_key(rule: Rule) -> Callable[[Any], str]:
    """The rule's key function: its `key` fields joined by "|", else the kind's default."""
    if rule.key:
        paths = list(rule.key)
        return lambda ev: "|".join("" if (v := resolve(ev, p)) is None else str(v) for p in paths)
    if rule.trigger.type == "stale" and rule.kind == "figure":
        return lambda ev: ev.series_key  # a silent series, whatever its last period
    return _DEFAULT_KEYS[rule.kind]


@dataclass(eq=False)
class CompiledRule:
    """A rule ready to run."""

    rule: Rule
    order: int
    file: Path | None = None
    line: int = 0
    where: WhereExpr | None = None
    subject: Template | None = None
    message: Template | None = None
    matcher: Matcher = field(init=False)
    key: Callable[[Any], str] = field(init=False)
    checker: Checker = field(init=False)
    statuses: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self.matcher = make_matcher(self.rule)
        self.key = make_key(self.rule)
        self.checker = make_checker(self.rule.trigger)
        statuses = statuses_for(self.rule.kind, self.rule.trigger.type)
        if self.rule.confirm is not None:
            statuses = statuses | {"source"}  # only confirm rules look at repeated reports
        self.statuses = statuses

    @property
    def name(self) -> str:
        """The rule's name."""
        return self.rule.name


@dataclass
class Ruleset:
    """The rules in force, in file order, and the files they came from."""

    rules: list[CompiledRule]
    files: list[Path] = field(default_factory=list)

    def by_name(self) -> dict[str, CompiledRule]:
        """Rules by name."""
        return {r.name: r for r in self.rules}

    def __len__(self) -> int:
        return len(self.rules)
