"""The CRM layer: the export schema, reading and writing exports, CRM features, lead scoring, calibration.

One module per job: :mod:`.schema` (the columns), :mod:`.read` (reading with its checks),
:mod:`.export` (writing, and simulating a scenario into an export), :mod:`.features` (what a
CRM sees of fit and interest), :mod:`.scoring` (score models), :mod:`.calibrate` (one module
per fit). It sits above the model and :mod:`funnelsim.simulation`; nothing below imports it
except :func:`funnelsim.simulation.simulate`, which scores leads with a named score model.
"""

from __future__ import annotations

from .calibrate import Calibration, calibrate, calibrate_file, compare_funnel, write_calibrated
from .export import export_scenario, write_export
from .read import read_export
from .schema import SCHEMA
from .scoring import ScoreModel, load_score_model, save_score_model, train_score_model

__all__ = [
    "SCHEMA",
    "read_export",
    "write_export",
    "export_scenario",
    "Calibration",
    "calibrate",
    "calibrate_file",
    "compare_funnel",
    "write_calibrated",
    "ScoreModel",
    "train_score_model",
    "save_score_model",
    "load_score_model",
]
