# medbill: two commands on a fresh machine — `make demo` and `make test`.
# Every target creates the virtual environments it needs when they are missing (a stamp file
# in each says what was installed); nothing needs to be installed by hand.
#
# .venv            the core and every plugin, then the demo (editable, with test extras)
# .venv-core       the core alone: its suite proves the core stands without its plugins
# .venv-PLUGIN     the core, the plugin and the plugins it declares: its suite proves the
#                  declaration is complete

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# install order: the four plugins, then the demo, which depends on them all
PLUGINS := payer_generic_x12 payer_medicare clearinghouse_mock statements_pdf demo
STAMP := $(VENV)/.medbill-installed
DEMO_OUT ?= demo-out
PYTEST_ARGS ?=
# the core's suite (the largest) on two workers: each starts a PostgreSQL server of its own
CORE_WORKERS ?= -n 2
# every suite runs with the root's pytest options (import mode, markers)
PYTEST := -m pytest -c pyproject.toml --rootdir . $(PYTEST_ARGS)

# The plugins each plugin's pyproject.toml declares (medbill-payer-generic-x12 ...): they are
# installed from this checkout, not looked up in the package index.
DEPS_payer_generic_x12 :=
DEPS_payer_medicare := payer_generic_x12
DEPS_clearinghouse_mock := payer_generic_x12
DEPS_statements_pdf :=
# the plugins whose suites run alone (the demo's is the integration suite, in .venv)
ALONE := payer_generic_x12 payer_medicare clearinghouse_mock statements_pdf

.PHONY: setup setup-alone test test-core test-plugins test-integration lint demo bench clean \
	postgres

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml $(foreach p,$(PLUGINS),plugins/$(p)/pyproject.toml)
	$(PY) -m pip install --quiet -e ".[test]" $(foreach p,$(PLUGINS),-e "plugins/$(p)[test]")
	touch $(STAMP)

setup: $(STAMP)

# .venv-core and .venv-PLUGIN: a fresh venv, then the core (and the declared plugins) editable
.venv-core/.medbill-installed: pyproject.toml
	$(PYTHON) -m venv .venv-core
	.venv-core/bin/python -m pip install --quiet --upgrade pip
	.venv-core/bin/python -m pip install --quiet -e ".[test]"
	touch $@

.SECONDEXPANSION:
.venv-%/.medbill-installed: pyproject.toml plugins/%/pyproject.toml \
		$$(foreach d,$$(DEPS_$$*),plugins/$$(d)/pyproject.toml)
	$(PYTHON) -m venv .venv-$*
	.venv-$*/bin/python -m pip install --quiet --upgrade pip
	.venv-$*/bin/python -m pip install --quiet -e ".[test]" \
		$(foreach d,$(DEPS_$*),-e "plugins/$(d)") -e "plugins/$*[test]"
	touch $@

setup-alone: .venv-core/.medbill-installed $(foreach p,$(ALONE),.venv-$(p)/.medbill-installed)

postgres:
	bash scripts/ensure-postgres.sh

# The core's suite with no plugin installed, each plugin's with only what it declares, and
# the integration suite (several plugins, the demo) with everything.
test: test-core test-plugins test-integration

test-core: .venv-core/.medbill-installed postgres
	.venv-core/bin/python $(PYTEST) $(CORE_WORKERS) tests

test-plugins: setup-alone postgres
	$(foreach p,$(ALONE),.venv-$(p)/bin/python $(PYTEST) plugins/$(p)/tests &&) true

test-integration: setup postgres
	$(PY) $(PYTEST) plugins/demo/tests

lint: setup
	$(VENV)/bin/ruff check .

demo: setup
	$(PY) -m medbill_demo --out $(DEMO_OUT)

bench: setup postgres
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) .venv-core $(foreach p,$(ALONE),.venv-$(p)) $(DEMO_OUT) bench-out \
		.pytest_cache .hypothesis
