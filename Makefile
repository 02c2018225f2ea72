# chat-analytics — the two commands of the quick start are `make demo` and `make test`.
# Everything installs into ./.venv from pyproject.toml (the one place dependencies are pinned).

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(PATH)
export DBT_PROFILES_DIR := $(CURDIR)
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: help install demo test lint pytest bench clean

help:
	@echo "make demo   install, generate a 30-day sample, land, build, publish, print headline metrics,"
	@echo "           write the HTML report (then: .venv/bin/chat-analytics dashboard)"
	@echo "make test   the whole suite: ruff, sqlfluff, pytest (dbt data + unit tests included)"
	@echo "make bench  benchmarks (print tables; not part of make test)"
	@echo "make clean  remove build outputs (keeps .venv)"

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH"; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/chat-analytics demo

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	mkdir -p warehouse/.tmp
	CHAT_ANALYTICS_DB=warehouse/lint.duckdb $(BIN)/sqlfluff lint models analyses tests/data_tests

pytest: install
	$(BIN)/pytest

# pytest runs last so that its summary line closes the output.
test: lint pytest

bench: install
	$(BIN)/python benchmarks/bench_generate.py
	$(BIN)/python benchmarks/bench_land.py
	$(BIN)/python benchmarks/bench_incremental.py
	$(BIN)/python benchmarks/bench_compaction.py

clean:
	rm -rf target logs warehouse data .pytest_cache
