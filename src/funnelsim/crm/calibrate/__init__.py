"""Calibration: fit a scenario's inputs to a CRM export, one module per fit (see :mod:`.assemble`)."""

from __future__ import annotations

from .assemble import Calibration, calibrate, calibrate_file, calibrated_yaml, compare_funnel, write_calibrated
from .qualification import DECAY_BINS

__all__ = ["Calibration", "calibrate", "calibrate_file", "write_calibrated", "calibrated_yaml", "compare_funnel",
           "DECAY_BINS"]
