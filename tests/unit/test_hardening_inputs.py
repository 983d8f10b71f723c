"""Hostile and careless inputs, one class of issue 9 at a time, at the library level.

Each test feeds an input that used to end in a traceback, a hang or runaway memory, and
checks that it now ends in the project's own error, on one line, naming the source and
(where there is one) the field. The CLI end of the same inputs is in
``tests/functional/test_cli_hardening.py``.
"""

from __future__ import annotations

import json
import os
import time
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest

from funnelsim.atomic import atomic_folder, atomic_path, write_text
from funnelsim.crm.export import neutralise_formula, parse_epoch, write_export
from funnelsim.crm.read import read_export
from funnelsim.crm.schema import LATEST
from funnelsim.errors import FunnelsimError, InputError, OutputError, ScenarioError, printable
from funnelsim.limits import LIMITS, check, limit, parse_limit_option
from funnelsim.model import simulate
from funnelsim.safe_io import check_output_file, check_output_folder, read_regular
from funnelsim.safe_yaml import YamlError, load_yaml
from funnelsim.scenario import MIN_AGEING_DAYS, load_scenario, scenario_from_dict
from funnelsim.crm.scoring import load_score_model, save_score_model, train_score_model
from funnelsim.experiments.staffing import parse_target
from funnelsim.experiments.sweep import load_sweep, sweep_from_dict

REPO = Path(__file__).resolve().parents[2]
BASELINE = REPO / "scenarios" / "baseline.yaml"


def one_line(call: Callable[[], object], error: type[Exception] = InputError) -> str:
    with pytest.raises(error) as info:
        call()
    text = str(info.value)
    assert "\n" not in text and "\x1b" not in text and "\x00" not in text, text
    return text


# ------------------------------------------------------------------ 1. writes


