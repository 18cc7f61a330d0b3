"""Text -> typed facts: figures (metric, entity, value, period, change) and contracts, English and Chinese.

    >>> from monitor.extract import extract
    >>> facts = extract("China's SOEs saw exports grow 3.9 percent to 1.79 trillion yuan in 2024.")
    >>> facts.figures[0].metric, facts.figures[0].value
    ('exports', 1790000000000.0)

Pipeline per article: normalise (full-width -> ASCII, same length), split sentences, find the
amounts; then find periods, metrics and entities once per stretch of sentences worth reading
(those with numbers or deal words, plus the title and lead, which set the context); walk the
sentences in order, carrying the year, period, subject entity and metric forward (ArticleContext):
contracts first, then figures from the amounts the contracts did not use, then headline
de-duplication. Every regex is bounded, so the work is linear in the text.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from pathlib import Path

from .amounts import AmountParser
from .context import ArticleContext, SentenceData
from .contracts import ContractFinder, load_places
from .dedupe import dedupe, dedupe_contracts
from .figures import FigureBuilder
from .fx import CurrencyTable
from .gazetteer import EntityMention, Gazetteer
from .matcher import lower_of
from .models import Contract, Facts, Figure, Period
from .periods import find_periods, resolve
from .sentences import Sentence, detect_lang, normalize, split_sentences
from .table import format_table
from .vocabulary import Vocabulary
from ..trusted_models import build_trusted

__all__ = ["Contract", "Extractor", "Facts", "Figure", "Period", "detect_lang", "extract", "format_table"]


# Deal words (on lower-cased text): the matches of re "contract|deal|agreement|order|合同|协议|订单|项目|中标".
# None can overlap another (or itself), so all their occurrences, found with str.find (faster than that regex,
# whose first letters are common), are exactly its matches. "in order to" and "ideal" are filtered out.
_DEAL_WORDS = ("contract", "deal", "agreement", "order", "合同", "协议", "订单", "项目", "中标")


def _deal_words(lower: str) -> list[int]:
    """Sorted starts of the deal words in lower-cased text, minus "in order" and words ending in "deal" ("ideal")."""
    out: list[int] = []
    find = lower.find
    for w in _DEAL_WORDS:
        i = find(w)
        if i == -1:
            continue
        n = len(w)
        while i != -1:
            if w == "order":
                if not lower.endswith("in ", 0, i):
                    out.append(i)
            elif w == "deal":
                if not (i > 0 and lower[i - 1].isalpha()):
                    out.append(i)
            else:
                out.append(i)
            i = find(w, i + n)
    out.sort()
    return out


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join sorted spans that touch or are separated only by a line break or a space."""
    out: list[tuple[int, int]] = []
    for s, e in spans:
        if out and s - out[-1][1] <= 2:
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def _subjects(sentences: list[Sentence], entities: list[EntityMention], starts: list[int]) -> list[str | None]:
    """For each sentence, the subject carried into it: the first company or group named in the latest earlier
    sentence that names one. Unknown organisations are rarely an article's subject, unless one opens
    its sentence ("X Group Co Ltd said ... Its net profit rose ...")."""
    out: list[str | None] = []
    carry: str | None = None
    if not entities:
        return [None] * len(sentences)
    for sent in sentences:
        out.append(carry)
        s0 = sent.start
        for x in entities[bisect_left(starts, s0):bisect_left(starts, sent.end)]:
            if x.kind in ("company", "group") or x.start <= s0 + 1:
                carry = x.name
                break
    return out


