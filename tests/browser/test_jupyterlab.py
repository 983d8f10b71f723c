"""The bundled notebooks as an analyst uses them: opened in JupyterLab in a real browser, Run > Run All Cells.

`what_if.ipynb`: the panel appears, follows a lever within a bound, its table and chart agree, and no
output is typeset as maths. `ab_compare.ipynb`: the summary sentence a leader reads says the figures that
the same run's JSON (`funnelsim compare --json` on the run's result store) holds. Neither page may log a
console error. JupyterLab serves a temporary copy of notebooks/ and scenarios/ (nothing in the
repository is written) and is stopped when the module ends, passed or failed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from _panel import UPDATE_SECONDS, check_agree, check_no_maths, move_lever, reset, wait_for_panel
from _servers import (PYTHON, Console, Offline, browser, jupyterlab, page, run_all_cells,  # noqa: F401 (fixtures)
                      wait_showing)

ROOT = Path(__file__).resolve().parents[2]
#: the A/B run of the test: small, so the notebook runs in well under a minute
AB = {"replications": 4, "months": 2.0, "seed": 11, "executor": "serial"}
#: the longest `ab_compare.ipynb` may take to run all its cells at that size
AB_SECONDS = 240


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", folder / "notebooks")
    shutil.copytree(ROOT / "scenarios", folder / "scenarios")
    with jupyterlab(folder) as url:
        yield url, folder


def test_what_if_in_jupyterlab_follows_a_lever_and_no_output_is_maths(lab: tuple[str, Path], page: Any) -> None:
    url, _ = lab
    console, outside = Console(page), Offline(page)
    page.goto(f"{url}lab/tree/notebooks/what_if.ipynb?reset", timeout=90_000)
    run_all_cells(page)
    before = wait_for_panel(page, timeout=120)
    check_agree(before)
    after, seconds = move_lever(page, before)
    assert after["names"][1] == "5-min SLA", after["names"]
    assert seconds < UPDATE_SECONDS
    check_agree(after)  # includes the summary table in the cell below the panel: it followed the lever
    back = reset(page, after)  # every lever back: the same leads give the very figures of the first draw
    check_agree(back)
    assert back["cells"] == before["cells"], f"reset did not give the baseline's figures back: {back['cells']}"
    check_no_maths(page)
    assert console.errors == [], f"console errors: {console.errors}"
    assert outside.urls == [], f"JupyterLab's page asked the internet for {outside.urls}"


def _number(text: str) -> float:
    """'2.3' / '−1.5' / '$24k' / '$1.25M' / '$850' as a number."""
    text = text.replace("−", "-").replace("+", "").replace("$", "").replace(",", "")
    scale = {"k": 1e3, "M": 1e6}.get(text[-1:], 1.0)
    return float(text.rstrip("kM")) * scale


def _shown_within(shown: str, value: float) -> bool:
    """`shown` is `value` rounded to the digits `shown` has ('$24k' is 23,500-24,500; '2.3' is 2.25-2.35)."""
    digits = shown.replace("−", "").replace("+", "").replace("$", "").replace(",", "")
    scale = {"k": 1e3, "M": 1e6}.get(digits[-1:], 1.0)
    decimals = len(digits.rstrip("kM").partition(".")[2])
    return abs(_number(shown) - value) <= 0.5 * 10 ** -decimals * scale * (1 + 1e-9)


_MONEY = r"[−+]?\$[\d.,]+[kM]?"
_PCT = r"[−+]?[\d.]+"


def test_ab_compare_in_jupyterlab_says_the_figures_of_its_run(lab: tuple[str, Path], page: Any) -> None:
    url, folder = lab
    store = folder / "store"
    # the notebook as an analyst would set it up for this run: its parameters cell edited to a small run
    source = folder / "notebooks" / "ab_compare.ipynb"
    nb = nbformat.read(source, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    for name, value in {**AB, "store": str(store)}.items():
        cell.source, count = re.subn(rf"^{name}: ([^=]+)= .*$", f"{name}: \\1= {value!r}", cell.source, flags=re.M)
        assert count == 1, f"ab_compare.ipynb has no parameter {name!r}"
    nbformat.write(nb, source)

    console, outside = Console(page), Offline(page)
    page.goto(f"{url}lab/tree/notebooks/ab_compare.ipynb?reset", timeout=90_000)
    run_all_cells(page)
    # while the replications run, a progress bar says so (the run takes tens of seconds at full size)
    wait_showing(page, page.locator(".jp-OutputArea-output", has=page.locator(".widget-hprogress"),
                                   has_text="replications").first, 60, "the progress bar")
    # the last section's heading: every cell ran
    wait_showing(page, page.locator(".jp-OutputArea-output h2", has_text="Provenance"), AB_SECONDS,
                 "the report's last section")
    sentence = " ".join((page.locator(".jp-OutputArea-output p.headline").first.text_content() or "").split())
    check_no_maths(page)
    assert console.errors == [], f"console errors: {console.errors}"
    assert outside.urls == [], f"JupyterLab's page asked the internet for {outside.urls}"

    # the same run's figures: the comparison again on its result store (every replication reused, none run)
    done = subprocess.run([PYTHON, "-m", "funnelsim", "compare", str(folder / "scenarios" / "baseline.yaml"),
                           str(folder / "scenarios" / "five_minute_sla.yaml"), "--replications",
                           str(AB["replications"]), "--months", str(AB["months"]), "--seed", str(AB["seed"]),
                           "--store", str(store), "--workers", "1", "--json"],
                          capture_output=True, text=True, timeout=300, cwd=folder)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["computed"] == 0 and figures["reused"] == 2 * AB["replications"], "not the notebook's run"
    rows = {row["kpi"]: row for row in figures["table"] if row["variant"] == "five_minute_sla"}
    won, revenue = rows["won_deals"], rows["revenue_per_month"]

    found = re.search(rf"won deals (?:by )?({_PCT})% \(95% CI ({_PCT})%?(?:–| to )({_PCT})%\)", sentence)
    assert found, f"no won-deals figure in the summary: {sentence}"
    raises = " raises won deals" in sentence or " lowers won deals" in sentence
    expected = [won["rel_change"], won["rel_ci_low"], won["rel_ci_high"]]
    if raises and won["rel_change"] < 0:  # 'lowers won deals by 2%': magnitudes, the interval's ends swapped
        expected = [-won["rel_change"], -won["rel_ci_high"], -won["rel_ci_low"]]
    for shown, value in zip(found.groups(), expected):
        assert _shown_within(shown, 100 * value), f"won deals: {shown}% in the sentence, {100 * value:.3f}% in JSON"

    found = re.search(rf"revenue (?:by )?({_MONEY}) a month \(95% CI ({_MONEY})(?:–| to )({_MONEY})\)", sentence)
    assert found, f"no revenue figure in the summary: {sentence}"
    expected = [revenue["diff"], revenue["ci_low"], revenue["ci_high"]]
    if "by " in sentence[found.start():found.start() + 11] and revenue["diff"] < 0:
        expected = [-revenue["diff"], -revenue["ci_high"], -revenue["ci_low"]]
    for shown, value in zip(found.groups(), expected):
        assert _shown_within(shown, value), f"revenue: {shown} a month in the sentence, {value:,.0f} in JSON"
