"""Lead scoring: training, safe persistence (skops, trusted types), scoring simulated leads."""

from __future__ import annotations

import json
import math
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from funnelsim import load_scenario, simulate
from funnelsim.errors import InputError, ScenarioError
from funnelsim.crm.export import export_frame, write_export
from funnelsim.crm.read import read_export
from funnelsim.model.population import generate_leads
from funnelsim.rng import Streams
from funnelsim.crm.scoring import (
    TRUSTED_TYPES,
    load_score_model,
    population_scores,
    save_score_model,
    train_score_model,
)


class Gadget:
    """A class skops does not know: a model file holding it must be refused."""

    def __init__(self) -> None:
        self.payload = "rm -rf /"


@pytest.fixture(scope="module")
def export(short_baseline, tmp_path_factory):
    path = tmp_path_factory.mktemp("scoring") / "leads.csv"
    write_export(simulate(short_baseline, seed=2, record_events=False), path)
    return read_export(path)


@pytest.fixture(scope="module")
def report(export):
    return train_score_model(export, "logistic", test_share=0.3, seed=1)


@pytest.fixture(scope="module")
def model_file(report, tmp_path_factory) -> Path:
    return save_score_model(report.model, tmp_path_factory.mktemp("model") / "lead_score.skops")


def _scenario_with_model(tmp_path: Path, model: Path, base: Path, extra: str = "") -> Path:
    shutil.copy(model, tmp_path / "lead_score.skops")
    path = tmp_path / "scored.yaml"
    path.write_text(f"extends: {base}\nmonths: 1\nmarketing:\n  score_model: lead_score.skops\n  mql_threshold: 2\n"
                    + extra)
    return path


# --------------------------------------------------------------------------- training


def test_training_reports_a_useful_calibrated_model(report, export):
    # the persona column separates junk (never an SQL) from buyers, and fit/interest show in the
    # features: far better than chance
    assert report.roc_auc > 0.8
    table = report.calibration
    assert table["leads"].sum() == report.n_test == math.ceil(0.3 * len(export))
    assert report.n_train + report.n_test == len(export)
    # calibrated in the large: the mean prediction is within 3 standard errors of the SQL rate
    mean_predicted = float((table["predicted"] * table["leads"]).sum() / report.n_test)
    se = math.sqrt(report.base_rate * (1 - report.base_rate) / report.n_test)
    assert abs(mean_predicted - report.base_rate) < 3 * se
    # bands are ordered by prediction, and the top band converts far more than the bottom one
    assert table["predicted"].is_monotonic_increasing
    assert table["observed"].iloc[-1] > table["observed"].iloc[0] + 0.1
    assert "ROC AUC" in report.text()


def test_an_export_without_sqls_cannot_train(export):
    with pytest.raises(InputError, match="at least 5 SQLs"):
        train_score_model(export.assign(sql=False))


# --------------------------------------------------------------------------- safe persistence


def test_saved_model_predicts_the_same(report, model_file, export):
    loaded = load_score_model(model_file)
    assert loaded.kind == "logistic"
    assert loaded.metrics["roc_auc"] == pytest.approx(report.roc_auc)
    assert np.array_equal(loaded.probability(export), report.model.probability(export))


def test_boosting_model_round_trips_with_its_trusted_type(export, tmp_path):
    import skops.io as sio

    report = train_score_model(export.iloc[:800], "boosting", seed=3)
    path = save_score_model(report.model, tmp_path / "boost.skops")
    # the one type beyond skops' defaults that funnelsim trusts, and only because it is needed here
    assert set(sio.get_untrusted_types(file=path)) == set(TRUSTED_TYPES)
    assert np.allclose(load_score_model(path).probability(export), report.model.probability(export))


def _rewrite_schema(source: Path, target: Path, change) -> Path:
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "schema.json":
                data = json.dumps(change(json.loads(data))).encode()
            zout.writestr(item, data)
    return target


def test_tampered_model_is_refused_before_loading(model_file, tmp_path):
    def swap(node):
        if isinstance(node, dict):
            if node.get("__class__") == "LogisticRegression":
                node["__class__"], node["__module__"] = "system", "os"
            for value in node.values():
                swap(value)
        elif isinstance(node, list):
            for value in node:
                swap(value)
        return node

    tampered = _rewrite_schema(model_file, tmp_path / "tampered.skops", swap)
    with pytest.raises(InputError, match=r"refused to load.*os\.system.*tampered"):
        load_score_model(tampered)


def test_unknown_class_is_refused(tmp_path):
    import skops.io as sio

    path = tmp_path / "gadget.skops"
    sio.dump({"format": "funnelsim-score-model", "pipeline": Gadget()}, path)
    with pytest.raises(InputError, match="Gadget"):
        load_score_model(path)


