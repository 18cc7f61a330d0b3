"""Load rule files: YAML -> validated, compiled rules, or every error as `file:line:col`.

All files are checked in one pass and every problem is reported; a ruleset is returned only when
there is no error at all, so a broken edit never replaces the rules that are running.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Literal

from pydantic import ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from rules.expressions import ExpressionError, WhereExpr, activation
from rules.positions import Position, YamlSyntaxError, duplicate_keys, mapping_get, node_at, parse_yaml
from rules.ruleset import CompiledRule, Ruleset
from rules.samples import sample_event
from rules.schema import (
    FILE_KEYS,
    TRIGGER_MODELS,
    Rule,
    did_you_mean,
    model_at,
    a_kind,
    semantic_errors,
)
from rules.templates import AlertContext, TemplateProblem, compile_template, render

RULE_SUFFIXES = (".yaml", ".yml")
TEST_SUFFIXES = (".test.yaml", ".test.yml", "_test.yaml", "_test.yml")
_TRIGGER_PARAMS = {name for model in TRIGGER_MODELS.values() for name in model.model_fields} - {"type"}


@dataclass(frozen=True)
class RuleError:
    """One problem in a rule file. `str()` gives `file:line:col: rule "name": field: message`."""

    file: str
    line: int
    col: int
    message: str
    rule: str | None = None
    field: str | None = None
    level: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}:" if self.line else f"{self.file}:"
        parts = [where]
        if self.rule is not None:
            parts.append(f'rule "{self.rule}":')
        if self.field:
            parts.append(f"{self.field}:")
        parts.append(self.message)
        return " ".join(parts)


@dataclass
class LoadResult:
    """The outcome of `load_rules`: a ruleset only when `errors` is empty."""

    ruleset: Ruleset | None
    errors: list[RuleError] = field(default_factory=list)
    warnings: list[RuleError] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No errors (warnings allowed)."""
        return not self.errors


# --------------------------------------------------------------------------- files


def is_test_file(path: Path) -> bool:
    """Rule tests live next to rules as `*.test.yaml` / `*_test.yaml`."""
    return path.name.lower().endswith(TEST_SUFFIXES)


def discover(paths: Iterable[str | Path]) -> tuple[list[Path], list[Path]]:
    """(rule files, missing paths). Folders give their *.yaml/*.yml files (not recursive,
    sorted, rule tests skipped); files are taken as given."""
    if isinstance(paths, (str, Path)):  # one path given bare
        paths = [paths]
    files: list[Path] = []
    missing: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if child.is_file() and child.suffix.lower() in RULE_SUFFIXES and not is_test_file(child):
                    files.append(child)
        elif path.is_file():
            if not is_test_file(path):
                files.append(path)
        else:
            missing.append(path)
    return files, missing


def fingerprint(paths: Iterable[str | Path]) -> str:
    """A cheap digest of the rule files (names, mtimes, sizes): changes when a rule file is
    added, removed or edited, so the daemon can poll for changes without reading them."""
    digest = hashlib.sha256()
    files, missing = discover(paths)
    for path in files:
        try:
            st = path.stat()
            digest.update(f"{path}\0{st.st_mtime_ns}\0{st.st_size}\n".encode())
        except OSError:
            digest.update(f"{path}\0gone\n".encode())
    for path in missing:
        digest.update(f"{path}\0missing\n".encode())
    return digest.hexdigest()


# --------------------------------------------------------------------------- one file


