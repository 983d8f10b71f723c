"""Every bundled lever moves won deals the documented way: 12 months, 8 paired replications.

This is the README's scenario table, checked: `compare baseline <lever>` on common random
numbers must give a 95% CI of the change in won deals that excludes 0, on the side the
README promises — every lever raises won deals except ``daily_crm_pull``, which lowers
them. Print the table for the README with ``make levers``.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

import pytest

from funnelsim import load_scenario
from funnelsim.experiments.executors import PoolExecutor
from funnelsim.experiments.compare import compare

pytestmark = pytest.mark.slow

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
#: lever scenario -> +1 raises won deals, -1 lowers them
LEVERS = {
    "five_minute_sla": +1,
    "more_reps": +1,
    "lead_cap_500": +1,
    "reclaim_untouched": +1,
    "score_first_queue": +1,
    "hot_lead_alerts": +1,
    "no_show_reschedule": +1,
    "daily_crm_pull": -1,
}
REPLICATIONS = 8


@lru_cache(maxsize=1)
def lever_table():
    baseline = load_scenario(SCENARIOS / "baseline.yaml")
    variants = [load_scenario(SCENARIOS / f"{name}.yaml") for name in LEVERS]
    with PoolExecutor(2) as executor:
        comparison = compare(baseline, variants, replications=REPLICATIONS, seed=0, executor=executor)
    table = comparison.table
    return table[table["kpi"] == "won_deals"].set_index("variant")


def test_every_bundled_lever_scenario_is_in_the_table():
    bundled = {p.stem for p in SCENARIOS.glob("*.yaml")} - {"baseline", "perishable"}
    assert bundled == set(LEVERS), "a lever scenario without a documented direction (or a stale entry)"


@pytest.mark.parametrize("lever", list(LEVERS))
def test_lever_moves_won_deals_the_documented_way(lever):
    row = lever_table().loc[lever]
    if LEVERS[lever] > 0:
        assert row["ci_low"] > 0, f"{lever}: won deals change, 95% CI [{row['ci_low']:.1f}, {row['ci_high']:.1f}]"
    else:
        assert row["ci_high"] < 0, f"{lever}: won deals change, 95% CI [{row['ci_low']:.1f}, {row['ci_high']:.1f}]"


def markdown() -> str:
    """The README's lever table: change in won deals a year, with its 95% CI."""
    table = lever_table()
    lines = ["| scenario | won deals a year vs baseline (95% CI) |", "|---|---|"]
    for lever in LEVERS:
        row = table.loc[lever]
        lines.append(f"| `{lever}.yaml` | {row['rel_change']:+.1%} ({row['rel_ci_low']:+.1%} to {row['rel_ci_high']:+.1%}); "
                     f"{row['mean_baseline']:.0f} → {row['mean_variant']:.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(markdown() + "\n")
