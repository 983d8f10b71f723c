"""The CRM commands end to end: export -> calibrate -> score train -> a scenario using the model.

Every user error ends in one line on stderr and exit code 2.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from funnelsim import load_scenario
from funnelsim.cli import main
from funnelsim.crm import read_export

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.yaml"


@pytest.fixture(scope="module")
def export_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "leads.csv"
    assert main(["export", str(BASELINE), "-o", str(path), "--months", "1.5", "--seed", "2"]) == 0
    return path


def _fails(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("funnelsim: error: ") and err.count("\n") == 1, err
    return err


def test_export_writes_the_simulated_leads(export_csv, capsys):
    frame = read_export(export_csv)
    assert len(frame) > 2500  # 1.5 months of 2,000 leads a month
    assert frame["created_at"].min() >= pd.Timestamp("2024-01-01")
    assert frame["created_at"].max() < pd.Timestamp("2024-01-01") + pd.Timedelta(days=46)


def test_export_start_must_be_a_monday(tmp_path, capsys):
    err = _fails(capsys, ["export", str(BASELINE), "-o", str(tmp_path / "x.csv"), "--start", "2024-01-03"])
    assert "--start" in err and "Monday" in err
    assert not (tmp_path / "x.csv").exists()


def test_calibrate_prints_fit_quality_and_writes_a_loadable_scenario(export_csv, tmp_path, capsys):
    out = tmp_path / "scenarios" / "calibrated.yaml"
    assert main(["calibrate", str(export_csv), "-o", str(out), "--base", str(BASELINE), "--check-funnel", "1"]) == 0
    text = capsys.readouterr().out
    for words in ("follow_up.answer_probability", "speed_to_lead.p_durable", "arrivals by hour of week",
                  "SQL rate by speed-to-lead band", "funnel: export vs calibrated scenario", "Wrote"):
        assert words in text, words
    calibrated = load_scenario(out)
    baseline = load_scenario(BASELINE)
    assert calibrated.team.reps == baseline.team.reps  # 8 distinct owners
    assert calibrated.follow_up.answer_probability == pytest.approx(baseline.follow_up.answer_probability, abs=0.05)
    assert main(["run", str(out), "--months", "0.25", "--json"]) == 0


def test_calibrate_reports_a_bad_export_in_one_line(export_csv, tmp_path, capsys):
    raw = pd.read_csv(export_csv, dtype=str, keep_default_na=False)
    row = int(raw.index[raw["contacted_at"] != ""][0])
    raw.loc[row, "contacted_at"] = "2023-01-01T00:00:00"
    broken = tmp_path / "broken.csv"
    raw.to_csv(broken, index=False)
    err = _fails(capsys, ["calibrate", str(broken), "-o", str(tmp_path / "c.yaml")])
    assert f"contacted_at: line {row + 2} (lead {raw.loc[row, 'lead_id']})" in err and "out of order" in err
    assert not (tmp_path / "c.yaml").exists()
    err = _fails(capsys, ["calibrate", str(tmp_path / "missing.csv")])
    assert "file not found" in err


def test_score_model_drives_a_scenario(export_csv, tmp_path, capsys):
    model = tmp_path / "lead_score.skops"
    assert main(["score", "train", str(export_csv), "-o", str(model), "--seed", "1"]) == 0
    text = capsys.readouterr().out
    assert "ROC AUC" in text and "calibration" in text
    assert main(["score", "evaluate", str(model), str(export_csv)]) == 0
    assert "leads of leads.csv" in capsys.readouterr().out
    for order in ("newest_first", "highest_score"):
        scenario = tmp_path / f"{order}.yaml"
        scenario.write_text(f"extends: {BASELINE}\nmarketing:\n  score_model: {model.name}\n  mql_threshold: 2\n"
                            f"team:\n  queue_order: {order}\n")
        assert main(["run", str(scenario), "--months", "0.25", "--seed", "3", "--json"]) == 0


def test_score_errors_are_one_line(export_csv, tmp_path, capsys):
    err = _fails(capsys, ["score", "train", str(export_csv), "-o", str(tmp_path / "model.pkl")])
    assert ".skops" in err
    fake = tmp_path / "fake.skops"
    fake.write_bytes(b"\x80\x04\x95pickle")
    err = _fails(capsys, ["score", "evaluate", str(fake), str(export_csv)])
    assert "not a skops model file" in err
    scenario = tmp_path / "scored.yaml"
    scenario.write_text(f"extends: {BASELINE}\nmarketing:\n  score_model: nowhere.skops\n")
    err = _fails(capsys, ["run", str(scenario)])
    assert "marketing.score_model" in err and "not found" in err
