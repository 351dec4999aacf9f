# `make run` and `make test` each create .venv when it is missing and install into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/payforward run

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	scripts/test-browser.sh
	PAYFORWARD_TEST_POSTGRES_URL="$$(scripts/test-postgres.sh)" && \
	  export PAYFORWARD_TEST_POSTGRES_URL && \
	  $(BIN)/pytest -q

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench.core_throughput
	$(BIN)/python -m bench.leaderboard
	$(BIN)/python -m bench.dashboard
	$(BIN)/python -m bench.slack_http
	$(BIN)/python -m bench.discord_interactions
	$(BIN)/python -m bench.dispatcher_rate
	$(BIN)/python -m bench.connector
	$(BIN)/python -m bench.delivery
	$(BIN)/python -m bench.cups

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache
