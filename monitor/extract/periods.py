"""Reporting periods: find them in text (English and Chinese) and resolve them to calendar dates.

Each form has its own small, bounded regex (no nested quantifiers); mentions are collected from
all of them and the longest one at each position wins. A mention may lack a year ("1-3月",
"between January and November"); `resolve` fills it from the article's context year or the
publication date.
"""

from __future__ import annotations

import calendar
import re
from datetime import date
from functools import lru_cache
from typing import Literal, NamedTuple

from .models import Period

MentionKind = Literal["year", "half", "quarter", "month", "months", "point", "prev_year", "ignore"]

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}
_MONTH_NAMES = [calendar.month_name[i] for i in range(13)]
_EN_NUM = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "first": 1, "second": 2, "third": 3, "fourth": 4, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4,
}
_ZH_NUM = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10, "十一": 11, "十二": 12}


class PeriodMention(NamedTuple):
    """A period as written: kind, and whatever of year / months / quarter / half the text gives."""

    start: int
    end: int
    kind: MentionKind
    year: int | None = None
    rel_year: int | None = None  # 0 this year, -1 last year (resolved against the publication date)
    m1: int | None = None
    m2: int | None = None
    quarter: int | None = None
    half: int | None = None


_M = (r"(?P<{g}>January|February|March|April|May|June|July|August|September|October|November|December|"
      r"Jan\.|Feb\.|Mar\.|Apr\.|Jun\.|Jul\.|Aug\.|Sept\.|Sep\.|Oct\.|Nov\.|Dec\.|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)"
      r"(?![A-Za-z])")
_Y = r"(?<![\d.,])(?P<{g}>(?:19|20)\d{{2}})(?![\d%])"
_REL_EN = r"(?P<{g}>(?i:this year|last year|the previous year|the prior year|the year|the same year|next year))"
_TAIL = (r"(?:,?\s{1,2}(?:(?i:of|in)\s{1,2})?(?:(?i:fiscal)\s{1,2})?(?:" + _Y.format(g="ty") + "|" + _REL_EN.format(g="trel") + "))?")
_ZH_MN = r"(?:1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])"
_ZH_Y = r"(?:(?<!\d)(?P<y>(?:19|20)\d{2})\s{0,2}年\s{0,2}(?:度\s{0,2})?|(?P<rel>今年|去年|上年|本年|上一年|明年))?"

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("ignore", re.compile(
        r"(?i:(?:over|from|compared with|versus|than)\s{1,2})?(?i:the\s{1,2}same\s{1,2}period\s{1,2}(?:of\s{1,2})?(?:last|"
        r"a|the\s{1,2}previous)\s{1,2}year|year[\s-]on[\s-]year|year[\s-]over[\s-]year)"
    )),
    # "up 3 percent from a year earlier" states the basis of a change, not the period of a figure.
    ("ignore", re.compile(
        r"(?i:(?:from|than|over|compared\s{1,2}with|versus)\s{1,2}(?:a|one|the)\s{1,2}(?:year|"
        r"previous\s{1,2}year|prior\s{1,2}year)(?:\s{1,2}(?:earlier|ago|before))?)"
    )),
    ("ignore", re.compile(r"上年同期|去年同期|同期|(?:较|比|相比|与)\s{0,2}(?:上年末|上年底|去年末|去年底|年初|上年|去年|上月|上季度)")),
    ("ignore", re.compile(r"(?i:(?:compared\s{1,2}with|than|versus|vs\.?|against)\s{1,2}(?:in\s{1,2})?)" + _Y.format(g="y"))),
    ("date", re.compile(_M.format(g="m") + r"\s{1,2}\d{1,2}(?:st|nd|rd|th)?(?!\d)(?:,?\s{1,2}" + _Y.format(g="y") + ")?")),
    ("date", re.compile(r"(?:(?:截至|截止|截止到|到)\s{0,2})?(?<!\d)(?P<y>(?:19|20)\d{2})\s{0,2}年\s{0,2}" + _ZH_MN + r"\s{0,2}月\s{0,2}\d{1,2}\s{0,2}日")),
    ("date", re.compile(r"(?<!\d)" + _ZH_MN + r"\s{0,2}月\s{0,2}\d{1,2}\s{0,2}日")),
    ("en_range", re.compile(r"(?i:(?:between|from)\s{1,2})?" + _M.format(g="m1") + r"\s{0,2}(?:-|–|—|(?i:to|through|and|until))\s{0,2}" + _M.format(g="m2") + _TAIL)),
    ("en_ytd", re.compile(r"(?i:(?:the\s{1,2})?first\s{1,2})(?P<n>\d{1,2}|(?i:two|three|four|five|six|seven|eight|nine|ten|eleven))\s{1,2}(?i:months)" + _TAIL)),
    ("en_ytdq", re.compile(r"(?i:(?:the\s{1,2})?first\s{1,2})(?P<n>(?i:two|three))\s{1,2}(?i:quarters)" + _TAIL)),
    ("en_half", re.compile(r"(?i:(?:the\s{1,2})?(?P<h>first|second)[\s-]{1,2}half)" + _TAIL)),
    ("en_halfcode", re.compile(r"(?<![A-Za-z0-9])(?P<h>H1|H2|1H|2H)(?:\s{0,2}" + _Y.format(g="y") + r")?(?![A-Za-z0-9])")),
    ("en_halfcode", re.compile(_Y.format(g="y") + r"\s{0,2}(?P<h>H1|H2)(?![A-Za-z0-9])")),
    ("en_quarter", re.compile(r"(?i:(?:the\s{1,2})?(?P<q>first|second|third|fourth|1st|2nd|3rd|4th)\s{1,2}quarter)" + _TAIL)),
    ("en_qcode", re.compile(r"(?<![A-Za-z0-9])Q(?P<q>[1-4])(?:\s{0,2}" + _Y.format(g="y") + r")?(?![A-Za-z0-9])")),
    ("en_qcode", re.compile(_Y.format(g="y") + r"\s{0,2}Q(?P<q>[1-4])(?![A-Za-z0-9])")),
    ("en_monthend", re.compile(r"(?i:(?:at|by|as\s{1,2}of)\s{1,2})?(?i:the\s{1,2})?(?i:end)\s{1,2}(?i:of)\s{1,2}" + _M.format(g="m") + r"(?:,?\s{1,2}" + _Y.format(g="y") + r"|\s{1,2}" + _REL_EN.format(g="rel") + ")?")),
    ("en_yearend", re.compile(r"(?i:(?:at|by|as\s{1,2}of)\s{1,2})?(?i:the\s{1,2})?(?i:end)(?:\s{1,2}(?i:of)\s{1,2}|[\s-])(?:" + _Y.format(g="y") + "|" + _REL_EN.format(g="rel") + ")")),
    ("en_yearend", re.compile(r"(?i:year[\s-]end)\s{1,2}" + _Y.format(g="y"))),
    ("en_month", re.compile(_M.format(g="m") + r"(?:,?\s{1,2}" + _Y.format(g="y") + r"|\s{1,2}" + _REL_EN.format(g="rel") + ")?")),
    ("en_monthcode", re.compile(_Y.format(g="y") + r"-(?P<m>0[1-9]|1[0-2])(?![\d-])")),
    ("en_prev", re.compile(
        r"(?i:(?:a|one)\s{1,2}year\s{1,2}(?:earlier|ago|before)|the\s{1,2}previous\s{1,2}year|"
        r"the\s{1,2}prior\s{1,2}year|a\s{1,2}year\s{1,2}(?:earlier|ago))"
    )),
    ("en_year", re.compile(r"(?:(?i:fiscal)\s{1,2}(?:(?i:year)\s{1,2})?|FY\s{0,2})?" + _Y.format(g="y") + r"(?!\s{0,2}[-/]\s{0,2}\d{3})(?!\s{0,2}年)")),
    ("en_rel", re.compile(r"(?<![A-Za-z])" + _REL_EN.format(g="rel"))),
    ("zh_range", re.compile(_ZH_Y + r"(?P<m1>" + _ZH_MN + r")\s{0,2}月?\s{0,2}(?:-|—|–|~|至|到|－|―)\s{0,2}(?P<m2>" + _ZH_MN + r")\s{0,2}月(?:份)?(?P<end>末|底)?")),
    ("zh_ytd", re.compile(_ZH_Y + r"前\s{0,2}(?P<n>\d{1,2}|十[一二]?|[一二三四五六七八九])\s{0,2}个月")),
    ("zh_ytdq", re.compile(_ZH_Y + r"前(?P<n>[一二三两23])(?:个)?季度")),
    ("zh_quarter", re.compile(_ZH_Y + r"(?:第)?(?P<q>[一二三四1-4])\s{0,2}季度")),
    ("zh_half", re.compile(_ZH_Y + r"(?P<h>上|下)半年")),
    ("zh_month", re.compile(r"(?:(?:截至|截止|截止到|到)\s{0,2})?" + _ZH_Y + r"(?P<m>" + _ZH_MN + r")\s{0,2}月(?:份)?(?P<end>末|底)?")),
    ("zh_year", re.compile(
        r"(?:(?:截至|截止|截止到|到)\s{0,2})?(?:(?<!\d)(?P<y>(?:19|20)\d{2})\s{0,2}年|(?P<rel>今年|去年|"
        r"上年|本年|明年))(?P<end>末|底)?(?:度|全年)?"
    )),
    ("zh_year", re.compile(r"全年")),
]

