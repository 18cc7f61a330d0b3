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


# (tag, id of the regex, matched text, groups) -> the mention's fields after its span (or None): a mention depends
# on nothing else, and the same few period phrases recur in every article.
_BUILT: dict[tuple, tuple | None] = {}
_BUILT_MAX = 4096


def _build(tag: str, m: re.Match[str]) -> PeriodMention | None:
    """The mention a match of one form's regex stands for (None when it is not a period), memoised."""
    key = (tag, id(m.re), m.group(), m.groups())  # id: hashing a Pattern hashes its whole compiled code
    try:
        fields = _BUILT[key]
    except KeyError:
        mention = _build_new(tag, m)
        fields = None if mention is None else tuple(mention[2:])
        if len(_BUILT) >= _BUILT_MAX:
            _BUILT.clear()
        _BUILT[key] = fields
    if fields is None:
        return None
    s, e = m.span()
    return PeriodMention(s, e, *fields)


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
# anchors, not the length of the text.
_ANCHOR_WORDS: dict[str, tuple[str, ...]] = {
    "mon": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "half": ("half", "Half", "H1", "H2", "1H", "2H"),
    "qtr": ("quarter", "Quarter", "Q1", "Q2", "Q3", "Q4"),
    "months": ("months",),
    "year": ("year", "Year"),
    "end": ("end", "End"),
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


def _is_letter(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()


_ASCII_LETTERS = re.compile(r"[A-Za-z]*")


# All anchor words in one regex (case-sensitive literals: the engine skips to their first letters in C). Where a
# match may hide another anchor word starting inside it ("H2" in "H2025" hides "20"), the table says where to look,
# so every occurrence of every word is found, as with one str.find scan per word.
_WORD_CLASS = {w: cls for cls, words in _ANCHOR_WORDS.items() for w in words}
_ANCHOR_RE = re.compile("|".join(re.escape(w) for w in sorted(_WORD_CLASS, key=len, reverse=True)))
_ANCHOR_MAX = max(len(w) for w in _WORD_CLASS)
_HIDDEN: dict[str, list[tuple[int, str]]] = {}
for _w in _WORD_CLASS:
    for _off in range(len(_w)):
        for _w2 in _WORD_CLASS:
            if (_off or _w2 != _w) and _w[_off:][:len(_w2)] == _w2[:len(_w) - _off]:
                _HIDDEN.setdefault(_w, []).append((_off, _w2))


def _anchors(text: str, start: int, end: int, spans: list[tuple[int, int]] | None = None) -> list[tuple[int, str]]:
    """Positions of anchor words, filtered to whole words so "Market" or "spend" cost nothing later.

    With `spans` (sorted, disjoint), only anchors starting inside a span are returned (each scan runs a few
    characters past its span, so a word starting inside it is found whole).
    """
    out: list[tuple[int, str]] = []
    n = len(text)
    for lo, stop in ([(start, end)] if spans is None else spans):
        lo = max(lo, start)
        hi = min(end, stop + _ANCHOR_MAX)
        if lo >= hi:
            continue
        found = []
        for m in _ANCHOR_RE.finditer(text, lo, hi):
            i = m.start()
            w = m.group()
            found.append((i, w))
            hidden = _HIDDEN.get(w)
            if hidden:
                for off, w2 in hidden:
                    if text.startswith(w2, i + off, hi):
                        found.append((i + off, w2))
        for i, w in found:
            if i >= stop:
                continue
            cls = _WORD_CLASS[w]
            j = i + len(w)
            before = text[i - 1] if i > 0 else " "
            after = text[j] if j < n else " "
            if cls == "num":
                ok = j + 2 <= end and text[j:j + 2].isdigit() and not before.isdigit() and not text[j + 2:j + 3].isdigit()
            elif cls == "zh":
                ok = True
            elif cls == "mon":
                k = _ASCII_LETTERS.match(text, j, i + 10).end()  # the whole word (at most 10 letters)
                ok = not _is_letter(before) and text[i:k] in _MONTH_WORDS
            else:
                ok = not _is_letter(before) and (not _is_letter(after) or after == "s")
            if ok:
                out.append((i, cls))
    out.sort()
    return out


# How many words before the anchor each English form may start ("over the same period of last year": 6).
_TAG_WORDS = {"ignore": 6, "en_prev": 3, "en_rel": 2, "en_yearend": 4, "en_range": 2, "date": 0, "en_monthend": 4,
              "en_month": 0, "en_half": 2, "en_halfcode": 0, "en_quarter": 2, "en_ytdq": 3, "en_qcode": 0, "en_ytd": 3,
              "en_year": 2, "en_monthcode": 0}


_YEAR_CUES = ("this", "last", "previous", "prior", "same", " a ", "one", "next", "end")


def _has_compare(before: str) -> bool:
    """Is one of the comparison words ("with", "than", ...) in this short stretch?"""
    for w in _COMPARE_WORDS:
        if w in before:
            return True
    return False


_COMPARE_WORDS = ("with", "than", "versus", "vs", "against")


def _num_tag_possible(tag: str, text: str, p: int) -> bool:
    """Cheap pre-check for forms anchored on a year: "2023 H1", "2024Q1", "2022-03" need their marker next."""
    after = text[p + 4:p + 7]
    if tag == "en_halfcode":
        return "H" in after or "H" in text[max(0, p - 3):p]
    if tag == "en_qcode":
        return "Q" in after or "Q" in text[max(0, p - 4):p]
    if tag == "en_monthcode":
        return after[:1] == "-"
    if tag == "ignore":  # "compared with 2023": only worth trying after a comparison word
        return any(w in text[max(0, p - 16):p] for w in ("with", "than", "versus", "vs", "against"))
    return True


# A word start: a non-space character at the start of the text or after a space, "(", "," or "-".
_WORD_START = re.compile(r"(?<![^ \t\n(,\-])\S")


def _word_starts(text: str, p: int, floor: int, words: int) -> list[int]:
    """The starts of up to `words` words before p (farthest first), then p itself."""
    if words <= 0:
        return [p]
    starts = [m.start() for m in _WORD_START.finditer(text, floor, p)]
    del starts[:-words]
    starts.append(p)
    return starts


def find_periods(text: str, start: int = 0, end: int | None = None,
                 spans: list[tuple[int, int]] | None = None) -> list[PeriodMention]:
    """Period mentions in text[start:end], non-overlapping, the longest at each position.

    `spans` (sorted, disjoint) limits the search to those parts of the text, e.g. the sentences worth reading.
    """
    end = len(text) if end is None else end
    found: dict[tuple[int, int, str], PeriodMention] = {}
    anchors = _anchors(text, start, end, spans)
    zh_windows: list[list[int]] = []
    for p, cls in anchors:
        if cls == "zh":
            # Chinese anchors cluster ("2022年1-3月"): merge their windows and scan each merged window once.
            lo, hi = max(start, p - _ZH_BACK), min(end, p + _ZH_AHEAD)
            if zh_windows and lo <= zh_windows[-1][1]:
                zh_windows[-1][1] = max(zh_windows[-1][1], hi)
            else:
                zh_windows.append([lo, hi])
            continue
        if cls == "year":
            # Most "year"s are in "year-on-year"; the forms anchored on "year" need one of these words before it.
            near = text[max(0, p - 32):p].lower()
            for w in _YEAR_CUES:
                if w in near:
                    break
            else:
                if text[p + 4:p + 8] not in ("-end", " end"):
                    continue
        hi = min(end, p + _LOOKAHEAD)
        if cls == "num":
            starts = [p - 2, p] if text[max(0, p - 2):p] == "FY" else [p]
            compared = _has_compare(text[max(0, p - 16):p])
            if compared:
                starts = _word_starts(text, p, max(start, p - 24), 3)  # "compared with 2023" is a basis
        else:
            starts = _word_starts(text, p, max(start, p - _LOOKBACK), _WORDS_BACK[cls])
        for tag in _BY_ANCHOR[cls]:
            if cls == "num" and not (compared if tag == "ignore" else _num_tag_possible(tag, text, p)):
                continue
            limit = _TAG_WORDS.get(tag, 6) + 1
            for rx, first, fold in _BY_TAG_FIRST[tag]:
                for s in starts[-limit:]:
                    if first is not None and (text[s].lower() if fold else text[s]) not in first:
                        continue  # no match of rx can start with this character
                    m = rx.match(text, s, hi)
                    if m is not None and m.end() > p:
                        mention = _build(tag, m)
                        if mention is not None:
                            found[(mention.start, mention.end, mention.kind)] = mention
                        break
    for lo, hi in zh_windows:
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
                mention = _build(tag, m)
                if mention is not None:
                    found[(mention.start, mention.end, mention.kind)] = mention
    ordered = sorted(found.values(), key=lambda x: (x.start, -(x.end - x.start)))
    out: list[PeriodMention] = []
    last_end = -1
    for x in ordered:
        if x.start >= last_end:
            out.append(x)
            last_end = x.end
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


def resolve(m: PeriodMention, published: date | None, context_year: int | None) -> Period | None:
    """Turn a mention into a Period (None for 'ignore' and relative 'a year earlier' mentions)."""
    if m.kind in ("ignore", "prev_year"):
        return None
    year = mention_year(m, published, context_year)
    return make_period(m.kind, year, m.m1, m.m2, m.quarter, m.half)


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
