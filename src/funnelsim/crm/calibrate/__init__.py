"""Calibration: fit a scenario's inputs to a CRM export (see :mod:`.assemble`)."""

from __future__ import annotations

from .assemble import DECAY_BINS, Calibration, calibrate, calibrate_file, calibrated_yaml, compare_funnel, write_calibrated

__all__ = ["Calibration", "calibrate", "calibrate_file", "write_calibrated", "calibrated_yaml", "compare_funnel",
           "DECAY_BINS"]
