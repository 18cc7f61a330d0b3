"""Figures: tie each amount in a sentence to its rate of change, metric, entity and period.

The grammar works on the mentions of one sentence in text order. A level and a rate in the same
clause become one figure ("rose 3.9 percent to 1.79 trillion yuan"; "186044.7亿元,同比增长12.9%");
a rate alone is a figure with no value; a ratio metric turns a bare percentage into a level.
Metric, entity and period come from the nearest mention in the sentence, else from what the
article established before (ArticleContext).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .amounts import Amount
from .changes import Change, find_change, last_change_verb
from .context import ArticleContext, SentenceData
from .contracts import TotalHint
from .fx import CurrencyTable
from .gazetteer import EntityMention
from .models import Figure, Period
from .periods import shift_year
from .vocabulary import MetricMention, Vocabulary, snake_case
from ..trusted_models import build_trusted

_BOUNDARY = re.compile(r"[;；。]|\bwhile\b|\bwhereas\b|\bbut\b")
# "rose 3.9 percent to 1.79 trillion yuan", "增长5%至100亿元": the level a rate leads to.
_TO_LEVEL = re.compile(r"(?:\bto\b|至|达到)\s{0,2}(?:a\s{1,2}(?:record\s{1,2})?|an\s{1,2}|about\s{1,2}|around\s{1,2}|"
                       r"nearly\s{1,2}|more than\s{1,2}|over\s{1,2}|约|近|逾)?\s{0,2}$")
_METRIC_AFTER = re.compile(r"\s{0,2}(?:in|of|worth of)\s{1,2}(?:the\s{1,2}|its\s{1,2}|their\s{1,2})?", re.IGNORECASE)
_NP_BEFORE = re.compile(
    r"(?<![A-Za-z'])(?P<np>(?:[A-Za-z][a-z'-]{1,20}\s){0,2}[A-Za-z][a-z-]{2,20})\s{1,2}(?:of|was|were|stood at|reached|totaled|totalled|hit|"
    r"amounted to|came in at|rose to|grew to|fell to|of about|of around|were worth|was worth|worth|totaling|totalling)\s{1,2}\Z"
)
# The subject of a change verb, for a rate with no known metric ("China's GDP grew 5.2 percent").
_SUBJECT = re.compile(
    r"(?:^|[\s,])(?:[A-Z][A-Za-z]{0,20}'s\s{1,2}|the\s{1,2}|its\s{1,2}|their\s{1,2})?"
    r"(?P<np>(?:[A-Za-z][A-Za-z-]{0,20}\s{1,2}){0,3}[A-Za-z][A-Za-z-]{1,20})\s{0,2}(?:was|were|has|have|had)?\s{0,2}\Z")
_NP_AFTER = re.compile(r"\s{1,2}(?:in|of)\s{1,2}(?P<np>(?:[a-z][a-z-]{1,20}\s){0,2}[a-z][a-z-]{2,20})")
_NP_CUT = re.compile(r"\s(?:from|in|at|to|for|by|with|on|during|over|of)(?:\s.*)?$")
# Words that never make a metric name on their own (dropped from a fallback noun phrase).
_NP_STOP = {"while", "and", "but", "whereas", "as", "with", "also", "meanwhile", "the", "a", "an", "its", "their", "which",
            "that", "this", "total", "china", "year", "period", "months", "about", "around", "company", "group", "state",
            "had", "has"}
_SHARE_PRICE = re.compile(r"share price|\bshares?\b|stock price|closed at|per share|股价|每股|收盘|股票", re.IGNORECASE)
_BREAKDOWN = re.compile(r"\s{0,3}(?:其中|分[^\s，,]{0,4}看|among them|of which|of this|of the total|within this)", re.IGNORECASE)
_PLANNED = re.compile(r"\b(?:expected to|will|would|designed to|once completed|when completed|capacity)\b|预计|建成后|设计", re.IGNORECASE)
_RESPECTIVELY = re.compile(r"respectively|分别")
_PREP_SPLIT = re.compile(r"\s(?:of|in|at|for|from|on|by|with)\s")
_APPOSITION = re.compile(r"(?:\b(?:a|an|one of the)\s{1,2})\Z", re.IGNORECASE)


def _guarded(rx: re.Pattern[str], literals: tuple[str, ...], lower: bool = False):
    """rx.search(text, pos, end), skipped when text[pos:end] holds none of the literals that every match of rx
    contains (looked for in the lower-cased stretch when `lower`). A substring test is much cheaper than a regex
    search that has to try every position."""
    def search(text: str, pos: int = 0, end: int | None = None) -> re.Match[str] | None:
        hay = text[pos:end]
        if lower:
            hay = hay.lower()
        for w in literals:
            if w in hay:
                return rx.search(text, pos, len(text) if end is None else end)
        return None
    return search


# The literals each regex's matches contain ("ſ", "ı" and "İ" -> "i̇" also match s and i under re.IGNORECASE).
_boundary = _guarded(_BOUNDARY, (";", "；", "。", "while", "whereas", "but"))
_to_level = _guarded(_TO_LEVEL, ("to", "至", "达到"))
_share_price = _guarded(_SHARE_PRICE, ("share", "stock", "closed", "股价", "每股", "收盘", "股票", "\u017f"), lower=True)
_planned = _guarded(_PLANNED, ("expected", "will", "would", "designed", "completed", "capacity", "预计", "建成后", "设计",
                               "\u017f", "\u0131", "\u0307"), lower=True)


@dataclass(slots=True)
class _Item:
    """A figure under construction: a level, a rate, or both; [start, end) spans their numbers."""

    level: Amount | None
    rate: Amount | None
    change: Change | None
    forced_metric: MetricMention | None = None  # from a "respectively" list
    forced_entity: EntityMention | None = None
    start: int = 0
    end: int = 0

    def __post_init__(self) -> None:
        level, rate = self.level, self.rate
        if level is None:
            self.start, self.end = rate.start, rate.end
        elif rate is None:
            self.start, self.end = level.start, level.end
        else:
            self.start = min(level.start, rate.start)
            self.end = max(level.end, rate.end)


class FigureBuilder:
    """Builds the figures of one sentence."""

    def __init__(self, vocabulary: Vocabulary, fx: CurrencyTable) -> None:
        self._vocab = vocabulary
        self._fx = fx

    def build(self, text: str, sd: SentenceData, ctx: ArticleContext, taken: set[int],
              hints: list[TotalHint] = ()) -> list[Figure]:
        """Figures of one sentence; amounts whose start is in `taken` (contract values) are skipped.

        `hints` name the metric and entity of amounts that total several contracts.
        """
        sent = sd.sentence
        amounts = [a for a in sd.amounts if a.start not in taken and a.kind != "points"]
        if not amounts:
            return []
        respectively = _RESPECTIVELY.search(text, sent.start, sent.end) is not None
        items = self._items(text, sd, amounts, ctx, respectively)
        if not items:
            return []
        by_start = {h.amount_start: h for h in hints}
        if respectively:
            self._assign_lists(text, sd, items)
        quote = sd.source[sent.start:sent.end]
        figures: list[Figure] = []
        claimed_after: set[int] = set()
        prev_period: Period | None = None
        for idx, item in enumerate(items):
            nxt = items[idx + 1].start if idx + 1 < len(items) else sent.end
            hint = by_start.get(item.level.start) if item.level else None
            metric, metric_text = (hint.metric, hint.metric_text) if hint else self._metric(text, sd, item, ctx)
            if (metric is None or item.level is None) and _share_price(text, max(sent.start, item.start - 40), item.start):
                continue  # a share price or its move, not a reported figure
            if item.level is not None and item.level.kind == "volume" and (
                    metric is None or (not self._vocab.is_known(metric) and _planned(text, sent.start, sent.end))):
                # "12 units"; "the plant will generate 1.8 billion kWh once completed": a count or a specification.
                continue
            if (metric and item.level is not None and item.level.kind == "volume" and metric_text
                    and not self._vocab.is_volume(metric) and not self._vocab.is_ratio(metric)):
                # "sales of 138 million tonnes" is a physical volume, not the money metric the word usually names.
                metric = snake_case(metric_text)
            entity = hint.entity if hint and hint.entity else self._entity(text, sd, item, ctx)
            period = self._period(text, sd, item, nxt, ctx, claimed_after, prev_period, metric)
            prev_period = period or prev_period
            level, rate = item.level, item.rate
            value = level.value if level else None
            unit = level.unit if level else "percent"
            usd = None
            if level is not None and level.kind == "money":
                usd = level.usd_value if level.usd_value is not None else (
                    value if unit == "USD" else self._fx.to_usd(value, unit))
            change_pct = None
            basis = None
            if rate is not None and item.change is not None:
                change_pct = round(abs(rate.value) * item.change.sign, 6)
                if rate.value < 0:
                    change_pct = round(rate.value, 6)
                basis = item.change.basis
                if basis == "unspecified" and period is not None and period.kind in ("ytd", "year"):
                    # Growth of a year or a January-to-date total can only be against the same span a year before.
                    basis = "yoy"
            # Every field is typed by construction here: nothing needs re-validating.
            figures.append(build_trusted(Figure, {
                "metric": metric or "unspecified", "metric_text": metric_text or "", "entity": entity, "value": value,
                "unit": unit, "usd_value": usd, "qualifier": (level or rate).qualifier if (level or rate) else None,
                "period": period, "change_pct": change_pct, "change_basis": basis, "quote": quote,
                "span": (sent.start, sent.end),
            }))
            if metric:
                ctx.metric, ctx.metric_text, ctx.metric_paragraph = metric, metric_text, sent.paragraph
        return figures

    # ---- levels and rates -------------------------------------------------------------------------
    def _items(self, text: str, sd: SentenceData, amounts: list[Amount], ctx: ArticleContext,
               respectively: bool) -> list[_Item]:
        sent = sd.sentence
        kinds: list[str] = []
        changes: list[Change | None] = []
        floor = sent.start  # end of the latest level: a change verb is looked for after it
        for i, a in enumerate(amounts):
            if a.kind != "percent":
                kinds.append("level")
                changes.append(None)
                floor = a.end
                continue
            ceiling = amounts[i + 1].start if i + 1 < len(amounts) else sent.end
            ch = find_change(text, a.num_start, a.end, floor, ceiling)
            if ch is not None:
                kinds.append("rate")
                changes.append(ch)
            elif self._ratio_metric_before(sd, a, ctx):
                kinds.append("level")
                changes.append(None)
            else:
                kinds.append("skip")
                changes.append(None)
        items: list[_Item] = []
        used: set[int] = set()
        # "分别为A和B，分别增长X%和下降Y%" / "A and B, up X% and Y% respectively": k levels then k rates pair up in order.
        if respectively:
            run_levels = [i for i, k in enumerate(kinds) if k == "level" and amounts[i].kind != "percent"]
            run_rates = [i for i, k in enumerate(kinds) if k == "rate"]
            if (len(run_levels) == len(run_rates) >= 2 and run_levels == list(range(run_levels[0], run_levels[0] + len(run_levels)))
                    and run_rates == list(range(run_levels[-1] + 1, run_levels[-1] + 1 + len(run_rates)))):
                for li, ri in zip(run_levels, run_rates):
                    used.update((li, ri))
                    items.append(_Item(amounts[li], amounts[ri], changes[ri]))
        # Rate followed by "to" + level: "rose 11.9 percent year-on-year to 41.17 billion yuan".
        for i, a in enumerate(amounts):
            if kinds[i] != "rate" or i + 1 >= len(amounts):
                continue
            j = i + 1
            if kinds[j] == "level" and j not in used and amounts[j].kind != "percent":
                gap = text[a.end:amounts[j].start]
                entity_between = any(a.end <= x.start and x.end <= amounts[j].start for x in sd.entities)
                if len(gap) <= 80 and not _boundary(gap) and _to_level(gap) and not entity_between:
                    used.update((i, j))
                    items.append(_Item(amounts[j], a, changes[i]))
        # Level then its rate in the same clause: "186044.7亿元,同比增长12.9%", "... yuan ..., up 1.3 percent".
        for i, a in enumerate(amounts):
            if kinds[i] != "rate" or i in used:
                continue
            j = i - 1
            if j >= 0 and kinds[j] == "level" and j not in used and amounts[j].kind != "percent":
                gap = text[amounts[j].end:a.start]
                metrics_between = [m for m in sd.metrics if amounts[j].end <= m.start and m.end <= a.start]
                entities_between = [e for e in sd.entities if amounts[j].end <= e.start and e.end <= a.start]
                after_ok = not metrics_between or (len(metrics_between) == 1 and _METRIC_AFTER.match(text, amounts[j].end)
                                                   and _METRIC_AFTER.match(text, amounts[j].end).end() == metrics_between[0].start)
                if len(gap) <= 100 and not _boundary(gap) and after_ok and not entities_between:
                    used.update((i, j))
                    items.append(_Item(amounts[j], a, changes[i]))
        for i, a in enumerate(amounts):
            if i in used or kinds[i] == "skip":
                continue
            if kinds[i] == "rate":
                items.append(_Item(None, a, changes[i]))
            else:
                items.append(_Item(a, None, None))
        items.sort(key=lambda it: it.start)
        return items

    def _ratio_metric_before(self, sd: SentenceData, a: Amount, ctx: ArticleContext) -> bool:
        before = [m for m in sd.metrics if m.end <= a.start]
        if before:
            return self._vocab.is_ratio(before[-1].metric)
        return ctx.metric is not None and self._vocab.is_ratio(ctx.metric) and ctx.metric_paragraph == sd.sentence.paragraph

    # ---- "respectively": metrics or entities listed in the order of the numbers -------------------
    def _assign_lists(self, text: str, sd: SentenceData, items: list[_Item]) -> None:
        """"A, B and C rose 5%, 6% and 7% respectively": pair the listed metrics (or entities) with the numbers."""
        sent = sd.sentence
        if len(items) < 2 or not _RESPECTIVELY.search(text, sent.start, sent.end):
            return
        n = len(items)
        metrics = [m for m in sd.metrics if m.end <= items[0].start]
        entities = [e for e in sd.entities if e.end <= items[0].start]
        if len(metrics) >= n and len({m.metric for m in metrics[-n:]}) == n:
            for item, m in zip(items, metrics[-n:]):
                item.forced_metric = m
        if len(entities) >= n and len({e.name for e in entities[-n:]}) == n:
            for item, e in zip(items, entities[-n:]):
                item.forced_entity = e

    # ---- metric ---------------------------------------------------------------------------------
    def _metric(self, text: str, sd: SentenceData, item: _Item, ctx: ArticleContext) -> tuple[str | None, str | None]:
        forced = item.forced_metric
        if forced is not None:
            return forced.metric, forced.text
        level = item.level
        if level is not None:
            m = _METRIC_AFTER.match(text, level.end)
            if m:
                for mm in sd.metrics:
                    if mm.start == m.end():
                        return mm.metric, mm.text
        before = [mm for mm in sd.metrics if mm.end <= item.start]
        if before:
            return before[-1].metric, before[-1].text
        inside = [mm for mm in sd.metrics if item.start <= mm.start and mm.end <= item.end]
        if inside:
            return inside[0].metric, inside[0].text
        # "其中中央企业11179.0亿元" / "Of this, ...": a sentence that breaks down the previous figure keeps its metric.
        if ctx.metric and ctx.metric_paragraph >= sd.sentence.paragraph - 1 and _BREAKDOWN.match(text, sd.sentence.start):
            return ctx.metric, ctx.metric_text
        return self._noun_phrase(text, sd, item)

    def _noun_phrase(self, text: str, sd: SentenceData, item: _Item) -> tuple[str | None, str | None]:
        start = item.level.start if item.level else item.start
        if item.level is None:
            # A rate alone: the subject of its verb ("China's GDP grew 5.2 percent" -> GDP).
            window = text[max(sd.sentence.start, start - 60):start]
            verb = last_change_verb(window)
            if verb is not None:
                subj = _SUBJECT.search(window[:verb])
                if subj:
                    head = _PREP_SPLIT.split(" " + subj.group("np") + " ")
                    np_text = next((h for h in head if h.strip()), "")
                    for ent in sd.entities:  # "Dongfeng output" -> "output": the entity is not part of the metric
                        np_text = np_text.replace(ent.text, " ")
                    words = [w for w in np_text.split() if w.lower() not in _NP_STOP]
                    if words:
                        phrase = " ".join(words)
                        return self._vocab.canonical(phrase), phrase
            return None, None
        m = _NP_BEFORE.search(text, max(sd.sentence.start, start - 60), start)
        if m is None and item.level is not None:
            m = _NP_AFTER.match(text, item.level.end, sd.sentence.end)
        if m is None:
            return None, None
        np = _NP_CUT.sub("", " " + m.group("np")).strip()
        words = [w for w in np.split() if w.lower() not in _NP_STOP]
        if not words:
            return None, None
        phrase = " ".join(words)
        return self._vocab.canonical(phrase) or snake_case(phrase), phrase

    # ---- entity ---------------------------------------------------------------------------------
    def _entity(self, text: str, sd: SentenceData, item: _Item, ctx: ArticleContext) -> str | None:
        forced = item.forced_entity
        if forced is not None:
            return forced.name
        usable = sd.usable_entities
        if usable is None:
            usable = sd.usable_entities = [e for e in sd.entities if not _APPOSITION.search(text, max(0, e.start - 12), e.start)]
        before = [e for e in usable if e.end <= item.start]
        if before:
            return before[-1].name
        after = [e for e in usable if e.start >= item.end]
        if after:
            return after[0].name
        return ctx.entity

    # ---- period ---------------------------------------------------------------------------------
    def _period(self, text: str, sd: SentenceData, item: _Item, next_start: int, ctx: ArticleContext,
                claimed_after: set[int], prev_period: Period | None, metric: str | None) -> Period | None:
        chosen = None
        # Inside the figure ("decreased 5.4 percent in the first half to ..."), or right after it ("... in 2012").
        for k, p in enumerate(sd.periods):
            if p.kind == "ignore":
                continue
            if item.start <= p.start and p.end <= item.end:
                chosen = k
                break
            if item.end <= p.start and p.end <= next_start:
                gap = text[item.end:p.start]
                between_metric = any(item.end <= m.start < p.start for m in sd.metrics)
                # "...90万亿元，全年实现利润总额2.6万亿元": a period followed by a new metric opens the next figure.
                opens_next = any(p.end <= m.start < next_start for m in sd.metrics)
                if len(gap) <= 60 and not _boundary(gap) and not between_metric and not opens_next:
                    chosen = k
                    claimed_after.add(k)
                break
        if chosen is None:
            before = [k for k, p in enumerate(sd.periods) if p.end <= item.start and p.kind != "ignore" and k not in claimed_after]
            if before:
                chosen = before[-1]
        if chosen is None:
            rest = [k for k, p in enumerate(sd.periods) if p.kind != "ignore" and k not in claimed_after and p.start >= item.end]
            if rest:
                chosen = rest[0]
        if chosen is None:
            # "A in the first half of 2024, while B rose ...": across a clause break the earlier period still holds.
            earlier = [k for k, p in enumerate(sd.periods) if p.end <= item.start and p.kind not in ("ignore", "prev_year")]
            if earlier and _boundary(text, sd.periods[earlier[-1]].end, item.start):
                chosen = earlier[-1]
        # Nothing in the sentence: a balance takes the latest balance date, a flow the latest period.
        carried = ((ctx.point or ctx.period) if metric and self._vocab.is_balance(metric) else (ctx.period or ctx.point))
        if chosen is None:
            return carried
        mention = sd.periods[chosen]
        if mention.kind == "prev_year":
            base = prev_period or carried
            return shift_year(base, -1) if base else None
        return sd.resolved[chosen] or carried
