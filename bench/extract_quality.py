"""Extraction quality on the annotated development corpus: figures and contracts P/R/F1, share fully right.

Usage: python bench/extract_quality.py [CORPUS_DIR]   (default: ../shared/corpora/dev beside the repo,
or $SOE_CORPUS_DIR). Prints a table and exits 0; skips cleanly when the corpus is absent.

Matching is one-to-one and fair to both sides: a figure matches on value and unit (within 0.5%),
or, for a rate with no level, on change_pct and metric. Annotated metric and entity phrases
("total assets", "营业总收入", "中央企业") are mapped through the extractor's own vocabulary and
gazetteer before comparing. A figure is "fully right" when period, change_pct and metric match too;
a month-end balance (3月末) matches a month or year annotation with the same end date.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.extract import Extractor  # noqa: E402
from monitor.extract.models import Contract, Figure, Period  # noqa: E402
from monitor.extract.periods import make_period  # noqa: E402

TOLERANCE = 0.005


def corpus_dir() -> Path:
    """The corpus folder: argv[1], $SOE_CORPUS_DIR, or shared/corpora/dev beside the repository."""
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    if os.environ.get("SOE_CORPUS_DIR"):
        return Path(os.environ["SOE_CORPUS_DIR"])
    for base in (ROOT.parent / "shared", ROOT / "shared", Path("/work/shared")):
        if (base / "corpora" / "dev").is_dir():
            return base / "corpora" / "dev"
    return ROOT.parent / "shared" / "corpora" / "dev"


def gold_period(label: str | None) -> Period | None:
    """Annotation period strings ("2023", "2024-Q1", "2024-H1", "2022-03", "2024-01..2024-11") as Periods."""
    if not label:
        return None
    if ".." in label:
        a, b = label.split("..")
        y1, m1 = (int(x) for x in a.split("-"))
        _, m2 = (int(x) for x in b.split("-"))
        return make_period("months", y1, m1, m2)
    if "-Q" in label:
        y, q = label.split("-Q")
        return make_period("quarter", int(y), quarter=int(q))
    if "-H" in label:
        y, h = label.split("-H")
        return make_period("half", int(y), half=int(h))
    if "-" in label:
        y, m = (int(x) for x in label.split("-"))
        return make_period("month", y, m, m)
    return make_period("year", int(label))


def period_match(gold: Period | None, pred: Period | None) -> bool:
    """Same dates; a point (balance at a date) matches any period ending on that date."""
    if gold is None or pred is None:
        return gold is None and pred is None
    if pred.kind == "point":
        return pred.end == gold.end
    return (gold.start, gold.end) == (pred.start, pred.end)


def close(a: float | None, b: float | None) -> bool:
    """Values within the 0.5% tolerance (None only equals None)."""
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= TOLERANCE * max(abs(a), abs(b), 1e-12)


def lenient_text(gold: str | None, pred: str | None, canon) -> bool:
    """Names match when canonical forms agree or one contains the other (case, 'the' and "'s" ignored)."""
    if not gold or not pred:
        return not gold and not pred
    g, p = canon(gold), canon(pred)
    if g == p:
        return True
    norm = lambda s: " ".join(s.lower().replace("'s", "").replace("the ", "").split())  # noqa: E731
    g, p = norm(gold), norm(pred)
    return g in p or p in g


@dataclass
class Score:
    """Counts for one kind of fact."""

    gold: int = 0
    pred: int = 0
    matched: int = 0
    fully: int = 0
    fields: dict[str, list[int]] = field(default_factory=dict)

    def prf(self) -> tuple[float, float, float]:
        p = self.matched / self.pred if self.pred else 1.0
        r = self.matched / self.gold if self.gold else 1.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return p, r, f

    def field(self, name: str, ok: bool) -> None:
        counts = self.fields.setdefault(name, [0, 0])
        counts[0] += int(ok)
        counts[1] += 1


def score_figures(ex: Extractor, gold: list[dict], pred: list[Figure], score: Score, misses: list[str]) -> None:
    """Greedy one-to-one matching of annotated and extracted figures."""
    score.gold += len(gold)
    score.pred += len(pred)
    free = list(range(len(pred)))
    for g in gold:
        g_metric = ex.vocabulary.canonical(g["metric"])
        g_period = gold_period(g.get("period"))
        cands = []
        for i in free:
            f = pred[i]
            if g.get("value") is None:
                ok = f.value is None and close(g.get("change_pct"), f.change_pct) and f.metric == g_metric
            else:
                ok = close(float(g["value"]), f.value) and (g.get("unit") or "").lower() == (f.unit or "").lower()
            if ok:
                rank = (g["quote"] in f.quote, period_match(g_period, f.period), f.metric == g_metric)
                cands.append((rank, i))
        if not cands:
            misses.append(f"  missed figure: {g['metric']} {g.get('value')} {g.get('unit')} ({g['quote'][:50]})")
            continue
        _, i = max(cands)
        free.remove(i)
        f = pred[i]
        score.matched += 1
        checks = {
            "period": period_match(g_period, f.period),
            "change_pct": close(g.get("change_pct"), f.change_pct),
            "metric": f.metric == g_metric,
            "entity": ex.gazetteer.canonical(g["entity"]) == f.entity if g.get("entity") else f.entity is None,
        }
        for k, ok in checks.items():
            score.field(k, ok)
        if checks["period"] and checks["change_pct"] and checks["metric"]:
            score.fully += 1
        else:
            bad = [k for k in ("period", "change_pct", "metric") if not checks[k]]
            misses.append(f"  partly wrong ({', '.join(bad)}): {g['metric']} {g.get('value')} -> {f.metric} "
                          f"{f.period.label if f.period else None} {f.change_pct}")
    for i in free:
        f = pred[i]
        misses.append(f"  extra figure: {f.metric} {f.value} {f.unit} {f.period.label if f.period else None}")


def score_contracts(ex: Extractor, gold: list[dict], pred: list[Contract], score: Score, misses: list[str]) -> None:
    """Contracts match on value and unit; names are then compared leniently."""
    score.gold += len(gold)
    score.pred += len(pred)
    free = list(range(len(pred)))
    canon = ex.gazetteer.canonical
    for g in gold:
        hit = next((i for i in free if close(g.get("value"), pred[i].value)
                    and (g.get("unit") or "").lower() == (pred[i].unit or "").lower()), None)
        if hit is None:
            misses.append(f"  missed contract: {g.get('company')} {g.get('value')} {g.get('unit')}")
            continue
        free.remove(hit)
        c = pred[hit]
        score.matched += 1
        ok_all = True
        for name in ("company", "counterparty", "project", "location"):
            ok = lenient_text(g.get(name), getattr(c, name), canon)
            score.field(name, ok)
            ok_all &= ok
            if not ok:
                misses.append(f"  contract {name}: want {g.get(name)!r} got {getattr(c, name)!r}")
        score.fully += int(ok_all)
    for i in free:
        misses.append(f"  extra contract: {pred[i].company} {pred[i].value} {pred[i].unit}")


def main() -> int:
    """Score every annotated article and print the table."""
    folder = corpus_dir()
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        print(f"extract_quality: no corpus at {folder}; skipped")
        return 0
    ex = Extractor()
    figs, cons = Score(), Score()
    rows = []
    details: list[str] = []
    for path in files:
        doc = json.loads(path.read_text(encoding="utf-8"))
        published = date.fromisoformat(doc["published"]) if doc.get("published") else None
        facts = ex.extract(doc["text"], published=published, lang=doc.get("lang"))
        f_before, c_before = (figs.matched, figs.gold, figs.pred, figs.fully), (cons.matched, cons.gold, cons.pred)
        misses: list[str] = []
        score_figures(ex, doc.get("figures", []), facts.figures, figs, misses)
        score_contracts(ex, doc.get("contracts", []), facts.contracts, cons, misses)
        rows.append((path.stem, figs.matched - f_before[0], figs.gold - f_before[1], figs.pred - f_before[2],
                     figs.fully - f_before[3], cons.matched - c_before[0], cons.gold - c_before[1], cons.pred - c_before[2]))
        if misses:
            details.append(path.stem)
            details.extend(misses)
    print(f"{'article':<22} {'fig ok/gold/pred':>17} {'fully':>6} {'con ok/gold/pred':>17}")
    for name, fm, fg, fp, ff, cm, cg, cp in rows:
        print(f"{name:<22} {f'{fm}/{fg}/{fp}':>17} {ff:>6} {f'{cm}/{cg}/{cp}':>17}")
    print()
    print(f"{'':<12} {'precision':>9} {'recall':>7} {'F1':>6}")
    for label, sc in (("figures", figs), ("contracts", cons)):
        p, r, f = sc.prf()
        print(f"{label:<12} {p:>9.3f} {r:>7.3f} {f:>6.3f}")
    fully = figs.fully / figs.gold if figs.gold else 1.0
    print(f"\nfigures fully right (value+unit, period, change_pct, metric): {figs.fully}/{figs.gold} = {fully:.3f}")
    for label, sc in (("figure", figs), ("contract", cons)):
        parts = [f"{k} {ok}/{n}" for k, (ok, n) in sc.fields.items()]
        print(f"{label} fields right among matched: " + ", ".join(parts))
    if details:
        print("\ndifferences:")
        print("\n".join(details))
    return 0


if __name__ == "__main__":
    sys.exit(main())
