# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
NODE_DIR := tests/node

# The test suite runs on the production engines at localhost (SPEC §0).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/mdcreator
TEST_REDIS_URL ?= redis://127.0.0.1:6379/1
# PostgreSQL means production settings, which refuse to start without signing keys (SPEC §0.1):
# every test and benchmark run gets throwaway random keys of its own, drawn by the shell at run time.
RUN_KEYS = DJANGO_SECRET_KEY=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))') \
  JWT_SIGNING_KEY=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')

.PHONY: run test lint install install-dev node browser static services migrate bench clean

# daphne refuses WebSocket messages over 1 MiB by default; the live-editing limit is 8 MiB (SPEC §5.4).
DAPHNE_WS_LIMITS := --websocket-max-message-size 16777216 --websocket-max-frame-size 16777216

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

$(NODE_DIR)/node_modules/.installed: $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	npm ci --prefix $(NODE_DIR) --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev
node: $(NODE_DIR)/node_modules/.installed

## make browser: Debian's chromium and chromium-driver for tests/test_browser.py (installed only when missing)
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  echo "Installing chromium and chromium-driver (Debian packages) for the browser tests"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq >/dev/null && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

## make static: collect the static files under var/static (hashed names, gzip copies), as `make run` does
static: install
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0

## make run: the embedded default (SQLite, in-memory layers, local files, console email) on :8000 (and :1234, the web client's live-editing address)
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	ACCOUNTS_EMAIL_CONFIRMATION=$${ACCOUNTS_EMAIL_CONFIRMATION:-False} \
	  $(BIN)/daphne -b 127.0.0.1 -p 8000 -e tcp:port=1234:interface=127.0.0.1 $(DAPHNE_WS_LIMITS) mdcreator.asgi:application

services:
	scripts/services.sh

## make lint: ruff (with Django, bandit and size rules) and the import contracts of .importlinter
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

## make test: the linters, then the whole suite on PostgreSQL and Redis, plus a smoke run of the embedded default
test: lint install-dev node services browser static
	$(RUN_KEYS) DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
	  $(BIN)/python -m pytest --create-db $(PYTEST_ARGS)

## make test-sqlite: the embedded default's subset of the suite again on SQLite and the in-memory layers (tests/test_sqlite_suite.py; `make test` runs it too)
.PHONY: test-sqlite
test-sqlite: install-dev
	$(BIN)/python tests/test_sqlite_suite.py $(PYTEST_ARGS)

## make fuzz: the full API fuzz run (schemathesis, every operation, at least 2,000 requests, a random seed: replay with FUZZ_SEED=N); `make test` runs a bounded one
.PHONY: fuzz
fuzz: install-dev services
	$(RUN_KEYS) DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) FUZZ_EXAMPLES=25 FUZZ_MIN_REQUESTS=2000 \
	  $(BIN)/python -m pytest --create-db -s tests/test_api_fuzz.py $(PYTEST_ARGS)

## make faults: the fault tests run longer (tests/faults: Redis and PostgreSQL restarted FAULTS_ROUNDS times under live editing, on private servers); `make test` runs one round
.PHONY: faults
faults: install-dev services
	$(RUN_KEYS) DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) FAULTS_ROUNDS=$${FAULTS_ROUNDS:-5} \
	  $(BIN)/python -m pytest --create-db -s -m faults $(PYTEST_ARGS)

bench: install-dev services
	$(RUN_KEYS) DATABASE_URL=postgres://postgres@127.0.0.1:5432/mdcreator_bench REDIS_URL=redis://127.0.0.1:6379/9 $(BIN)/python bench/auth_throughput.py $(BENCH_ARGS)

## make bench-docs: list and search latency over 100,000 seeded documents (seeds once, a few minutes)
.PHONY: bench-docs
bench-docs: install-dev services
	$(RUN_KEYS) DATABASE_URL=postgres://postgres@127.0.0.1:5432/mdcreator_bench_docs REDIS_URL=redis://127.0.0.1:6379/10 $(BIN)/python bench/documents_list_search.py $(BENCH_ARGS)

## make bench-sharing: comments of a busy document, shared-with-me and search with 10,000 grants (seeds once)
.PHONY: bench-sharing
bench-sharing: install-dev services
	$(RUN_KEYS) DATABASE_URL=postgres://postgres@127.0.0.1:5432/mdcreator_bench_sharing REDIS_URL=redis://127.0.0.1:6379/11 $(BIN)/python bench/sharing_comments.py $(BENCH_ARGS)

## make bench-sync: full sync bootstrap of 10,000 documents and folders, empty since, push of 100 edits (seeds once)
.PHONY: bench-sync
bench-sync: install-dev services
	$(RUN_KEYS) DATABASE_URL=postgres://postgres@127.0.0.1:5432/mdcreator_bench_sync REDIS_URL=redis://127.0.0.1:6379/12 $(BIN)/python bench/sync_bootstrap.py $(BENCH_ARGS)

## make bench-uploads: local-disk uploads: 25 MiB throughput and daphne memory, presign latency, confirm of a large JPEG
.PHONY: bench-uploads
bench-uploads: install-dev services
	$(RUN_KEYS) DATABASE_URL=postgres://postgres@127.0.0.1:5432/mdcreator_bench_uploads REDIS_URL=redis://127.0.0.1:6379/13 $(BIN)/python bench/uploads_local.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(NODE_DIR)/node_modules var

## make bench-collab: fan-out latency of live edits to real y-websocket clients (two scenarios, about two minutes)
.PHONY: bench-collab
bench-collab: install-dev node services
	$(RUN_KEYS) DATABASE_URL=postgres://postgres@127.0.0.1:5432/mdcreator_bench_collab REDIS_URL=redis://127.0.0.1:6379/14 $(BIN)/python bench/collab_fanout.py $(BENCH_ARGS)

## make bench-ai: AI proxy against fake providers: time to first token vs direct, auth/me during 50 open streams, stop on client disconnect (about 35 s)
.PHONY: bench-ai
bench-ai: install-dev services
	$(RUN_KEYS) DATABASE_URL=postgres://postgres@127.0.0.1:5432/mdcreator_bench_ai REDIS_URL=redis://127.0.0.1:6379/15 $(BIN)/python bench/ai_proxy.py $(BENCH_ARGS)

## make bench-rest: REST reads against a bare Django view in the same daphne, with wrk (16 connections, 3 interleaved rounds, about 4 minutes)
.PHONY: bench-rest
bench-rest: install-dev services /usr/bin/wrk
	$(RUN_KEYS) DATABASE_URL=postgres://postgres@127.0.0.1:5432/mdcreator_bench_rest REDIS_URL=redis://127.0.0.1:6379/0 $(BIN)/python bench/rest_overhead.py $(BENCH_ARGS)

# The HTTP load generator of bench-rest, Debian's wrk (installed only when missing).
/usr/bin/wrk:
	@echo "Installing wrk (Debian package) for make bench-rest"
	@SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq >/dev/null && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null

## make fuzz-sockets: random and mutated frames of both socket dialects from every role (20,000 frames by default)
.PHONY: fuzz-sockets
fuzz-sockets: install-dev node services
	SOCKET_FUZZ_FRAMES=$${SOCKET_FUZZ_FRAMES:-20000} $(RUN_KEYS) DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
	  $(BIN)/python -m pytest --create-db -s collab/tests/test_socket_fuzz.py
