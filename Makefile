# The two commands a newcomer needs: `make up` and `make test`.
PYTHON ?= python3
VENV   := .venv
# AWS's own SAM CLI, for `sam validate --lint` on the examples (docs/aws.md)
SAM_VENV := .venv-sam
BIN    := $(VENV)/bin
APP    ?= examples/auth-service
PORT   ?= 3000

.PHONY: up up-hello test fuzz browser proxy lb sam-validate install install-dev lint typecheck unit bench bench-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## make up: create .venv, install, migrate and run the auth service on the embedded default
## (SQLite, generated development keys); `make up-hello` runs the hello app instead.
up: install
	@test ! -f $(APP)/scripts/seed_dev_secrets.py || $(BIN)/python $(APP)/scripts/seed_dev_secrets.py $(APP)
	$(BIN)/overcast invoke MigrateFunction --app $(APP) > /dev/null
	@cat $(APP)/TRY-IT.txt
	$(BIN)/overcast up $(APP) --port $(PORT)

up-hello: install
	$(BIN)/overcast up examples/hello --port $(PORT)

## make test: install dev extras, lint, type-check, run the whole suite
test: install-dev browser proxy lb $(SAM_VENV)/bin/sam lint typecheck
	$(BIN)/python -m pytest -q

## the browser the page tests drive: Debian's Chromium (never Playwright's own download)
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else echo "chromium is missing: the browser tests will be skipped (sudo apt-get install chromium)"; fi; }

## the TLS proxy recipe of docs/tls.md is tested with Debian's nginx
proxy:
	@test -x /usr/sbin/nginx || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq nginx-light; \
	  else echo "nginx is missing: the docs/tls.md recipe test will be skipped (sudo apt-get install nginx-light)"; fi; }

## the balancer `overcast cluster lb-config` writes for (docs/cluster-lb.md) is tested with Debian's HAProxy
lb:
	@test -x /usr/sbin/haproxy || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq haproxy; \
	  else echo "haproxy is missing: the load balancer tests will be skipped (sudo apt-get install haproxy)"; fi; }

## `sam validate --lint` on every example with AWS's own SAM CLI, kept in its own venv
## (docs/aws.md); `make test` installs it and runs both halves of the check
$(SAM_VENV)/bin/sam:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet 'aws-sam-cli>=1.170'

sam-validate: install-dev $(SAM_VENV)/bin/sam
	OVERCAST_SAM_CLI=$(abspath $(SAM_VENV)/bin/sam) $(BIN)/python -m pytest -q -p no:cacheprovider tests/compat/test_sam_validate.py

## make fuzz: the fuzz tests with a hundred times the examples and a 1 s hang limit
## (make test runs them briefly), then atheris on each parser for FUZZ_SECONDS;
## FUZZ_ARGS narrows the first, e.g. FUZZ_ARGS='-k vault'
FUZZ_SECONDS ?= 60
fuzz: install-dev
	$(BIN)/python -m pip install --quiet -e '.[dev,fuzz]' || echo "atheris does not install here: hypothesis only"
	OVERCAST_FUZZ=1 $(BIN)/python -m pytest -q -p no:cacheprovider --timeout=3600 tests/fuzz $(FUZZ_ARGS)
	$(BIN)/python tests/fuzz/atheris_run.py --seconds $(FUZZ_SECONDS)

lint: install-dev
	$(BIN)/ruff check src tests benchmarks examples

typecheck: install-dev
	$(BIN)/mypy

unit: install-dev
	$(BIN)/python -m pytest -q tests/unit

bench: install-dev
	$(BIN)/python benchmarks/run_all.py

## the load generator the benchmarks drive (Debian's wrk)
bench-deps:
	command -v wrk >/dev/null && test -x /usr/sbin/nginx || (apt-get update -qq && apt-get install -y -qq wrk nginx-light)

clean:
	rm -rf $(VENV) $(SAM_VENV) .mypy_cache .pytest_cache .ruff_cache
