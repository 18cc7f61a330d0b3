"""Contracts: who won what, from whom, where and for how much (English and Chinese).

A sentence with a contract noun (contract, deal, 合同, 协议...) and either a deal verb (signed,
won, secured, 签署, 中标...) or an amount written onto the noun becomes a contract. A total over
several deals ("three new contracts worth...", "合计金额约...") is returned as a figure hint
instead. A contract named without a value takes the value of the next sentence when that one
begins "Valued at $X" or "The contract is worth X".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from .amounts import Amount
from .context import ArticleContext, SentenceData
from .fx import DATA_DIR, CurrencyTable
from .gazetteer import Gazetteer
from .matcher import PhraseMatcher
from .models import Contract

_EN_VERB = re.compile(
    r"(?<![A-Za-z])(?:signed|signs|sign|won|wins|win|secured|secures|secure|awarded|awards|inked|inks|clinched|clinches|"
    r"landed|lands|bagged|bags|snagged|obtained|received|sealed|seals)(?![A-Za-z])", re.IGNORECASE)
_EN_NOUN = re.compile(r"(?<![A-Za-z])(?:contracts?|deals?|agreements?|(?<!in )orders?)(?![A-Za-z])", re.IGNORECASE)
# Literals every match of _EN_VERB / _EN_NOUN contains, looked for in the lower-cased sentence first: a substring
# test is far cheaper than a case-insensitive regex search over the whole sentence. ("ſ", "ı" and "İ" -> "i̇"
# also match s and i under re.IGNORECASE; "K" lower-cases to k.)
_EN_VERB_LITERALS = ("sign", "won", "win", "secur", "award", "ink", "clinch", "land", "bag", "snagged", "obtained",
                     "received", "seal", "\u017f", "\u0131", "\u0307")
_EN_NOUN_LITERALS = ("contract", "deal", "agreement", "order")


def _may_contain(lower: str, literals: tuple[str, ...]) -> bool:
    for w in literals:
        if w in lower:
            return True
    return False


_ZH_VERB = re.compile(r"签约|签订|签署|中标|新签|签下|斩获|订立")
_ZH_NOUN = re.compile(r"合同|协议|订单|项目|中标")
_TOTAL_ZH = re.compile(r"合计|累计|共计|共签署|若干|新签合同额|新签合同总额")
_PLURAL_NOUN = re.compile(r"(?<![A-Za-z])(?:contracts|deals|orders|agreements)(?![A-Za-z])", re.IGNORECASE)

# A capitalised name: words, ordinals and "&", optionally joined by of/and/for/the.
_PN_WORD = r"(?:[A-Z][A-Za-z0-9.'’&-]{0,30}|\d{1,3}(?:st|nd|rd|th)|&)"
_PN = re.compile(_PN_WORD + r"(?:\s{1,2}(?:(?:of|and|for|the|de|du)\s{1,2})?(?:" + _PN_WORD + r"|\d{1,4}(?![\d,.]\d)))" + r"{0,12}")
_AUX_TAIL = re.compile(
    r"(?:\s{1,2}(?:has|have|had|was|were|is|also|recently|jointly|just|been|reportedly|"
    r"successfully|,)){1,8}\s{0,2}\Z"
)
_LEAD_WORDS = re.compile(r"^(?:Another|The|Its|Their|Among|In|On|At|And|But|Also|A|An)\s{1,2}", re.IGNORECASE)
_WENT_TO = re.compile(
    r"(?:went|goes|was awarded|were awarded|awarded|was given|was granted)\s{1,2}to\s{1,2}(?:its\s{1,2}|"
    r"a\s{1,2}|the\s{1,2})?(?:subsidiary|unit|affiliate)?\s{0,2}(?:,\s{0,2})?"
)
_FOR = re.compile(r"\s{0,2}(?:for|from|with)\s{1,2}(?P<art>the\s{1,2}|a\s{1,2}|an\s{1,2})?")
_FOR_FAR = re.compile(r"\s(?:for)\s{1,2}(?P<art>the\s{1,2}|a\s{1,2}|an\s{1,2})?")
_PARTNER = re.compile(r"(?:in\s{1,2}partnership|jointly|together|in\s{1,2}cooperation|in\s{1,2}a\s{1,2}consortium)\s{1,2}with\s{1,2}", re.IGNORECASE)
_CONSTRUCTION_OF = re.compile(
    r"(?:the\s{1,2})?(?:construction|building|development|supply|delivery|installation|"
    r"upgrade|expansion|design)\s{1,2}of\s{1,2}(?:the\s{1,2}|a\s{1,2}|an\s{1,2})?"
)
# "contract worth $X", "agreement ... to build a plant worth $X": the amount right after one of these is the deal's value.
_VALUE_LINK = re.compile(
    r"(?:worth|valued\s{1,2}at|value\s{1,2}of|of|totalling|totaling|amounting\s{1,2}to|"
    r"at\s{1,2}a\s{1,2}cost\s{1,2}of)\s{1,2}(?:about\s{1,2}|around\s{1,2}|nearly\s{1,2}|"
    r"some\s{1,2}|more\s{1,2}than\s{1,2}|over\s{1,2}|up\s{1,2}to\s{1,2})?\Z"
)
_TO_BUILD = re.compile(
    r"\sto\s{1,2}(?:build|construct|develop|supply|deliver|upgrade|expand|operate|install)\s{1,2}(?:a\s{1,2}|"
    r"an\s{1,2}|the\s{1,2}|two\s{1,2}|three\s{1,2})?"
)
_SPEC = re.compile(
    r"\d[\d,.]{0,12}\s{0,2}-?\s{0,2}(?:MW|GW|kW|km|kilometers?|kilometres?|megawatts?|gigawatts?|"
    r"kV|m2|square[\s-]meters?|lanes?)\s{1,2}"
)
_PROJECT_NOUN = re.compile(
    r"(?:\s{1,2}[a-z][a-z-]{2,15}){0,2}\s{0,2}(?:project|line|railway|highway|expressway|road|port|plant|station|airport|bridge|"
    r"metro|pipeline|dam|park|complex|terminal|district|zone|hub|facility|factory|mine|tunnel|hospital|stadium|tower|"
    r"refinery|centre|center)s?(?![A-Za-z])", re.IGNORECASE)
_COMMON_NP = re.compile(
    r"(?:[a-z][a-z-]{1,25}\s{1,2}){0,3}(?:project|contract|deal|order|works|line|plant|station|terminal|port|railway|highway|"
    r"road|bridge|tunnel|airport|pipeline|dam|hospital|complex|park|factory|refinery|mine)s?(?![A-Za-z])")
_IN_PLACE = re.compile(r"\s{0,2}(?:project\s{1,2})?(?:,\s{0,2})?in\s{1,2}(?:the\s{1,2})?")
_PLACE_WORD = _PN_WORD + r"(?:\s{1,2}(?:region|province|city|county|district|state|prefecture))?"
_PLACE_CHAIN = re.compile(_PLACE_WORD + r"(?:\s{1,2}" + _PLACE_WORD + r"){0,4}(?:,\s{1,2}(?:in\s{1,2}(?:the\s{1,2})?)?" + _PLACE_WORD + r"(?:\s{1,2}" + _PLACE_WORD + r"){0,4}){0,3}")
_ACCORDING = re.compile(r"according\s{1,2}to\s{1,2}(?:[a-z]{1,15}\s{1,2}){0,4}(?:by|from)\s{1,2}")
_INSTITUTION = re.compile(
    r"(?:Authority|Ministry|Administration|Commission|Department|Agency|Council|Government|"
    r"Corporation|Company|Board|Office)$"
)
_VALUE_NEXT = re.compile(
    r"\s{0,2}(?:(?:Valued|Priced)\s{1,2}at|Worth|The\s{1,2}(?:contract|deal|order|agreement|"
    r"project)\s{1,2}(?:is|was)\s{1,2}(?:worth|valued\s{1,2}at))", re.IGNORECASE
)
_ANAPHOR = re.compile(
    r"\s{0,2}(?:The|This|That)\s{1,2}(?:deal|contract|agreement|order|project)\b|\s{0,2}(?:该|"
    r"上述|本次)(?:合同|协议|项目|订单)"
)
_ZH_SIGNED = re.compile(r"(?:签署|签订|签约|中标|承建|承接|获得)了?(?P<p>[^，,。；;：:]{2,40}?)(?:合同|协议|订单)")
_ZH_PARTY = re.compile(r"(?:与|同|和|跟)(?P<party>[^，,。；;与同]{2,80}?)(?:分别|共同|正式)?(?:签署|签订|签约|订立|签下)")
_ZH_LIST = re.compile(r"^\s{0,2}(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s{0,2}[.、)）]\s{0,2}")
_ZH_ISSUER = re.compile(r"^(?:由)?(?:本公司|公司|我公司)")
_ZH_CONSORTIUM = re.compile(r"组成的联合体|联合体")
_ZH_ORGS = re.compile(r"[\u4e00-\u9fff]{2,30}?(?:集团)?(?:股份有限公司|有限责任公司|有限公司|集团公司|集团)")
_ZH_ORG_CUT = re.compile(r".*(?:与|同|和|及|由|向|对|为|了|的|在|将|、|子公司|所属|下属)")
_ZH_PROJECT = re.compile(r"\s{0,2}的\s{0,2}(?P<p>[^，,。；;的]{1,40}?)(?:合同|协议|订单)")
_ZH_ZHONGBIAO = re.compile(
    r"中标(?P<p>[^，,。；;的]{2,40}?(?:项目|工程|标段))|(?:为|是)?(?P<p2>[^，,。；;为是]{2,40}?(?:项目|工程|标段))的中标(?:单位|"
    r"人)"
)


# Small patterns used inside the rules, compiled once (re.split/re.sub with a string look the pattern up each call).
_CHUNK_SPLIT = re.compile(r"[,;(]")
_SEMICOLON = re.compile(r"[;；]")
_LOWER_WORDS = re.compile(r"[a-z][a-z -]{1,40}")
_COMMA_IN = re.compile(r",\s{1,2}in\s{1,2}(?:the\s{1,2})?")
_ZH_PARTY_LEAD = re.compile(r"^(?:分别|共同)")
_ZH_BY = re.compile(r"^由")


# The noun as written ("contracts", "Orders") -> its regex for _total_np, compiled once (bounded: a few spellings).
_TOTAL_NP: dict[str, re.Pattern[str]] = {}
_TOTAL_NP_MAX = 64
_TOTAL_NP_REACH = 2 * (20 + 2)  # the most its two words and their spaces can span


def _total_np(window: str, noun: str) -> re.Match[str] | None:
    """re.search(r"((?:[a-z-]{2,20}\s{1,2}){0,2})" + re.escape(noun) + r"$", window) for a window ending in the noun.

    A match must end at the end of the window and spans at most the two words and the noun, so the search starts
    where the earliest match could (same leftmost match: the pattern reads nothing before its start).
    """
    rx = _TOTAL_NP.get(noun)
    if rx is None:
        rx = re.compile(r"((?:[a-z-]{2,20}\s{1,2}){0,2})" + re.escape(noun) + r"$")
        if len(_TOTAL_NP) >= _TOTAL_NP_MAX:
            _TOTAL_NP.clear()
        _TOTAL_NP[noun] = rx
    return rx.search(window, max(0, len(window) - len(noun) - _TOTAL_NP_REACH))


def load_places(path: Path = DATA_DIR / "places.yaml") -> PhraseMatcher[str]:
    """The place-name matcher used for contract locations."""
    places = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("places", [])
    return PhraseMatcher((str(p), str(p)) for p in places)


@dataclass(frozen=True, slots=True)
class TotalHint:
    """An amount that totals several deals: a figure, with this metric and entity, not a contract."""

    amount_start: int
    metric: str
    metric_text: str
    entity: str | None


@dataclass(slots=True)
class _Pending:
    """A contract named without a value, waiting for "Valued at ..." in the next sentence."""

    contract: Contract
    sentence_end: int


class ContractFinder:
    """Finds contracts and contract totals in one sentence at a time."""

    def __init__(self, gazetteer: Gazetteer, fx: CurrencyTable, places: PhraseMatcher[str]) -> None:
        """One finder per article: it remembers a contract whose value may come in the next sentence."""
        self._gaz = gazetteer
        self._fx = fx
        self._places = places
        self._pending: _Pending | None = None
        self._last: Contract | None = None  # the latest contract named, for "The deal, worth ..." restatements

    def find(self, text: str, sd: SentenceData, ctx: ArticleContext) -> tuple[list[Contract], list[TotalHint], set[int]]:
        """Contracts and totals in one sentence, and the starts of the amounts they used."""
        sent = sd.sentence
        s, e = sent.start, sent.end
        money = [a for a in sd.amounts if a.kind == "money"]
        contracts: list[Contract] = []
        totals: list[TotalHint] = []
        taken: set[int] = set()
        pending, self._pending = self._pending, None
        if pending is not None and money and _VALUE_NEXT.match(text, s, e):
            a = money[0]
            c = pending.contract
            quote_start = c.span[0]
            contracts.append(c.model_copy(update=self._value_fields(a) | {
                "quote": sd.source[quote_start:e], "span": (quote_start, e)}))
            taken.add(a.start)
            return contracts, totals, taken
        if pending is not None:
            contracts.append(pending.contract)
        last = self._last
        if last is not None and money and _ANAPHOR.match(text, s, e):
            # "The deal, worth about 10.7 billion yuan, ...": the contract just named, restated; not a new one.
            taken.add(money[0].start)
            return contracts, totals, taken
        zh_nouns = list(_ZH_NOUN.finditer(text, s, e))
        low = text[s:e].lower()
        en_nouns = list(_EN_NOUN.finditer(text, s, e)) if _may_contain(low, _EN_NOUN_LITERALS) else []
        if not zh_nouns and not en_nouns:
            return contracts, totals, taken
        has_verb = bool((_may_contain(low, _EN_VERB_LITERALS) and _EN_VERB.search(text, s, e)) or _ZH_VERB.search(text, s, e))
        if en_nouns:
            self._english(text, sd, ctx, en_nouns, money, has_verb, contracts, totals, taken)
        if zh_nouns and (has_verb or money):
            self._chinese(text, sd, ctx, zh_nouns, money, contracts, totals, taken)
        return contracts, totals, taken

    @property
    def waiting(self) -> bool:
        """True while a contract named without a value may get it from the next sentence."""
        return self._pending is not None

    def flush(self) -> list[Contract]:
        """A contract still waiting for a value at the end of the article (kept without one)."""
        pending, self._pending = self._pending, None
        return [pending.contract] if pending else []

    # ---- shared -----------------------------------------------------------------------------------
    def _value_fields(self, a: Amount) -> dict:
        usd = a.usd_value if a.usd_value is not None else (a.value if a.unit == "USD" else self._fx.to_usd(a.value, a.unit))
        return {"value": a.value, "unit": a.unit, "usd_value": usd, "qualifier": a.qualifier}

    @staticmethod
    def _nearest_amount(noun_start: int, noun_end: int, money: list[Amount], taken: set[int]) -> Amount | None:
        best, best_d = None, 10**9
        for a in money:
            if a.start in taken:
                continue
            d = noun_start - a.end if a.end <= noun_start else a.start - noun_end
            if 0 <= d <= 90 and d < best_d:
                best, best_d = a, d
        return best

    # ---- English --------------------------------------------------------------------------------
    def _english(self, text: str, sd: SentenceData, ctx: ArticleContext, nouns: list[re.Match[str]], money: list[Amount],
                 has_verb: bool, contracts: list[Contract], totals: list[TotalHint], taken: set[int]) -> None:
        s, e = sd.sentence.start, sd.sentence.end
        for noun in nouns:
            a = self._nearest_amount(noun.start(), noun.end(), money, taken)
            attached = a is not None and (a.end <= noun.start() or _VALUE_LINK.search(text[noun.end():a.start]) is not None)
            if not has_verb and not attached:
                continue
            if a is not None and not attached:
                a = None
            company = self._en_company(text, s, noun.start(), ctx)
            plural = _PLURAL_NOUN.fullmatch(noun.group()) is not None
            window = text[max(s, noun.start() - 60):noun.end()]  # the words before the noun name the total
            # Several deals under one amount ("three new contracts worth ...", "wins contracts worth ...") are a total.
            if a is not None and plural:
                np = _total_np(window, noun.group())
                metric_text = (np.group(0) if np else noun.group()).strip()
                totals.append(TotalHint(a.start, "new_contracts_signed", metric_text, company))
                taken.add(a.start)
                continue
            if a is None and not has_verb:
                continue
            if plural:
                continue
            project, location = self._en_project(text, sd, noun, a)
            counterparty = self._en_counterparty(text, sd, noun, project)
            fields = {"company": company, "counterparty": counterparty, "project": project, "location": location,
                      "quote": sd.source[s:e], "span": (s, e)}
            if a is None:
                if any(c.project == project and c.company == company for c in contracts):
                    continue
                self._pending = _Pending(Contract(**fields), e)
                self._last = self._pending.contract
                continue
            taken.add(a.start)
            contracts.append(Contract(**fields, **self._value_fields(a)))
            self._last = contracts[-1]

    def _en_company(self, text: str, s: int, noun_start: int, ctx: ArticleContext) -> str | None:
        seg = text[s:noun_start]
        went = _WENT_TO.search(text, noun_start, min(len(text), noun_start + 200))
        if went:
            m = _PN.match(text, went.end())
            if m:
                return self._gaz.canonical(_strip_possessive(m.group()))
        verb = None
        for verb in (_EN_VERB.finditer(seg) if _may_contain(seg.lower(), _EN_VERB_LITERALS) else ()):
            pass
        head = seg[:verb.start()] if verb else seg
        head = _AUX_TAIL.sub("", head)
        chunks = [c.strip() for c in _CHUNK_SPLIT.split(head)]
        for chunk in reversed(chunks):
            if not chunk or not chunk[0].isupper():
                continue
            chunk = _LEAD_WORDS.sub("", chunk) if len(chunk.split()) > 1 else chunk
            m = _PN.match(chunk)
            if m and not _LEAD_WORDS.fullmatch(m.group() + " "):
                name = _strip_possessive(m.group())
                words = name.split()
                # "Another China Railway subsidiary": the name, not the description.
                return self._gaz.canonical(" ".join(words))
        for ent in reversed(list(self._gaz.find(text, s, noun_start))):
            if ent.kind != "group":
                return ent.name
        return ctx.entity

    def _en_project(self, text: str, sd: SentenceData, noun: re.Match[str], a: Amount | None) -> tuple[str | None, str | None]:
        e = sd.sentence.end
        project = None
        proj_end = noun.end()
        m = _FOR.match(text, noun.end(), e)
        if not (m and text[m.start():m.end()].strip().startswith("for")):
            # "... contract in partnership with X for the construction of Y": the first "for" in the clause.
            far = _FOR_FAR.search(text, noun.end(), min(e, noun.end() + 160))
            m = far if far and not _SEMICOLON.search(text[noun.end():far.start()]) else None
        if m:
            pos = m.end()
            c = _CONSTRUCTION_OF.match(text, pos, e)
            if c:
                pos = c.end()
            spec = _SPEC.match(text, pos, e)
            if spec:  # "the 900 MW Upper Karnali hydropower project": the capacity is not part of the name
                pos = spec.end()
            pn = _PN.match(text, pos, e)
            if pn and (c or _PROJECT_NOUN.match(text, pn.end(), e) or "'s" in pn.group() or "’s" in pn.group()):
                name = pn.group().rstrip(".")
                after = _PROJECT_NOUN.match(text, pn.end(), e)
                proj_end = pn.end()
                if after:
                    # "the Jakarta Port expansion project" -> "Jakarta Port expansion"; a trailing "project" is dropped.
                    words = after.group().split()
                    if words and words[-1].lower() in ("project", "projects"):
                        words = words[:-1]
                    name = " ".join([name, *words])
                    proj_end = after.end()
                project = name.replace("'s ", " ").replace("’s ", " ").strip()
            elif not pn:
                cn = _COMMON_NP.match(text, pos, e)
                if cn:
                    project = cn.group().strip()
                    proj_end = cn.end()
        if project is None:
            tb = _TO_BUILD.search(text, noun.end(), min(e, noun.end() + 120))
            if tb:
                pos = tb.end()
                spec = _SPEC.match(text, pos, e)
                if spec:
                    pos = spec.end()
                pn = _PN.match(text, pos, e)
                cn = _COMMON_NP.match(text, pos, e)
                if pn:
                    after = _PROJECT_NOUN.match(text, pn.end(), e)
                    project = " ".join([pn.group().rstrip("."), *(after.group().split() if after else [])])
                    proj_end = after.end() if after else pn.end()
                elif cn:
                    project, proj_end = cn.group().strip(), cn.end()
        if project is None and a is not None and a.end <= noun.start():
            words = text[a.end:noun.start()].strip()
            if words and _LOWER_WORDS.fullmatch(words):
                project = f"{words} {noun.group()}"
        location = self._location(text, project, proj_end, e)
        return project, location

    def _location(self, text: str, project: str | None, proj_end: int, e: int) -> str | None:
        parts: list[str] = []
        if project:
            parts.extend(m.payload for m in self._places.finditer(project))
        m = _IN_PLACE.match(text, proj_end, e)
        if m:
            chain = _PLACE_CHAIN.match(text, m.end(), e)
            if chain:
                cleaned = _COMMA_IN.sub(", ", chain.group().rstrip("."))
                parts.extend(p.strip() for p in cleaned.split(",") if p.strip())
        seen: list[str] = []
        for p in parts:
            if p not in seen:
                seen.append(p)
        return ", ".join(seen) or None

    def _en_counterparty(self, text: str, sd: SentenceData, noun: re.Match[str], project: str | None) -> str | None:
        s, e = sd.sentence.start, sd.sentence.end
        m = _FOR.match(text, noun.end(), e)
        # "for the X" usually names a project, "with the X" / "from the X" a party.
        if m and (not m.group("art") or not text[m.start():m.end()].strip().startswith("for")):
            pn = _PN.match(text, m.end(), e)
            if pn and not _PROJECT_NOUN.match(text, pn.end(), e) and (project is None or pn.group() not in project):
                if not _PARTNER.search(text, max(s, m.start() - 30), m.end()):
                    return _strip_possessive(pn.group())
        acc = _ACCORDING.search(text, s, e)
        if acc:
            pn = _PN.match(text, acc.end(), e)
            if pn:
                name = pn.group()
                cut = max(name.rfind("'s "), name.rfind("’s "))
                if cut != -1:
                    name = name[cut + 3:]
                name = name.rstrip(".")
                if _INSTITUTION.search(name):
                    return name
        return None

    # ---- Chinese --------------------------------------------------------------------------------
    def _chinese(self, text: str, sd: SentenceData, ctx: ArticleContext, nouns: list[re.Match[str]], money: list[Amount],
                 contracts: list[Contract], totals: list[TotalHint], taken: set[int]) -> None:
        s, e = sd.sentence.start, sd.sentence.end
        for a in money:
            if a.start in taken:
                continue
            window = text[max(s, a.start - 30):a.start]
            if _TOTAL_ZH.search(window):
                totals.append(TotalHint(a.start, "new_contracts_signed", "合同金额", self._zh_issuer(ctx)))
                taken.add(a.start)
                continue
            pm = _ZH_PROJECT.match(text, a.end, e)
            # Both forms of _ZH_ZHONGBIAO contain 中标: without it in the stretch, there is no match.
            zb = _ZH_ZHONGBIAO.search(text, s, a.start) if text.find("中标", s, a.start) != -1 else None
            signed = None
            if not pm and not zb:
                # "签署了X合同，合同金额约为人民币58.3亿元": the value follows the contract it belongs to.
                for signed in _ZH_SIGNED.finditer(text, s, a.start):
                    pass
                if signed is None or any(s < b.start < a.start and b.start > signed.end() for b in money if b is not a):
                    continue
            chosen = pm or zb or signed
            project = (chosen.group("p") or chosen.groupdict().get("p2") or "").strip()
            head = text[s:a.start]
            party = None
            company_seg = head
            # Every match of _ZH_PARTY ends in a signing verb (签署, 签订, 签约, 签下 or 订立).
            for party in (_ZH_PARTY.finditer(head) if "签" in head or "订立" in head else ()):
                pass
            counterparty = None
            if party is not None:
                counterparty = party.group("party").strip()
                counterparty = _ZH_PARTY_LEAD.sub("", counterparty)
                company_seg = head[:party.start()]
            company = self._zh_company(company_seg, ctx)
            location = ", ".join(dict.fromkeys(m.payload for m in self._places.finditer(project))) or None
            taken.add(a.start)
            contracts.append(Contract(company=company, counterparty=counterparty, project=project, location=location,
                                      quote=sd.source[s:e], span=(s, e), **self._value_fields(a)))
            self._last = contracts[-1]

    def _zh_issuer(self, ctx: ArticleContext) -> str | None:
        return ctx.issuer or ctx.entity

    def _zh_company(self, seg: str, ctx: ArticleContext) -> str | None:
        seg = _ZH_LIST.sub("", seg).strip(" ,，:：")
        seg = _ZH_BY.sub("", seg)
        orgs: list[str] = []
        prev_end = -1
        for m in (_ZH_ORGS.finditer(seg) if "公司" in seg or "集团" in seg else ()):  # every match ends in one
            name = m.group()
            cut = _ZH_ORG_CUT.match(name)
            if cut:
                name = name[cut.end():]
            if len(name) < 4:
                continue
            if orgs and m.start() == prev_end and not cut:
                orgs[-1] += name  # "中国能源建设集团" + "广东省电力设计研究院有限公司": one name
            else:
                orgs.append(name)
            prev_end = m.end()
        if _ZH_CONSORTIUM.search(seg) and len(orgs) >= 2:
            return "和".join(orgs) + "联合体"
        if orgs:
            return self._gaz.canonical(orgs[-1])
        if _ZH_ISSUER.match(seg):
            return self._zh_issuer(ctx)
        for ent in self._gaz.find(seg):
            if ent.kind != "group":
                return ent.name
        return self._zh_issuer(ctx) if not seg else seg


def _strip_possessive(name: str) -> str:
    name = name.rstrip(".")  # the sentence's full stop, caught by the name pattern
    for suffix in ("'s", "’s"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name
