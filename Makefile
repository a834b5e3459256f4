# medbill: two commands on a fresh machine — `make demo` and `make test`.
# Every target creates .venv when it is missing and installs the core and every
# plugin (editable, with test extras); nothing needs to be installed by hand.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PLUGINS := payer_generic_x12 payer_medicare clearinghouse_mock statements_pdf
STAMP := $(VENV)/.medbill-installed
DEMO_OUT ?= demo-out
PYTEST_ARGS ?=

.PHONY: setup test lint demo bench clean postgres

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml $(foreach p,$(PLUGINS),plugins/$(p)/pyproject.toml)
	$(PY) -m pip install --quiet -e ".[test]" $(foreach p,$(PLUGINS),-e "plugins/$(p)[test]")
	touch $(STAMP)

setup: $(STAMP)

postgres:
	bash scripts/ensure-postgres.sh

test: setup postgres
	$(PY) -m pytest tests $(foreach p,$(PLUGINS),plugins/$(p)/tests) $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

demo: setup
	$(PY) -m medbill_core.demo --out $(DEMO_OUT)

bench: setup postgres
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) $(DEMO_OUT) bench-out .pytest_cache .hypothesis
