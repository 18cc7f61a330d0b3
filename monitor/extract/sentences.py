"""Text normalisation and sentence splitting with character offsets into the original text."""

from __future__ import annotations

import re
from typing import NamedTuple

# Full-width digits and punctuation -> ASCII, one character for one so offsets stay valid. Also the
# letters that case-insensitive regexes match to ASCII but lower() does not (long s, dotless and
# dotted i): after matching "ſecond quarter", word look-ups must find "second".
_FULLWIDTH = str.maketrans(
    "０１２３４５６７８９．，％＄：（）－～／＋ſıİ",
    "0123456789.,%$:()-~/+siI",
)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


_FULLWIDTH_RE = re.compile("[" + "".join(chr(k) for k in _FULLWIDTH) + "]")


# Lines in capitals ("SOE PROFITS ROSE 2.1 PERCENT TO 1.5 TRILLION YUAN"), common in headlines, are read in
# headline case: the grammar's small words (function words, number words, units, verbs of change) are
# lower-cased and every other word of four letters or more keeps only its first capital, as a sub-editor
# would write the line. The quotes of figures still come from the text as written.
_HEADLINE_LOWER = frozenset(
    "a an and as at between but by during for from in into of on or over per than that the to until up down with while "
    "compared year-on-year yoy about around nearly more less under after before its their it this these those which "
    "was were is are has have had be been percent pct billion million trillion thousand hundred bn mn yuan dollars "
    "rose fell grew increased decreased declined dropped jumped climbed reached totaled totalled hit surged slid "
    "first second third fourth half quarter quarters month months year years end".split())
# A line with no small letter. Possessive: a line that has one fails at it, without backtracking.
_NO_SMALL_LETTER_LINE = re.compile(r"^[^a-z\n]*+$", re.MULTILINE)
_CAPITAL = re.compile(r"[A-Z]")
_CAPITALS_WORD = re.compile(r"[A-Z][A-Z'’-]*")
_MIN_CAPITALS = 8  # fewer letters than this ("GDP", "CRRC") is a name, not a line in capitals


def _headline_word(m: re.Match[str]) -> str:
    word = m.group()
    lower = word.lower()
    if lower in _HEADLINE_LOWER:
        return lower
    return word if len(word) <= 3 else word[0] + lower[1:]  # short words are acronyms: US, GDP, SOE, H (of H1)


def _headline_case(m: re.Match[str]) -> str:
    line = m.group()
    # Capitals among Chinese text are names ("央企CRRC与SASAC"), not a headline in capitals.
    if len(line) < _MIN_CAPITALS or _CJK.search(line) or len(_CAPITAL.findall(line)) < _MIN_CAPITALS:
        return line
    return _CAPITALS_WORD.sub(_headline_word, line)


def normalize(text: str) -> str:
    """Same-length copy of text with full-width digits and signs (and case-folding odd letters) made ASCII,
    and lines in capitals in headline case."""
    # Substituting only the few full-width characters is much faster than translate() over the whole text.
    text = _FULLWIDTH_RE.sub(lambda m: chr(_FULLWIDTH[ord(m.group())]), text)
    return _NO_SMALL_LETTER_LINE.sub(_headline_case, text)


def detect_lang(text: str) -> str:
    """'zh' when CJK characters make up a fair share of the letters, else 'en'."""
    sample = text[:1000]
    cjk = len(_CJK.findall(sample))
    latin = len(_LATIN.findall(sample))
    return "zh" if cjk and cjk * 3 >= latin else "en"


class Sentence(NamedTuple):
    """A sentence: [start, end) offsets in the text, its paragraph number, and whether it is the title."""

    start: int
    end: int
    paragraph: int
    is_title: bool = False


# Words whose trailing period does not end a sentence.
_ABBREV = frozenset(
    "u.s mr mrs ms dr st no nos co corp inc ltd jan feb mar apr jun jul aug sep sept oct nov dec vs etc e.g i.e "
    "gov govt dept approx est fig jr sr prof gen rep sen bros plc a.m p.m u.k u.n".split()
)
# Candidate sentence ends: CJK enders, Latin enders followed by space, or line breaks. Bounded, linear.
_END = re.compile(r"[。！？!?]+[”\"’')）]?|\.(?=[\s\"”)’]|$)[\"”’)]?|\n")
# Every _END match starts with one of these characters: a pattern that is one character class lets the
# regex engine skip to candidates in C.
_END_CHAR = re.compile(r"[。！？!?.\n](?:(?<=\.)(?=[\s\"”)’]|$)|(?<!\.))")  # a full stop only where _END takes it
_QUOTE_AFTER = frozenset("\"”)’")  # with whitespace or the end: what may follow a sentence's full stop
_CLOSER = frozenset("\"”’)")  # one of these after the full stop belongs to the sentence
_MAX_SENTENCE = 2000  # very long "sentences" are cut so per-sentence work stays bounded


