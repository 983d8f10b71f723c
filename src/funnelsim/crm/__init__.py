"""The CRM layer: the export schema, reading and writing exports, features, lead scoring, calibration."""

from __future__ import annotations

from .read import *  # noqa: F401,F403  (split into schema, read, export and features next)
from .read import __all__ as _read_all
from .read import check_export_window  # noqa: F401

__all__ = [*_read_all, "check_export_window"]
