"""Fast longest-match lookup of many phrases in text, through one regex compiled from a trie.

A regex built from a trie never backtracks more than the length of one phrase, so matching is
linear in the text; this is what lets a gazetteer of hundreds of aliases run in well under a
millisecond per article.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Generic, NamedTuple, TypeVar

T = TypeVar("T")

_SEP = " "  # a space in a phrase matches one short run of spaces or hyphens in the text
_SEP_RE = r"[\s\-‐‑–]{1,3}"


_PLAIN = re.compile(r"[\s\-‐‑–’]")
_FOLD_RUN = re.compile(r"[\s\-‐‑–]+")


def normalize_phrase(phrase: str) -> str:
    """Lower-case a phrase and make spaces and hyphens equivalent (the key used for look-ups)."""
    low = phrase.strip().lower()
    if "  " not in low and not _PLAIN.search(low.replace(" ", "")):
        return low  # fast path: nothing to fold
    out = _FOLD_RUN.sub(_SEP, phrase.strip().lower())
    return out.replace("’", "'")


class Match(NamedTuple, Generic[T]):
    """One phrase found in a text (immutable; a tuple, cheaper to build than a frozen dataclass)."""

    start: int
    end: int
    text: str
    payload: T


def _trie_pattern(node: dict) -> str:
    """Regex for a trie node: alternatives per next character; an optional group where a phrase may end."""
    alts = []
    for ch in sorted(k for k in node if k != ""):
        piece = _SEP_RE if ch == _SEP else re.escape(ch)
        alts.append(piece + _trie_pattern(node[ch]))
    if not alts:
        return ""
    body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
    if "" in node:  # greedy optional: the longest phrase is tried first
        return "(?:" + body + ")?"
    return body


def _fold(phrase: str) -> str:
    """Spaces and hyphens made one space, case kept (the key of a proper name)."""
    return _FOLD_RUN.sub(_SEP, phrase.strip()).replace("’", "'")


def _compile(phrases: Iterable[str], lookbehind: bool) -> re.Pattern[str]:
    trie: dict = {}
    for key in phrases:
        node = trie
        for ch in key:
            node = node.setdefault(ch, {})
        node[""] = True
    pattern = _trie_pattern(trie) or r"(?!x)x"
    # Word boundaries only bind next to ASCII letters/digits. The regex engine is fastest with the check in the
    # pattern for lower-case phrases, and without it (checked in Python) for capitalised and Chinese names.
    if lookbehind and 0 < len(trie) <= _FEW_FIRST and "" not in trie:
        # Few first characters: open each branch with its character and check the one before it right after
        # ("x(?<![A-Za-z0-9].)" is "(?<![A-Za-z0-9])x"), so the engine can skip ahead to those characters in C.
        alts = [(_SEP_RE if ch == _SEP else re.escape(ch)) + r"(?<![A-Za-z0-9](?s:.))" + _trie_pattern(trie[ch])
                for ch in sorted(trie)]
        return re.compile("(?:" + "|".join(alts) + ")")
    return re.compile((r"(?<![A-Za-z0-9])(?:" + pattern + r")") if lookbehind else pattern)


_FEW_FIRST = 8


# The latest long text and its lower-cased copy, shared by every matcher (they all read the same article, and
# short look-ups in between - a project name, a company segment - must not evict it).
_LOWER_CACHE: list[tuple[str, str]] = [("", "")]
_CACHE_MIN = 256


def lower_of(text: str) -> str:
    """text.lower(), computed once for the article being read."""
    last = _LOWER_CACHE[0]
    if last[0] is text:
        return last[1]
    lower = text.lower()
    if len(text) >= _CACHE_MIN:
        _LOWER_CACHE[0] = (text, lower)
    return lower


_MEMO_MAX = 4096


def _order(m: Match) -> tuple[int, int]:
    return (m.start, m.start - m.end)


class PhraseMatcher(Generic[T]):
    """Finds the longest known phrase at each position, left to right, without overlaps.

    Phrases with ASCII letters must sit on word boundaries; CJK phrases match anywhere. A phrase written
    with a capital letter, or in Chinese, is matched as written (so "Poly" does not match "poly"); an
    all-lowercase phrase matches in any case, through a lower-cased copy of the text (faster than a
    case-insensitive regex).
    """

    def __init__(self, phrases: Iterable[tuple[str, T]]) -> None:
        self._payload: dict[str, T] = {}   # normalize_phrase(phrase) -> payload, for get()
        self._proper: dict[str, T] = {}    # _fold(phrase) -> payload, matched case-sensitively
        self._lower: dict[str, T] = {}     # normalize_phrase(phrase) -> payload, matched on lower-cased text
        for phrase, payload in phrases:
            key = normalize_phrase(phrase)
            if not key:
                continue
            self._payload[key] = payload
            if phrase.isascii() and phrase == phrase.lower():
                self._lower[key] = payload
            else:
                self._proper[_fold(phrase)] = payload
        self._re_proper = _compile(self._proper, lookbehind=False)
        self._re_lower = _compile(self._lower, lookbehind=True)
        self._re_lower_i = re.compile(self._re_lower.pattern, re.IGNORECASE)
        self._memo: dict[int, dict[str, T | None]] = {id(self._proper): {}, id(self._lower): {}}

    def __contains__(self, phrase: str) -> bool:
        return normalize_phrase(phrase) in self._payload

    def get(self, phrase: str) -> T | None:
        """Payload of an exact phrase (any case, spaces and hyphens alike), or None."""
        return self._payload.get(normalize_phrase(phrase))

    def finditer(self, text: str, start: int = 0, end: int | None = None) -> Iterator[Match[T]]:
        """All non-overlapping longest matches in text[start:end], in text order."""
        return iter(self.find_all(text, start, end))

    def find_all(self, text: str, start: int = 0, end: int | None = None) -> list[Match[T]]:
        """The matches of finditer, as a list."""
        end = len(text) if end is None else end
        found = self._scan(self._re_proper, text, text, start, end, self._proper, _fold)
        if not self._lower:
            return found  # one scan: already in order, without overlaps
        lower = lower_of(text)
        if len(lower) == len(text):
            more = self._scan(self._re_lower, lower, text, start, end, self._lower, normalize_phrase)
        else:  # lower-casing changed the length (rare letters): fall back to a case-insensitive scan
            more = self._scan(self._re_lower_i, text, text, start, end, self._lower, normalize_phrase)
        if not more:
            return found
        if not found:
            return more
        found.extend(more)
        found.sort(key=_order)
        out: list[Match[T]] = []
        last_end = -1
        for m in found:
            if m.start >= last_end:
                out.append(m)
                last_end = m.end
        return out

    def _scan(self, rx: re.Pattern[str], hay: str, text: str, start: int, end: int, table: dict, keyfn) -> list[Match[T]]:
        """Matches of one regex, left to right, without overlaps (so in order)."""
        memo = self._memo[id(table)]  # matched text -> payload (the table's key function, computed once per string)
        out: list[Match[T]] = []
        pos = start
        n = len(hay)
        search = rx.search
        while pos < end:
            m = search(hay, pos, end)
            if m is None:
                break
            s, e = m.span()
            if e == s or (s > 0 and hay[s].isascii() and hay[s].isalnum() and hay[s - 1].isascii() and hay[s - 1].isalnum()):
                pos = s + 1
                continue
            last = hay[e - 1]
            # An ASCII phrase must end on a word boundary; otherwise look for a shorter phrase (rare).
            if last.isascii() and last.isalnum() and e < n and hay[e].isascii() and hay[e].isalnum():
                e = PhraseMatcher._shorter(hay, s, e, table, keyfn)
                if e is None:
                    pos = s + 1
                    continue
            frag = hay[s:e]
            try:
                payload = memo[frag]
            except KeyError:
                payload = table.get(keyfn(frag))
                if len(memo) >= _MEMO_MAX:
                    memo.clear()
                memo[frag] = payload
            if payload is None:
                pos = s + 1
                continue
            out.append(Match(s, e, text[s:e], payload))
            pos = e
        return out

    @staticmethod
    def _shorter(hay: str, s: int, e: int, table: dict, keyfn) -> int | None:
        for cut in range(e - 1, s, -1):
            if hay[cut].isascii() and hay[cut].isalnum() and hay[cut - 1].isascii() and hay[cut - 1].isalnum():
                continue
            if keyfn(hay[s:cut]) in table:
                return cut
        return None
