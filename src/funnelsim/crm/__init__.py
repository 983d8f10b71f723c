"""The CRM layer: the export schema, reading and writing exports, CRM features, lead scoring, calibration.

One module per job: :mod:`.schema` (the columns), :mod:`.read` (reading with its checks),
:mod:`.export` (writing, and simulating a scenario into an export), :mod:`.features` (what a
CRM sees of fit and interest), :mod:`.scoring` (score models), :mod:`.calibrate` (the fits).
:func:`funnelsim.simulation.simulate` scores leads with :mod:`.scoring`, so this package
re-exports only what does not import the simulation (export and calibrate do): import
``write_export``/``export_scenario`` from :mod:`.export` and the calibration from :mod:`.calibrate`.
"""

from __future__ import annotations

from .read import read_export
from .schema import SCHEMA
from .scoring import ScoreModel, load_score_model, save_score_model, train_score_model

__all__ = ["SCHEMA", "read_export", "ScoreModel", "train_score_model", "save_score_model", "load_score_model"]
