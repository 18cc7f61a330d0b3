"""Hostile input finishes without error: no catastrophic backtracking, no crash on odd text."""

from __future__ import annotations

import random

import pytest

from monitor.extract import Facts, extract

random.seed(7)

PATHOLOGICAL = {
    "1MB-digits": "1" * 1_000_000,
    "digits-with-separators": "1,234," * 100_000,
    "digits-and-dots": "1.2." * 100_000,
    "long-sentence": ("the state-owned enterprise grew " * 4000) + "5 percent to 3 billion yuan",
    "long-cjk-sentence": "国有企业营业总收入" * 12_000 + "增长5%",
    "unbalanced-brackets": "((((((((" * 20_000 + "revenue 5 billion yuan (" * 2000,
    "mixed-scripts": "CRRC中国中车签署合同worth 5亿元 (US$ 7 million) 同比增长 3% " * 3000,
    "many-numbers": " ".join(f"{i} billion yuan, up {i % 90}.5%" for i in range(20_000)),
    "many-periods": "January-November 2024 第一季度 1-3月 H1 Q2 " * 5000,
    "whitespace": " \n\t" * 100_000,
    "months-no-space": "JanuaryFebruaryMarch" * 30_000,
    "capitalised-words": "Aaa Bbb Ccc Group " * 20_000,
    "zh-org-chain": "有限公司" * 50_000,
    "random-bytes": "".join(chr(random.randint(32, 0x9FFF)) for _ in range(200_000)),
    "full-width": "１２３．４５％" * 50_000,
    "dollar-signs": "$$$ US$ HK$ " * 50_000,
    "minus-signs": "-" * 500_000 + "5%",
    "capitals-then-a-small-letter": "SOE PROFITS ROSE " * 20_000 + "a",
    "one-line-in-capitals": "SOE PROFITS ROSE 2.1 PERCENT TO 1.5 TRILLION YUAN IN THE FIRST HALF. " * 5_000,
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", list(PATHOLOGICAL))
def test_pathological_input_completes(name: str) -> None:
    facts = extract(PATHOLOGICAL[name])
    assert isinstance(facts, Facts)
    text = PATHOLOGICAL[name]
    for f in facts.figures:
        assert f.quote == text[f.span[0]:f.span[1]]
