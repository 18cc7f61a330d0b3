"""The examples in alert-rules/README.md are valid rules."""

from __future__ import annotations

import re
from pathlib import Path

from rules.loader import loads

README = Path(__file__).resolve().parents[2] / "alert-rules" / "README.md"


def test_readme_rule_examples_load():
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    rules = [b for b in blocks if b.lstrip().startswith("- name:")]
    assert len(rules) >= 9
    text = "rules:\n" + "".join("  " + line + "\n" for b in rules for line in b.splitlines())
    result = loads(text, {"console"})
    assert [str(e) for e in result.errors] == []
    triggers = {r.rule.trigger.type for r in result.ruleset.rules}
    assert triggers == {"any", "new_period", "revision", "change", "threshold", "record", "keyword", "frequency", "stale"}


def test_readme_where_and_template_snippets_load():
    text = README.read_text(encoding="utf-8")
    wheres = re.findall(r"^where: (.+)$", text, re.MULTILINE)
    assert len(wheres) >= 3
    base = "rules:\n  - name: r{i}\n    kind: figure\n    trigger: any\n    notify: console\n"
    for i, where in enumerate(wheres):
        result = loads(base.format(i=i) + f"    where: '{where}'\n" if "'" not in where else base.format(i=i) + f'    where: "{where.replace(chr(34), chr(92) + chr(34))}"\n', {"console"})
        assert result.errors == [], (where, [str(e) for e in result.errors])
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL) if b.startswith("subject:"))
    indented = "".join("    " + line + "\n" for line in block.splitlines())
    result = loads(base.format(i=99) + indented, {"console"})
    assert result.errors == [], [str(e) for e in result.errors]
