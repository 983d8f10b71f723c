"""Lead scoring with scikit-learn: train on a CRM export, save safely, score simulated leads.

A score model predicts whether a lead becomes sales-qualified (SQL) from what the CRM
knows when the lead is created — source, persona, company size, pages viewed, e-mail
clicks (see :mod:`funnelsim.crm.features`). It is a scikit-learn pipeline: one-hot encoding of
source and persona, standardised numbers, then logistic regression (default) or
gradient boosting. Training holds out a stratified share of the export and reports ROC
AUC, the Brier score and a calibration table on it.

Model files are written with skops and read back without executing code: the file's
types are listed first, anything beyond skops' safe defaults and the explicit
:data:`TRUSTED_TYPES` is refused with an :class:`InputError`, and only then is it loaded
(never pickle or joblib). A scenario names a model in ``marketing.score_model``; the
simulation then scores every lead up front with one ``predict_proba`` call
(:func:`population_scores`): score = 100 × P(SQL), at creation and after a campaign click.
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from ..atomic import atomic_path
from ..errors import InputError
from ..limits import check as check_limit
from ..safe_io import open_regular
from ..stats import wilson_interval
from .features import FeatureNoise, crm_features, feature_noise
from .schema import UNKNOWN_PERSONA

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from ..model import LeadPopulation
    from ..scenario import Scenario

__all__ = [
    "ScoreModel",
    "TrainingReport",
    "MODEL_KINDS",
    "TARGET",
    "INPUT_COLUMNS",
    "TRUSTED_TYPES",
    "model_inputs",
    "build_pipeline",
    "train_score_model",
    "evaluate_score_model",
    "calibration_table",
    "save_score_model",
    "load_score_model",
    "population_scores",
]

ModelKind = Literal["logistic", "boosting"]
MODEL_KINDS: tuple[str, ...] = ("logistic", "boosting")
#: what a score model predicts: the export's ``sql`` flag
TARGET = "sql"
#: export columns a score model reads
INPUT_COLUMNS: tuple[str, ...] = ("source", "persona", "company_size", "pages_viewed", "email_clicks")
_CATEGORIES = ["source", "persona"]
_NUMBERS = ["log_company_size", "pages_viewed", "email_clicks"]
#: types a model file may hold beyond skops' defaults (scikit-learn estimators, numpy, builtins
#: containers); everything else is refused before loading
TRUSTED_TYPES: tuple[str, ...] = ("sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",)
_FORMAT = "funnelsim-score-model"
_FORMAT_VERSION = 1


@dataclass
class ScoreModel:
    """A trained pipeline and what it was trained on."""

    pipeline: "Pipeline"
    kind: str
    metrics: dict[str, float] = field(default_factory=dict)

    def probability(self, frame: pd.DataFrame) -> np.ndarray:
        """P(SQL) for each row of an export-like frame (needs :data:`INPUT_COLUMNS`)."""
        return self.pipeline.predict_proba(model_inputs(frame))[:, 1]

    def scores(self, frame: pd.DataFrame) -> np.ndarray:
        """Lead scores on 0–100: 100 × P(SQL)."""
        return 100.0 * self.probability(frame)


@dataclass
class TrainingReport:
    """A trained model and how well it does on the held-out leads."""

    model: ScoreModel
    n_train: int
    n_test: int
    base_rate: float  # share of SQLs in the held-out leads
    roc_auc: float
    brier: float
    calibration: pd.DataFrame  # one row per band of predicted probability
    tested_on: str = "held-out leads"

    def text(self) -> str:
        lines = [
            f"score model: {self.model.kind}, predicts {TARGET} from {', '.join(INPUT_COLUMNS)}",
            f"  trained on {self.n_train:,} leads, tested on {self.n_test:,} {self.tested_on} "
            f"(SQL rate {100 * self.base_rate:.2f}%)",
            f"  ROC AUC {self.roc_auc:.3f}   Brier score {self.brier:.4f}",
            "",
            _calibration_text(self.calibration, self.tested_on),
        ]
        return "\n".join(lines)


def _calibration_text(table: pd.DataFrame, tested_on: str) -> str:
    lines = [f"  calibration ({tested_on} by band of predicted P(SQL)):",
             "    band  leads   predicted   observed   95% CI"]
    for row in table.itertuples():
        lines.append(f"    {row.band:>4}  {row.leads:>5}   {100 * row.predicted:8.2f}%  {100 * row.observed:8.2f}%"
                     f"   [{100 * row.low:.2f}%, {100 * row.high:.2f}%]")
    return "\n".join(lines)


# --------------------------------------------------------------------------- inputs and pipeline


def model_inputs(frame: pd.DataFrame) -> pd.DataFrame:
    """The pipeline's input table from export columns (company size on a log scale)."""
    missing = [c for c in INPUT_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError("score model input", missing[0], "missing column")
    return pd.DataFrame({
        "source": frame["source"].astype(str).to_numpy(dtype=object),
        "persona": frame["persona"].astype(str).to_numpy(dtype=object),
        "log_company_size": np.log10(np.maximum(frame["company_size"].to_numpy(dtype=float), 1.0)),
        "pages_viewed": frame["pages_viewed"].to_numpy(dtype=float),
        "email_clicks": frame["email_clicks"].to_numpy(dtype=float),
    })


def build_pipeline(kind: str = "logistic", seed: int = 0) -> "Pipeline":
    """One-hot source and persona, standardise the numbers, then the classifier."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    if kind not in MODEL_KINDS:
        raise InputError("--model", None, f"{kind!r} is not a model kind ({', '.join(MODEL_KINDS)})")
    prepare = ColumnTransformer([
        ("categories", OneHotEncoder(handle_unknown="ignore"), _CATEGORIES),
        ("numbers", StandardScaler(), _NUMBERS),
    ])
    if kind == "logistic":
        classifier: Any = LogisticRegression(max_iter=2000)
    else:
        classifier = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_leaf_nodes=15,
                                                    l2_regularization=1.0, random_state=seed)
    return Pipeline([("prepare", prepare), ("classify", classifier)])


def calibration_table(observed: np.ndarray, predicted: np.ndarray, bands: int = 10) -> pd.DataFrame:
    """Leads grouped into bands of equal size by predicted probability: predicted vs observed rate.

    ``low``/``high`` are the Wilson 95% interval of the observed rate: a well-calibrated
    model's predicted rate lies inside it in about 19 bands out of 20.
    """
    observed = np.asarray(observed, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    order = np.argsort(predicted, kind="stable")
    rows = []
    for band, idx in enumerate(np.array_split(order, min(bands, max(1, len(order))))):
        if not len(idx):
            continue
        n = len(idx)
        rate, low, high = wilson_interval(int(observed[idx].sum()), n)
        rows.append({"band": band + 1, "leads": n, "predicted": float(predicted[idx].mean()), "observed": rate,
                     "low": low, "high": high})
    return pd.DataFrame(rows, columns=["band", "leads", "predicted", "observed", "low", "high"])


def _target(frame: pd.DataFrame, source: str) -> np.ndarray:
    if TARGET not in frame.columns:
        raise InputError(source, TARGET, "missing column")
    y = frame[TARGET].to_numpy(dtype=bool).astype(int)
    positives = int(y.sum())
    if positives < 5 or len(y) - positives < 5:
        raise InputError(source, TARGET, f"needs at least 5 SQLs and 5 other leads to train a score model, "
                                         f"got {positives} SQLs among {len(y)} leads")
    return y


def train_score_model(export: pd.DataFrame, kind: str = "logistic", test_share: float = 0.25, seed: int = 0,
                      source: str = "export") -> TrainingReport:
    """Fit a score model on a stratified share of the export; measure it on the rest."""
    from sklearn.metrics import brier_score_loss, roc_auc_score
    from sklearn.model_selection import train_test_split

    if not 0.0 < test_share < 1.0:
        raise InputError("--test-share", None, f"{test_share} must be between 0 and 1")
    y = _target(export, source)
    X = model_inputs(export)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_share, random_state=seed, stratify=y)
    pipeline = build_pipeline(kind, seed)
    pipeline.fit(X_train, y_train)
    p = pipeline.predict_proba(X_test)[:, 1]
    auc = float(roc_auc_score(y_test, p))
    brier = float(brier_score_loss(y_test, p))
    metrics = {"roc_auc": auc, "brier": brier, "n_train": float(len(y_train)), "n_test": float(len(y_test)),
               "base_rate": float(y_test.mean())}
    model = ScoreModel(pipeline, kind, metrics)
    return TrainingReport(model, len(y_train), len(y_test), float(y_test.mean()), auc, brier,
                          calibration_table(y_test, p))


def evaluate_score_model(model: ScoreModel, export: pd.DataFrame, source: str = "export") -> TrainingReport:
    """How a saved model does on another export (every lead of it is held out)."""
    from sklearn.metrics import brier_score_loss, roc_auc_score

    y = _target(export, source)
    p = model.probability(export)
    return TrainingReport(model, int(model.metrics.get("n_train", 0)), len(y), float(y.mean()),
                          float(roc_auc_score(y, p)), float(brier_score_loss(y, p)), calibration_table(y, p),
                          f"leads of {Path(source).name}")


# --------------------------------------------------------------------------- safe persistence


def save_score_model(model: ScoreModel, path: str | Path) -> Path:
    """Write the model with skops (atomically)."""
    import skops.io as sio

    payload = {"format": _FORMAT, "version": _FORMAT_VERSION, "kind": model.kind, "target": TARGET,
               "inputs": list(INPUT_COLUMNS), "metrics": {k: float(v) for k, v in model.metrics.items()},
               "pipeline": model.pipeline}
    with atomic_path(path) as tmp:
        sio.dump(payload, tmp)
    return Path(path)


def load_score_model(path: str | Path) -> ScoreModel:
    """Read a model written by :func:`save_score_model` without executing code from the file.

    Raises :class:`InputError` for a missing file, a file that is not a skops archive, a
    file holding any type outside skops' defaults and :data:`TRUSTED_TYPES` (tampered or
    foreign), or a skops file that is not a funnelsim score model.
    """
    import skops.io as sio

    source = str(path)
    path = Path(path)
    foreign = "; write one with `funnelsim score train EXPORT -o MODEL.skops`"
    try:
        with open_regular(path, "model_bytes", source) as handle:
            _check_archive(handle, source, foreign)
    except InputError as exc:
        if exc.message == "file not found":
            raise InputError(source, None, "score model file not found") from None
        raise
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # skops raises many kinds on a damaged archive
        raise InputError(source, None, f"damaged or foreign model file ({type(exc).__name__}: {exc})") from None
    refused = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if refused:
        shown = ", ".join(refused[:4]) + (f" and {len(refused) - 4} more" if len(refused) > 4 else "")
        raise InputError(source, None, f"refused to load: the file contains types funnelsim does not trust ({shown}); "
                                       "it was tampered with or not written by `funnelsim score train`")
    try:
        payload = sio.load(path, trusted=list(TRUSTED_TYPES))
    except Exception as exc:  # noqa: BLE001 - any failure of a foreign file is a user error
        raise InputError(source, None, f"damaged or foreign model file ({type(exc).__name__}: {exc})") from None
    return _check_payload(payload, source, foreign)


_MAX_MEMBERS = 10_000


def _check_archive(handle: Any, source: str, foreign: str) -> None:
    """A zip archive whose members, uncompressed, stay within the ``model_unpacked_bytes`` limit.

    The sizes come from the archive's directory; ``zipfile`` never inflates a member beyond
    its declared size, so the check bounds what skops can unpack (a zip bomb is refused
    before a byte of it is inflated).
    """
    if not zipfile.is_zipfile(handle):
        raise InputError(source, None, "not a skops model file" + foreign)
    handle.seek(0)
    try:
        with zipfile.ZipFile(handle) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise InputError(source, None, f"damaged model file ({exc})") from None
    if len(members) > _MAX_MEMBERS:
        raise InputError(source, None, f"the archive holds {len(members):,} files (at most {_MAX_MEMBERS:,})")
    check_limit("model_unpacked_bytes", sum(m.file_size for m in members), source, None,
                "uncompressed size of the model file's contents")


def _metric(key: Any, value: Any, source: str) -> tuple[str, float]:
    if not isinstance(key, str) or isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value):
        raise InputError(source, "metrics", f"{key!r}: {value!r} is not a finite number; the file was not written "
                                            "by `funnelsim score train`")
    if key.startswith("n_") and (value < 0 or value != int(value)):
        raise InputError(source, "metrics", f"{key!r}: {value!r} is not a count")
    return key, float(value)


def _check_payload(payload: Any, source: str, foreign: str) -> ScoreModel:
    from sklearn.pipeline import Pipeline

    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise InputError(source, None, "a skops file, but not a funnelsim score model" + foreign)
    if payload.get("version") != _FORMAT_VERSION:
        raise InputError(source, None, f"score model format version {payload.get('version')!r} is not supported "
                                       f"(this funnelsim reads version {_FORMAT_VERSION})")
    pipeline = payload.get("pipeline")
    if not isinstance(pipeline, Pipeline) or not hasattr(pipeline, "predict_proba"):
        raise InputError(source, None, "the model file holds no scikit-learn pipeline with predict_proba")
    if list(payload.get("inputs", [])) != list(INPUT_COLUMNS) or payload.get("target") != TARGET:
        raise InputError(source, None, f"the model reads {payload.get('inputs')!r} to predict "
                                       f"{payload.get('target')!r}; funnelsim needs {list(INPUT_COLUMNS)} -> {TARGET!r}")
    metrics = payload.get("metrics") or {}
    if not isinstance(metrics, dict):
        raise InputError(source, "metrics", f"must be a mapping of names to numbers, got {type(metrics).__name__}")
    kind = payload.get("kind", "?")
    if kind not in MODEL_KINDS:
        raise InputError(source, "kind", f"{kind!r} is not a model kind ({', '.join(MODEL_KINDS)})")
    return ScoreModel(pipeline, kind, dict(_metric(k, v, source) for k, v in metrics.items()))


# --------------------------------------------------------------------------- scoring simulated leads


def population_scores(scenario: "Scenario", seed: int, pop: "LeadPopulation") -> tuple[list[float], list[float]]:
    """Scores of every lead at creation and after a campaign click, from ``marketing.score_model``.

    Features come from the same seeded link as a CRM export (:func:`funnelsim.crm.features.crm_features`);
    after a click, interest is raised by ``nurture.interest_boost`` and the engagement
    features follow it. One ``predict_proba`` call scores every lead.
    """
    path = scenario.marketing.score_model
    if path is None:
        raise ValueError("the scenario names no score model (marketing.score_model)")
    model = load_score_model(path)
    sources = [s.name for s in scenario.sources]
    personas = np.array([p.name for p in scenario.leads.personas] + [UNKNOWN_PERSONA], dtype=object)
    source = np.asarray(pop.source)
    persona = personas[np.where(np.asarray(pop.legitimate), np.asarray(pop.persona), -1)]
    noise = feature_noise(seed, sources, source)
    n = len(source)
    clickable = np.flatnonzero(np.isfinite(np.asarray(pop.click)))
    boosted = np.minimum(1.0, np.asarray(pop.interest)[clickable] + scenario.nurture.interest_boost)
    at_creation = crm_features(noise, pop.fit, pop.interest)
    after_click = crm_features(FeatureNoise(noise.size[clickable], noise.pages[clickable], noise.clicks[clickable]),
                               np.asarray(pop.fit)[clickable], boosted)
    frame = pd.DataFrame({
        "source": np.concatenate([np.array(sources, dtype=object)[source], np.array(sources, dtype=object)[source[clickable]]]),
        "persona": np.concatenate([persona, persona[clickable]]),
        **{name: np.concatenate([at_creation[name], after_click[name]]) for name in at_creation},
    })
    scores = model.scores(frame) if len(frame) else np.zeros(0)
    created = scores[:n]
    clicked = created.copy()
    clicked[clickable] = scores[n:]
    return created.tolist(), clicked.tolist()
