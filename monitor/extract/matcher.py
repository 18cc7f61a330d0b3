"""Fast longest-match lookup of many phrases in text, through one regex compiled from a trie.

A regex built from a trie never backtracks more than the length of one phrase, so matching is
linear in the text; this is what lets a gazetteer of hundreds of aliases run in well under a
millisecond per article.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

_SEP = " "  # a space in a phrase matches one short run of spaces or hyphens in the text
_SEP_RE = r"[\s\-‐‑–]{1,3}"
_ASCII_WORD = re.compile(r"[A-Za-z0-9]")


_PLAIN = re.compile(r"[\s\-‐‑–’]")


def normalize_phrase(phrase: str) -> str:
    """Lower-case a phrase and make spaces and hyphens equivalent (the key used for look-ups)."""
    low = phrase.strip().lower()
    if "  " not in low and not _PLAIN.search(low.replace(" ", "")):
        return low  # fast path: nothing to fold
    out = re.sub(r"[\s\-‐‑–]+", _SEP, phrase.strip().lower())
    return out.replace("’", "'")


@dataclass(frozen=True, slots=True)
class Match(Generic[T]):
    """One phrase found in a text."""

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


class PhraseMatcher(Generic[T]):
    """Finds the longest known phrase at each position, left to right, without overlaps.

    Phrases with ASCII letters must sit on word boundaries; CJK phrases match anywhere. A phrase
    written with a capital letter (a proper name) must start with a capital in the text.
    """

    def __init__(self, phrases: Iterable[tuple[str, T]]) -> None:
        self._payload: dict[str, T] = {}
        self._proper: set[str] = set()
        trie: dict = {}
        for phrase, payload in phrases:
            key = normalize_phrase(phrase)
            if not key:
                continue
            self._payload[key] = payload
            if phrase[:1].isupper() and phrase[:1].isascii():
                self._proper.add(key)
            node = trie
            for ch in key:
                node = node.setdefault(ch, {})
            node[""] = True
        pattern = _trie_pattern(trie) or r"(?!x)x"
        # Word boundaries only bind next to ASCII letters/digits; the checks are single characters.
        self._re = re.compile(r"(?<![A-Za-z0-9])(?:" + pattern + r")", re.IGNORECASE)

    def __contains__(self, phrase: str) -> bool:
        return normalize_phrase(phrase) in self._payload

    def get(self, phrase: str) -> T | None:
        """Payload of an exact phrase (normalised), or None."""
        return self._payload.get(normalize_phrase(phrase))

    def finditer(self, text: str, start: int = 0, end: int | None = None) -> Iterator[Match[T]]:
        """All non-overlapping longest matches in text[start:end]."""
        end = len(text) if end is None else end
        pos = start
        rx = self._re
        while pos < end:
            m = rx.search(text, pos, end)
            if m is None:
                return
            s, e = m.span()
            if e == s:
                pos = s + 1
                continue
            found = m.group()
            # An ASCII phrase must also end on a word boundary; retry one character later if not.
            last = found[-1]
            if last.isascii() and last.isalnum() and e < len(text) and text[e].isascii() and text[e].isalnum():
                shorter = self._shorter_match(text, s, e)
                if shorter is None:
                    pos = s + 1
                    continue
                e = shorter
                found = text[s:e]
            key = normalize_phrase(found)
            payload = self._payload.get(key)
            if payload is None or (key in self._proper and not found[:1].isupper()):
                pos = s + 1
                continue
            yield Match(s, e, found, payload)
            pos = e

    def _shorter_match(self, text: str, s: int, e: int) -> int | None:
        """Longest phrase starting at s that ends before e on a word boundary (rare path)."""
        for cut in range(e - 1, s, -1):
            if _ASCII_WORD.match(text[cut]) and _ASCII_WORD.match(text[cut - 1]):
                continue
            if normalize_phrase(text[s:cut]) in self._payload:
                return cut
        return None