class Extractor:
    """Rule-based extractor; loads the shipped vocabulary, gazetteer and FX table plus user files that extend them."""

    def __init__(self, vocabulary_files: Sequence[Path] = (), gazetteer_files: Sequence[Path] = (),
                 fx_to_usd: dict[str, float] | None = None) -> None:
        self.vocabulary = Vocabulary([Path(p) for p in vocabulary_files])
        self.gazetteer = Gazetteer([Path(p) for p in gazetteer_files])
        self.fx = CurrencyTable.load(overrides=fx_to_usd)
        self._amounts = AmountParser(self.fx)
        self._figures = FigureBuilder(self.vocabulary, self.fx)
        self._places = load_places()

    def known_metrics(self) -> set[str]:
        """Canonical metric names of the vocabulary (for rule validation)."""
        return self.vocabulary.names()

    def known_entities(self) -> set[str]:
        """Canonical entity names of the gazetteer (for rule validation)."""
        return self.gazetteer.names()

    def extract(self, text: str, published: date | None = None, lang: str | None = None) -> Facts:
        """All figures and contracts in one article; relative periods resolve against `published`.

        `lang` ("en" or "zh", detected from the share of CJK characters when not given) is informative only:
        the grammar reads both languages in every text, so mixed-script articles work too.
        """
        del lang  # accepted for the API; every rule is bilingual
        if not text or not text.strip():
            return Facts()
        norm = normalize(text)
        lower = lower_of(norm)  # computed once: the phrase matchers reuse it
        if len(lower) != len(norm):  # a few Unicode letters change length when lower-cased
            lower = norm
        sentences = split_sentences(norm)
        amounts = self._amounts.find(norm)
        a_starts = [a.start for a in amounts]
        # Only sentences with numbers or deal words (and the title and lead, which set the context) are read.
        finder = ContractFinder(self.gazetteer, self.fx, self._places)
        deal_words = _deal_words(lower)
        reads: list[tuple[bool, list]] = []
        n_deal = len(deal_words)
        for sent in sentences:
            s0, e0 = sent.start, sent.end
            sent_amounts = amounts[bisect_left(a_starts, s0):bisect_left(a_starts, e0)] if amounts else []
            k = bisect_left(deal_words, s0) if n_deal else 0
            reads.append((k < n_deal and deal_words[k] < e0, sent_amounts))
        spans = [(s.start, s.end) for s, (deal, amts) in zip(sentences, reads)
                 if deal or amts or s.is_title or s.paragraph <= 1]
        periods = find_periods(norm, spans=_merge(spans))
        p_starts = [p.start for p in periods]
        # Phrase matchers run once per stretch of consecutive sentences worth reading (not once per sentence):
        # metrics where there are numbers; entities there and in the sentence before each (the carried subject).
        number_spans = [(s.start, s.end) for s, (_, amts) in zip(sentences, reads) if amts]
        metrics = [m for s, e in _merge(number_spans) for m in self.vocabulary.find(norm, s, e)]
        m_starts = [m.start for m in metrics]
        entity_spans = []
        for k, sent in enumerate(sentences):
            deal, amts = reads[k]
            if deal or amts or sent.is_title or sent.paragraph <= 1 or (k + 1 < len(sentences) and (reads[k + 1][0] or reads[k + 1][1])):
                entity_spans.append((sent.start, sent.end))
        entities = [x for s, e in _merge(entity_spans) for x in self.gazetteer.find(norm, s, e)]
        e_starts = [x.start for x in entities]
        subjects = _subjects(sentences, entities, e_starts)

        ctx = ArticleContext(published)
        lead_end = sentences[min(3, len(sentences) - 1)].end if sentences else 0
        ctx.issuer = next((x.name for x in entities if x.kind == "company" and x.start < lead_end), None)
        figures: list[Figure] = []
        contracts: list[Contract] = []
        title_span = None
        for i, sent in enumerate(sentences):
            if sent.is_title:
                title_span = (sent.start, sent.end)
            has_deal, sent_amounts = reads[i]
            if not (sent_amounts or has_deal or sent.is_title or sent.paragraph <= 1 or finder.waiting):
                continue
            s0, e0 = sent.start, sent.end
            sd = SentenceData(
                sent, text, sent_amounts,
                periods[bisect_left(p_starts, s0):bisect_left(p_starts, e0)] if periods else [],
                metrics[bisect_left(m_starts, s0):bisect_left(m_starts, e0)] if sent_amounts and metrics else [],
                entities[bisect_left(e_starts, s0):bisect_left(e_starts, e0)] if entities else [],
            )
            year = ctx.year
            for p in sd.periods:
                r = resolve(p, published, year)
                sd.resolved.append(r)
                if r is not None and r.end is not None and p.kind not in ("ignore", "prev_year"):
                    year = r.end.year
            ctx.entity = subjects[i]
            found, totals, taken = finder.find(norm, sd, ctx) if (has_deal or finder.waiting) else ([], [], set())
            contracts.extend(found)
            if sd.amounts:
                taken -= {h.amount_start for h in totals}
                figures.extend(self._figures.build(norm, sd, ctx, taken, totals))
            self._carry(sd, ctx, year)
        contracts.extend(finder.flush())
        # Both lists hold finished models already: nothing needs validating.
        return build_trusted(Facts, {"figures": dedupe(figures, title_span),
                                     "contracts": dedupe_contracts(contracts, title_span)})

    @staticmethod
    def _carry(sd: SentenceData, ctx: ArticleContext, year: int | None) -> None:
        """Carry the period and year of this sentence to the sentences after it."""
        explicit = [r for p, r in zip(sd.periods, sd.resolved) if r is not None and p.kind not in ("ignore", "prev_year")]
        if explicit:
            # The year always carries ("1-3月" after "2022年1-3月"); the period only from sentences about figures,
            # the title or the lead paragraph, so a passing date does not become every later figure's period.
            ctx.year = year
            if sd.amounts or sd.metrics or sd.sentence.is_title or sd.sentence.paragraph <= 1:
                if explicit[-1].kind == "point":
                    ctx.point = explicit[-1]
                else:
                    ctx.period = explicit[-1]


@lru_cache(maxsize=1)
def _default() -> Extractor:
    return Extractor()


def extract(text: str, published: date | None = None, lang: str | None = None) -> Facts:
    """Extract facts with the shipped data files (a cached default Extractor)."""
    return _default().extract(text, published, lang)
