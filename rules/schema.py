"""The pydantic schema of a rule file, and the checks that need more than one field.

Shape of a trigger: either a plain name (`trigger: new_period`) for triggers without parameters,
or a mapping with `type` and the trigger's own parameters::

    trigger: {type: change, pct_below: 5, compare: previous}

Parameters live under `trigger` so that an unknown key is always an error with a useful
suggestion, whichever trigger is used.
"""

from __future__ import annotations

import re
import types
import typing
from datetime import timedelta
from difflib import get_close_matches
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from rules.events import ArticleEvent, ContractEvent, FeedEvent, FigureEvent

Kind = Literal["figure", "contract", "article", "feed"]
Severity = Literal["info", "warning", "critical"]

EVENT_MODELS: dict[str, type[BaseModel]] = {
    "figure": FigureEvent,
    "contract": ContractEvent,
    "article": ArticleEvent,
    "feed": FeedEvent,
}

# --------------------------------------------------------------------------- durations

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(w|d|h|m|s)", re.IGNORECASE)
_DURATION_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(raw: Any) -> timedelta:
    """"24h", "30m", "7d", "2w", "90s" or "1h30m" -> timedelta. Bare numbers are refused:
    their unit would be a guess."""
    if isinstance(raw, timedelta):
        return raw
    if not isinstance(raw, str):
        raise PydanticCustomError("duration", "expected a duration such as 24h, 30m, 7d or 1h30m")
    text = raw.strip().replace(" ", "")
    parts = _DURATION_PART.findall(text)
    if not text or "".join(n + u for n, u in parts).lower() != text.lower():
        raise PydanticCustomError(
            "duration", "{raw} is not a duration; use a number and a unit: 90s, 30m, 24h, 7d, 2w", {"raw": repr(raw)}
        )
    seconds = sum(float(n) * _DURATION_SECONDS[u.lower()] for n, u in parts)
    if seconds <= 0:
        raise PydanticCustomError("duration", "a duration must be longer than zero")
    return timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _as_list(raw: Any) -> Any:
    """`x` and `[x]` mean the same for match values and channel lists."""
    return [raw] if isinstance(raw, str) else raw