_REL_VALUES = {
    "this year": 0, "last year": -1, "the previous year": -1, "the prior year": -1, "next year": 1,
    "今年": 0, "本年": 0, "去年": -1, "上年": -1, "上一年": -1, "明年": 1,
}


_DATE_EN = re.compile(r"([A-Z][a-z]{2,8})\.?\s{1,2}(\d{1,2})")
_DATE_ZH = re.compile(r"(1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])\s{0,2}月\s{0,2}(\d{1,2})\s{0,2}日")


def _date_parts(text: str) -> tuple[int | None, int | None]:
    """(month, day) of a written date, English or Chinese."""
    m = _DATE_ZH.search(text)
    if m:
        return _zh_int(m.group(1)), int(m.group(2))
    m = _DATE_EN.match(text)
    if m and m.group(1)[:3].lower() in _MONTHS:
        return _MONTHS[m.group(1)[:3].lower()], int(m.group(2))
    return None, None


def _month(word: str) -> int:
    word = word.rstrip(".").lower()
    return _MONTHS[word[:3]]


def _zh_int(s: str) -> int:
    return int(s) if s.isdigit() else _ZH_NUM.get(s, 0)


def _rel(groups: dict[str, str | None], *names: str) -> int | None:
    for n in names:
        v = groups.get(n)
        if v:
            return _REL_VALUES.get(v.lower(), None if v.lower() in ("the year", "the same year") else 0)
    return None


def _year(groups: dict[str, str | None], *names: str) -> int | None:
    for n in names:
        v = groups.get(n)
        if v:
            return int(v)
    return None


