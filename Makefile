# Two commands on a fresh machine: `make demo` (the main job) and `make test`.
# Each creates the virtualenv and installs wmbench on first use. `make check` runs the
# linters CI runs before the tests.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
OUT ?= wmbench-out

.PHONY: demo test check bench pictures screenshots install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/wmbench demo --out $(OUT)

test: $(STAMP)
	$(BIN)/python -m pytest

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m pytest benchmarks --benchmark-enable --benchmark-only
	$(BIN)/wmbench bench generate
	$(BIN)/python -m benchmarks.physics_iq_ratio
	$(BIN)/wmbench bench speed

pictures: $(STAMP)
	$(BIN)/wmbench pictures --all --out-dir docs/images --tracks --occluders

screenshots: demo
	$(BIN)/python -m tests.leaderboard.browser $(OUT)/leaderboard docs/images

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