def test_foreign_files_get_a_clear_error(tmp_path):
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    plain = tmp_path / "plain.skops"
    sio.dump(LogisticRegression(), plain)
    with pytest.raises(InputError, match="not a funnelsim score model"):
        load_score_model(plain)
    text = tmp_path / "notes.skops"
    text.write_text("not a model")
    with pytest.raises(InputError, match="not a skops model file"):
        load_score_model(text)
    broken = tmp_path / "broken.skops"
    with zipfile.ZipFile(broken, "w") as z:
        z.writestr("schema.json", "{not json")
    with pytest.raises(InputError, match="damaged or foreign"):
        load_score_model(broken)
    with pytest.raises(InputError, match="not found"):
        load_score_model(tmp_path / "missing.skops")


# --------------------------------------------------------------------------- the scenario field


def test_score_model_path_is_relative_to_the_scenario_and_hash_to_its_content(model_file, tmp_path, monkeypatch):
    baseline = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.yaml"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one = _scenario_with_model(tmp_path / "a", model_file, baseline)
    two = _scenario_with_model(tmp_path / "b", model_file, baseline)
    monkeypatch.chdir(tmp_path / "b")  # the working folder does not matter
    a, b = load_scenario(one), load_scenario(two)
    assert Path(a.marketing.score_model) == (tmp_path / "a" / "lead_score.skops").resolve()
    assert a.hash == b.hash  # same model content, different checkouts
    assert load_scenario(baseline, ["months=1", "marketing.mql_threshold=2"]).hash != a.hash
    (tmp_path / "b" / "lead_score.skops").write_bytes(model_file.read_bytes() + b"\0")
    assert load_scenario(two).hash != a.hash  # the content is what counts
    (tmp_path / "b" / "lead_score.skops").unlink()
    with pytest.raises(ScenarioError) as info:
        load_scenario(two)
    assert info.value.field == "marketing.score_model" and "not found" in info.value.message


def test_a_parent_scenario_keeps_its_model_relative_to_itself(model_file, tmp_path):
    baseline = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.yaml"
    (tmp_path / "team").mkdir()
    parent = _scenario_with_model(tmp_path / "team", model_file, baseline)
    child = tmp_path / "child.yaml"
    child.write_text("extends: team/scored.yaml\nteam:\n  queue_order: highest_score\n")
    loaded = load_scenario(child)
    assert Path(loaded.marketing.score_model) == (tmp_path / "team" / "lead_score.skops").resolve()
    assert loaded.marketing.score_model == load_scenario(parent).marketing.score_model


# --------------------------------------------------------------------------- scoring simulated leads


def test_simulated_leads_are_scored_like_their_export(model_file, tmp_path, report):
    baseline = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.yaml"
    scenario = load_scenario(_scenario_with_model(tmp_path, model_file, baseline))
    seed = 5
    created, clicked = population_scores(scenario, seed, generate_leads(scenario, Streams(seed)))
    result = simulate(scenario, seed, record_events=False)
    # the model sees the same features the CRM export of this run shows
    from_export = report.model.scores(export_frame(result))
    assert np.allclose(created, from_export, rtol=0, atol=1e-9)
    leads = result.leads
    clicked_leads = leads["engaged_at"].to_numpy() > leads["created_at"].to_numpy()
    final = leads["score"].to_numpy()
    assert np.allclose(final[~clicked_leads], np.asarray(created)[~clicked_leads])
    assert np.allclose(final[clicked_leads], np.asarray(clicked)[clicked_leads])
    # a click raises engagement, so a clicked lead's score never falls (logistic: positive weights)
    assert (np.asarray(clicked) >= np.asarray(created) - 1e-9).all()
    # the MQL rule now reads the model's score: every lead that qualified at once scored at the threshold
    direct = leads["mql_at"].notna().to_numpy() & ~leads["nurtured"].to_numpy()
    assert (np.asarray(created)[direct] >= scenario.marketing.mql_threshold).all()
    nurtured_at_once = leads["nurtured"].to_numpy() & (leads["fit"].to_numpy() >= scenario.marketing.min_fit)
    assert (np.asarray(created)[nurtured_at_once] < scenario.marketing.mql_threshold).all()


def test_model_scores_keep_junk_away_from_reps(model_file, tmp_path, short_baseline):
    baseline = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.yaml"
    scored = simulate(load_scenario(_scenario_with_model(tmp_path, model_file, baseline)), 7, record_events=False)
    formula = simulate(short_baseline, 7, record_events=False)
    # same leads (common random numbers), different qualification
    assert np.array_equal(scored.leads["created_at"], formula.leads["created_at"])

    def junk_share_of_mqls(result):
        mqls = result.leads[result.leads["mql_at"].notna()]
        return 1 - mqls["legitimate"].mean()

    # junk never becomes an SQL, the model learnt that from the persona column
    assert junk_share_of_mqls(scored) < 0.5 * junk_share_of_mqls(formula)