# (id of the regex, matched text, groups) -> the mention's fields after its span (None: not a period). A mention
# depends on nothing else (each regex belongs to one form), and the same few period phrases recur in every article.
_BUILT: dict[tuple, tuple | None] = {}
_BUILT_MAX = 4096


def _fields(tag: str, m: re.Match[str]) -> tuple | None:
    """The fields after the span of the mention a match of one form's regex stands for (None: not a period)."""
    key = (id(m.re), m.group(), m.groups())  # id: hashing a Pattern hashes its whole compiled code
    try:
        return _BUILT[key]
    except KeyError:
        pass
    mention = _build_new(tag, m)
    fields = None if mention is None else tuple(mention[2:])
    if len(_BUILT) >= _BUILT_MAX:
        _BUILT.clear()
    _BUILT[key] = fields
    return fields


def _build_new(tag: str, m: re.Match[str]) -> PeriodMention | None:
    g = m.groupdict()
    s, e = m.span()
    y = _year(g, "y", "ty")
    rel = _rel(g, "rel", "trel")
    if tag == "date":
        # "as of June 30, 2024", "截至2024年12月31日": a month's last day is a balance date; other dates are not periods.
        mo, day = _date_parts(m.group())
        if mo and day and y is not None and day == calendar.monthrange(y, mo)[1]:
            return PeriodMention(s, e, "point", y, None, mo, mo)
        return PeriodMention(s, e, "ignore")
    if tag == "ignore":
        return PeriodMention(s, e, "ignore")
    if tag == "en_range":
        return PeriodMention(s, e, "months", y, rel, _month(g["m1"]), _month(g["m2"]))
    if tag in ("en_ytd", "zh_ytd"):
        n = g["n"]
        months = int(n) if n.isdigit() else (_EN_NUM.get(n.lower()) or _zh_int(n))
        if not 1 <= months <= 12:
            return None
        return PeriodMention(s, e, "months", y, rel, 1, months)
    if tag in ("en_ytdq", "zh_ytdq"):
        n = g["n"]
        quarters = int(n) if n.isdigit() else (_EN_NUM.get(n.lower()) or _zh_int(n))
        return PeriodMention(s, e, "months", y, rel, 1, 3 * quarters)
    if tag == "en_half":
        return PeriodMention(s, e, "half", y, rel, half=1 if g["h"].lower() == "first" else 2)
    if tag == "en_halfcode":
        return PeriodMention(s, e, "half", y, rel, half=1 if "1" in g["h"] else 2)
    if tag in ("en_quarter", "en_qcode"):
        q = g["q"]
        return PeriodMention(s, e, "quarter", y, rel, quarter=int(q) if q.isdigit() else _EN_NUM[q.lower()])
    if tag == "en_monthend":
        mo = _month(g["m"])
        return PeriodMention(s, e, "point", y, rel, mo, mo)
    if tag == "en_yearend":
        if y is None and rel is None:
            return None
        return PeriodMention(s, e, "point", y, rel, 12, 12)
    if tag in ("en_month", "en_monthcode"):
        mo = int(g["m"]) if g["m"].isdigit() else _month(g["m"])
        return PeriodMention(s, e, "month", y, rel, mo, mo)
    if tag == "en_prev":
        return PeriodMention(s, e, "prev_year")
    if tag == "en_year":
        return PeriodMention(s, e, "year", y)
    if tag == "en_rel":
        if rel is None:
            return None
        return PeriodMention(s, e, "year", None, rel)
    if tag == "zh_range":
        m1, m2 = _zh_int(g["m1"]), _zh_int(g["m2"])
        if not (1 <= m1 <= m2 <= 12):
            return None
        if g.get("end"):
            return PeriodMention(s, e, "point", y, rel, m2, m2)
        return PeriodMention(s, e, "months", y, rel, m1, m2)
    if tag == "zh_quarter":
        return PeriodMention(s, e, "quarter", y, rel, quarter=_zh_int(g["q"]))
    if tag == "zh_half":
        return PeriodMention(s, e, "half", y, rel, half=1 if g["h"] == "上" else 2)
    if tag == "zh_month":
        mo = _zh_int(g["m"])
        if not 1 <= mo <= 12:
            return None
        return PeriodMention(s, e, "point" if g.get("end") else "month", y, rel, mo, mo)
    if tag == "zh_year":
        if g.get("end"):
            return PeriodMention(s, e, "point", y, rel, 12, 12)
        return PeriodMention(s, e, "year", y, rel)
    return None


# Cheap anchors: literal words every period form contains, found with str.find (C speed). Each form's regex is
# then tried only where a mention could start near an anchor of its class, so the cost follows the number of
# anchors, not the length of the text. Words in capitals are anchors too ("FIRST HALF OF 2024" in a headline):
# the forms read these words in any case. (Month names are read as written: "MAY" in capitals is a verb as often.)
_ANCHOR_WORDS: dict[str, tuple[str, ...]] = {
    "mon": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "half": ("half", "Half", "HALF", "H1", "H2", "1H", "2H"),
    "qtr": ("quarter", "Quarter", "QUARTER", "QUARTERS", "Q1", "Q2", "Q3", "Q4"),
    "months": ("months", "MONTHS"),
    "year": ("year", "Year", "YEAR"),
    "end": ("end", "End", "END"),
    "num": ("19", "20"),
    "zh": ("年", "月", "季", "期"),
}
_BY_ANCHOR: dict[str, list[str]] = {
    "mon": ["date", "en_range", "en_monthend", "en_month"],
    "half": ["en_half", "en_halfcode"],
    "qtr": ["en_quarter", "en_ytdq", "en_qcode"],
    "months": ["en_ytd"],
    "year": ["ignore", "en_prev", "en_rel", "en_yearend"],
    "end": ["en_yearend", "en_monthend"],
    "num": ["en_year", "en_halfcode", "en_qcode", "en_monthcode", "ignore"],
    "zh": ["ignore", "date", "zh_range", "zh_ytd", "zh_ytdq", "zh_quarter", "zh_half", "zh_month", "zh_year"],
}
_LOOKBACK = 44
_LOOKAHEAD = 60
_ZH_BACK = 14
_ZH_AHEAD = 6
_BY_TAG: dict[str, list[re.Pattern[str]]] = {}
for _tag, _rx in _PATTERNS:
    _BY_TAG.setdefault(_tag, []).append(_rx)