def _scalar_text(raw: Any) -> Any:
    """`priority: 1` in labels means the text "1"."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    return str(raw) if isinstance(raw, (int, float)) else raw


LabelText = Annotated[str, BeforeValidator(_scalar_text)]

StrList = Annotated[list[Annotated[str, Field(min_length=1)]], BeforeValidator(_as_list)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- match


class Match(_Strict):
    """Fact fields that must hold; a list means any of. Compared case-insensitively."""

    metric: StrList | None = None
    entity: StrList | None = None
    company: StrList | None = None
    counterparty: StrList | None = None
    unit: StrList | None = None
    feed: StrList | None = None
    period_kind: StrList | None = None


#: Which match keys make sense for which kind of rule.
MATCH_KEYS_BY_KIND: dict[str, tuple[str, ...]] = {
    "figure": ("metric", "entity", "unit", "period_kind", "feed"),
    "contract": ("company", "counterparty", "unit", "feed"),
    "article": ("feed",),
    "feed": ("feed",),
}

# --------------------------------------------------------------------------- triggers


class AnyTrigger(_Strict):
    """Every new matching fact."""

    type: Literal["any"] = "any"


class NewPeriodTrigger(_Strict):
    """A figure for a later period than the latest one stored (or the first of its series)."""

    type: Literal["new_period"] = "new_period"


class RevisionTrigger(_Strict):
    """A new value for a period already known."""

    type: Literal["revision"] = "revision"


class ChangeTrigger(_Strict):
    """The value moved against the baseline by more than the given bounds (any bound fires)."""

    type: Literal["change"] = "change"
    compare: Literal["previous", "same_period_last_year"] = "previous"
    pct_above: float | None = Field(default=None, ge=0, description="a rise of more than this percentage")
    pct_below: float | None = Field(default=None, ge=0, description="a drop of more than this percentage")
    abs_above: float | None = Field(default=None, ge=0, description="a rise of more than this amount")
    abs_below: float | None = Field(default=None, ge=0, description="a drop of more than this amount")

    @model_validator(mode="after")
    def _one_bound(self) -> "ChangeTrigger":
        if all(v is None for v in (self.pct_above, self.pct_below, self.abs_above, self.abs_below)):
            raise PydanticCustomError("bounds", "give at least one of pct_above, pct_below, abs_above, abs_below")
        return self


class ThresholdTrigger(_Strict):
    """A numeric event field compared with fixed bounds (all given bounds must hold)."""

    type: Literal["threshold"] = "threshold"
    field: str
    gte: float | None = None
    gt: float | None = None
    lte: float | None = None
    lt: float | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> "ThresholdTrigger":
        if all(v is None for v in (self.gte, self.gt, self.lte, self.lt)):
            raise PydanticCustomError("bounds", "give at least one of gte, gt, lte, lt")
        return self


class RecordTrigger(_Strict):
    """A new all-time high or low of the series."""

    type: Literal["record"] = "record"
    record: Literal["high", "low", "both"] = "high"


class KeywordTrigger(_Strict):
    """Text matches any of `words` (whole words for Latin script, substrings for Chinese) or
    `regexes`, case-insensitively. Articles: title and text; figures and contracts: the quote."""

    type: Literal["keyword"] = "keyword"
    words: StrList = Field(default_factory=list)
    regexes: StrList = Field(default_factory=list)

    @field_validator("regexes")
    @classmethod
    def _compiles(cls, value: list[str]) -> list[str]:
        for i, rx in enumerate(value):
            try:
                re.compile(rx)
            except (re.error, RecursionError, OverflowError) as exc:
                raise PydanticCustomError("regex", "regex {i} ({rx}) does not compile: {err}", {"i": i, "rx": repr(rx), "err": str(exc)})
        return value

    @model_validator(mode="after")
    def _something(self) -> "KeywordTrigger":
        if not self.words and not self.regexes:
            raise PydanticCustomError("keywords", "give `words` or `regexes`")
        return self


class FrequencyTrigger(_Strict):
    """At least `count` matching facts (same key) within `window`."""

    type: Literal["frequency"] = "frequency"
    count: int = Field(ge=1)
    window: Duration


class StaleTrigger(_Strict):
    """A feed (or a series) silent for `window`; a `recovered` notice when it speaks again.

    For feeds, `since` picks the activity that counts: a new entry (default) or any successful
    poll. For series, activity is the latest observation's `at`.
    """

    type: Literal["stale"] = "stale"
    window: Duration
    since: Literal["last_new_entry", "last_success"] = "last_new_entry"


TRIGGER_MODELS: dict[str, type[BaseModel]] = {
    "any": AnyTrigger,
    "new_period": NewPeriodTrigger,
    "revision": RevisionTrigger,
    "change": ChangeTrigger,
    "threshold": ThresholdTrigger,
    "record": RecordTrigger,
    "keyword": KeywordTrigger,
    "frequency": FrequencyTrigger,
    "stale": StaleTrigger,
}

TRIGGERS_BY_KIND: dict[str, tuple[str, ...]] = {
    "figure": ("any", "new_period", "revision", "change", "threshold", "record", "keyword", "frequency", "stale"),
    "contract": ("any", "threshold", "keyword", "frequency"),
    "article": ("any", "keyword", "frequency"),
    "feed": ("threshold", "stale"),
}


def _normalise_trigger(raw: Any) -> Any:
    """`trigger: name` -> `{type: name}`; an unknown type gets a did-you-mean."""
    if isinstance(raw, str):
        raw = {"type": raw}
    if isinstance(raw, dict):
        name = raw.get("type")
        if name is None:
            raise PydanticCustomError("trigger_type", "missing `type` (one of: {names})", {"names": ", ".join(TRIGGER_MODELS)})
        if not isinstance(name, str) or name not in TRIGGER_MODELS:
            raise PydanticCustomError(
                "trigger_type",
                "unknown trigger {name}{hint} (one of: {names})",
                {"name": repr(name), "hint": did_you_mean(str(name), TRIGGER_MODELS), "names": ", ".join(TRIGGER_MODELS)},
            )
        return raw
    raise PydanticCustomError("trigger_type", "expected a trigger name or a mapping with `type`")


Trigger = Annotated[
    Union[
        AnyTrigger,
        NewPeriodTrigger,
        RevisionTrigger,
        ChangeTrigger,
        ThresholdTrigger,
        RecordTrigger,
        KeywordTrigger,
        FrequencyTrigger,
        StaleTrigger,
    ],
    Field(discriminator="type"),
    BeforeValidator(_normalise_trigger),
]

# --------------------------------------------------------------------------- rule


class Confirm(_Strict):
    """Alert only once `sources` independent sources reported the fact within `within`."""

    sources: int = Field(ge=1)
    within: Duration | None = None


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")


class Rule(_Strict):
    """One alert rule, as written in YAML."""

    name: str = Field(max_length=120)
    description: str = ""
    kind: Kind
    match: Match = Field(default_factory=Match)
    trigger: Trigger
    notify: StrList = Field(min_length=1)
    severity: Severity = "info"
    key: StrList | None = None
    repeat_after: Duration | None = None
    confirm: Confirm | None = None
    where: str | None = None
    subject: str | None = None
    message: str | None = None
    labels: dict[str, LabelText] = Field(default_factory=dict)
    enabled: bool = True

    @field_validator("name", mode="before")
    @classmethod
    def _name_str(cls, value: Any) -> Any:
        # a numeric name (`name: 2024`) is a string to the user
        return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value

    @field_validator("name")
    @classmethod
    def _name_chars(cls, value: str) -> str:
        # names go into dedup keys and alert history: keep them plain
        if not _NAME.match(value):
            raise PydanticCustomError("name", "use letters, digits and - _ . : (starting with a letter or digit), e.g. soe-exports-new")
        return value


#: Keys allowed at each level, for did-you-mean on unknown keys.
RULE_KEYS = tuple(Rule.model_fields)
FILE_KEYS = ("rules",)


def did_you_mean(word: str, choices: typing.Iterable[str]) -> str:
    """' (did you mean "x"?)' for the closest choice, or ''."""
    close = get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close:
        close = [c for c in choices if c.lower() == word.lower()]
    return f' (did you mean "{close[0]}"?)' if close else ""


def model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The schema model that owns the mapping at `loc` inside a rule (for unknown-key hints)."""
    if not loc:
        return Rule
    head = loc[0]
    if head == "match" and len(loc) == 1:
        return Match
    if head == "confirm" and len(loc) == 1:
        return Confirm
    if head == "trigger" and len(loc) == 2 and loc[1] in TRIGGER_MODELS:
        return TRIGGER_MODELS[loc[1]]
    return None


