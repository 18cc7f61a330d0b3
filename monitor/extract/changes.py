"""Rates of change next to a percentage: direction (rise or fall) and basis (year-on-year, ...)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_UP = (
    "rose rise rises risen rising grew grow grows growing grown increased increase increases increasing up jumped jump "
    "jumps surged surge surges climbed climb climbs gained gain gains expanded expand expands advanced soared rebounded "
    "higher growth added spiked"
).split()
_DOWN = (
    "fell fall falls fallen falling declined decline declines declining dropped drop drops down slid slide slides "
    "decreased decrease decreases decreasing shrank shrink shrinks shrunk contracted plunged plunge plunges slumped slump "
    "tumbled lower dipped dip dips slipped eased retreated lost contraction"
).split()
_ZH_UP = ["同比增长", "同比增加", "同比上升", "增长", "增加", "上升", "上涨", "提高", "提升", "增幅", "增速", "增", "涨"]
_ZH_DOWN = ["同比下降", "同比减少", "同比下滑", "下降", "减少", "下滑", "回落", "降低", "下跌", "降幅", "减", "降", "跌"]

# Matched on lower-cased text: a case-sensitive regex is several times faster than re.IGNORECASE.
# Written as a trie, each branch opening with its letter and then checking the character before it
# ("x(?<![a-z].)" is "(?<![a-z])x"), so the regex engine skips to candidate letters in C and tries only the words
# that start with the letter found. Same matches as
# (?<![a-z])(<the words, longest first>)(?![a-z]): the words are plain [a-z] words, so at most one of them can
# stand between two non-letters at a given position.
assert all(re.fullmatch("[a-z]+", w) for w in _UP + _DOWN)


def _cue_pattern(words: list[str]) -> str:
    trie: dict = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = True

    def sub(node: dict) -> str:
        alts = [ch + sub(node[ch]) for ch in sorted(k for k in node if k)]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return "(?:" + body + ")?" if "" in node else body

    return "(" + "|".join(ch + r"(?<![a-z](?s:.))" + sub(trie[ch]) for ch in sorted(trie)) + r")(?![a-z])"


_EN_CUE = re.compile(_cue_pattern(_UP + _DOWN))
_ZH_CUE = re.compile("|".join(sorted(_ZH_UP + _ZH_DOWN, key=len, reverse=True)))
_DOWN_SET = set(_DOWN) | set(_ZH_DOWN)
# Words allowed between a change verb and its percentage ("rose by an average of 5%", "were up 0.7 percent").
_FILLER = set(
    "by of to about around nearly almost some more than over an a roughly approximately year-on-year y-o-y yoy "
    "respectively slightly sharply significantly strongly and an average annual at least was were is has have had "
    "only just modest modestly steady steadily percent per cent pct % respectively, and,".split()
)
_ZH_FILLER = re.compile(r"(?:了|为|达|达到|约|近|分别|同比|比上年|较上年|、|和|及|[①-⑳]|\s|,|，|\d{1,3}(?:\.\d{1,3})?%)+")
_YOY_AFTER = re.compile(r"\s{0,2}(?:,\s{0,2})?(?:year[\s-]on[\s-]year|y-o-y|yoy)", re.IGNORECASE)
_PCT_TOKEN = re.compile(r"^[-−]?\d{1,3}(?:\.\d{1,4})?(?:%|percent|pct)?,?$")
_AFTER_EN = re.compile(
    r"\s{0,2}(?:year[\s-]on[\s-]year\s{1,2}|yoy\s{1,2}|annual\s{1,2})?(increase|rise|growth|"
    r"gain|jump|decline|drop|fall|decrease|contraction)(?![A-Za-z])", re.IGNORECASE
)
# Basis markers, looked up with `in` on the lower-cased surroundings (cheaper than a regex).
_YOY = ("year-on-year", "year on year", "year-over-year", "year over year", "y-o-y", "yoy", "a year earlier", "a year ago",
        "same period", "compared with a year", "than a year", "同比", "比上年", "较上年", "比去年", "较去年", "上年同期", "去年同期")
# Every marker in _YOY contains one of these (so without them, none of _YOY can be there).
_YOY_HINTS = ("year", "y-o-y", "yoy", "same period", "同比", "上年", "去年")
assert all(any(h in k for h in _YOY_HINTS) for k in _YOY)
_QOQ = ("quarter-on-quarter", "quarter on quarter", "from the previous quarter", "环比")
_MOM = ("month-on-month", "month on month", "from the previous month")
assert all("quarter" in k or "环比" in k for k in _QOQ) and all("month" in k for k in _MOM)


@dataclass(frozen=True, slots=True)
class Change:
    """Direction of a percentage that is a rate of change (+1 rise, -1 fall) and its basis."""

    sign: int
    basis: str


_CHANGES = {(sign, basis): Change(sign, basis) for sign in (1, -1) for basis in ("yoy", "qoq", "mom", "unspecified")}


# (window, offsets of the percentage in it) -> find_change's answer: it reads nothing outside that window, and the
# same phrasings ("rose 3.9 percent year-on-year") recur. Change values are immutable and shared.
_SEEN: dict[tuple[str, int, int], Change | None] = {}
_SEEN_MAX = 4096


def find_change(text: str, pct_start: int, pct_end: int, floor: int, ceiling: int) -> Change | None:
    """Is the percentage at [pct_start, pct_end) a rate of change? Look for a change verb just before or a noun just after.

    floor/ceiling bound the clause (the sentence, or the end of the previous amount), keeping the look constant-time.
    """
    lo = max(floor, pct_start - 48)
    hi = min(ceiling, pct_end + 40)
    if not lo <= pct_start < pct_end <= hi:
        return _find_change(text, pct_start, pct_end, floor, ceiling)  # odd bounds: not memoised
    key = (text[lo:hi], pct_start - lo, pct_end - lo)
    try:
        return _SEEN[key]
    except KeyError:
        pass
    change = _find_change(text, pct_start, pct_end, floor, ceiling)
    if len(_SEEN) >= _SEEN_MAX:
        _SEEN.clear()
    _SEEN[key] = change
    return change


def _find_change(text: str, pct_start: int, pct_end: int, floor: int, ceiling: int) -> Change | None:
    before = text[max(floor, pct_start - 48):pct_start]
    sign = _sign_before(before)
    if sign is None:
        m = _AFTER_EN.match(text, pct_end, min(ceiling, pct_end + 40))
        if m:
            sign = -1 if m.group(1).lower() in _DOWN_SET else 1
    if sign is None:
        after = text[pct_end:min(ceiling, pct_end + 16)]
        if _YOY_AFTER.match(after) or before.endswith("同比"):
            sign = 1
    if sign is None:
        return None
    around = text[max(floor, pct_start - 48):min(ceiling, pct_end + 40)].lower()
    has = around.__contains__
    basis = ("yoy" if any(map(has, _YOY_HINTS)) and any(map(has, _YOY))
             else "qoq" if ("quarter" in around or "环比" in around) and any(map(has, _QOQ))
             else "mom" if "month" in around and any(map(has, _MOM)) else "unspecified")
    return _CHANGES[sign, basis]


def _sign_before(before: str) -> int | None:
    # Chinese: the verb sits right before the number, with only fillers between.
    zh = None
    if not before.isascii():  # the Chinese cues are all CJK
        for m in _ZH_CUE.finditer(before):
            zh = m
    if zh is not None and not _ZH_FILLER.sub("", before[zh.end():]):
        return -1 if zh.group() in _DOWN_SET else 1
    en = None
    for m in _EN_CUE.finditer(before.lower()):
        en = m
    if en is None:
        return None
    words = before[en.end():].replace("(", " ").split()
    if len(words) > 7:
        return None
    for w in words:
        lw = w.lower().strip(",")
        if lw and lw not in _FILLER and not _PCT_TOKEN.match(lw):
            return None
    return -1 if en.group(1).lower() in _DOWN_SET else 1


def last_change_verb(text: str) -> int | None:
    """Where the last English change verb ("rose", "fell", "up"...) in text starts, or None."""
    start = None
    for m in _EN_CUE.finditer(text.lower()):
        start = m.start()
    return start