# The characters a match can start with (lower-cased when the flag is set; "ſ" is listed where re.IGNORECASE lets
# it match s; no other letter here has another case-insensitive form), for the forms tried at word starts before
# an anchor. None: not known.
_FIRST_CHARS: dict[tuple[str, int], tuple[str, bool]] = {
    ("ignore", 0): ("ofcvty", True),
    ("ignore", 1): ("ftocv", True),
    ("ignore", 2): ("上去同较比相与", False),
    ("ignore", 3): ("ctva", True),
    ("en_prev", 0): ("aot", True),
    ("en_rel", 0): ("tln", True),
    ("en_yearend", 0): ("abte", True),
    ("en_yearend", 1): ("y", True),
    ("date", 0): ("JFMASOND", False),
    ("date", 1): ("截到12", False),
    ("date", 2): ("0123456789十一二三四五六七八九", False),
    ("en_range", 0): ("bfjmasond", True),  # between/from (any case), or a capitalised month
    ("en_month", 0): ("JFMASOND", False),
    ("en_monthend", 0): ("abte", True),
    ("en_ytd", 0): ("tf", True),
    ("en_ytdq", 0): ("tf", True),
    ("en_half", 0): ("tfs\u017f", True),
    ("en_quarter", 0): ("tfs\u017f1234", True),
    ("en_halfcode", 0): ("H12", False),
    ("en_halfcode", 1): ("12", False),
    ("en_qcode", 0): ("Q", False),
    ("en_qcode", 1): ("12", False),
    ("en_monthcode", 0): ("12", False),
    ("en_year", 0): ("f12", True),  # fiscal (any case), FY, or the year
}
_BY_TAG_FIRST: dict[str, list[tuple[re.Pattern[str], str | None, bool]]] = {
    _tag: [(_rx, *_FIRST_CHARS.get((_tag, _k), (None, False))) for _k, _rx in enumerate(_rxs)] for _tag, _rxs in _BY_TAG.items()
}

_MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# For each form read in Chinese windows: literals at least one of which every match contains (checked on the
# lower-cased window when the flag is set). A window without any of them cannot hold a match, so the regex is skipped.
_ZH_NEEDS: dict[tuple[str, int], tuple[tuple[str, ...], bool]] = {
    ("ignore", 0): (("year",), True),
    ("ignore", 1): (("year",), True),
    ("ignore", 2): (("同期", "较", "比", "与"), False),
    # (re.IGNORECASE also matches "ſ" for s and "ı", "İ" for i: their lower-cased forms are listed too)
    ("ignore", 3): (("compared", "than", "versus", "vs", "against", "\u017f", "\u0131", "\u0307"), True),
    ("date", 0): (_MONTH_ABBR, False),
    ("date", 1): (("日",), False),
    ("date", 2): (("日",), False),
    ("zh_range", 0): (("月",), False),
    ("zh_ytd", 0): (("个月",), False),
    ("zh_ytdq", 0): (("季度",), False),
    ("zh_quarter", 0): (("季度",), False),
    ("zh_half", 0): (("半年",), False),
    ("zh_month", 0): (("月",), False),
    ("zh_year", 0): (("年",), False),
    ("zh_year", 1): (("全年",), False),
}
_ZH_SCAN: list[tuple[str, re.Pattern[str], tuple[str, ...], bool]] = [
    (_tag, _rx, *_ZH_NEEDS[(_tag, _k)]) for _tag in ("ignore", "date", "zh_range", "zh_ytd", "zh_ytdq", "zh_quarter", "zh_half",
                                                     "zh_month", "zh_year") for _k, _rx in enumerate(_BY_TAG[_tag])
]


_MONTH_WORDS = frozenset(
    ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
     "December", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec"]
)
# How many words before an anchor a mention may start ("at the end of March": 4).
_WORDS_BACK = {"mon": 4, "half": 2, "qtr": 3, "months": 3, "year": 5, "end": 3, "num": 0}


_ANCHOR_MAX = max(len(w) for words in _ANCHOR_WORDS.values() for w in words)
# Anchor detection. Words starting with a capital letter (and Chinese ones) are found by one regex whose every
# alternative consumes only the anchor's first character (a literal, so the engine skips to candidate characters in
# C) and checks the rest - the whole-word conditions included - with lookarounds. Consuming one character lets
# anchors that overlap ("H2025": "H2" and "20") all be found. An empty group ends each alternative; its number
# (m.lastindex) names the class and the anchor word's length. Every occurrence of every anchor word that passes
# its checks is found, as a plain search for each word would (tests/extract/test_period_anchors.py).
_NOT_AFTER_LETTER = r"(?<![A-Za-z].)"  # checked after the first character: no ASCII letter before it
_WORD_END = r"(?![A-Za-rt-z])"  # no ASCII letter after, except a plural "s"


