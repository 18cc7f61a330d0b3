"""The loader: valid files load, every problem is reported as file:line:col in one pass."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from rules.loader import fingerprint, load_rules, loads

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^(?P<file>.+):(?P<line>\d+):(?P<col>\d+): rule \"(?P<rule>[^\"]+)\": (?P<field>[^:]+): (?P<msg>.+)$")

GOOD = """\
rules:
  - name: exports-new
    kind: figure
    match: {metric: exports, entity: SOEs}
    trigger: new_period
    notify: [console]
"""


def parse(err) -> dict:
    m = LINE.match(str(err))
    assert m, str(err)
    return m.groupdict()


def test_shipped_rules_load_without_errors():
    metrics = {"operating_revenue", "total_profits", "net_profit", "total_assets", "exports"}
    entities = {"SOEs", "central SOEs", "local SOEs", "CRRC", "Sinopec"}
    result = load_rules([ROOT / "alert-rules"], {"console"}, metrics, entities)
    assert [str(e) for e in result.errors] == []
    assert [str(w) for w in result.warnings] == []
    assert result.ruleset is not None and len(result.ruleset.rules) >= 5
    names = {r.name for r in result.ruleset.rules}
    assert {"soe-headline-new-period", "soe-headline-revision", "soe-headline-drop", "contracts-over-1bn-usd"} <= names
    assert {p.name for p in result.files} == {"soe-headline.yaml", "contracts.yaml"}


def test_good_file_loads(load):
    result = load(GOOD)
    assert result.ok and result.ruleset is not None
    rule = result.ruleset.rules[0].rule
    assert rule.trigger.type == "new_period" and rule.notify == ["console"]


def test_three_errors_give_three_positioned_lines(load, write):
    text = """\
rules:
  - name: one
    kind: figure
    trigger: new_period
    notify: [consle]
  - name: two
    kind: figur
    trigger: any
    notify: console
  - name: three
    kind: contract
    trigger: {type: threshold, field: usd_value, gte: 1e9}
    notify: console
    severity: urgent