# --------------------------------------------------------------------------- event fields


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types inside Optional / Union / Annotated."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        out: list[Any] = []
        for arg in typing.get_args(annotation):
            out.extend(_unwrap(arg))
        return out
    return [annotation]


def field_type(model: type[BaseModel], path: str) -> list[Any] | None:
    """The types of a dotted field path (`period.label`) of a model, or None if it does not exist."""
    current: list[Any] = [model]
    for part in path.split("."):
        found = None
        for t in current:
            if isinstance(t, type) and issubclass(t, BaseModel) and part in t.model_fields:
                found = _unwrap(t.model_fields[part].annotation)
                break
        if found is None:
            return None
        current = found
    return current


def numeric_fields(model: type[BaseModel]) -> list[str]:
    """Top-level number fields of an event model (what `threshold` can compare)."""
    out = []
    for name, info in model.model_fields.items():
        kinds = [t for t in _unwrap(info.annotation) if t is not type(None)]
        if kinds and all(t in (int, float) for t in kinds):
            out.append(name)
    return out


def field_paths(model: type[BaseModel], prefix: str = "", depth: int = 2) -> list[str]:
    """Every dotted field path of a model, for did-you-mean hints."""
    out = []
    for name, info in model.model_fields.items():
        path = prefix + name
        out.append(path)
        if depth > 1:
            for t in _unwrap(info.annotation):
                if isinstance(t, type) and issubclass(t, BaseModel):
                    out.extend(field_paths(t, path + ".", depth - 1))
    return out


# --------------------------------------------------------------------------- cross-field checks


def a_kind(kind: str) -> str:
    """"a figure", "an article": for messages."""
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def semantic_errors(rule: Rule) -> list[tuple[tuple[Any, ...], str]]:
    """Checks across fields that pydantic cannot express: (loc, message) pairs.

    The kind decides which triggers, match keys, key fields and threshold fields make sense.
    """
    errors: list[tuple[tuple[Any, ...], str]] = []
    kind = rule.kind
    model = EVENT_MODELS[kind]
    trigger = rule.trigger
    allowed = TRIGGERS_BY_KIND[kind]
    if trigger.type not in allowed:
        errors.append((("trigger", "type"), f"trigger {trigger.type!r} does not apply to {kind} rules (use one of: {', '.join(allowed)})"))

    keys = MATCH_KEYS_BY_KIND[kind]
    for name in Match.model_fields:
        if getattr(rule.match, name) is not None and name not in keys:
            hint = ' (a company is the "entity" of a figure)' if (kind, name) == ("figure", "company") else ""
            errors.append((("match", name), f"{name!r} does not apply to {kind} rules{hint} (use: {', '.join(keys)})"))

    for i, path in enumerate(rule.key or []):
        if field_type(model, path) is None:
            errors.append((("key", i), f"{path!r} is not a field of {a_kind(kind)} event{did_you_mean(path, field_paths(model))}"))

    if isinstance(trigger, ThresholdTrigger):
        fields = numeric_fields(model)
        if trigger.field not in fields:
            msg = f"{trigger.field!r} is not a number field of {a_kind(kind)} event"
            hint = did_you_mean(trigger.field, fields)
            errors.append((("trigger", "field"), msg + (hint or (f" (use one of: {', '.join(fields)})" if fields else ""))))
    if rule.confirm is not None and kind not in ("figure", "contract"):
        errors.append((("confirm",), f"confirm counts the sources of figures and contracts, not of {kind} events"))
    if rule.confirm is not None and trigger.type in ("stale", "frequency"):
        errors.append((("confirm",), f"confirm cannot be combined with a {trigger.type} trigger"))
    return errors