def _anchor_regex() -> tuple[re.Pattern[str], list[tuple[str, int]]]:
    """The regex for anchor words that start with a capital letter or are Chinese, and per group number the class
    and word length it marks."""
    alternatives: list[str] = []
    marks: list[tuple[str, int]] = []

    def add(first: str, rest: str, cls: str, length: int) -> None:
        alternatives.append(re.escape(first) + rest + "()")
        marks.append((cls, length))

    for first in sorted({w[0] for w in _MONTH_WORDS}):
        tails = "|".join(re.escape(w[1:]) for w in sorted(_MONTH_WORDS, key=len, reverse=True) if w[0] == first)
        add(first, f"{_NOT_AFTER_LETTER}(?=(?:{tails})(?![A-Za-z]))", "mon", 3)
    for cls in ("half", "qtr", "months", "year", "end"):
        for w in _ANCHOR_WORDS[cls]:
            if w[0] not in _FIND_FIRST:
                add(w[0], f"{_NOT_AFTER_LETTER}(?={re.escape(w[1:])}{_WORD_END})", cls, len(w))
    for w in _ANCHOR_WORDS["zh"]:
        add(w, "", "zh", 1)
    return re.compile("|".join(alternatives)), [("", 0)] + marks


def _ascii_anchor_regex() -> re.Pattern[str]:
    """_ANCHOR_RE plus the years, for ASCII text: there str.isdigit() is [0-9], so the digit checks fit in the regex
    (no digit before, two after, then no digit). The years' groups come last (every alternative starts with a
    literal, so the engine still skips to the candidate characters)."""
    years = "".join(f"|{w[0]}(?<![0-9].)(?={w[1:]}[0-9][0-9](?![0-9]))()" for w in _ANCHOR_WORDS["num"])
    return re.compile(_ANCHOR_RE.pattern + years)


# Anchor words starting with a lower-case letter or a digit: common characters ("e" alone is 1 character in 16),
# each a failed attempt of a regex. They are found with str.find instead, and checked in Python.
_FIND_FIRST = "abcdefghijklmnopqrstuvwxyz0123456789"
_FIND_WORDS = [(w, cls) for cls, words in _ANCHOR_WORDS.items() for w in words if w[0] in _FIND_FIRST]
_ANCHOR_RE, _ANCHOR_MARKS = _anchor_regex()
_ANCHOR_RE_ASCII = _ascii_anchor_regex()
_ANCHOR_MARKS_ASCII = _ANCHOR_MARKS + [("num", 2)] * len(_ANCHOR_WORDS["num"])
_ANCHOR_CLASS = [cls for cls, _ in _ANCHOR_MARKS_ASCII]
_FIND_WORDS_ASCII = [(w, cls) for w, cls in _FIND_WORDS if cls != "num"]
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_LETTERS_BUT_S = _LETTERS.replace("s", "")
_ANCHOR_READ = 12  # a check reads at most this far past an anchor's start ("September" and the character after)


def _anchors(text: str, start: int, end: int, spans: list[tuple[int, int]] | None = None) -> list[tuple[int, str]]:
    """Positions of anchor words, whole words only (so "Market" or "spend" cost nothing later), with their class.

    With `spans` (sorted, disjoint), only anchors starting inside a span are returned. An anchor word must end
    by `end`; the checks around it read the text as it is, past `end` too.
    """
    out: list[tuple[int, str]] = []
    n = len(text)
    ascii_text = text.isascii()
    for lo, stop in ([(start, end)] if spans is None else spans):
        lo = max(lo, start)
        if lo >= min(end, stop + _ANCHOR_MAX):
            continue
        _regex_anchors(text, lo, stop, end, out, ascii_text)
        for w, cls in (_FIND_WORDS_ASCII if ascii_text else _FIND_WORDS):
            last = min(end, stop + len(w) - 1)  # starting before stop, ending by end
            i = text.find(w, lo, last)
            while i != -1:
                j = i + len(w)
                if cls == "num":
                    ok = (j + 2 <= end and text[j:j + 2].isdigit() and not (i > 0 and text[i - 1].isdigit())
                          and not text[j + 2:j + 3].isdigit())
                else:
                    ok = (i == 0 or text[i - 1] not in _LETTERS) and (j == n or text[j] not in _LETTERS_BUT_S)
                if ok:
                    out.append((i, cls))
                i = text.find(w, i + 1, last)
    out.sort()
    return out


def _regex_anchors(text: str, lo: int, stop: int, end: int, out: list[tuple[int, str]], ascii_text: bool) -> None:
    """Append the anchors of the anchor regex starting in text[lo:stop] (each must end by `end`; a year must be
    followed by its two digits by `end`)."""
    rx = _ANCHOR_RE_ASCII if ascii_text else _ANCHOR_RE
    found = list(rx.finditer(text, lo, min(len(text), stop + _ANCHOR_READ)))
    while found and found[-1].start() >= stop:
        found.pop()
    if end >= len(text):  # every match ends by the end of the text, and so do a year's digits
        classes = _ANCHOR_CLASS
        out += [(m.start(), classes[m.lastindex]) for m in found]
        return
    for m in found:
        cls, length = _ANCHOR_MARKS_ASCII[m.lastindex]
        if m.start() + length + (2 if cls == "num" else 0) <= end:
            out.append((m.start(), cls))


# How many words before the anchor each English form may start ("over the same period of last year": 6).
_TAG_WORDS = {"ignore": 6, "en_prev": 3, "en_rel": 2, "en_yearend": 4, "en_range": 2, "date": 0, "en_monthend": 4,
              "en_month": 0, "en_half": 2, "en_halfcode": 0, "en_quarter": 2, "en_ytdq": 3, "en_qcode": 0, "en_ytd": 3,
              "en_year": 2, "en_monthcode": 0}


