"""Every notebook in notebooks/ is thin, committed without outputs, and runs top to bottom under papermill.

Notebooks are found by glob, so a new notebook is executed without touching this file.
Each runs on small parameters to keep the suite fast: :data:`SMALL_PARAMETERS` holds them
(or a function of a scratch folder that prepares inputs and returns them) for the notebooks
this file knows; any other notebook may declare its own in its metadata
(``"funnelsim": {"test_parameters": {...}}``) or runs on its defaults.
"""

from __future__ import annotations

import re
from pathlib import Path
from collections.abc import Callable
from typing import Any

import nbformat
import papermill as pm
import pytest

from funnelsim import load_scenario
from funnelsim.present.ab_report import SECTIONS
from funnelsim.present.render import notebook_to_html

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SCENARIOS = ROOT / "scenarios"



def _calibrate_parameters(folder: Path) -> dict[str, Any]:
    """A one-month CRM export of a known scenario to calibrate from."""
    from funnelsim.crm.export import export_scenario

    base = SCENARIOS / "five_minute_sla.yaml"
    export = folder / "leads.csv"
    export_scenario(load_scenario(base, ["months=1"]), export, seed=3)
    return {"export": str(export), "base": str(base), "check_funnel": 1, "output": str(folder / "calibrated.yaml")}


#: small parameters per notebook (absolute paths: the kernel runs in notebooks/)
SMALL_PARAMETERS: dict[str, dict[str, Any] | Callable[[Path], dict[str, Any]]] = {
    "calibrate.ipynb": _calibrate_parameters,
    "ab_compare.ipynb": {
        "baseline": str(SCENARIOS / "baseline.yaml"),
        "variants": [str(SCENARIOS / "five_minute_sla.yaml")],
        "replications": 3, "months": 1, "executor": "serial",
    },
    "sweep.ipynb": {
        "sweep": str(SCENARIOS / "sweeps" / "reps_and_sla.yaml"),
        "replications": 2, "months": 1, "staffing_replications": 2, "executor": "serial",
    },
    "what_if.ipynb": {"scenario": str(SCENARIOS / "baseline.yaml"), "replications": 2, "months": 1},
}
#: what each known notebook must show once executed
EXPECTED_TEXT: dict[str, tuple[str, ...]] = {
    "ab_compare.ipynb": ("Following up within 5 minutes instead of 1 hour", "Verdict on won deals"),
    "sweep.ipynb": ("Sweep: reps_and_sla", "Staffing", "To meet", "team.reps"),
    "what_if.ipynb": ("Won deals", "what-if (no change yet)"),  # the column is named after what changed
}


def parameters_for(path: Path, nb: nbformat.NotebookNode, folder: Path) -> dict[str, Any]:
    known = SMALL_PARAMETERS.get(path.name)
    if callable(known):
        return known(folder)
    if known is not None:
        return known
    return dict(nb.metadata.get("funnelsim", {}).get("test_parameters", {}))


def _code(nb: nbformat.NotebookNode) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code"]


def _outputs_text(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            for mime, value in out.get("data", {}).items():
                if mime.startswith("text/"):
                    parts.append(value if isinstance(value, str) else "".join(value))
    return "\n".join(parts)


def test_the_workbench_notebooks_exist() -> None:
    names = {p.name for p in NOTEBOOKS}
    assert {"ab_compare.ipynb", "sweep.ipynb", "what_if.ipynb"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_thin_and_stored_without_outputs(path: Path) -> None:
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0].cell_type == "code"
    assert nb.metadata.kernelspec.name == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "strip outputs before committing"
    code = "\n".join(_code(nb))
    assert re.search(r"^\s*(from funnelsim[\w.]* import|import funnelsim)", code, re.M)
    # no model logic in a notebook: no functions, classes, loops or direct simulation calls
    for pattern in (r"^\s*def ", r"^\s*class ", r"^\s*for ", r"^\s*while ", r"\bsimulate\(", r"\blambda\b"):
        assert not re.search(pattern, code, re.M), f"{path.name}: {pattern!r} belongs in the package"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom_under_papermill(path: Path, tmp_path: Path) -> None:
    nb = nbformat.read(str(path), as_version=4)
    executed = tmp_path / path.name
    pm.execute_notebook(str(path), str(executed), parameters=parameters_for(path, nb, tmp_path),
                        kernel_name="python3",
                        cwd=str(path.parent), progress_bar=False, execution_timeout=600,
                        extra_arguments=["--IPKernelApp.log_level=ERROR"])
    done = nbformat.read(str(executed), as_version=4)
    errors = [o for c in done.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    code_cells = [c for c in done.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code_cells)  # every cell ran
    text = _outputs_text(done)
    for expected in EXPECTED_TEXT.get(path.name, ()):
        assert expected in text, f"{path.name}: {expected!r} missing from the outputs"
    if path.name == "what_if.ipynb":
        views = [o for c in done.cells for o in c.get("outputs", [])
                 if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
        assert views, "the what-if panel was not displayed as a widget"
    if path.name == "sweep.ipynb":
        assert text.count("data:image/png;base64,") >= 2  # line chart and heat map
    if path.name == "ab_compare.ipynb":
        check_report_html(notebook_to_html(executed, "test"))


def check_report_html(page: str) -> None:
    """The converted report: code hidden, every section heading in order, charts embedded, no network."""
    headings = re.findall(r'<h2 id="(\w+)">([^<]+)</h2>', page)
    assert headings == list(SECTIONS)
    chunks = dict(zip([k for k, _ in SECTIONS], re.split(r'<h2 id="\w+">', page)[1:]))
    for key in ("verdict", "funnel", "leaks", "speed", "money"):
        assert re.search(r'<img [^>]*src="data:image/png;base64,[A-Za-z0-9+/]{1000}',
                         chunks[key]), f"section {key} has no embedded chart"
    assert re.search(r"five_minute_sla (wins|is better)|baseline wins|not enough replications yet|"
                     r"no practical difference", chunks["verdict"])
    assert "build_report(" not in page and "report.show(" not in page  # code hidden
    assert "Run it top to bottom" not in page  # the analysts' introduction (tagged report-skip) is left out
    assert not re.search(r'(src|href)="(https?:)?//', page), "the report must not fetch anything"
    assert "<script src=" not in page
