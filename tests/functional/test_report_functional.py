"""The leadership report end to end: a real (tiny) comparison presented, and a failing notebook under papermill."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from funnelsim import __version__
from funnelsim.commands.workbench import build_report
from funnelsim.errors import FunnelsimError
from funnelsim.present.ab_report import SECTIONS
from funnelsim.present.format import money
from funnelsim.present.render import render_report

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"


@pytest.fixture(scope="module")
def tiny_report():
    return build_report(SCENARIOS / "baseline.yaml", [SCENARIOS / "more_reps.yaml"], replications=2, months=0.25,
                        executor="serial")


def test_report_sections_have_stable_headings_and_charts(tiny_report) -> None:
    page = tiny_report.to_html()
    assert re.findall(r'<h2 id="(\w+)">([^<]+)</h2>', page) == list(SECTIONS)
    assert [h for _, h in SECTIONS] == ["Summary", "Verdict", "The funnel, side by side", "Where leads leak and why",
                                        "Speed-to-lead", "Revenue and cost per acquisition", "Assumptions",
                                        "Provenance"]
    for key in ("verdict", "funnel", "leaks", "speed", "money"):
        assert tiny_report.section(key).count('src="data:image/png;base64,') == 1, key
    assert tiny_report.title == "more_reps vs baseline"
    summary = tiny_report.section("summary")
    assert "Hiring 2 reps (6 instead of 4)" in summary and "Verdict on won deals for more_reps" in summary
    assert "2 paired replications of 0.25 months of leads" in summary
    with pytest.raises(KeyError):
        tiny_report.section("appendix")


def test_report_provenance_and_assumptions(tiny_report) -> None:
    c = tiny_report.comparison
    provenance = tiny_report.section("provenance")
    for scenario in (tiny_report.baseline, *tiny_report.variants):
        assert scenario.hash in provenance
    assert all(str(s) in provenance for s in c.seeds)
    assert f"<td class='text'>{__version__}</td>" in provenance
    assert "scenarios/baseline.yaml" in provenance and "scenarios/more_reps.yaml" in provenance
    assumptions = tiny_report.section("assumptions")
    assert "<td>Sales reps</td><td>4</td><td>6</td>" in assumptions
    assert "<td>Months of leads simulated</td><td>0.25</td><td>0.25</td>" in assumptions
    # two more reps at $9,000 a month, paid while the cohort's tail is worked: never "at no extra cost"
    summary = tiny_report.section("summary")
    cost = c.table.set_index("kpi").loc["total_cost"]
    assert cost["diff"] >= 2 * 9000 * 0.25 and "no extra cost" not in summary
    assert f"{money(cost['diff'] / 0.25)} more in rep and lead cost per month of leads" in summary or \
        f"cost changing by {money(cost['diff'] / 0.25, True)} per month of leads" in summary


def test_failing_notebook_is_one_line_and_leaves_no_file(tmp_path: Path) -> None:
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    params = new_code_cell("baseline = None")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, new_code_cell("raise ValueError('the model broke\\nsecond line')")]
    notebook = tmp_path / "broken.ipynb"
    nbformat.write(nb, str(notebook))
    out = tmp_path / "out" / "report.html"
    with pytest.raises(FunnelsimError) as info:
        render_report(SCENARIOS / "baseline.yaml", [SCENARIOS / "more_reps.yaml"], out, notebook=notebook,
                      replications=2, months=0.25, executor="serial")
    message = str(info.value)
    assert "\n" not in message and "ValueError: the model broke" in message and "broken.ipynb" in message
    assert not out.exists()
    assert not out.parent.exists() or list(out.parent.iterdir()) == []
