"""Metric vocabulary: EN and ZH phrases -> canonical snake_case metric names (data/metrics.yaml + user files)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import yaml

from .fx import DATA_DIR
from .matcher import Match, PhraseMatcher, normalize_phrase

_SNAKE = re.compile(r"[^0-9a-z\u3400-\u9fff]+")
_LEAD = re.compile(r"^(?:(?:the|its|their|his|her|our|a|an|total|combined|average|overall|cumulative|accumulated|"
                   r"first-half|full-year|annual|china's|chinese)\s+)+", re.IGNORECASE)


class MetricMention(NamedTuple):
    """A metric phrase in the text, with its canonical name."""

    start: int
    end: int
    text: str
    metric: str


def snake_case(phrase: str) -> str:
    """'State Financial Capital Equity' -> 'state_financial_capital_equity' (CJK kept as is)."""
    return _SNAKE.sub("_", phrase.lower()).strip("_")


class Vocabulary:
    """The metric vocabulary: finds metric phrases and names them canonically."""

    def __init__(self, files: Iterable[Path] = ()) -> None:
        self._phrases: dict[str, str] = {}
        self._ratio: set[str] = set()
        self._balance: set[str] = set()
        self._volume: set[str] = set()
        self.modifiers: set[str] = set()
        for path in [DATA_DIR / "metrics.yaml", *files]:
            self._load(Path(path))
        self._matcher: PhraseMatcher[str] = PhraseMatcher(self._phrases.items())
        self._names: set[str] | None = None

    def _load(self, path: Path) -> None:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for word in data.get("modifiers", []) or []:
            self.modifiers.add(str(word).lower())
        for entry in data.get("metrics", []) or []:
            name = str(entry["name"])
            if entry.get("unit") == "percent":
                self._ratio.add(name)
            if entry.get("balance"):
                self._balance.add(name)
            if entry.get("volume"):
                self._volume.add(name)
            for phrase in [name.replace("_", " "), *(entry.get("phrases") or [])]:
                self._phrases[str(phrase)] = name

    def names(self) -> set[str]:
        """Every canonical metric name."""
        if self._names is None:
            self._names = set(self._phrases.values())
        return set(self._names)

    def is_ratio(self, metric: str) -> bool:
        """True when the metric is a ratio whose level is written as a percentage (资产负债率 64.3%)."""
        return metric in self._ratio

    def is_known(self, metric: str) -> bool:
        """True for a canonical name of the vocabulary (possibly with a modifier: "domestic_crude_output")."""
        names = self._names
        if names is None:
            names = self._names = set(self._phrases.values())
        return metric in names or metric.split("_", 1)[-1] in names

    def is_volume(self, metric: str) -> bool:
        """True for metrics counted in physical units (crude output in barrels), not money."""
        return metric in self._volume

    def is_balance(self, metric: str) -> bool:
        """True for stocks measured at a date (total assets, debt ratio), as opposed to flows over a period."""
        return metric in self._balance

    def find(self, text: str, start: int = 0, end: int | None = None) -> list[MetricMention]:
        """Metric phrases in text[start:end]; a known modifier just before a phrase joins it."""
        out: list[MetricMention] = []
        for m in self._matcher.finditer(text, start, end):
            out.append(self._with_modifier(text, m, start))
        return out

    def _with_modifier(self, text: str, m: Match[str], floor: int) -> MetricMention:
        s = m.start
        # One modifier word directly before the phrase ("domestic crude output") makes a distinct metric.
        j = s - 1
        while j >= floor and text[j] == " ":
            j -= 1
        k = j
        while k >= floor and (text[k].isalpha() and text[k].isascii()):
            k -= 1
        word = text[k + 1:j + 1].lower()
        if word and word in self.modifiers and j < s - 1:
            phrase = text[k + 1:m.end]
            return MetricMention(k + 1, m.end, phrase, self.canonical(phrase))
        return MetricMention(m.start, m.end, m.text, m.payload)

    def canonical(self, phrase: str) -> str:
        """Canonical name of a phrase: exact vocabulary hit, modifier + known phrase, the phrase it contains, or snake_case."""
        phrase = _LEAD.sub("", phrase.strip())
        hit = self._matcher.get(phrase)
        if hit is not None:
            return hit
        words = normalize_phrase(phrase).split(" ")
        if len(words) > 1 and words[0] in self.modifiers:
            rest = self._matcher.get(" ".join(words[1:]))
            if rest is not None:
                return f"{snake_case(words[0])}_{rest}"
            return snake_case(phrase)
        found = list(self._matcher.finditer(phrase))
        if found:
            # The head of a noun phrase comes last ("签订合同合计金额" -> the contracts phrase).
            return max(found, key=lambda m: (m.end - m.start, m.end)).payload
        return snake_case(phrase)
