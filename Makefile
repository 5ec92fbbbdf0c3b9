# The two commands a newcomer needs: `make demo` and `make test` (what CI runs).
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: install lint typecheck unit test demo bench chaos chaos-short clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

lint: install
	$(BIN)/ruff check libs services tests bench migrations

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest tests/unit -q

# Everything CI runs: lint, types, and every test against real RabbitMQ, Redis and PostgreSQL
# (RABBITMQ_URL / REDIS_URL / DATABASE_URL, else the local default ports, else private servers
# started from the installed binaries, else testcontainers: libs/cli/private_servers.py), the short
# chaos run included (tests/chaos, about 4 minutes; `make chaos-short` runs it alone). -rs ends the
# run with one line per skipped test and its reason.
test: lint typecheck
	$(BIN)/pytest -q -rs -p no:cacheprovider $(PYTEST_ARGS)

chaos-short: install
	$(BIN)/pytest -q -rs -p no:cacheprovider -m chaos tests/chaos

# The whole pipeline against the Fortnox sandbox (private servers where none answers); KEEP=1 keeps it running.
demo: install
	$(BIN)/woonox demo $(if $(KEEP),--keep,)

bench: install
	$(PY) -m bench

# The long chaos run (about 20 minutes): kills services, restarts its own RabbitMQ node, flushes its own Redis, injects
# Fortnox faults, then checks every invariant. The short one runs in `make test`.
chaos: install
	$(PY) -m bench.chaos --tenants 5 --orders 2000 --duration 480 --seed 7 --drain-timeout 600 $(CHAOS_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
