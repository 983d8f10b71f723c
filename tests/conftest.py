"""Shared fixtures: where the repository and its bundled scenarios are, and a short baseline.

Keep this file small and generic: every test module of every kind may use it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from funnelsim.scenario import Scenario, load_scenario

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "scenarios"
BASELINE = SCENARIOS / "baseline.yaml"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository's top folder (where pyproject.toml lives)."""
    return REPO


@pytest.fixture(scope="session")
def scenarios_dir() -> Path:
    """The bundled scenarios folder."""
    return SCENARIOS


@pytest.fixture(scope="session")
def short_baseline() -> Scenario:
    """The bundled baseline with one month of lead arrivals (a Scenario is immutable)."""
    return load_scenario(BASELINE, ["months=1"])
