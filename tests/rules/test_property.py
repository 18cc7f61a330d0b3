"""Property: whatever a user types into a rule file, the loader answers with errors, never raises."""

from __future__ import annotations

import logging
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.engine import RuleEngine
from rules.history import InMemoryHistory
from rules.loader import load_rules
from rules.samples import SAMPLES

BASE = """\
# a rule file exercising most of the language
rules:
  - name: exports-new
    description: New SOE exports total.
    kind: figure
    match: {metric: [exports, imports], entity: SOEs, period_kind: ytd}
    trigger: new_period
    notify: [console, slack]
    severity: info
    labels: {team: macro}
  - name: exports-drop
    kind: figure
    match:
      metric: exports
      entity: [SOEs, central SOEs]
    trigger:
      type: change
      pct_below: 5
      compare: previous
    repeat_after: 24h
    where: value > 1e9 && has_baseline
    notify: console
    subject: "[{{ rule.severity }}] {{ entity }} {{ metric | metric }}: {{ value | amount(unit) }}"
    message: |
      {{ value | amount(unit) }} in {{ period.label }} ({{ change_pct | pct }})
      vs {{ baseline.value | amount(baseline.unit) }}: {{ reason }}
  - name: big-contracts
    kind: contract
    trigger: {type: threshold, field: usd_value, gte: 1e9}
    confirm: {sources: 2, within: 24h}
    key: [company, counterparty, project]
    notify: [email]
  - name: restructuring
    kind: article
    trigger: {type: keyword, words: [restructuring, 重组], regexes: ['merg(er|ing)']}
    notify: console
  - name: busy
    kind: contract
    trigger: {type: frequency, count: 3, window: 7d}
    key: [company]
    notify: console
  - name: quiet-feed
    kind: feed
    trigger: {type: stale, window: 2d, since: last_success}
    notify: console
  - name: record
    kind: figure
    trigger: {type: record, record: both}
    notify: console
    enabled: true
"""

LINES = BASE.splitlines(keepends=True)

TOKENS = [
    "rules", "name", "kind", "match", "trigger", "type", "notify", "severity", "key", "repeat_after", "confirm",
    "where", "message", "subject", "labels", "enabled", "sources", "within", "pct_below", "pct_above", "abs_above",
    "field", "gte", "lt", "record", "words", "regexes", "count", "window", "since", "compare", "metric", "entity",
    "figure", "contract", "article", "feed", "any", "new_period", "revision", "change", "threshold", "keyword",
    "frequency", "stale", "console", "slack", "pager", "info", "critical", "null", "~", "[]", "{}", "''", "1e9",
    "-1", "0", "24h", "0s", "yes", "no", "true", "2024-01-01", "12:30", "&a", "*a", "!!str", "!!python/object:os.system",
    "{{ valu }}", "{% for %}", "value >", "has(", "'(", "\\", "国资委", "- ", ": ", "|", ">", "#", "%", "@", "`",
    "\t", "\n", "  ", "<<: *a", "{type: change}", "[a, [b, {c: d}]]", "1.5", ".inf", ".nan", "0x1F", "99999999999999999999e999",
]

SNIPPET = st.one_of(st.sampled_from(TOKENS), st.text(max_size=12))


@st.composite
def mutated(draw) -> str:
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 5))):
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "replace", "indent", "truncate", "token"]))
        if not lines:
            lines = [""]
        i = draw(st.integers(0, len(lines) - 1))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "insert":
            line = lines[i]
            k = draw(st.integers(0, len(line)))
            lines[i] = line[:k] + draw(SNIPPET) + line[k:]
        elif op == "replace":
            words = re.split(r"(\W+)", lines[i])
            idx = [n for n, w in enumerate(words) if w and w[0].isalnum()]
            if idx:
                words[draw(st.sampled_from(idx))] = draw(SNIPPET)
                lines[i] = "".join(words)
        elif op == "indent":
            delta = draw(st.sampled_from([-2, -1, 1, 2, 4]))
            lines[i] = (" " * delta + lines[i]) if delta > 0 else lines[i][-delta:]
        elif op == "truncate":
            text = "".join(lines)
            cut = draw(st.integers(0, len(text)))
            lines = text[:cut].splitlines(keepends=True)
        else:
            lines.insert(i, draw(SNIPPET) + ": " + draw(SNIPPET) + "\n")
    return "".join(lines)


POSITIONED = re.compile(r"^.+:\d+:\d+: .+", re.DOTALL)
NOW = datetime(2025, 1, 10, tzinfo=timezone.utc)


def test_base_file_is_valid(tmp_path):
    path = tmp_path / "base.yaml"
    path.write_text(BASE, encoding="utf-8")
    result = load_rules([path], {"console", "slack", "email"})
    assert result.errors == [] and len(result.ruleset.rules) == 7


@settings(max_examples=1000, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=mutated())
def test_mutated_rule_files_never_raise(text):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rules.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass") if _encodable(text) else path.write_bytes(text.encode("utf-8", "replace"))
        result = load_rules([path], {"console", "slack", "email"}, {"exports", "imports"}, {"SOEs", "central SOEs"})
    for err in result.errors + result.warnings:
        line = str(err)
        assert POSITIONED.match(line), line
        assert err.line >= 1 and err.col >= 1
        assert "internal error" not in line, line
    if result.errors:
        assert result.ruleset is None
    else:
        # a file that loads must also run: every rule against a sample of its kind, and the
        # engine must not have swallowed an exception (it logs and skips a failing rule)
        engine = RuleEngine(result.ruleset)
        history = InMemoryHistory()
        failures = _Capture()
        logger = logging.getLogger("rules.engine")
        logger.addHandler(failures)
        try:
            for make in SAMPLES.values():
                engine.evaluate(make(), history, NOW)
            engine.check_stale([SAMPLES["feed"](), SAMPLES["figure"]()], history, NOW)
        finally:
            logger.removeHandler(failures)
        assert failures.records == [], failures.records[0].getMessage()


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False
