"""Extraction speed: our extractor vs quantulum3 on the same ~4 KB articles, in the same run.

Usage: python bench/extract_speed.py [CORPUS_DIR]
Articles are built from the annotated corpus (when present) and from sentences written here, each
padded to about 4 KB. Times are CPU time per article on one core (best of several rounds, so other
processes on the machine disturb the result less). quantulum3 is timed on fewer rounds: it is slow.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.extract import Extractor  # noqa: E402

TARGET = 4096

# A news-like mix: most sentences carry no number (as in real reports), some have figures, periods and deals.
OWN_SENTENCES = [
    "The State-owned Assets Supervision and Administration Commission said the reforms would deepen this year.",
    "Officials stressed that companies must focus on their core businesses and improve governance.",
    "Analysts said the policy signals a shift towards higher-quality growth rather than sheer scale.",
    "The commission also urged enterprises to strengthen risk controls in overseas operations.",
    "Several executives told reporters that demand from emerging markets remained resilient.",
    "The group will also accelerate the development of advanced manufacturing and digital industries, it said.",
    "Experts noted that breakthroughs in core technologies are essential for the long-term competitiveness of the sector.",
    "Local governments have been asked to support the restructuring of loss-making firms and to protect workers' rights.",
    "国资委表示，将进一步推动中央企业聚焦主责主业，提升核心竞争力。",
    "业内人士认为，国有企业改革深化提升行动将为高质量发展注入新动能。",
    "The company said the new plant would create thousands of jobs and support the local supply chain.",
    "State-owned enterprises will step up investment in strategic emerging industries, the regulator said on Monday.",
    "China's central SOEs reported operating revenue of 39.5 trillion yuan in 2023, up 2.9 percent year-on-year.",
    "Their total profits rose 7.6 percent to 2.6 trillion yuan in the first 11 months, while R&D spending grew 8.1 percent.",
    "The company said it would keep expanding its overseas business despite the uncertain global outlook.",
    "Sinopec's refinery throughput fell 1.2 percent in the third quarter to 64.3 million tonnes.",
    "Analysts expect demand for refined oil products to recover gradually in the second half of the year.",
    "PowerChina signed a contract worth $1.2 billion for a hydropower project in Nepal, the company said.",
    "截至2024年9月末，中央企业资产总额达到90万亿元，同比增长5.1%。",
    "1—9月，国有企业营业总收入623620.5亿元，同比增长1.1%；利润总额31945.7亿元，同比下降1.8%。",
    "中国中车与某地铁公司签署了约12.6亿元人民币的地铁车辆销售合同。",
    "The move is part of a broader effort to improve the quality and efficiency of state-owned capital.",
    "Experts said the reform would help companies become more competitive in international markets.",
    "COSCO Shipping's container throughput climbed 6.3 percent to 131.5 million TEU in 2023.",
    "The group plans to list more of its technology units on the domestic stock market next year.",
]


def corpus_texts() -> list[str]:
    """Article texts from the annotated corpus, if it is there."""
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(os.environ.get("SOE_CORPUS_DIR", ROOT.parent / "shared" / "corpora" / "dev"))
    if not folder.is_dir():
        folder = Path("/work/shared/corpora/dev")
    if not folder.is_dir():
        return []
    return [json.loads(p.read_text(encoding="utf-8"))["text"] for p in sorted(folder.glob("*.json"))]


def build_articles() -> list[str]:
    """~4 KB articles: each corpus text padded with our sentences, plus articles of our sentences only."""
    articles = []
    for i, text in enumerate(corpus_texts()):
        body = text
        k = i
        while len(body.encode("utf-8")) < TARGET:
            body += "\n" + OWN_SENTENCES[k % len(OWN_SENTENCES)]
            k += 1
        articles.append(body)
    for start in range(0, len(OWN_SENTENCES), 3):
        body = ""
        k = start
        while len(body.encode("utf-8")) < TARGET:
            body += OWN_SENTENCES[k % len(OWN_SENTENCES)] + ("\n" if k % 4 == 3 else " ")
            k += 1
        articles.append(body)
    return articles


def cpu_ms_per_article(fn, articles: list[str], rounds: int, repeat: int) -> float:
    """Best (lowest) CPU milliseconds per article over `rounds` rounds of `repeat` passes."""
    best = float("inf")
    for _ in range(rounds):
        t = time.process_time()
        for _ in range(repeat):
            for a in articles:
                fn(a)
        best = min(best, (time.process_time() - t) / (repeat * len(articles)) * 1000)
    return best


def main() -> int:
    """Time both extractors on the same articles, interleaved so both see the same machine load; print the ratio."""
    articles = build_articles()
    sizes = [len(a.encode("utf-8")) for a in articles]
    ex = Extractor()
    ours_fn = lambda a: ex.extract(a, published=date(2025, 1, 3))  # noqa: E731
    print(f"articles: {len(articles)}, mean size {sum(sizes) / len(sizes) / 1024:.1f} KB")
    try:
        from quantulum3 import parser as q_parser
        q_parser.parse("warm up: 5 tonnes")  # loads its unit tables once, outside the timing
    except Exception as exc:  # quantulum3 is a bench-only dependency
        q_parser = None
        print(f"quantulum3 not available ({exc}); ratio not computed")
    ours = theirs = float("inf")
    for _ in range(3):
        ours = min(ours, cpu_ms_per_article(ours_fn, articles, rounds=3, repeat=5))
        if q_parser is not None:
            theirs = min(theirs, cpu_ms_per_article(q_parser.parse, articles, rounds=1, repeat=1))
    print(f"{'extractor':<14} {'ms/article':>10}")
    print(f"{'soe-monitor':<14} {ours:>10.3f}")
    if q_parser is not None:
        print(f"{'quantulum3':<14} {theirs:>10.3f}")
        print(f"ratio: ours is {theirs / ours:.1f}x faster than quantulum3")
    return 0


if __name__ == "__main__":
    sys.exit(main())
