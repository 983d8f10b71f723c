"""Regenerate the back-test tables: the KPI table of every bundled scenario at a fixed seed.

    .venv/bin/python tests/backtest/regenerate.py        (or: make backtests)

Run it only on purpose — when a change of the model's behaviour is intended — and say
why in the commit: the stored tables are what `test_backtest.py` compares exactly.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TABLES = HERE / "kpis"
SEED = 20261129


def bundled_scenarios() -> list[Path]:
    """Every scenario file shipped in scenarios/ (sweep files excluded)."""
    root = REPO / "scenarios"
    return sorted(p for p in root.rglob("*.yaml") if "sweeps" not in p.relative_to(root).parts)


def table_path(scenario: Path) -> Path:
    relative = scenario.relative_to(REPO / "scenarios").with_suffix("")
    return TABLES / ("__".join(relative.parts) + ".json")


def kpi_table(scenario: Path) -> dict:
    from funnelsim import load_scenario
    from funnelsim.metrics import kpis
    from funnelsim.model import simulate

    loaded = load_scenario(scenario)
    result = simulate(loaded, SEED, record_events=False)
    return {"scenario": str(scenario.relative_to(REPO)), "hash": loaded.hash, "seed": SEED, "kpis": kpis(result)}


def main() -> int:
    TABLES.mkdir(exist_ok=True)
    for old in TABLES.glob("*.json"):
        old.unlink()
    for scenario in bundled_scenarios():
        table = kpi_table(scenario)
        table_path(scenario).write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
        print(f"{table_path(scenario).relative_to(REPO)}: {len(table['kpis'])} KPIs")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "src"))
    sys.exit(main())
