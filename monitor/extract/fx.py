"""Currency table: ISO codes, how texts write them, and approximate rates to US dollars."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

DATA_DIR = Path(__file__).parent / "data"


@dataclass(slots=True)
class CurrencyTable:
    """Currency spellings -> ISO code, and ISO code -> approximate USD per unit."""

    usd_rates: dict[str, float] = field(default_factory=dict)
    _by_prefix: dict[str, str] = field(default_factory=dict)
    _by_name: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path = DATA_DIR / "currencies.yaml", overrides: dict[str, float] | None = None) -> "CurrencyTable":
        """Read the shipped currency file; `overrides` replaces or adds USD rates by ISO code."""
        table = cls()
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for entry in data.get("currencies", []):
            code = str(entry["code"]).upper()
            if entry.get("usd") is not None:
                table.usd_rates[code] = float(entry["usd"])
            for p in entry.get("prefixes", []) or []:
                table._by_prefix[str(p)] = code
            for n in entry.get("names", []) or []:
                table._by_name[str(n).lower()] = code
        for code, rate in (overrides or {}).items():
            table.usd_rates[code.upper()] = float(rate)
        return table

    def prefixes(self) -> list[str]:
        """Every spelling written before a number ("US$", "RMB")."""
        return list(self._by_prefix)

    def names(self) -> list[str]:
        """Every spelling written after a number ("yuan", "美元")."""
        return list(self._by_name)

    def code_for_prefix(self, prefix: str) -> str | None:
        """ISO code of a prefix as written."""
        return self._by_prefix.get(prefix) or self._by_prefix.get(prefix.replace(" ", ""))

    def code_for_name(self, name: str) -> str | None:
        """ISO code of a currency name as written (any case, any spacing)."""
        return self._by_name.get(" ".join(name.lower().split()))

    def to_usd(self, value: float | None, code: str | None) -> float | None:
        """Approximate USD value, or None when the currency or value is unknown."""
        if value is None or code is None:
            return None
        rate = self.usd_rates.get(code)
        # The rates are approximate: 4 significant digits are all the result can honestly claim.
        return None if rate is None else float(f"{value * rate:.4g}")
