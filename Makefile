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
# install order: the plugins, then the demo, which depends on them all
PLUGINS := payer_generic_x12 payer_medicare clearinghouse_mock statements_pdf claim_forms_pdf workspace_web payments_mock notify_mock patient_pay_web demo
STAMP := $(VENV)/.medbill-installed
DEMO_OUT ?= demo-out
PYTEST_ARGS ?=
# the core's suite (the largest) on two workers: each starts a PostgreSQL server of its own;
# loadgroup keeps a module marked xdist_group on one worker (the query-plan test generates its
# 100,000-claim database once, not once per worker)
CORE_WORKERS ?= -n 2 --dist loadgroup
# the integration suite on two workers too; its minutes-long tests (marked slow: the worker
# fault test) start first (conftest.py) and run beside the rest
INTEGRATION_WORKERS ?= -n 2 --dist loadgroup
# every suite runs with the root's pytest options (import mode, markers)
# (and prints its slowest tests, to keep `make test` inside its 30 minutes)
PYTEST := -m pytest -c pyproject.toml --rootdir . --durations=12 $(PYTEST_ARGS)
# the plugins' folders, where mypy finds their packages (installed editable, it cannot)
MYPY_PLUGIN_PATH := $(subst $(eval) ,:,$(addprefix plugins/,$(PLUGINS)))

# The plugins each plugin's pyproject.toml declares (medbill-payer-generic-x12 ...): they are
# installed from this checkout, not looked up in the package index.
DEPS_payer_generic_x12 :=
DEPS_payer_medicare := payer_generic_x12
DEPS_clearinghouse_mock := payer_generic_x12
DEPS_statements_pdf :=
DEPS_claim_forms_pdf :=
DEPS_workspace_web :=
DEPS_payments_mock :=
DEPS_notify_mock :=
# the pay page's tests drive the gateway simulator and reuse the workspace's browser harness
DEPS_patient_pay_web := payments_mock workspace_web
# the plugins whose suites run alone (the demo's is the integration suite, in .venv)
ALONE := payer_generic_x12 payer_medicare clearinghouse_mock statements_pdf claim_forms_pdf workspace_web payments_mock notify_mock patient_pay_web

.PHONY: setup setup-alone venvs test test-core test-plugins test-integration lint demo bench clean \
	postgres docs chromium screenshots

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml $(foreach p,$(PLUGINS),plugins/$(p)/pyproject.toml)
	$(PY) -m pip install --quiet -e ".[test,docs]" $(foreach p,$(PLUGINS),-e "plugins/$(p)[test]")
	touch $(STAMP)

setup: $(STAMP)

# .venv-core and .venv-PLUGIN: a fresh venv, then the core (and the declared plugins) editable
.venv-core/.medbill-installed: pyproject.toml
	$(PYTHON) -m venv .venv-core
	.venv-core/bin/python -m pip install --quiet --upgrade pip
	.venv-core/bin/python -m pip install --quiet -e ".[test,docs]"
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

# Every environment the tests use, made side by side (a sub-make with -j3: each install is one
# pip process that waits on files and builds much of the time; one after another they took six
# of `make test`'s minutes). Each log is printed whole when its environment is done.
VENV_STAMPS := $(STAMP) .venv-core/.medbill-installed \
	$(foreach p,$(ALONE),.venv-$(p)/.medbill-installed)
venvs:
	$(MAKE) --no-print-directory -j3 --output-sync=target $(VENV_STAMPS)

postgres:
	bash scripts/ensure-postgres.sh

# the workspace's browser tests drive the system's Chromium (installed when missing)
chromium:
	bash scripts/ensure-chromium.sh

# The core's suite with no plugin installed, each plugin's with only what it declares, and
# the integration suite (several plugins, the demo) with everything.
test: venvs test-core test-plugins test-integration

test-core: .venv-core/.medbill-installed postgres
	.venv-core/bin/python $(PYTEST) $(CORE_WORKERS) tests

test-plugins: setup-alone postgres chromium
	$(foreach p,$(ALONE),.venv-$(p)/bin/python $(PYTEST) plugins/$(p)/tests &&) true

# the workspace's browser tests, keeping their screenshots in docs/images/
screenshots: .venv-workspace_web/.medbill-installed chromium
	MEDBILL_SCREENSHOTS=1 .venv-workspace_web/bin/python $(PYTEST) plugins/workspace_web/tests \
		-k browser

# core tests that check the whole repository (the import contract, the docs site's plugin
# guide, the test kit run against the X12 engine, the plugins' types) skip their plugin parts
# in .venv-core: they run again where every plugin is installed
WHOLE_REPO_TESTS := tests/test_public_api.py tests/test_docs_site.py tests/test_plugin_kit.py \
	tests/test_typing.py

test-integration: setup postgres
	$(PY) $(PYTEST) $(INTEGRATION_WORKERS) plugins/demo/tests $(WHOLE_REPO_TESTS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	MYPYPATH=$(MYPY_PLUGIN_PATH) $(VENV)/bin/mypy $(foreach p,$(PLUGINS),-p medbill_$(p))

# the documentation site, warnings as errors (reference pages generated by docs/hooks.py)
docs: setup
	$(VENV)/bin/mkdocs build --strict

demo: setup
	$(PY) -m medbill_demo --out $(DEMO_OUT)

bench: setup postgres
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) .venv-core $(foreach p,$(ALONE),.venv-$(p)) $(DEMO_OUT) bench-out \
		site .pytest_cache .hypothesis .mypy_cache