def test_atomic_write_errors_name_the_target(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    text = one_line(lambda: write_text(blocker / "out.txt", "data"), OutputError)
    assert text.startswith(str(blocker / "out.txt")) and "not a folder" in text
    text = one_line(lambda: write_text(tmp_path, "data"), OutputError)  # a folder as the file
    assert text == f"{tmp_path}: cannot write: is a folder, not a file"
    long = tmp_path / ("n" * 300)
    assert "too long" in one_line(lambda: write_text(long, "data"), OutputError)
    assert "cannot write" in one_line(lambda: write_text("/proc/funnelsim-test.txt", "x"), OutputError)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # nothing half-written, no temporary left


def test_an_oserror_inside_the_writer_is_an_output_error_and_leaves_nothing(tmp_path: Path) -> None:
    def failing() -> None:
        with atomic_path(tmp_path / "out.csv") as tmp:
            tmp.write_text("half")
            raise OSError(28, "No space left on device")

    assert one_line(failing, OutputError) == f"{tmp_path / 'out.csv'}: cannot write: no space left on the device"
    assert list(tmp_path.iterdir()) == []


def _file(path: Path) -> Path:
    path.write_text("x")
    return path


@pytest.mark.parametrize("make, fragment", [
    (lambda d: d, "is a folder"),
    (lambda d: _file(d / "f") / "out.csv", "not a folder"),
    (lambda d: d / ("n" * 300), "longer than 255 bytes"),
    (lambda d: Path("/proc/self/funnelsim.csv"), "cannot write there"),
    (lambda d: Path("/dev/null"), "character device"),
])
def test_destinations_are_checked_before_the_work(tmp_path: Path, make, fragment: str) -> None:
    text = one_line(lambda: check_output_file(make(tmp_path), "--out"), OutputError)
    assert text.startswith("--out: ") and fragment in text
    assert check_output_file(tmp_path / "new" / "sub" / "x.csv", "--out") == tmp_path / "new" / "sub" / "x.csv"
    (tmp_path / "store").write_text("x")
    assert "not a folder" in one_line(lambda: check_output_folder(tmp_path / "store", "--store"), OutputError)


def test_a_folder_output_is_replaced_as_a_whole(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with atomic_folder(target) as folder:
        (folder / "a.txt").write_text("first")
        (folder / "b.txt").write_text("first")
    with pytest.raises(RuntimeError):
        with atomic_folder(target) as folder:
            (folder / "a.txt").write_text("second")
            raise RuntimeError("killed half-way")
    assert {p.name: p.read_text() for p in target.iterdir()} == {"a.txt": "first", "b.txt": "first"}
    with atomic_folder(target) as folder:
        (folder / "a.txt").write_text("third")
    assert {p.name: p.read_text() for p in target.iterdir()} == {"a.txt": "third"}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


# ------------------------------------------------------------------ 2. paths


@pytest.fixture()
def hostile_paths(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "folder").mkdir()
    return {"loop": tmp_path / "loop", "fifo": tmp_path / "fifo", "folder": tmp_path / "folder",
            "zero": Path("/dev/zero")}


EXPECTED_KIND = {"loop": "a loop of symbolic links", "fifo": "a FIFO (named pipe), not a regular file",
                 "folder": "a folder, not a regular file", "zero": "a character device, not a regular file"}


@pytest.mark.parametrize("kind", sorted(EXPECTED_KIND))
def test_only_regular_files_are_read(hostile_paths: dict[str, Path], tmp_path: Path, kind: str) -> None:
    path = hostile_paths[kind]
    started = time.monotonic()
    assert one_line(lambda: load_scenario(path), ScenarioError).endswith(EXPECTED_KIND[kind])
    assert one_line(lambda: load_sweep(path)).endswith(EXPECTED_KIND[kind])
    assert one_line(lambda: read_export(path)).endswith(EXPECTED_KIND[kind])
    assert EXPECTED_KIND[kind] in one_line(lambda: load_score_model(path))
    extends = tmp_path / "child.yaml"
    extends.write_text(f"extends: {path}\n")
    assert path.name in one_line(lambda: load_scenario(extends), ScenarioError)
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"base: {path}\nfactors: {{team.reps: [2, 3]}}\n")
    assert EXPECTED_KIND[kind].split(",")[0] in one_line(lambda: load_sweep(sweep))
    assert time.monotonic() - started < 5  # nothing waited on a FIFO or read /dev/zero


def test_files_above_the_size_cap_are_refused_before_reading(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("name: big\n" + "# padding\n" * 200)
    monkeypatch.setenv("FUNNELSIM_MAX_YAML_BYTES", "1000")
    text = one_line(lambda: load_scenario(path), ScenarioError)
    assert text == (f"{path}: file size: 2,010 bytes is above the limit of 1,000 bytes (raise it with "
                    "`funnelsim --limit yaml_bytes=N` or FUNNELSIM_MAX_YAML_BYTES=N; see docs/LIMITS.md)")
    assert len(read_regular(BASELINE, "csv_bytes")) == BASELINE.stat().st_size


# ------------------------------------------------------------------ 3. sweep files


def _sweep(**fields) -> dict:
    return {"base": str(BASELINE), "factors": {"team.reps": [4, 6]}, **fields}


@pytest.mark.parametrize("name", ["../escape", "/etc/evil", "a/b", "a\x00b", "x" * 101, ".hidden", "..", "a\x1b[31m",
                                  "", " lead", "tab\tname"])
def test_sweep_names_must_be_safe_folder_names(name: str) -> None:
    text = one_line(lambda: sweep_from_dict(_sweep(name=name), "s.yaml"))
    assert text.startswith("s.yaml: name: ")


def test_sweep_schema_forbids_unknown_fields_and_checks_types() -> None:
    assert "unknown field" in one_line(lambda: sweep_from_dict(_sweep(replicatons=3), "s.yaml"))
    assert "s.yaml: replications: must be a whole number" in one_line(
        lambda: sweep_from_dict(_sweep(replications=True), "s.yaml"))
    assert "s.yaml: seed: must be a whole number" in one_line(lambda: sweep_from_dict(_sweep(seed=1.5), "s.yaml"))
    assert "factors.team.reps.low: must be a number" in one_line(
        lambda: sweep_from_dict(_sweep(factors={"team.reps": {"low": "x", "high": 3, "levels": 2}}), "s.yaml"))
    assert sweep_from_dict(_sweep(name="reps (v2)"), "s.yaml").name == "reps (v2)"


def test_sweep_limits_are_checked_before_building_points() -> None:
    started = time.monotonic()
    huge = {f"f{i}": {"low": 0, "high": 1, "levels": 1000} for i in range(10)}
    text = one_line(lambda: sweep_from_dict(_sweep(factors=huge), "s.yaml"))
    assert text.startswith("s.yaml: factors: points of the sweep: 1e+30 is above the limit of 10,000")
    text = one_line(lambda: sweep_from_dict(_sweep(factors={"team.reps": {"low": 1, "high": 2, "levels": 10**12}}),
                                            "s.yaml"))
    assert "factors.team.reps.levels: levels of one factor" in text
    text = one_line(lambda: sweep_from_dict(_sweep(design="latin_hypercube", samples=10**9,
                                                   factors={"team.reps": {"low": 1, "high": 9}}), "s.yaml"))
    assert text.startswith("s.yaml: samples: points of the sweep: 1,000,000,000 is above")
    assert "replications: replications per scenario" in one_line(
        lambda: sweep_from_dict(_sweep(replications=10**6), "s.yaml"))
    assert "simulations (2 points x 1,000 replications)" not in ""  # the limit below is on the product
    text = one_line(lambda: sweep_from_dict(_sweep(factors={"team.reps": list(range(1, 201))}, replications=1000),
                                            "s.yaml"))
    assert "simulations (200 points x 1,000 replications): 200,000 is above the limit of 100,000" in text
    assert time.monotonic() - started < 5


def test_deeply_nested_sweep_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("factors: " + "[" * 5000 + "]" * 5000 + "\n")
    text = one_line(lambda: load_sweep(path))
    assert text.startswith(f"{path}: YAML syntax error at line 1") and "nest" in text  # libyaml's or ours
    path.write_text("factors:\n" + "".join(" " * i + "- \n" for i in range(1, 200)))
    assert "nested more than 64 levels deep" in one_line(lambda: load_sweep(path))


# ------------------------------------------------------------------ 4. sizes and numbers


@pytest.mark.parametrize("override, field, fragment", [
    ("months=1e308", "months", "horizon: 1e+308 months is above the limit of 120 months"),
    ("months=1e15", "months", "horizon: 1e+15 months is above the limit of 120 months"),
    ("sources.0.leads_per_month=1e20", "sources", "expected leads per simulation"),
    ("follow_up.ageing_days=1e-9", "follow_up.ageing_days", "must be at least 0.0417 days"),
    ("opportunities.deal_value_sigma=1e5", "opportunities.deal_value_sigma", "at most 3"),
    ("opportunities.deal_value_median=1e300", "opportunities.deal_value_median", "at most 1,000,000,000"),
])
def test_sizes_and_numbers_are_bounded_before_any_work(override: str, field: str, fragment: str) -> None:
    text = one_line(lambda: load_scenario(BASELINE, [override]), ScenarioError)
    assert text.startswith(f"{BASELINE} (--set): {field}: ") and fragment in text
    assert MIN_AGEING_DAYS == pytest.approx(1 / 24)


def test_limits_can_be_raised_explicitly(monkeypatch) -> None:
    assert limit("months") == LIMITS["months"].default == 120
    monkeypatch.setenv("FUNNELSIM_MAX_MONTHS", "240")
    assert load_scenario(BASELINE, ["months=200"]).months == 200
    assert parse_limit_option("months=300") == ("FUNNELSIM_MAX_MONTHS", "300.0")
    assert "ceiling" in one_line(lambda: parse_limit_option("months=1e9"))
    assert "NAME=VALUE" in one_line(lambda: parse_limit_option("horizon=3"))
    monkeypatch.setenv("FUNNELSIM_MAX_MONTHS", "lots")
    assert one_line(lambda: limit("months")) == "FUNNELSIM_MAX_MONTHS: 'lots' is not a positive number"
    monkeypatch.delenv("FUNNELSIM_MAX_MONTHS")
    with pytest.raises(InputError, match="above the limit"):
        check("months", float("nan"), "x", "months")


def test_lognormal_extremes_stay_finite_without_warnings(recwarn) -> None:
    scenario = load_scenario(BASELINE, ["months=1", "opportunities.deal_value_sigma=3",
                                        "opportunities.cycle_days_sigma=3", "opportunities.deal_value_median=1e9"])
    leads = simulate(scenario, seed=1, record_events=False).leads
    assert np.isfinite(leads["revenue"].to_numpy(dtype=float)).all()
    assert not [w for w in recwarn if "overflow" in str(w.message)]


def test_yaml_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size < 700
    started = time.monotonic()
    text = one_line(lambda: load_scenario(path), ScenarioError)
    assert time.monotonic() - started < 1
    assert "more than 200,000 values once its aliases are expanded" in text
    assert "recursive alias" in str(pytest.raises(YamlError, load_yaml, "a: &a [1, *a]").value)
    assert load_yaml("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n") == {"base": {"x": 1}, "other": {"x": 1, "y": 2}}


# ------------------------------------------------------------------ 5. CRM exports


@pytest.fixture(scope="module")
def export_text(short_baseline, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("hardening") / "leads.csv"
    write_export(simulate(short_baseline.with_overrides(["months=0.25"]), seed=3, record_events=False), path)
    return path.read_text()


def _damaged(export_text: str, tmp_path: Path, column: str, value: str, row: int = 0) -> Path:
    frame = pd.read_csv(pd.io.common.StringIO(export_text), dtype=str, keep_default_na=False)
    frame.loc[row, column] = value
    path = tmp_path / "damaged.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("column, value, fragment", [
    ("created_at", "1500-01-01T00:00:00", "outside the years an export may hold"),
    ("resolved_at", "9999-12-31T00:00:00", "outside the years an export may hold"),
    ("company_size", "1" * 29, "is too large (at most 9,007,199,254,740,992)"),
    ("pages_viewed", "1e400", "not a whole number"),
    ("source", "web\x00form", "a NUL byte in the field"),
    ("persona", "\x1b[31mred", "holds a control character"),
])
def test_crm_values_name_file_line_and_field(export_text: str, tmp_path: Path, column: str, value: str,
                                             fragment: str) -> None:
    path = _damaged(export_text, tmp_path, column, value, row=3)
    text = one_line(lambda: read_export(path))
    assert text.startswith(f"{path}: {column}: line 5") and fragment in text


def test_export_start_is_checked_against_the_window() -> None:
    assert "outside the years" in one_line(lambda: parse_epoch("9999-12-27"))
    assert "outside the years" in one_line(lambda: parse_epoch("1677-01-04"))
    assert LATEST == datetime(2200, 1, 1)


# ------------------------------------------------------------------ 6. model files


@pytest.fixture(scope="module")
def model_file(export_text: str, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("model")
    (folder / "leads.csv").write_text(export_text)
    report = train_score_model(read_export(folder / "leads.csv"), "logistic", 0.3, 1)
    return save_score_model(report.model, folder / "model.skops")


def test_zip_bomb_is_refused_before_inflating(model_file: Path, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.skops"
    with zipfile.ZipFile(model_file) as zin, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            zout.writestr(item.filename, zin.read(item.filename))
        with zout.open("padding.bin", "w") as handle:  # 1.1 GB of zeros, about 1 MB compressed
            block = b"\0" * (1 << 24)
            for _ in range(66):
                handle.write(block)
    assert bomb.stat().st_size < 5_000_000
    started = time.monotonic()
    text = one_line(lambda: load_score_model(bomb))
    assert text.startswith(f"{bomb}: uncompressed size of the model file's contents: 1,107,")
    assert "above the limit of 1,000,000,000 bytes" in text and time.monotonic() - started < 2


@pytest.mark.parametrize("metrics, fragment", [
    ({"roc_auc": "high"}, "'roc_auc': 'high' is not a finite number"),
    ({"n_train": float("nan")}, "'n_train': nan is not a finite number"),
    ({"n_train": -3.5}, "'n_train': -3.5 is not a count"),
    ([1, 2], "must be a mapping of names to numbers, got list"),
])
def test_wrong_typed_stored_metrics_are_one_line(model_file: Path, tmp_path: Path, metrics, fragment: str) -> None:
    import skops.io as sio

    payload = sio.load(model_file, trusted=sio.get_untrusted_types(file=model_file))
    payload["metrics"] = metrics
    path = tmp_path / "metrics.skops"
    sio.dump(payload, path)
    assert one_line(lambda: load_score_model(path)).startswith(f"{path}: metrics: {fragment}")


# ------------------------------------------------------------------ 7. formula injection


def test_formula_cells_are_neutralised() -> None:
    cells = np.array(["=cmd|' /C calc'!A0", "+1+1", "-2", "@SUM(A1)", "\tx", "\rx", "web_form", "a=b", ""], object)
    assert list(neutralise_formula(cells)) == ["'=cmd|' /C calc'!A0", "'+1+1", "'-2", "'@SUM(A1)", "'\tx", "'\rx",
                                               "web_form", "a=b", ""]


# ------------------------------------------------------------------ 9. loose acceptance


@pytest.mark.parametrize("override, field", [
    ("team.reps=true", "team.reps"), ("months=false", "months"), ("routing.lead_cap=yes", "routing.lead_cap"),
    ("arrivals.weekday_profile=[1, 1, 1, 1, true, 1, 1]", "arrivals.weekday_profile"),
])
def test_booleans_are_not_numbers(override: str, field: str) -> None:
    text = one_line(lambda: load_scenario(BASELINE, [override]), ScenarioError)
    assert text == f"{BASELINE} (--set): {field}: expected a number or text, got a boolean (true/false)"
    assert load_scenario(BASELINE, ["nurture.enabled=false"]).nurture.enabled is False


def test_duplicate_keys_are_refused_with_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("extends: " + str(BASELINE) + "\nteam:\n  reps: 4\n  reps: 9\n")
    assert one_line(lambda: load_scenario(path), ScenarioError) == (
        f"{path}: YAML syntax error at line 4, column 3: duplicate key 'reps' (first at line 3)")
    assert "duplicate key 'reps'" in one_line(lambda: load_scenario(BASELINE, ["team={reps: 1, reps: 2}"]),
                                              ScenarioError)


def test_overflowing_thresholds_are_refused_like_inf() -> None:
    assert one_line(lambda: parse_target("sla_compliance >= 1e999")) == "--target: '1e999' is not a finite number"
    assert "cannot read" in one_line(lambda: parse_target("sla_compliance >= inf"))
    assert "not a finite number" in one_line(lambda: parse_target("P(won_deals >= 1e400) >= 0.5"))


def test_control_characters_never_reach_the_terminal(tmp_path: Path) -> None:
    path = tmp_path / "ansi.yaml"
    path.write_text('extends: ' + str(BASELINE) + '\nname: "\\e[2J\\e[31mowned"\n')
    assert one_line(lambda: load_scenario(path), ScenarioError) == (
        f"{path}: name: control character '\\x1b' in text (escape codes and invisible characters are not allowed)")
    for text in ("sources.0.name=\u202eevil", "leads.personas.0.name=a\u0007b"):
        assert "control character" in one_line(lambda: load_scenario(BASELINE, [text]), ScenarioError)
    assert scenario_from_dict({"description": "two\n\tlines"}).description == "two\n\tlines"
    error = InputError("bad\x1b[31m.yaml", "field\n", "value \x00")
    assert str(error) == "bad\\x1b[31m.yaml: field\\n: value \\x00"
    assert printable("ok ✓") == "ok ✓" and isinstance(error, FunnelsimError)
    assert json.dumps(str(error))  # plain text
