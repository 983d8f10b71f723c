"""The notebooks' parameters: typed and documented for papermill, checked in the notebook and by ``funnelsim notebook``.

Kernels run on short horizons with one or two replications; the checks that need no
kernel call :mod:`funnelsim.commands.notebook_params` directly.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from funnelsim.cli import main
from funnelsim.commands.notebook_params import (NOTEBOOK_DIR, SPECS, ParameterError, check_given, check_values,
                                                notebook_defaults)

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
PAPERMILL = str(Path(sys.executable).with_name("papermill"))


def _papermill(notebook: str, output: Path, cwd: Path, *parameters: str) -> subprocess.CompletedProcess:
    source = NOTEBOOKS / f"{notebook}.ipynb"
    return subprocess.run([PAPERMILL, str(source.relative_to(cwd) if cwd in source.parents else source),
                           str(output), "--no-progress-bar", "--log-level", "ERROR", *parameters],
                          cwd=cwd, capture_output=True, text=True, timeout=300)


def _globals_line(done: Path) -> str:
    return "\n".join(o.get("text", "") for c in nbformat.read(str(done), as_version=4).cells
                     for o in c.get("outputs", []) if o.get("output_type") == "stream")


# --------------------------------------------------------------------------- declared for papermill


@pytest.mark.parametrize("notebook", list(SPECS))
def test_help_notebook_lists_every_parameter_with_its_type_and_help(notebook: str) -> None:
    done = subprocess.run([PAPERMILL, str(NOTEBOOKS / f"{notebook}.ipynb"), "--help-notebook"],
                          capture_output=True, text=True, timeout=120)
    shown = dict(re.findall(r"^  (\w+): (.+?) \(default ", done.stdout, re.M))
    assert list(shown) == list(SPECS[notebook])  # every one, in the cell's order (staffing_target too)
    assert shown == {name: param.type for name, param in SPECS[notebook].items()}
    assert "Unknown type" not in done.stdout
    from papermill.translators import PythonTranslator  # the help text of each, as papermill reads it
    nb = nbformat.read(str(NOTEBOOKS / f"{notebook}.ipynb"), as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert all(p.help for p in PythonTranslator.inspect(cell)), "every parameter needs a help comment"


@pytest.mark.parametrize("notebook", list(SPECS))
def test_the_defaults_pass_their_own_check(notebook: str) -> None:
    clean = check_values(notebook, notebook_defaults(NOTEBOOK_DIR / f"{notebook}.ipynb"), NOTEBOOK_DIR)
    assert set(clean) == set(SPECS[notebook])


# --------------------------------------------------------------------------- one clear line per mistake


def _what_if(**changes) -> dict:
    return {**notebook_defaults(NOTEBOOK_DIR / "what_if.ipynb"), **changes}


def test_each_mistake_is_one_line_naming_the_parameter() -> None:
    with pytest.raises(ParameterError) as caught:
        check_values("what_if", _what_if(months="abc", replications=0), NOTEBOOK_DIR)
    assert caught.value.lines() == ["what_if.ipynb: replications: must be at least 1, got 0",
                                    "what_if.ipynb: months: 'abc' is not a number"]
    assert "--set" not in str(caught.value)
    with pytest.raises(ParameterError, match=r"^what_if.ipynb: months: horizon: .* above the limit"):
        check_values("what_if", _what_if(months=5000), NOTEBOOK_DIR)
    with pytest.raises(ParameterError, match=r"^ab_compare.ipynb: overrides: team.reps: "):
        check_given("ab_compare", {"overrides": "team.reps=-1"})


def test_one_string_is_a_list_and_paths_are_taken_from_the_notebook() -> None:
    defaults = notebook_defaults(NOTEBOOK_DIR / "ab_compare.ipynb")
    clean = check_values("ab_compare", {**defaults, "variants": "../scenarios/more_reps.yaml",
                                        "overrides": "team.reps=5"}, NOTEBOOK_DIR)
    assert clean["variants"] == [str(ROOT / "scenarios" / "more_reps.yaml")]
    assert clean["overrides"] == ["team.reps=5"]
    given = check_given("sweep", {"kpis": "won_deals", "sweep": "scenarios/sweeps/reps_and_sla.yaml"}, cwd=ROOT)
    assert given == {"kpis": ["won_deals"], "sweep": str(ROOT / "scenarios" / "sweeps" / "reps_and_sla.yaml")}


# --------------------------------------------------------------------------- under papermill


def test_papermill_from_the_repository_root_with_the_default_paths(tmp_path: Path) -> None:
    done = _papermill("what_if", tmp_path / "out.ipynb", ROOT, "-p", "replications", "1", "-p", "months", "0.25",
                      "-p", "seed", "4")
    assert done.returncode == 0, done.stderr[-2000:]
    nb = nbformat.read(str(tmp_path / "out.ipynb"), as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "months = 0.25" in injected.source


def test_papermill_from_notebooks_with_one_variant_as_a_string(tmp_path: Path) -> None:
    done = _papermill("ab_compare", tmp_path / "out.ipynb", NOTEBOOKS, "-p", "variants",
                      "../scenarios/more_reps.yaml", "-p", "replications", "2", "-p", "months", "0.25",
                      "-p", "executor", "serial")
    assert done.returncode == 0, done.stderr[-2000:]
    text = json.dumps(nbformat.read(str(tmp_path / "out.ipynb"), as_version=4).cells)
    assert "more_reps" in text and "five_minute_sla" not in text.split("injected-parameters", 1)[1]


def test_papermill_refuses_a_misspelt_parameter_in_one_line(tmp_path: Path) -> None:
    done = _papermill("what_if", tmp_path / "out.ipynb", ROOT, "-p", "replicatons", "2")
    assert done.returncode != 0
    assert "ParameterError: what_if.ipynb: replicatons: unknown parameter (did you mean replications?)" \
        in done.stderr
    nb = nbformat.read(str(tmp_path / "out.ipynb"), as_version=4)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert [len(e["traceback"]) for e in errors] == [1]  # one line, no traceback to read


# --------------------------------------------------------------------------- funnelsim notebook


def _cli(capsys, argv: list[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_refuses_bad_parameters_before_any_kernel(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = _cli(capsys, ["notebook", "what_if", "-p", "replicatons", "2", "-p", "months", "abc",
                                 "-p", "replications", "0"])
    assert code == 2
    assert err.splitlines() == [
        "funnelsim: error: what_if.ipynb: replicatons: unknown parameter (did you mean replications?)",
        "funnelsim: error: what_if.ipynb: replications: must be at least 1, got 0",
        "funnelsim: error: what_if.ipynb: months: 'abc' is not a number"]
    code, _, err = _cli(capsys, ["notebook", "ab_compare", "-p", "variants", "missing.yaml"])
    assert (code, err) == (2, f"funnelsim: error: ab_compare.ipynb: variants: {tmp_path / 'missing.yaml'}: "
                              "file not found\n")
    code, _, err = _cli(capsys, ["notebook", "nope"])
    assert code == 2 and len(err.splitlines()) == 1
    assert not (tmp_path / "reports").exists()


def test_cli_runs_the_notebook_and_writes_the_copy_and_html(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)  # paths given with -p are relative to the working folder
    out, page = tmp_path / "what_if.ipynb", tmp_path / "what_if.html"
    code, stdout, err = _cli(capsys, ["notebook", "what_if", "-p", "scenario", "scenarios/more_reps.yaml",
                                      "-p", "replications", "1", "-p", "months", "0.25", "-o", str(out),
                                      "--html", str(page)])
    assert code == 0, err
    assert stdout.splitlines() == [str(out), str(page)]
    nb = nbformat.read(str(out), as_version=4)
    assert all(c.execution_count is not None for c in nb.cells if c.cell_type == "code")
    assert str(ROOT / "scenarios" / "more_reps.yaml") in json.dumps(nb.cells)
    assert "<html" in page.read_text(encoding="utf-8")