def split_sentences(text: str) -> list[Sentence]:
    """Split text into sentences (and paragraphs at line breaks); the first short line is the title."""
    out: list[Sentence] = []
    append = out.append
    paragraph = 0
    start = 0
    n = len(text)

    def emit(s: int, e: int) -> None:
        """Add text[s:e] as a sentence, trimmed, cut into pieces when overlong."""
        seg = text[s:e]
        lead = seg.lstrip()
        if not lead:
            return
        s += len(seg) - len(lead)
        e = s + len(lead.rstrip())
        while e - s > _MAX_SENTENCE:
            cut = _soft_cut(text, s, s + _MAX_SENTENCE)
            append(Sentence(s, cut, paragraph))
            s = cut
            while s < e and text[s].isspace():
                s += 1
        if e > s:
            append(Sentence(s, e, paragraph))

    end_match = _END.match
    pos = 0  # _END.finditer, with the engine skipping to candidate characters in C (same matches)
    for c in _END_CHAR.finditer(text):
        j = c.start()
        if j < pos:
            continue
        ch = text[j]
        # What _END.match(text, j) gives, read directly for a line break or a full stop (most candidates).
        if ch == "\n":
            me = j + 1
            tok = ch
        elif ch == ".":
            if j + 1 < n:
                nx = text[j + 1]
                if not (nx.isspace() or nx in _QUOTE_AFTER):
                    continue  # "3.5", "U.S": not an end
                me = j + 2 if nx in _CLOSER else j + 1
            else:
                me = j + 1
            tok = text[j:me]
        else:
            m = end_match(text, j)
            if m is None:
                continue
            me = m.end()
            tok = m.group()
        pos = me
        if tok == "\n":
            seg = text[start:j]
            lead = seg.lstrip()
            if lead:  # emit(start, j), inlined for the common case of a sentence that needs no cutting
                s = j - len(lead)
                e = s + len(lead.rstrip())
                if e - s > _MAX_SENTENCE:
                    emit(s, e)
                else:
                    append(Sentence(s, e, paragraph))
            start = me
            paragraph += 1
            continue
        if tok[0] == ".":
            tail = text[max(0, j - 13):j].rsplit(None, 1)
            word = tail[-1].lstrip("(\"'“‘.") if tail else ""
            if word and word.lower() in _ABBREV:
                nxt = text[me:me + 3].lstrip()
                # "U.S. dollars", "Aug. 28": an abbreviation ends a sentence only before a capitalised word.
                if not nxt or not nxt[0].isupper() or word.lower() in ("u.s", "no", "u.k"):
                    continue
            if len(word) == 1 and word.isupper():
                continue  # initials: "J. Smith"
            nxt = text[me:me + 2].lstrip()
            if j > 0 and text[j - 1].isdigit() and not (nxt and nxt[0].isascii() and nxt[0].isupper()):
                continue  # list markers "1. ..." and numbers, unless a capitalised sentence follows
            if nxt and (nxt[0].islower() or nxt[0].isdigit()):
                continue
        seg = text[start:me]
        lead = seg.lstrip()
        if lead:  # emit(start, me), inlined as above
            s = me - len(lead)
            e = s + len(lead.rstrip())
            if e - s > _MAX_SENTENCE:
                emit(s, e)
            else:
                append(Sentence(s, e, paragraph))
        start = me
    emit(start, n)
    if out:
        first = out[0]
        line_end = text.find("\n", first.start)
        is_line = line_end == -1 or line_end >= first.end
        if is_line and "\n" in text and first.end - first.start <= 200 and text[first.end - 1] not in ".。":
            out[0] = Sentence(first.start, first.end, first.paragraph, True)
    return out


def _soft_cut(text: str, s: int, e: int) -> int:
    """A cut point near e at a space or comma, so an overlong sentence splits between words."""
    for i in range(e, max(s + 1, e - 200), -1):
        if text[i - 1] in " ,，;；":
            return i
    return e