class _FileChecker:
    """Collects the errors and rules of one file."""

    def __init__(self, path: Path, display: str, channels: set[str], known_metrics: set[str] | None, known_entities: set[str] | None):
        self.path = path
        self.display = display
        self.channels = channels
        self.metrics = {m.casefold(): m for m in known_metrics} if known_metrics is not None else None
        self.entities = {e.casefold(): e for e in known_entities} if known_entities is not None else None
        self.errors: list[RuleError] = []
        self.warnings: list[RuleError] = []
        self.rules: list[tuple[CompiledRule, Position]] = []

    # -- reporting

    def report(self, node: Node | None, message: str, rule: str | None = None, field_: str | None = None, *, warning: bool = False) -> None:
        pos = Position.of(node)
        err = RuleError(self.display, pos.line, pos.col, message, rule, field_ or None, "warning" if warning else "error")
        target = self.warnings if warning else self.errors
        if err not in target:
            target.append(err)

    @staticmethod
    def _walk(root: Node | None, loc: tuple[Any, ...], key: bool = False) -> tuple[Node | None, str]:
        """The node a loc points to and a readable field path (union tags left out)."""
        node = root
        parts: list[str] = []
        for i, part in enumerate(loc):
            last = i == len(loc) - 1
            if isinstance(node, MappingNode):
                child = mapping_get(node, str(part))
                if last and key:
                    parts.append(str(part))
                    node = node_at(node, (part,), key=True)
                    break
                if child is not None:
                    node = child
                    parts.append(str(part))
                elif last:
                    parts.append(str(part))  # a missing key: point at the mapping, name the key
            elif isinstance(node, SequenceNode) and isinstance(part, int):
                if 0 <= part < len(node.value):
                    node = node.value[part]
                if parts:
                    parts[-1] += f"[{part}]"
                else:
                    parts.append(f"[{part}]")
            elif isinstance(node, ScalarNode):
                # `notify: console` is a list of one: loc ('notify', 0) lands on the scalar
                continue
        return node, ".".join(parts)

    def at(self, rule_node: Node | None, loc: tuple[Any, ...], message: str, rule: str, *, key: bool = False, warning: bool = False) -> None:
        node, path = self._walk(rule_node, loc, key)
        self.report(node, message, rule, path, warning=warning)

    # -- checking

    def check(self) -> None:
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            self.report(None, f"cannot read: {exc.strerror or exc}")
            return
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
            self.errors.append(RuleError(self.display, line, col, "not UTF-8 text"))
            return
        try:
            parsed = parse_yaml(text)
        except YamlSyntaxError as exc:
            self.errors.append(RuleError(self.display, exc.position.line, exc.position.col, exc.message))
            return
        root, data = parsed.node, parsed.data

        for path, first, again in duplicate_keys(root):
            rule = self._rule_name_for(root, data, path)
            where = Position.of(first)
            self.report(again, f"duplicate key {path[-1]!r} (first at line {where.line}); YAML keeps only the last", rule, _path_text(path[2:] if rule else path))

        if data is None:
            self.report(root, "no rules in this file", warning=True)
            return
        if not isinstance(data, dict):
            self.report(root, "expected a mapping with a `rules:` list")
            return
        for k in data:
            if k not in FILE_KEYS:
                self.report(node_at(root, (k,), key=True), f"unknown key {k!r}{did_you_mean(str(k), FILE_KEYS)}; a rule file has only `rules:`")
        if "rules" not in data:
            self.report(root, "missing `rules:` list")
            return
        rules_node = mapping_get(root, "rules")
        items = data["rules"]
        if items is None or items == []:
            self.report(rules_node, "no rules in this file", warning=True)
            return
        if not isinstance(items, list):
            self.report(rules_node, "`rules:` must be a list of rules (each item starts with `- name:`)")
            return
        for i, item in enumerate(items):
            item_node = rules_node.value[i] if isinstance(rules_node, SequenceNode) and i < len(rules_node.value) else rules_node
            self._check_rule(i, item, item_node)

    def _rule_name_for(self, root: Node | None, data: Any, path: tuple[Any, ...]) -> str | None:
        if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int) and isinstance(data, dict):
            items = data.get("rules")
            if isinstance(items, list) and path[1] < len(items):
                return _name_of(items[path[1]], path[1])
        return None

    def _check_rule(self, index: int, item: Any, node: Node | None) -> None:
        name = _name_of(item, index)
        if not isinstance(item, dict):
            self.report(node, "a rule must be a mapping (name:, kind:, trigger:, notify: ...)", name)
            return
        before = len(self.errors)
        self._check_channels(item.get("notify"), node, name)
        try:
            rule = Rule.model_validate(item)
        except ValidationError as exc:
            self._pydantic_errors(exc, node, name)
            return
        for loc, message in semantic_errors(rule):
            self.at(node, loc, message, name)
        self._check_vocabulary(rule, node, name)
        where = self._compile_where(rule, node, name)
        subject = self._compile_template(rule, "subject", node, name)
        message = self._compile_template(rule, "message", node, name)
        if len(self.errors) > before:
            return
        compiled = CompiledRule(rule, order=0, file=self.path, line=Position.of(node).line, where=where, subject=subject, message=message)
        self.rules.append((compiled, Position.of(mapping_get(node, "name") or node)))

    def _check_channels(self, notify: Any, node: Node | None, name: str) -> None:
        # checked on the raw data so that a channel typo shows up even if the rule has other errors
        items = [notify] if isinstance(notify, str) else notify if isinstance(notify, list) else []
        for j, channel in enumerate(items):
            if isinstance(channel, str) and channel and channel not in self.channels:
                known = ", ".join(sorted(self.channels)) or "none"
                hint = did_you_mean(channel, self.channels)
                self.at(node, ("notify", j), f"unknown channel {channel!r}{hint} (channels in config.toml: {known})", name)

    def _pydantic_errors(self, exc: ValidationError, node: Node | None, name: str) -> None:
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            kind = err["type"]
            if kind == "extra_forbidden" and loc:
                unknown = str(loc[-1])
                owner = model_at(loc[:-1])
                choices = list(owner.model_fields) if owner is not None else []
                message = f"unknown key {unknown!r}{did_you_mean(unknown, choices)}"
                if owner is Rule and unknown in _TRIGGER_PARAMS:
                    message += f"; trigger parameters go under `trigger:`, e.g. trigger: {{type: ..., {unknown}: ...}}"
                self.at(node, loc, message, name, key=True)
            elif kind == "trigger_type":
                trig = mapping_get(node, "trigger")
                target = ("trigger", "type") if isinstance(trig, MappingNode) and mapping_get(trig, "type") is not None else ("trigger",)
                self.at(node, target, err["msg"], name)
            elif kind == "missing":
                self.at(node, loc, "required key is missing", name)
            else:
                self.at(node, loc, _clean_message(err["msg"]), name)

    def _check_vocabulary(self, rule: Rule, node: Node | None, name: str) -> None:
        for attr, known, what in (
            ("metric", self.metrics, "metric"),
            ("entity", self.entities, "entity"),
            ("company", self.entities, "company"),
        ):
            if known is None:
                continue
            for j, value in enumerate(getattr(rule.match, attr) or []):
                if value.casefold() not in known:
                    hint = did_you_mean(value, known.values())
                    self.at(node, ("match", attr, j), f"unknown {what} {value!r}{hint}; it will never match unless the vocabulary has it", name, warning=True)

    def _sample_context(self, rule: Rule) -> AlertContext:
        ev = sample_event(rule.kind)
        baseline = getattr(ev, "previous", None)
        state = "stale" if rule.trigger.type == "stale" else None
        return AlertContext(ev, rule, "sample reason", "sample-key", baseline, "previous period" if baseline else "", state, getattr(ev, "at", None) if state else None)

    def _compile_where(self, rule: Rule, node: Node | None, name: str) -> WhereExpr | None:
        if rule.where is None:
            return None
        try:
            expr = WhereExpr(rule.where)
        except ExpressionError as exc:
            self.at(node, ("where",), f"{exc} (CEL)", name)
            return None
        try:
            ctx = self._sample_context(rule)
            fields = ctx.event.model_dump(mode="json")
            fields["baseline"] = ctx.baseline.model_dump(mode="json") if ctx.baseline is not None else None
            fields["has_baseline"] = ctx.baseline is not None
            expr.check(activation(fields))
            return expr
        except ExpressionError as exc:
            self.at(node, ("where",), f"{exc} (CEL; checked against {a_kind(rule.kind)} sample event)", name)
        except Exception as exc:  # cel-python internals can fail on odd input: still an error, not a crash
            self.at(node, ("where",), f"cannot evaluate: {type(exc).__name__}: {exc}", name)
        return None

    def _compile_template(self, rule: Rule, attr: str, node: Node | None, name: str):
        source = getattr(rule, attr)
        if source is None:
            return None
        try:
            template = compile_template(source)
            render(template, self._sample_context(rule))
            return template
        except TemplateProblem as exc:
            value = mapping_get(node, attr)
            if exc.lineno and isinstance(value, ScalarNode) and value.style == "|" and value.end_mark is not None:
                # a literal block maps template lines 1:1 onto file lines: point at the line itself
                text_line = value.start_mark.line + 1 + exc.lineno  # 1-based: the block starts after `|`
                if text_line <= value.end_mark.line + 1:
                    indent = _indent_of(self.path, text_line)
                    self.errors.append(RuleError(self.display, text_line, indent + 1, str(exc), name, attr))
                    return None
            self.at(node, (attr,), f"{exc} (checked against {a_kind(rule.kind)} sample event)", name)
        return None


