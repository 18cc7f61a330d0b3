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


def find_test_files(paths: list[Path]) -> list[Path]:
    """Test files among paths (files, or folders searched recursively for *.test.yaml / *_test.yaml)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*.y*ml") if p.name.endswith((".test.yaml", ".test.yml", "_test.yaml"))))
        elif path.exists():
            out.append(path)
    return out


def _as_datetime(value: date | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return as_utc(value)
    return datetime.combine(value, time(9, 0), tzinfo=timezone.utc)


def _compare(step_no: int, expected: list[ExpectedAlert], got: list[ReplayAlert]) -> list[str]:
    failures: list[str] = []
    remaining = list(got)
    for exp in expected:
        match = next((a for a in remaining if a.rule == exp.rule), None)
        if match is None:
            failures.append(f"step {step_no}: expected an alert from rule {exp.rule!r}, got none")
            continue
        remaining.remove(match)
        text = f"{match.subject}\n{match.message}"
        for needle in exp.contains:
            if needle not in text:
                failures.append(f"step {step_no}: rule {exp.rule!r}: message lacks {needle!r}\n--- got ---\n{text}\n-----------")
    for extra in remaining:
        failures.append(f"step {step_no}: unexpected alert from rule {extra.rule!r}: {extra.subject}")
    return failures


def _run_test(test: RuleTest, config: Config, extractor: Extractor, engine: RuleEngine) -> list[str]:
    failures: list[str] = []
    with Replay(config, extractor, engine) as replay:
        for i, step in enumerate(test.steps, start=1):
            if step.article is not None:
                a = step.article
                published = _as_datetime(a.published)
                at = as_utc(step.at) or published or datetime(2000, 1, 1, tzinfo=timezone.utc)
                got = replay.article(title=a.title, text=a.text, published=published, at=at, url=a.url,
                                     feed=a.feed, lang=a.lang)
            else:
                published = _as_datetime(step.published)
                at = as_utc(step.at) or published or datetime(2000, 1, 1, tzinfo=timezone.utc)
                got = replay.article(title=f"facts of step {i}", text="", published=published, at=at, facts=step.facts)
            failures.extend(_compare(i, step.expect, got))
    return failures


def _load_file(path: Path) -> RuleTestFile:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return RuleTestFile.model_validate(data)
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
    results = []
    for test in spec.tests:
        failures = _run_test(test, config, extractor, engine)
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
