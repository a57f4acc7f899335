# Keyward: `make run` serves the demo console, `make test` runs the whole suite.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
export UV_PYTHON_DOWNLOADS := never
export PATH := $(HOME)/.local/bin:$(PATH)

RUN_ENV := DEBUG=1
# config/settings.py sends development email here (EMAIL_FILE_PATH overrides it).
MAIL_DIR := $(or $(EMAIL_FILE_PATH),var/mail)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup run serve test test-sqlite test-postgres lint bench bench-postgres loadtest

setup:
	@scripts/setup.sh

run: setup
	$(RUN_ENV) uv run python manage.py migrate --noinput
	$(RUN_ENV) uv run python manage.py seed_demo
	@echo "Emails (token created, expiring, leaked) are written to $(MAIL_DIR)/, one file each."
	@echo "Serving Keyward at http://$(HOST):$(PORT)/ (Ctrl-C stops it); for passkeys open http://localhost:$(PORT)/ (browsers refuse them on an IP address)"
	$(RUN_ENV) uv run python manage.py runserver $(HOST):$(PORT)

# Production settings in the foreground: gunicorn and the task worker (needs SECRET_KEY).
serve: setup
	@HOST=$(HOST) PORT=$(PORT) scripts/serve.sh

test: setup
	@scripts/ensure-chromium.sh
	@scripts/ensure-services.sh
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

test-sqlite:
	@echo "== Test suite on SQLite =="
	uv run pytest

test-postgres:
	@echo "== Test suite on PostgreSQL =="
	scripts/with-postgres.sh uv run pytest

lint:
	uv run ruff check .
	uv run ruff format --check .
	uv run python manage.py makemigrations --check --dry-run --settings=config.settings_test

bench: setup
	@echo "== Benchmarks on SQLite =="
	env -u DATABASE_URL uv run python -m bench
	@if [ -n "$${DATABASE_URL:-}" ]; then echo "== Benchmarks on $$DATABASE_URL =="; uv run python -m bench; fi

bench-postgres: setup
	scripts/with-postgres.sh uv run python -m bench

# Not part of `make test`: minutes of wrk against gunicorn, PostgreSQL and Redis (bench/loadtest.py).
# LOADTEST_ARGS="--configs sync:2,sync:3,sync:4,gthread:2x4" compares gunicorn settings.
loadtest: setup
	@scripts/ensure-services.sh
	scripts/with-postgres.sh uv run python -m bench.loadtest $(LOADTEST_ARGS)
