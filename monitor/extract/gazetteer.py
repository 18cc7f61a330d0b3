"""Entity gazetteer: central SOEs, listed subsidiaries and group names, EN and ZH (data/entities.yaml + user files)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Literal, NamedTuple

import yaml

from .fx import DATA_DIR
from .matcher import PhraseMatcher

EntityKind = Literal["company", "group", "org"]

# Organisations missing from the gazetteer are kept as written when their name has a legal-form suffix.
_EN_ORG = re.compile(
    r"(?<![A-Za-z])(?:(?:[A-Z][A-Za-z0-9&'.-]{0,30}|\d{1,3}(?:st|nd|rd|th))\s{1,2}(?:(?:of|and|&)\s{1,2})?){1,8}"
    r"(?:Group|Co\.|Co|Corp\.|Corp|Corporation|Company|Ltd\.|Ltd|Limited|Inc\.|Inc|Holdings|Bureau|Authority|Administration)"
    r"(?:\s{1,2}(?:Co\.?|Ltd\.?|Limited|Corp\.?|Inc\.?)){0,2}(?![A-Za-z])"
)
_LEGAL_TAIL = re.compile(r"[\s,]{1,3}(?:Co\.?|Ltd\.?|Limited|Inc\.?|Corp\.?|Corporation|Company|Holdings|PLC|plc)$|(?:股份有限公司|有限责任公司|有限公司)$")
_SUFFIX = re.compile(r"Group|Co\.|Co\b|Corp|Company|Ltd|Limited|Inc\b|Holdings|Bureau|Authority|Administration|公司|集团")
_ZH_ORG = re.compile(r"[\u4e00-\u9fff]{2,30}(?:集团)?(?:股份有限公司|有限责任公司|有限公司|集团公司|集团)")
# Words that cannot be inside a Chinese organisation name: cut the name after the last of them.
_ZH_CUT = re.compile(r".*(?:与|同|和|及|由|向|对|为|了|的|在|将|共|、|子公司|所属|下属|其中|方面|分别|签署|签订|公司(?=[\u4e00-\u9fff]{2,}(?:股份有限公司|有限责任公司|有限公司|集团)$))")


_MEMO_MAX = 4096  # bound on memoised look-ups

_NATIONAL = re.compile(r"^(?:China's|Chinese|the)\s+", re.IGNORECASE)


class EntityMention(NamedTuple):
    """An organisation or group named in the text: span, text as written, canonical name and kind."""

    start: int
    end: int
    text: str
    name: str
    kind: EntityKind


class Gazetteer:
    """Known entities (canonical name, aliases) and a fallback for unknown organisations."""

    def __init__(self, files: Iterable[Path] = ()) -> None:
        self._alias: dict[str, tuple[str, EntityKind]] = {}
        for path in [DATA_DIR / "entities.yaml", *files]:
            self._load(Path(path))
        self._matcher: PhraseMatcher[tuple[str, EntityKind]] = PhraseMatcher(self._alias.items())
        # name -> lookup(name): the same organisation names recur in every article of a feed (values are immutable).
        self._lookups: dict[str, tuple[str, EntityKind] | None] = {}

    def _load(self, path: Path) -> None:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for entry in data.get("entities", []) or []:
            name = str(entry["name"])
            kind = entry.get("kind", "company")
            for alias in [name, *(entry.get("aliases") or [])]:
                self._alias[str(alias)] = (name, kind)
                if str(alias).isascii() and len(str(alias)) >= 4 and not str(alias).islower():
                    self._alias[str(alias).upper()] = (name, kind)  # headlines in capitals: "SINOPEC"

    def names(self) -> set[str]:
        """Every canonical entity name."""
        return {n for n, _ in self._alias.values()}

    def canonical(self, name: str) -> str:
        """Canonical name for an alias (any case and spacing), else the name as given."""
        hit = self.lookup(name)
        if hit is None:
            hit = self.lookup(_NATIONAL.sub("", name.strip()))
        return hit[0] if hit else name.strip()

    def lookup(self, name: str) -> tuple[str, EntityKind] | None:
        """(canonical name, kind) of a known alias, else None; legal-form endings are tried off ("PetroChina Co Ltd")."""
        try:
            return self._lookups[name]
        except KeyError:
            pass
        hit = self._lookup(name)
        if len(self._lookups) >= _MEMO_MAX:
            self._lookups.clear()
        self._lookups[name] = hit
        return hit

    def _lookup(self, name: str) -> tuple[str, EntityKind] | None:
        name = name.strip()
        hit = self._matcher.get(name)
        while hit is None:
            shorter = _LEGAL_TAIL.sub("", name)
            if shorter == name or not shorter:
                break
            name = shorter
            hit = self._matcher.get(name)
        return hit

    def _orgs(self, text: str, start: int, end: int) -> list[EntityMention]:
        """Unknown organisations, found from their legal-form suffix backwards (only near a suffix, so it is cheap)."""
        out: list[EntityMention] = []
        seen_en = -1
        for a in _SUFFIX.finditer(text, start, end):
            p = a.start()
            if a.group()[0] in "公集":
                if p <= seen_en:
                    continue
                lo = max(start, p - 34)
                m = None
                for m in _ZH_ORG.finditer(text, lo, min(end, a.end() + 6)):
                    if m.end() >= a.end():
                        break
                if m is None or m.end() < a.end():
                    continue
                seen_en = m.end()
                s = m.start()
                cut = _ZH_CUT.match(m.group())
                if cut:
                    s += cut.end()
                if m.end() - s >= 4:
                    name = text[s:m.end()]
                    known = self.lookup(name)
                    out.append(EntityMention(s, m.end(), name, known[0] if known else name, known[1] if known else "org"))
                continue
            if p <= seen_en:
                continue
            lo = max(start, p - 160)
            m = None
            for cand in _EN_ORG.finditer(text, lo, min(end, a.end() + 24)):
                if cand.start() <= p < cand.end():
                    m = cand
                    break
            if m is None:
                continue
            seen_en = m.end()
            s, name = m.start(), m.group()
            cut = name.rfind("'s ")
            if cut != -1:  # "Dubai's Roads and Transport Authority" -> the authority
                s, name = s + cut + 3, name[cut + 3:]
            known = self.lookup(name)
            out.append(EntityMention(s, m.end(), name, known[0] if known else name, known[1] if known else "org"))
        return out

    def find(self, text: str, start: int = 0, end: int | None = None) -> list[EntityMention]:
        """Known entities and suffix-marked organisations in text[start:end], longest first, no overlaps.

        An abbreviation in parentheses right after a name ("... enterprises (SOEs)") is the same entity and
        is not reported again.
        """
        end = len(text) if end is None else end
        found = [EntityMention(m.start, m.end, m.text, m.payload[0], m.payload[1])
                 for m in self._matcher.find_all(text, start, end)]
        found.extend(self._orgs(text, start, end))
        found.sort(key=lambda e: (e.start, -(e.end - e.start)))
        out: list[EntityMention] = []
        last_end = -1
        for e in found:
            if e.start < last_end:
                # A longer organisation name covering a known alias: keep the longer, but the known canonical wins
                # when the two are the same thing.
                continue
            if out and text[out[-1].end:e.start].strip() == "(" and text[e.end:e.end + 1] in ")）":
                continue
            out.append(e)
            last_end = e.end
        return out
