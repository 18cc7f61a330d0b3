"""Trigger logic: does this event, seen against its baselines, fire this trigger?

Each checker is built once per rule (regexes compiled, bounds bound) and answers with a `Fired`
(reason in words, the baseline compared with, a fingerprint for the dedup key) or None.
Checkers are pure; state (frequency, stale) is handled by the engine through RuleHistory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from rules.events import FigureEvent, SeriesPoint
from rules.format import amount_words, change_words, number_words, pct_change, period_words
from rules.schema import (
    AnyTrigger,
    ChangeTrigger,
    FrequencyTrigger,
    KeywordTrigger,
    NewPeriodTrigger,
    RecordTrigger,
    RevisionTrigger,
    StaleTrigger,
    ThresholdTrigger,
)


@dataclass(frozen=True)
class Fired:
    """Why a trigger fired and what it compared with."""

    reason: str
    baseline: SeriesPoint | None = None
    baseline_label: str = ""


Checker = Callable[[Any, str], "Fired | None"]
"""(event, effective status) -> Fired or None."""


def utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC, so naive and aware times compare."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


# --------------------------------------------------------------------------- figure helpers

_YTD_KINDS = {"ytd", "year-to-date", "year_to_date"}


def _comparable(ev: FigureEvent, base: SeriesPoint, compare: str) -> bool:
    """Whether a value change against `base` means anything.

    Year-to-date totals restart in January: Jan-Feb 2025 against Jan-Nov 2024 is not a drop.
    Different units (a rate against an amount) are not comparable either.
    """
    if ev.unit and base.unit and ev.unit.casefold() != base.unit.casefold():
        return False
    p, b = ev.period, base.period
    if compare == "previous" and p is not None and b is not None and (p.kind in _YTD_KINDS or b.kind in _YTD_KINDS):
        if p.start is not None and b.start is not None and p.start.year != b.start.year:
            return False
    return True


def _money(value: float | None, unit: str | None) -> str:
    return amount_words(value, unit)


def _point_words(point: SeriesPoint, unit: str | None) -> str:
    period = period_words(point.period)
    return f"{_money(point.value, point.unit or unit)}" + (f" for {period}" if period else "")


# --------------------------------------------------------------------------- checkers


def _any(trigger: AnyTrigger) -> Checker:
    def check(ev: Any, status: str) -> Fired | None:
        base = getattr(ev, "previous", None)
        return Fired(f"new {ev.type}", base, "previous period" if base else "")

    return check


def _new_period(trigger: NewPeriodTrigger) -> Checker:
    def check(ev: FigureEvent, status: str) -> Fired | None:
        if status != "new" or not ev.is_latest:
            return None
        prev = ev.previous
        if prev is None or prev.period is None:
            return Fired(f"first value of this series ({period_words(ev.period) or 'no period'})")
        if ev.period is not None and ev.period.end and prev.period.end and ev.period.end <= prev.period.end:
            return None  # not later than the baseline: an older period arriving late
        return Fired(
            f"new period {period_words(ev.period)} after {period_words(prev.period)}",
            prev,
            "previous period",
        )

    return check


def _revision(trigger: RevisionTrigger) -> Checker:
    def check(ev: FigureEvent, status: str) -> Fired | None:
        if status != "revision":
            return None
        old = ev.revised_from
        if old is None:
            return Fired(f"{period_words(ev.period)} revised to {_money(ev.value, ev.unit)}")
        if old.value == ev.value:
            return None
        return Fired(
            f"{period_words(ev.period)} revised from {_money(old.value, old.unit or ev.unit)} to {_money(ev.value, ev.unit)}",
            old,
            "value before the revision",
        )

    return check


def _change(trigger: ChangeTrigger) -> Checker:
    label = "previous period" if trigger.compare == "previous" else "same period last year"

    def check(ev: FigureEvent, status: str) -> Fired | None:
        base = ev.previous if trigger.compare == "previous" else ev.same_period_last_year
        if base is None or base.value is None or ev.value is None or not _comparable(ev, base, trigger.compare):
            return None
        pct = pct_change(ev.value, base.value)
        diff = ev.value - base.value
        why = None
        if trigger.pct_above is not None and pct is not None and pct > trigger.pct_above:
            why = f"a rise of more than {trigger.pct_above:g}%"
        elif trigger.pct_below is not None and pct is not None and pct < -trigger.pct_below:
            why = f"a drop of more than {trigger.pct_below:g}%"
        elif trigger.abs_above is not None and diff > trigger.abs_above:
            why = f"a rise of more than {_money(trigger.abs_above, ev.unit)}"
        elif trigger.abs_below is not None and diff < -trigger.abs_below:
            why = f"a drop of more than {_money(trigger.abs_below, ev.unit)}"
        if why is None:
            return None
        moved = change_words(pct, trigger.compare) if pct is not None else f"changed by {_money(diff, ev.unit)}"
        return Fired(f"{moved} ({_point_words(base, ev.unit)} -> {_money(ev.value, ev.unit)}): {why}", base, label)

    return check


def _threshold(trigger: ThresholdTrigger) -> Checker:
    field = trigger.field
    tests: list[tuple[Callable[[float, float], bool], float, str]] = []
    if trigger.gte is not None:
        tests.append((float.__ge__, trigger.gte, ">="))
    if trigger.gt is not None:
        tests.append((float.__gt__, trigger.gt, ">"))
    if trigger.lte is not None:
        tests.append((float.__le__, trigger.lte, "<="))
    if trigger.lt is not None:
        tests.append((float.__lt__, trigger.lt, "<"))

    def check(ev: Any, status: str) -> Fired | None:
        value = getattr(ev, field, None)
        if value is None:
            return None
        value = float(value)
        for op, bound, _ in tests:
            if not op(value, bound):
                return None
        bounds = " and ".join(f"{sym} {number_words(bound)}" for _, bound, sym in tests)
        base = getattr(ev, "previous", None)
        return Fired(f"{field} {number_words(value)} {bounds}", base, "previous period" if base else "")

    return check


def _record(trigger: RecordTrigger) -> Checker:
    want_high = trigger.record in ("high", "both")
    want_low = trigger.record in ("low", "both")

    def check(ev: FigureEvent, status: str) -> Fired | None:
        if ev.value is None:
            return None
        if want_high and ev.series_max is not None and ev.value > ev.series_max:
            return Fired(
                f"new all-time high: {_money(ev.value, ev.unit)}, above the previous high of {_money(ev.series_max, ev.unit)}",
                ev.previous,
                "previous period" if ev.previous else "",
            )
        if want_low and ev.series_min is not None and ev.value < ev.series_min:
            return Fired(
                f"new all-time low: {_money(ev.value, ev.unit)}, below the previous low of {_money(ev.series_min, ev.unit)}",
                ev.previous,
                "previous period" if ev.previous else "",
            )
        return None

    return check


def _word_pattern(word: str) -> str:
    # Latin-script words match whole words ("rail" not in "trail"); Chinese has no spaces, so
    # words with non-ASCII letters match as substrings.
    escaped = re.escape(word)
    if word.isascii():
        return rf"(?<!\w){escaped}(?!\w)"
    return escaped


def keyword_text(ev: Any) -> str:
    """The text a keyword trigger searches: title and body for articles, the quote otherwise."""
    if ev.type == "article":
        return f"{ev.article.title}\n{ev.text}"
    return getattr(ev, "quote", "") or ""


# The last event's text, lowercased: many keyword rules look at the same article, and a plain
# substring test on it rules most of them out before any regex runs. Holding the event itself
# (not its id) makes the identity test safe.
_LOWERED: tuple[Any, str, str] = (None, "", "")


def _texts(ev: Any) -> tuple[str, str]:
    global _LOWERED
    last = _LOWERED
    if last[0] is ev:
        return last[1], last[2]
    text = keyword_text(ev)
    lowered = text.lower()
    _LOWERED = (ev, text, lowered)
    return text, lowered


def _keyword(trigger: KeywordTrigger) -> Checker:
    words = re.compile("|".join(_word_pattern(w) for w in trigger.words), re.IGNORECASE) if trigger.words else None
    lowered_words = tuple(w.lower() for w in trigger.words)
    regexes = [re.compile(rx, re.IGNORECASE) for rx in trigger.regexes]

    def check(ev: Any, status: str) -> Fired | None:
        text, lowered = _texts(ev)
        if not text:
            return None
        if words is not None and any(w in lowered for w in lowered_words):
            m = words.search(text)
            if m:
                return Fired(f"keyword {m.group(0)!r} found")
        for rx in regexes:
            m = rx.search(text)
            if m:
                return Fired(f"pattern /{rx.pattern}/ matched {m.group(0)[:80]!r}")
        return None

    return check


def _frequency(trigger: FrequencyTrigger) -> Checker:
    # The count is stateful and done by the engine; here every matching fact qualifies.
    def check(ev: Any, status: str) -> Fired | None:
        base = getattr(ev, "previous", None)
        return Fired("", base, "previous period" if base else "")

    return check


def _stale(trigger: StaleTrigger) -> Checker:
    def check(ev: Any, status: str) -> Fired | None:  # handled by the engine's stale logic
        return None

    return check


_FACTORIES: dict[str, Callable[[Any], Checker]] = {
    "any": _any,
    "new_period": _new_period,
    "revision": _revision,
    "change": _change,
    "threshold": _threshold,
    "record": _record,
    "keyword": _keyword,
    "frequency": _frequency,
    "stale": _stale,
}


def make_checker(trigger: Any) -> Checker:
    """The checker for a validated trigger model."""
    return _FACTORIES[trigger.type](trigger)


# --------------------------------------------------------------------------- statuses

#: Event statuses each trigger looks at, per kind (sources only reach `confirm` rules).
_STATUSES: dict[str, dict[str, frozenset[str]]] = {
    "figure": {
        "any": frozenset({"new"}),
        "new_period": frozenset({"new"}),
        "revision": frozenset({"revision"}),
        "change": frozenset({"new", "revision"}),
        "threshold": frozenset({"new", "revision"}),
        "record": frozenset({"new", "revision"}),
        "keyword": frozenset({"new"}),
        "frequency": frozenset({"new"}),
        "stale": frozenset({"new", "revision", "source"}),
    },
    "contract": {t: frozenset({"new"}) for t in ("any", "threshold", "keyword", "frequency")},
    "article": {"any": frozenset({"new"}), "keyword": frozenset({"new", "updated"}), "frequency": frozenset({"new"})},
    "feed": {"threshold": frozenset({"feed"}), "stale": frozenset({"feed"})},
}


def statuses_for(kind: str, trigger_type: str) -> frozenset[str]:
    """The event statuses a (kind, trigger) pair considers."""
    return _STATUSES.get(kind, {}).get(trigger_type, frozenset())


def effective_status(ev: Any) -> str:
    """A source report is judged as the fact it confirms: a revision if it revised a value."""
    status = getattr(ev, "status", "feed")
    if status == "source":
        return "revision" if getattr(ev, "revised_from", None) is not None else "new"
    return status


# --------------------------------------------------------------------------- confirm


def _reached(times: list[datetime], n: int, within: timedelta | None) -> bool:
    if len(times) < n:
        return False
    if within is None:
        return True
    return any(times[i + n - 1] - times[i] <= within for i in range(len(times) - n + 1))


def confirm_reached(ev: Any, n: int, within: timedelta | None) -> bool:
    """True on the event where the number of sources first reaches `n` within `within`.

    The newest source is the one this event added; the count "first reaches" n when it holds
    with all sources but not without the newest one. Without source times, the count alone decides.
    """
    times = sorted(utc(t) for t in getattr(ev, "source_times", []) or [])
    if not times:
        return getattr(ev, "sources", 1) == n
    return _reached(times, n, within) and not _reached(times[:-1], n, within)
