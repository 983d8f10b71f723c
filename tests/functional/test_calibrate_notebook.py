"""notebooks/calibrate.ipynb runs top to bottom under papermill on a small export and writes the scenario."""

from __future__ import annotations

from pathlib import Path

import nbformat
import papermill as pm

from funnelsim import load_scenario
from funnelsim.crm.export import export_scenario

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "calibrate.ipynb"
BASE = ROOT / "scenarios" / "five_minute_sla.yaml"


def test_calibrate_notebook_runs_on_a_small_export(tmp_path):
    export = tmp_path / "leads.csv"
    export_scenario(load_scenario(BASE, ["months=1"]), export, seed=3)
    output = tmp_path / "calibrated.yaml"
    executed = tmp_path / "calibrate.ipynb"
    pm.execute_notebook(str(NOTEBOOK), str(executed), kernel_name="python3", cwd=str(NOTEBOOK.parent),
                        parameters={"export": str(export), "base": str(BASE), "check_funnel": 1,
                                    "output": str(output)},
                        progress_bar=False, execution_timeout=300, extra_arguments=["--IPKernelApp.log_level=ERROR"])
    done = nbformat.read(str(executed), as_version=4)
    outputs = [o for c in done.cells for o in c.get("outputs", [])]
    assert [o for o in outputs if o.get("output_type") == "error"] == []
    text = "\n".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert f"Calibrated from {export}" in text and "speed_to_lead.p_durable" in text and f"Wrote {output}" in text
    # arrivals, the decay curve, conversion rates, contacts by attempt
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 4
    calibrated = load_scenario(output)
    assert calibrated.sla.first_touch_minutes == 5  # policies kept from the base
    # the notebook was committed clean: no outputs, one parameters cell
    stored = nbformat.read(str(NOTEBOOK), as_version=4)
    assert all(c.outputs == [] for c in stored.cells if c.cell_type == "code")
    assert sum("parameters" in c.metadata.get("tags", []) for c in stored.cells) == 1
