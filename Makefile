# Kajitori — every command a developer or CI needs. `make test` and `make lab`
# install what they need themselves (idempotently); nothing by hand.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST := $(PY) -m pytest
# pytest exits 5 when a selection holds no test yet; that is not a failure here.
PYTEST_OK = || [ $$? -eq 5 ]

.PHONY: help venv host etcd lint test test-unit test-integration test-e2e test-repeat bench clean
help:
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z0-9-]+):.*## (.*)/  \1\t\2/' | sort | expand -t 22

venv: $(VENV)/.installed ## create/update the virtualenv with kajitori and its dev tools
$(VENV)/.installed: pyproject.toml
	@echo "==> virtualenv $(VENV)"
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -e '.[dev]'
	@touch $@

host: ## install and start what the host needs (docker.io, dockerd, iptables, netns tools)
	@bash scripts/ensure-host.sh

etcd: ## install etcd-server and etcd-client (the etcd store's tests start their own etcd)
	@bash scripts/ensure-etcd.sh

lint: venv ## ruff + mypy + the import contracts (.importlinter)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

test-unit: venv etcd ## unit tests (seconds, no root parts; the store contract also runs on a real etcd)
	$(PYTEST) tests/unit -q $(PYTEST_OK)

# The integration tests run the cluster's images (pause, busybox, nginx, tools, python-client): a fresh
# machine has none, so they are built first (a no-op when their inputs did not change).
# The tests mostly wait on processes (masters, agents, dockerd, etcd, kubectl): a run used about a
# third of one core, so three workers (pytest-xdist) run test files side by side on 2 cores. A file
# stays on one worker (--dist loadfile): its module fixtures (a master, an agent) are made once and
# its tests keep their order. Each worker is its own pytest process, so the names and ports a
# session makes its own (tests/support/session_names.py, free_port) are the worker's own.
# INTEGRATION_WORKERS=0 runs them in this process, one after another.
INTEGRATION_TESTS ?= tests/integration
INTEGRATION_WORKERS ?= 3
test-integration: venv host etcd images ## real dockerd, real iptables in netns, real master processes (INTEGRATION_WORKERS=3)
	$(PYTEST) $(INTEGRATION_TESTS) -q -m integration -n $(INTEGRATION_WORKERS) --dist loadfile --durations=15 $(PYTEST_OK)

# The lab comes up before pytest starts: on a fresh machine its first `make lab` (ansible,
# wheelhouse, three machines, provisioning) takes longer than pytest's per-test timeout,
# which would count against the first test's fixture. A running lab only checks.
test-e2e: venv lab ## the whole three-machine lab (brings it up if needed)
	$(PYTEST) tests/e2e -q -m e2e --durations=15 $(PYTEST_OK)

test: lint test-unit test-integration test-e2e ## everything CI runs

# N fresh clones of this commit, one layer each (LAYER=integration by default: no lab),
# STRESS=1 keeps one core busy; prints each run's duration and failed tests.
test-repeat: ## N runs of a layer from fresh clones: N=5 LAYER=integration|e2e|all STRESS=1 TESTS=paths
	@N=$(or $(N),5) LAYER=$(or $(LAYER),integration) STRESS=$(STRESS) TESTS='$(TESTS)' bash scripts/test-repeat.sh

bench: venv host ## benchmarks: print figures and write bench/results/*.json
	@bash scripts/ensure-bench-tools.sh
	@for b in bench/*/run.py; do echo "==> $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache

# Images and the lab live in files of their own.
-include images/images.mk
-include lab.mk