# Most "year"s are in "year-on-year"; the forms anchored on "year" need one of these words before it (or "end"
# after it). One regex finds any of them (each is a plain substring) in one C call.
_YEAR_CUES = ("this", "last", "previous", "prior", "same", " a ", "one", "next", "end")
_YEAR_CUE_RE = re.compile("|".join(re.escape(w) for w in _YEAR_CUES))
# "compared with 2023" states a basis: only worth trying the "ignore" forms at a year after one of these.
_COMPARE_WORDS = ("with", "than", "versus", "vs", "against")
_COMPARE_RE = re.compile("|".join(_COMPARE_WORDS))


def _num_tag_possible(tag: str, text: str, p: int) -> bool:
    """Cheap pre-check for forms anchored on a year: "2023 H1", "2024Q1", "2022-03" need their marker next."""
    after = text[p + 4:p + 7]
    if tag == "en_halfcode":
        return "H" in after or "H" in text[max(0, p - 3):p]
    if tag == "en_qcode":
        return "Q" in after or "Q" in text[max(0, p - 4):p]
    if tag == "en_monthcode":
        return after[:1] == "-"
    return True


# A word start: a non-space character at the start of the text or after a space, "(", "," or "-". Found as the
# character after a separator (a literal set the engine skips to in C) rather than by a lookbehind tried at
# every position.
_WORD_START = re.compile(r"(?<![^ \t\n(,\-])\S")
_WORD_GAP = re.compile(r"[ \t\n(,\-](?=\S)")
_NEAR = 8  # most words before an anchor are shorter than this (with the space after them)


def _word_starts(text: str, p: int, floor: int, words: int) -> list[int]:
    """The starts of up to `words` words in text[floor:p] (farthest first), then p itself."""
    if words <= 0:
        return [p]
    # Whether a position starts a word depends only on it and the character before: scan the last few characters
    # first, and all of text[floor:p] only when they hold too few words.
    near = p - _NEAR * words
    if near > floor:
        starts = [m.end() for m in _WORD_GAP.finditer(text, near - 1, p)]
        if len(starts) < words:
            starts = [m.end() for m in _WORD_GAP.finditer(text, floor - 1, p)]
    elif floor:
        starts = [m.end() for m in _WORD_GAP.finditer(text, floor - 1, p)]
    else:
        starts = [m.end() for m in _WORD_GAP.finditer(text, 0, p)]
        if _WORD_START.match(text, 0, p):
            starts.insert(0, 0)
    del starts[:-words]
    starts.append(p)
    return starts


# Forms whose mentions always have this kind (and whose fields are made without fail): their fields are made only
# for the mentions kept (most found are inside a longer one: "January" in "between January and April 2021").
_FIXED_KIND = {"ignore": "ignore", "en_range": "months", "en_half": "half", "en_halfcode": "half", "en_qcode": "quarter",
               "en_monthend": "point", "en_month": "month", "en_monthcode": "month", "en_prev": "prev_year",
               "en_year": "year"}


def _cased(first: str | None, fold: bool) -> str | None:
    """The characters c with (c.lower() if fold else c) in `first`: its letters in both cases (no other character
    lower-cases to one of them; tests/extract checks this over all of Unicode)."""
    if first is None or not fold:
        return first
    return "".join(sorted(set(first) | set(first.upper())))


Entry = tuple[str, int, re.Pattern[str], "str | None", "str | None"]
Plan = tuple[int, list[Entry]]


def _plan(cls: str, skip: tuple[str, ...] = ()) -> Plan:
    """How many words back to look from an anchor of class `cls`, and the regexes to try in order (tag, how many
    starts back, regex, first characters or None, fixed kind or None), leaving out the forms in `skip`."""
    entries = [(tag, _TAG_WORDS.get(tag, 6) + 1, rx, _cased(first, fold), _FIXED_KIND.get(tag))
               for tag in _BY_ANCHOR[cls] if tag not in skip for rx, first, fold in _BY_TAG_FIRST[tag]]
    words = min(_WORDS_BACK[cls], max((e[1] for e in entries), default=1) - 1)
    return words, entries


_PLANS: dict[str, Plan] = {cls: _plan(cls) for cls in _BY_ANCHOR if cls != "zh"}
_MON_NO_END = _plan("mon", ("en_monthend",))
_END_RE = re.compile("[eE][nN][dD]")  # as (?i:end) in the regexes: no other character matches e, n or d ignoring case
# Anchors on a year: the plan by which of the code forms (H1, Q1, -03) and the basis form are possible.
_NUM_PLANS: dict[tuple[bool, bool, bool, bool], Plan] = {
    (h, q, mc, cmp): _plan("num", tuple(t for t, ok in (("en_halfcode", h), ("en_qcode", q), ("en_monthcode", mc),
                                                           ("ignore", cmp)) if not ok))
    for h in (False, True) for q in (False, True) for mc in (False, True) for cmp in (False, True)
}
# A year with none of _NUM_CUES near it: tried at itself only (a copy, told apart by identity from the plan of a
# year with "FY" before it).
_PLAIN_YEAR: Plan = (0, list(_NUM_PLANS[(False, False, False, False)][1]))
((_, _, _PLAIN_YEAR_RX, _, _PLAIN_YEAR_KIND),) = _PLAIN_YEAR[1]  # its one form: en_year, of fixed kind "year"
# Every text a year anchor's forms look at besides the year: comparison words and "FY" before it, H, Q and "-" around
# it (all within 16 characters before and 7 after its start).
_NUM_CUES = re.compile("|".join(_COMPARE_WORDS) + "|FY|H|Q|-")  # (literal alternatives: the engine skips to them)
_new_mention = tuple.__new__
# (start, end, kind) -> the fields after the span of the mention found there, or the match to make them from.
Found = dict[tuple[int, int, str], "tuple | re.Match[str]"]


