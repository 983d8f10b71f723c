"""Back-tests: every bundled scenario's KPI table at a fixed seed equals the stored one, exactly.

A difference means the model's behaviour changed. If that was the intent, regenerate
the tables with `make backtests` and say why in the commit; if not, it is a bug.
"""

from __future__ import annotations

import json
import math

import pytest

from .regenerate import bundled_scenarios, kpi_table, table_path

pytestmark = pytest.mark.slow


def _same(a: float, b: float) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


def test_every_bundled_scenario_has_a_stored_table():
    missing = [str(p) for p in bundled_scenarios() if not table_path(p).is_file()]
    assert not missing, f"no back-test table for {missing}: run `make backtests`"


@pytest.mark.parametrize("scenario", bundled_scenarios(), ids=lambda p: p.stem)
def test_kpi_table_is_unchanged(scenario):
    stored = json.loads(table_path(scenario).read_text())
    fresh = kpi_table(scenario)
    assert fresh["hash"] == stored["hash"], "the scenario file changed: regenerate on purpose"
    assert set(fresh["kpis"]) == set(stored["kpis"]), "the KPI names changed"
    changed = {k: (stored["kpis"][k], v) for k, v in fresh["kpis"].items() if not _same(v, stored["kpis"][k])}
    assert not changed, f"KPIs changed (stored, now): {changed}"