def _indent_of(path: Path, line: int) -> int:
    """Leading spaces of a 1-based line of a file (0 when unreadable)."""
    try:
        text = path.read_text(encoding="utf-8-sig").splitlines()[line - 1]
    except (OSError, IndexError, UnicodeDecodeError):
        return 0
    return len(text) - len(text.lstrip(" "))


def _name_of(item: Any, index: int) -> str:
    if isinstance(item, dict):
        value = item.get("name")
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value).strip():
            return str(value)
    return f"rules[{index}]"


def _path_text(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _clean_message(msg: str) -> str:
    # pydantic prefixes ValueErrors from validators with "Value error, "
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix) :]
    return msg


# --------------------------------------------------------------------------- public API


def load_rules(
    paths: Iterable[str | Path],
    channels: set[str],
    known_metrics: set[str] | None = None,
    known_entities: set[str] | None = None,
) -> LoadResult:
    """Load and check rule files (files or folders of *.yaml / *.yml).

    Returns every error and warning of every file; `ruleset` is None when there is any error.
    Unknown metrics and entities (when the vocabularies are given) are warnings. Never raises
    for bad input: a problem in a file is an error in the result.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = list(paths)
    files, missing = discover(paths)
    errors: list[RuleError] = [RuleError(str(p), 0, 0, "no such file or folder") for p in missing]
    warnings: list[RuleError] = []
    compiled: list[CompiledRule] = []
    seen: dict[str, tuple[str, Position]] = {}
    for path in files:
        checker = _FileChecker(path, str(path), set(channels), known_metrics, known_entities)
        try:
            checker.check()
        except Exception as exc:  # last line of defence: a bug here must not stop the daemon
            checker.errors.append(RuleError(str(path), 1, 1, f"internal error while checking this file: {type(exc).__name__}: {exc}"))
        errors.extend(sorted(checker.errors, key=lambda e: (e.line, e.col)))
        warnings.extend(sorted(checker.warnings, key=lambda e: (e.line, e.col)))
        for rule, pos in checker.rules:
            first = seen.get(rule.name)
            if first is not None:
                errors.append(
                    RuleError(str(path), pos.line, pos.col, f"duplicate rule name (first defined at {first[0]}:{first[1].line})", rule.name, "name")
                )
                continue
            seen[rule.name] = (str(path), pos)
            compiled.append(rule)
    if not files and not missing:
        warnings.append(RuleError(", ".join(str(p) for p in paths) or "(no paths)", 0, 0, "no rule files found", level="warning"))
    for order, rule in enumerate(compiled):
        rule.order = order
    ruleset = None if errors else Ruleset([r for r in compiled], files)
    return LoadResult(ruleset, errors, warnings, files)


def loads(
    text: str,
    channels: set[str],
    known_metrics: set[str] | None = None,
    known_entities: set[str] | None = None,
    filename: str = "<rules>",
) -> LoadResult:
    """Load rules from a string (tests, `rules test`): same checks as `load_rules`."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rules.yaml"
        path.write_text(text, encoding="utf-8")
        result = load_rules([path], channels, known_metrics, known_entities)

    def rename(e: RuleError) -> RuleError:
        return RuleError(filename, e.line, e.col, e.message, e.rule, e.field, e.level)

    result.errors = [rename(e) for e in result.errors]
    result.warnings = [rename(e) for e in result.warnings]
    return result