def _anchor_plan(text: str, p: int, cls: str) -> tuple[Plan | None, bool]:
    """The plan for the anchor at p after cheap text checks (None: nothing can match), and for a year, whether a
    comparison word precedes it."""
    if cls == "num":
        if _NUM_CUES.search(text, max(0, p - 16), p + 7) is None:
            return _PLAIN_YEAR, False  # no comparison word, no "FY", no H/Q/- marker next to it: the year itself
        compared = _COMPARE_RE.search(text, max(0, p - 16), p) is not None
        return _NUM_PLANS[(_num_tag_possible("en_halfcode", text, p), _num_tag_possible("en_qcode", text, p),
                           _num_tag_possible("en_monthcode", text, p), compared)], compared
    if cls == "mon":
        # An "end of <month>" mention around a month anchor has "end" before it (the month is the anchor).
        return (_PLANS["mon"] if _END_RE.search(text, max(0, p - _LOOKBACK), p) else _MON_NO_END), False
    if cls == "year" and _YEAR_CUE_RE.search(text[max(0, p - 32):p].lower()) is None \
            and text[p + 4:p + 8] not in ("-end", " end"):
        return None, False
    return _PLANS[cls], False


_TAG_OF: dict[int, str] = {id(_rx): _tag for _tag, _rx in _PATTERNS}
_Match = re.Match


def _try_forms(text: str, p: int, entries: list[Entry], starts: list[int],
               hi: int, found: Found) -> None:
    """Match each regex at the word starts before the anchor at p (the farthest first); the first match reaching
    past p is recorded in `found` (its fields, or the match itself when its kind is fixed)."""
    n = len(starts)
    for tag, limit, rx, first, kind in entries:
        for s in (starts if n <= limit else starts[n - limit:]):
            if first is not None and text[s] not in first:
                continue  # no match of rx can start with this character
            m = rx.match(text, s, hi)
            if m is not None and m.end() > p:
                if kind is not None:
                    ms, me = m.span()
                    found[(ms, me, kind)] = m
                else:
                    fields = _fields(tag, m)
                    if fields is not None:
                        ms, me = m.span()
                        found[(ms, me, fields[0])] = fields
                break


def find_periods(text: str, start: int = 0, end: int | None = None,
                 spans: list[tuple[int, int]] | None = None) -> list[PeriodMention]:
    """Period mentions in text[start:end], non-overlapping, the longest at each position.

    `spans` (sorted, disjoint) limits the search to those parts of the text, e.g. the sentences worth reading.
    """
    end = len(text) if end is None else end
    # (start, end, kind) -> the mention's fields after its span; mentions are made only for the ones kept.
    found: Found = {}
    zh_windows: list[list[int]] = []
    for p, cls in _anchors(text, start, end, spans):
        if cls == "zh":
            # Chinese anchors cluster ("2022年1-3月"): merge their windows and scan each merged window once.
            lo, hi = max(start, p - _ZH_BACK), min(end, p + _ZH_AHEAD)
            if zh_windows and lo <= zh_windows[-1][1]:
                zh_windows[-1][1] = max(zh_windows[-1][1], hi)
            else:
                zh_windows.append([lo, hi])
            continue
        plan, compared = _anchor_plan(text, p, cls)
        if plan is None:
            continue
        words, entries = plan
        if cls != "num":
            starts = _word_starts(text, p, max(start, p - _LOOKBACK), words)
        elif compared:
            starts = _word_starts(text, p, max(start, p - 24), 3)  # "compared with 2023" is a basis
        elif plan is _PLAIN_YEAR:
            # _try_forms(text, p, entries, [p], ...) for its one form (a year at p; the anchor's first character
            # passes the form's first-character check), without the call and loops: most years take this path.
            m = _PLAIN_YEAR_RX.match(text, p, min(end, p + _LOOKAHEAD))
            if m is not None and m.end() > p:
                found[(p, m.end(), _PLAIN_YEAR_KIND)] = m
            continue
        else:
            starts = [p - 2, p] if text[max(0, p - 2):p] == "FY" else [p]
        _try_forms(text, p, entries, starts, min(end, p + _LOOKAHEAD), found)
    for lo, hi in zh_windows:
        _scan_zh(text, lo, hi, found)
    return _longest(found)


def _scan_zh(text: str, lo: int, hi: int, found: Found) -> None:
    """Run the forms read in Chinese windows over text[lo:hi]; record what they find."""
    window = text[lo:hi]
    low = window.lower()
    for tag, rx, needs, lower in _ZH_SCAN:
        hay = low if lower else window
        for w in needs:
            if w in hay:
                break
        else:
            continue  # a literal every match of rx contains is missing: it cannot match here
        for m in rx.finditer(text, lo, hi):
            fields = _fields(tag, m)
            if fields is not None:
                s, e = m.span()
                found[(s, e, fields[0])] = fields


def _longest(found: Found) -> list[PeriodMention]:
    """The mentions found, left to right, each the longest at its position (the first found among equal spans) and
    not overlapping the one before."""
    out: list[PeriodMention] = []
    last_end = -1
    keys = sorted(found)  # by start, then end: the longest at a start comes last among those with that start
    n = len(keys)
    for k, (s, e, _) in enumerate(keys):
        if s < last_end or (k + 1 < n and keys[k + 1][0] == s):
            continue
        key = keys[k]
        if k and keys[k - 1][0] == s and keys[k - 1][1] == e:
            key = next(x for x in found if x[0] == s and x[1] == e)  # equal spans, other kinds: the first found
        fields = found[key]
        if fields.__class__ is _Match:
            fields = _fields(_TAG_OF[id(fields.re)], fields)
        out.append(_new_mention(PeriodMention, (s, e, *fields)))
        last_end = e
    return out


