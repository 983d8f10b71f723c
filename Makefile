# Two commands for a fresh machine with Python 3.11 and make:
#   make demo   -> sets up .venv and runs the main job (A/B comparison of the bundled scenarios)
#   make test   -> sets up .venv and runs the whole test suite
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test bench backtests levers clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	@$(BIN)/funnelsim report scenarios/baseline.yaml scenarios/five_minute_sla.yaml --replications 30 \
		-o reports/baseline_vs_five_minute_sla.html

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_model.py
	$(BIN)/python benchmarks/bench_experiments.py
	$(BIN)/python benchmarks/bench_calibrate.py

# regenerate the stored KPI tables of tests/backtest/ -- only on purpose, saying why in the commit
backtests: $(STAMP)
	$(BIN)/python tests/backtest/regenerate.py

# the README's lever table: each bundled lever vs the baseline, 12 months x 8 paired replications
levers: $(STAMP)
	$(BIN)/python tests/validation/test_levers.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .hypothesis