"""
    result = load(text)
    assert result.ruleset is None
    lines = [str(e) for e in result.errors]
    assert len(lines) == 3, lines
    got = [parse(e) for e in result.errors]
    assert [(g["line"], g["col"], g["rule"], g["field"]) for g in got] == [
        ("5", "14", "one", "notify[0]"),
        ("7", "11", "two", "kind"),
        ("14", "15", "three", "severity"),
    ]
    assert all(g["file"].endswith("rules.yaml") for g in got)
    assert 'did you mean "console"' in got[0]["msg"]


def test_unknown_key_did_you_mean(load):
    result = load(GOOD.replace("    notify: [console]\n", "    notfy: [console]\n    notify: [console]\n"))
    (err,) = result.errors
    assert parse(err)["field"] == "notfy"
    assert 'unknown key \'notfy\' (did you mean "notify"?)' in str(err)
    assert (err.line, err.col) == (6, 5)


def test_unknown_trigger_parameter_did_you_mean(load):
    result = load(GOOD.replace("trigger: new_period", "trigger: {type: change, pct_blow: 5}"))
    (err,) = result.errors
    assert parse(err)["field"] == "trigger.pct_blow"
    assert 'did you mean "pct_below"' in err.message


def test_trigger_parameter_at_rule_level_is_explained(load):
    result = load(GOOD.replace("trigger: new_period", "trigger: change\n    pct_below: 5"))
    messages = " | ".join(str(e) for e in result.errors)
    assert "trigger parameters go under `trigger:`" in messages


def test_unknown_trigger_type_did_you_mean(load):
    result = load(GOOD.replace("trigger: new_period", "trigger: new_perod"))
    (err,) = result.errors
    assert 'did you mean "new_period"' in err.message and (err.line, err.col) == (5, 14)
    result = load(GOOD.replace("trigger: new_period", "trigger: {type: chnage, pct_below: 5}"))
    (err,) = result.errors
    assert 'did you mean "change"' in err.message and parse(err)["field"] == "trigger.type"


def test_trigger_that_does_not_fit_the_kind(load):
    result = load(GOOD.replace("kind: figure", "kind: contract").replace("match: {metric: exports, entity: SOEs}", "match: {company: CRRC}"))
    (err,) = result.errors
    assert "does not apply to contract rules" in err.message


def test_match_key_that_does_not_fit_the_kind(load):
    result = load(GOOD.replace("match: {metric: exports, entity: SOEs}", "match: {metric: exports, company: CRRC}"))
    (err,) = result.errors
    assert parse(err)["field"] == "match.company" and '"entity"' in err.message


def test_duplicate_names_across_files(write, tmp_path):
    write(GOOD, "a.yaml")
    write(GOOD.replace("metric: exports", "metric: imports"), "b.yaml")
    result = load_rules([tmp_path], {"console"})
    (err,) = result.errors
    assert err.file.endswith("b.yaml") and (err.line, err.col) == (2, 11)
    assert "duplicate rule name" in err.message and "a.yaml:2" in err.message
    assert result.ruleset is None


def test_all_errors_of_all_files_in_one_pass(write, tmp_path):
    write(GOOD.replace("kind: figure", "kind: fig"), "a.yaml")
    write("rules:\n  - name: x\n    kind: figure\n    trigger: [\n", "b.yaml")
    write(GOOD.replace("exports-new", "other").replace("console", "pager"), "c.yaml")
    result = load_rules([tmp_path], {"console"})
    assert sorted(Path(e.file).name for e in result.errors) == ["a.yaml", "b.yaml", "c.yaml"]


def test_bad_yaml_syntax_reports_its_line(load):
    text = "rules:\n  - name: x\n    kind: figure\n    trigger: {type: change, pct_below: 5\n    notify: console\n"
    result = load(text)
    (err,) = result.errors
    assert err.line in (4, 5) and "YAML" in err.message
    assert re.match(r"^.+rules\.yaml:\d+:\d+: YAML syntax error", str(err))
    result = load("rules:\n  - name: x\n     kind: figure\n")
    (err,) = result.errors
    assert err.line == 3


def test_duplicate_yaml_keys_are_errors(load):
    result = load(GOOD.replace("    kind: figure\n", "    kind: figure\n    kind: contract\n"))
    errs = [e for e in result.errors if "duplicate key" in e.message]
    assert len(errs) == 1 and errs[0].line == 4 and errs[0].rule == "exports-new"


def test_template_with_undefined_name_fails_at_load(load):
    result = load(GOOD + "    message: 'Exports: {{ valu | amount(unit) }}'\n")
    (err,) = result.errors
    assert parse(err)["field"] == "message" and "'valu' is undefined" in err.message and err.line == 7
    result = load(GOOD + "    subject: '{{ baseline.vlaue }}'\n")
    assert len(result.errors) == 1 and "vlaue" in result.errors[0].message
    result = load(GOOD + "    subject: '{{ value '\n")
    assert len(result.errors) == 1 and "template line 1" in result.errors[0].message


def test_template_names_that_exist_load(load):
    body = GOOD + (
        "    subject: '{{ entity }} {{ metric | metric }}: {{ value | amount(unit) }}'\n"
        "    message: '{{ baseline.value | amount(baseline.unit) }} {{ article.url }} {{ rule.name }} {{ reason }} {{ period.label }}'\n"
    )
    assert load(body).ok


def test_feed_template_cannot_use_article(load):
    text = "rules:\n  - name: f\n    kind: feed\n    trigger: {type: stale, window: 2d}\n    notify: console\n    message: '{{ article.url }}'\n"
    result = load(text)
    assert len(result.errors) == 1 and result.errors[0].field == "message"


def test_cel_errors_at_load(load):
    bad_syntax = load(GOOD + "    where: 'value >'\n")
    (err,) = bad_syntax.errors
    assert parse(err)["field"] == "where" and "does not compile" in err.message
    unknown = load(GOOD + "    where: 'valeu > 1.0'\n")
    (err,) = unknown.errors
    assert "unknown name" in err.message and "valeu" in err.message
    not_bool = load(GOOD + "    where: 'value + 1.0'\n")
    (err,) = not_bool.errors
    assert "true or false" in err.message
    assert load(GOOD + "    where: 'value > 1e9 && entity in [\"SOEs\", \"central SOEs\"]'\n").ok


def test_unknown_metric_and_entity_are_warnings(load):
    result = load(GOOD.replace("metric: exports", "metric: exprots"), known_metrics={"exports"}, known_entities={"SOEs"})
    assert result.ok and result.ruleset is not None
    (warn,) = result.warnings
    assert warn.level == "warning" and 'did you mean "exports"' in warn.message and warn.field == "match.metric[0]" or warn.field == "match.metric"
    result = load(GOOD.replace("entity: SOEs", "entity: [SOEs, centrl SOEs]"), known_metrics={"exports"}, known_entities={"SOEs", "central SOEs"})
    (warn,) = result.warnings
    assert "centrl SOEs" in warn.message and warn.col == 45


def test_metric_matching_vocabulary_is_case_insensitive(load):
    result = load(GOOD.replace("metric: exports", "metric: EXPORTS"), known_metrics={"exports"}, known_entities={"soes"})
    assert result.ok and result.warnings == []


def test_yaml_12_scalars(load):
    text = """\
rules:
  - name: words
    kind: article
    trigger: {type: keyword, words: [yes, no, on, "12:30"]}
    notify: console
  - name: big
    kind: contract
    trigger: {type: threshold, field: usd_value, gte: 1e9}
    notify: console