def _last_day(y: int, m: int) -> date:
    return date(y, m, calendar.monthrange(y, m)[1])


def _period(**fields: object) -> Period:
    # Fields are built here from validated integers: skip pydantic's validation (it dominates the cost).
    return Period.model_construct(**fields)


@lru_cache(maxsize=4096)
def make_period(kind: MentionKind, year: int | None, m1: int | None = None, m2: int | None = None,
                quarter: int | None = None, half: int | None = None) -> Period | None:
    """The Period for a fully known mention; label and dates as in the facts contract."""
    if kind == "year":
        if year is None:
            return None
        return _period(start=date(year, 1, 1), end=date(year, 12, 31), label=str(year), kind="year")
    if kind == "half" and half:
        if year is None:
            return _period(label=f"H{half}", kind="half")
        return _period(start=date(year, 1 if half == 1 else 7, 1), end=_last_day(year, 6 if half == 1 else 12),
                      label=f"{year}-H{half}", kind="half")
    if kind == "quarter" and quarter and 1 <= quarter <= 4:
        if year is None:
            return _period(label=f"Q{quarter}", kind="quarter")
        return _period(start=date(year, 3 * quarter - 2, 1), end=_last_day(year, 3 * quarter),
                      label=f"{year}-Q{quarter}", kind="quarter")
    if kind == "month" and m1:
        if year is None:
            return _period(label=_MONTH_NAMES[m1], kind="month")
        return _period(start=date(year, m1, 1), end=_last_day(year, m1), label=f"{year}-{m1:02d}", kind="month")
    if kind == "months" and m1 and m2:
        if m1 == m2:
            return make_period("month", year, m1, m1)
        if (m1, m2) == (1, 12):
            return make_period("year", year) if year is not None else _period(label="year", kind="year")
        label = f"{_MONTH_NAMES[m1]}-{_MONTH_NAMES[m2]}"
        pkind = "ytd" if m1 == 1 else "range"
        if year is None:
            return _period(label=label, kind=pkind)
        return _period(start=date(year, m1, 1), end=_last_day(year, m2), label=f"{label} {year}", kind=pkind)
    if kind == "point" and m2:
        if year is None:
            return _period(label=f"end of {_MONTH_NAMES[m2]}", kind="point")
        d = _last_day(year, m2)
        return _period(start=d, end=d, label=d.isoformat(), kind="point")
    return None


def _end_of(m: PeriodMention, year: int) -> date:
    if m.kind == "half":
        return _last_day(year, 6 if m.half == 1 else 12)
    if m.kind == "quarter":
        return _last_day(year, 3 * (m.quarter or 4))
    if m.kind in ("month", "months", "point"):
        return _last_day(year, m.m2 or 12)
    return date(year, 12, 31)


def _start_of(m: PeriodMention, year: int) -> date:
    if m.kind == "half":
        return date(year, 1 if m.half == 1 else 7, 1)
    if m.kind == "quarter":
        return date(year, 3 * (m.quarter or 1) - 2, 1)
    if m.kind in ("month", "months"):
        return date(year, m.m1 or 1, 1)
    if m.kind == "point":
        return _last_day(year, m.m2 or 12)
    return date(year, 1, 1)


def mention_year(m: PeriodMention, published: date | None, context_year: int | None) -> int | None:
    """The year a mention refers to: written, relative to publication, from context, or the latest past one."""
    if m.year is not None:
        return m.year
    if m.rel_year is not None and published is not None:
        return published.year + m.rel_year
    if published is not None:
        # The most recent such period that had ended by publication ("between January and November", read in
        # January) - unless the article's own year is later and already under way ("in the second half, it plans").
        y = published.year if _end_of(m, published.year) <= published else published.year - 1
        if context_year is not None and context_year > y and _start_of(m, context_year) <= published:
            return context_year
        return y
    return context_year


# (the mention's fields after its span, published, context year) -> the Period: it depends on nothing else.
_RESOLVED: dict[tuple, Period | None] = {}
_RESOLVED_MAX = 4096


def resolve(m: PeriodMention, published: date | None, context_year: int | None) -> Period | None:
    """Turn a mention into a Period (None for 'ignore' and relative 'a year earlier' mentions)."""
    if m.kind in ("ignore", "prev_year"):
        return None
    key = (m[2:], published, context_year)
    try:
        return _RESOLVED[key]
    except KeyError:
        pass
    year = mention_year(m, published, context_year)
    period = make_period(m.kind, year, m.m1, m.m2, m.quarter, m.half)
    if len(_RESOLVED) >= _RESOLVED_MAX:
        _RESOLVED.clear()
    _RESOLVED[key] = period
    return period


def shift_year(p: Period, years: int) -> Period | None:
    """The same period `years` earlier or later (for "a year earlier")."""
    if p.start is None or p.end is None:
        return None
    y = p.end.year + years
    if p.kind == "year":
        return make_period("year", y)
    if p.kind == "half":
        return make_period("half", y, half=1 if p.start.month == 1 else 2)
    if p.kind == "quarter":
        return make_period("quarter", y, quarter=(p.start.month + 2) // 3)
    if p.kind in ("month", "ytd", "range"):
        return make_period("months", y, p.start.month, p.end.month)
    if p.kind == "point":
        return make_period("point", y, p.end.month, p.end.month)
    return None
