"""`soe-monitor rules test`: YAML files that feed articles or facts, in order, to the rules and
expect alerts. Runs on the daemon's own code path (monitor.replay) with a frozen clock.

A test file (`*.test.yaml`; the rule loader skips these):

    rules: [../soe-headline.yaml]         # rule files/folders relative to this file (default: config's)
    tests:
      - name: a new export total alerts with its baseline
        steps:
          - article: {title: "...", published: 2024-11-20, text: "..."}
            expect: []
          - at: 2024-12-20T09:00:00        # the frozen clock (default: the article's publication date)
            article: {title: "...", published: 2024-12-20, url: "https://...", text: "..."}
            expect:
              - rule: soe-exports-new-total
                contains: ["1.79 trillion yuan", "1.61 trillion yuan"]
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime, time, timezone
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from monitor.config import Config
from monitor.extract import Extractor
from monitor.extract.models import Facts
from monitor.replay import Replay, ReplayAlert
from rules.engine import RuleEngine
from rules.loader import load_rules
from storage.models import as_utc


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TestArticle(_Strict):
    """An article given by a test."""

    title: str = ""
    text: str
    published: date | datetime | None = None
    url: str | None = None
    feed: str = "test"
    lang: str | None = None


class ExpectedAlert(_Strict):
    """An alert a step must raise."""

    rule: str
    contains: list[str] = Field(default_factory=list)


class Step(_Strict):
    """One article, or facts given directly, and the alerts it must raise (exactly these)."""

    at: datetime | None = None
    article: TestArticle | None = None
    facts: Facts | None = None
    published: date | None = None
    expect: list[ExpectedAlert] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_input(self) -> "Step":
        if (self.article is None) == (self.facts is None):
            raise ValueError("give exactly one of `article` or `facts`")
        return self


class RuleTest(_Strict):
    """A named sequence of steps on a fresh database."""

    name: str
    steps: list[Step]


class RuleTestFile(_Strict):
    """A whole test file."""

    rules: list[str] | None = None
    tests: list[RuleTest]


class TestResult(BaseModel):
    """The outcome of one test."""

    file: str
    name: str
    ok: bool
    failures: list[str] = Field(default_factory=list)


TEST_SUFFIXES = (".test.yaml", ".test.yml", "_test.yaml", "_test.yml")  # as rules.loader skips them


def find_test_files(paths: list[Path], explicit: bool = True) -> list[Path]:
    """Test files among paths: folders are searched recursively for *.test.yaml / *_test.yaml.
    Files given `explicit`ly are taken as they are, and one that does not exist is kept, so that
    `run_file` reports it; otherwise (the config's rule paths) only test files are taken, never
    a rule file."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(TEST_SUFFIXES)))
        elif explicit or (path.is_file() and path.name.lower().endswith(TEST_SUFFIXES)):
            out.append(path)
    return out


def _as_datetime(value: date | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return as_utc(value)
    return datetime.combine(value, time(9, 0), tzinfo=timezone.utc)


def _expected_words(exp: ExpectedAlert) -> str:
    return exp.rule + (f" containing {', '.join(repr(c) for c in exp.contains)}" if exp.contains else "")


def _compare(step_no: int, what: str, expected: list[ExpectedAlert], got: list[ReplayAlert]) -> list[str]:
    """One failure (a diff of expected and got alerts) for a step that differs; [] when it matches."""
    problems: list[str] = []
    remaining = list(got)
    for exp in expected:
        match = next((a for a in remaining if a.rule == exp.rule), None)
        if match is None:
            problems.append(f"  - missing:    {_expected_words(exp)}")
            continue
        remaining.remove(match)
        text = f"{match.subject}\n{match.message}"
        lacking = [needle for needle in exp.contains if needle not in text]
        if lacking:
            problems.append(f"  ~ {exp.rule}: the alert lacks {', '.join(repr(n) for n in lacking)}; its text:")
            problems.extend("        | " + line for line in text.splitlines())
    for extra in remaining:
        problems.append(f"  + unexpected: {extra.rule}: {extra.subject}")
    if not problems:
        return []
    head = [f"step {step_no} ({what}):",
            f"  expected: {', '.join(e.rule for e in expected) or '(no alert)'}",
            f"  got:      {', '.join(a.rule for a in got) or '(no alert)'}"]
    return ["\n".join(head + problems)]


def _run_test(test: RuleTest, config: Config, extractor: Extractor, engine: RuleEngine) -> list[str]:
    failures: list[str] = []
    with Replay(config, extractor, engine) as replay:
        for i, step in enumerate(test.steps, start=1):
            try:
                if step.article is not None:
                    a = step.article
                    published = _as_datetime(a.published)
                    at = as_utc(step.at) or published or datetime(2000, 1, 1, tzinfo=timezone.utc)
                    what = f"article {a.title or a.url or '(untitled)'!r} at {at:%Y-%m-%d %H:%M} UTC"
                    got = replay.article(title=a.title, text=a.text, published=published, at=at, url=a.url,
                                         feed=a.feed, lang=a.lang)
                else:
                    published = _as_datetime(step.published)
                    at = as_utc(step.at) or published or datetime(2000, 1, 1, tzinfo=timezone.utc)
                    what = f"facts at {at:%Y-%m-%d %H:%M} UTC"
                    got = replay.article(title=f"facts of step {i}", text="", published=published, at=at, facts=step.facts)
            except Exception as exc:  # a broken step fails its test, never the whole run
                failures.append(f"step {i}: could not be run: {type(exc).__name__}: {exc}")
                break
            failures.extend(_compare(i, what, step.expect, got))
    return failures


def _load_file(path: Path) -> RuleTestFile:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return RuleTestFile.model_validate(data)
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from None
    except ValidationError as exc:
        lines = [f"{path}: {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ValueError("\n".join(lines)) from None


def run_file(path: Path, config: Config, extractor: Extractor) -> list[TestResult]:
    """Run every test of one file; a file that cannot be loaded is one failed result."""
    try:
        spec = _load_file(path)
    except ValueError as exc:
        return [TestResult(file=str(path), name="(file)", ok=False, failures=[str(exc)])]
    rule_paths = [str((path.parent / p).resolve()) for p in spec.rules] if spec.rules else config.rules.paths
    loaded = load_rules(rule_paths, set(config.channels) | {"test"}, extractor.known_metrics(), extractor.known_entities())
    if loaded.errors or loaded.ruleset is None:
        return [TestResult(file=str(path), name="(rules)", ok=False, failures=[str(e) for e in loaded.errors])]
    engine = RuleEngine(loaded.ruleset)
    rules = {r.name: r.rule for r in loaded.ruleset.rules}
    results = []
    for test in spec.tests:
        unknown = sorted({e.rule for step in test.steps for e in step.expect if e.rule not in rules})
        disabled = sorted({e.rule for step in test.steps for e in step.expect if e.rule in rules and not rules[e.rule].enabled})
        failures = [f"expects rule {name!r}, which is not among the rules loaded ({', '.join(rules) or 'none'})" for name in unknown]
        failures += [f"expects rule {name!r}, which is disabled (enabled: false): it never fires" for name in disabled]
        failures += _run_test(test, config, extractor, engine)
        results.append(TestResult(file=str(path), name=test.name, ok=not failures, failures=failures))
    return results


def write_junit(results: list[TestResult], target: Path) -> None:
    """Write results as a JUnit XML report for CI systems."""
    suite = ET.Element("testsuite", name="soe-monitor rules", tests=str(len(results)),
                       failures=str(sum(not r.ok for r in results)))
    for r in results:
        case = ET.SubElement(suite, "testcase", classname=r.file, name=r.name)
        if not r.ok:
            ET.SubElement(case, "failure", message=r.failures[0].splitlines()[0]).text = "\n".join(r.failures)
    ET.ElementTree(suite).write(target, encoding="utf-8", xml_declaration=True)