"""
    result = load(text)
    assert result.ok, [str(e) for e in result.errors]
    words, big = (r.rule for r in result.ruleset.rules)
    assert words.trigger.words == ["yes", "no", "on", "12:30"]
    assert big.trigger.gte == 1e9


@pytest.mark.parametrize(
    "raw, ok",
    [("24h", timedelta(hours=24)), ("1h30m", timedelta(minutes=90)), ("7d", timedelta(days=7)), ("2w", timedelta(weeks=2)), ("90s", timedelta(seconds=90))],
)
def test_durations(load, raw, ok):
    result = load(GOOD + f"    repeat_after: {raw}\n")
    assert result.ok and result.ruleset.rules[0].rule.repeat_after == ok


@pytest.mark.parametrize("raw", ["24", "24 hours", "-1h", "0s", "h", "[1h]"])
def test_bad_durations(load, raw):
    result = load(GOOD + f"    repeat_after: {raw}\n")
    (err,) = result.errors
    assert err.field == "repeat_after" and err.line == 7


def test_file_level_problems(load):
    assert load("").ok and "no rules" in load("").warnings[0].message
    (err,) = load("- a\n- b\n").errors
    assert "expected a mapping" in err.message
    (err, *_) = load(GOOD.replace("rules:", "rule:")).errors
    assert 'did you mean "rules"' in err.message
    (err,) = load("rules: 5\n").errors
    assert "must be a list" in err.message
    (err,) = load("rules:\n  - just a string\n").errors
    assert err.rule == "rules[0]" and "must be a mapping" in err.message
    (err,) = load("rules:\n  - kind: figure\n    trigger: any\n    notify: console\n").errors
    assert err.field == "name" and "missing" in err.message


def test_missing_path_and_folders(tmp_path, write):
    result = load_rules([tmp_path / "nope"], {"console"})
    assert result.errors and "no such file" in str(result.errors[0])
    write(GOOD, "a.yml")
    write("this: is: not: yaml", "exports.test.yaml")  # rule tests are skipped
    write("not rules either", "b_test.yaml")
    write("ignored", "notes.txt")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "deep.yaml").write_text("garbage: [", encoding="utf-8")  # not recursive
    result = load_rules([tmp_path], {"console"})
    assert result.ok and [p.name for p in result.files] == ["a.yml"]


def test_fingerprint_tracks_changes(tmp_path, write):
    path = write(GOOD, "a.yaml")
    first = fingerprint([tmp_path])
    assert fingerprint([tmp_path]) == first
    path.write_text(GOOD + "\n# edited with more text\n", encoding="utf-8")
    second = fingerprint([tmp_path])
    assert second != first
    write(GOOD, "b.yaml")
    assert fingerprint([tmp_path]) != second
    write("x", "b.test.yaml")  # rule tests do not count
    third = fingerprint([tmp_path])
    assert fingerprint([tmp_path]) == third


def test_loads_helper_names_the_file():
    result = loads(GOOD.replace("console", "pager"), {"console"}, filename="inline.yaml")
    assert str(result.errors[0]).startswith("inline.yaml:6:14:")


def test_non_utf8_file(write, tmp_path):
    path = tmp_path / "x.yaml"
    path.write_bytes(b"rules:\n  - name: \xff\n")
    result = load_rules([path], {"console"})
    (err,) = result.errors
    assert (err.line, err.col) == (2, 11)


def test_regex_and_keyword_validation(load):
    text = "rules:\n  - name: k\n    kind: article\n    trigger: {type: keyword, regexes: ['(unclosed']}\n    notify: console\n"
    (err,) = load(text).errors
    assert "does not compile" in err.message and err.field.startswith("trigger")
    text = "rules:\n  - name: k\n    kind: article\n    trigger: keyword\n    notify: console\n"
    (err,) = load(text).errors
    assert "words" in err.message


def test_threshold_and_key_fields_are_checked(load):
    text = """\
rules:
  - name: t
    kind: contract
    trigger: {type: threshold, field: usd_valeu, gte: 1e9}
    key: [company, projet]
    notify: console
"""
    errs = load(text).errors
    assert {e.field for e in errs} == {"trigger.field", "key[1]"}
    assert any('did you mean "usd_value"' in e.message for e in errs)
    assert any('did you mean "project"' in e.message for e in errs)


def test_template_syntax_error_in_a_block_points_at_its_line(load):
    body = GOOD + "    message: |\n      line one {{ value | amount(unit) }}\n      line two {% if %}\n      line three\n"
    (err,) = load(body).errors
    assert (err.line, err.col) == (9, 7) and err.field == "message" and "template line 2" in err.message


def test_labels_take_scalars_as_text(load):
    result = load(GOOD + "    labels: {priority: 1, paging: true, team: macro}\n")
    assert result.ok and result.ruleset.rules[0].rule.labels == {"priority": "1", "paging": "true", "team": "macro"}
    (err,) = load(GOOD + "    labels: {team: [a, b]}\n").errors
    assert err.field == "labels.team"
