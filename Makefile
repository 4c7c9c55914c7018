# Everything goes through the project's own virtual environment, created on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 4003

.DEFAULT_GOAL := help
.PHONY: help system run serve-prod test test-failover test-browser test-image image screenshots fuzz lint fmt migrate superuser seed bench bench-flat clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

# A line per step and pip's own progress (what it collects, downloads and installs): the first
# run takes a minute or more on a fresh machine, and it should never look stuck.
$(STAMP): pyproject.toml
	@echo "==> [1/3] Creating the virtual environment $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	@echo "==> [2/3] Upgrading pip in $(VENV)"
	$(BIN)/pip install --quiet --upgrade pip
	@echo "==> [3/3] Installing the project and its development tools (pyproject.toml) into $(VENV)"
	$(BIN)/pip install --progress-bar on -e '.[dev]'
	@touch $(STAMP)
	@echo "==> $(VENV) is ready"

.env:
	$(PYTHON) crm/crypto/devkeys.py > .env
	@echo "Generated development keys in .env (git-ignored; keep it to read your data again)."

run: $(STAMP) .env ## Serve on 127.0.0.1:4003 with SQLite (creates .venv, .env keys, migrates)
	@echo "==> Applying database migrations"
	$(BIN)/python manage.py migrate --noinput
	@echo "==> Collecting the admin's static files"
	$(BIN)/python manage.py collectstatic --noinput -v0
	@echo "==> Serving on http://127.0.0.1:$(PORT)/ (Ctrl-C stops)"
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

serve-prod: $(STAMP) .env ## nginx (deploy/nginx/) on 127.0.0.1:PORT before gunicorn, + relay if EVENTS_ENABLED; Ctrl-C stops
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/python deploy/serve_prod.py --port $(PORT)

system: ## Install/start what the tests use: Chromium, PostgreSQL, RabbitMQ (.ci/system-packages)
	@.ci/system-packages

test: $(STAMP) system ## Run the whole test suite (SQLite, or PostgreSQL when DATABASE_URL is set)
	$(BIN)/pytest -q -n 2 -m "not image"

test-image: $(STAMP) system ## Build the container image and run it against PostgreSQL and RabbitMQ (tests/test_image.py)
	$(BIN)/pytest -q -s -m image tests/test_image.py

FAILOVER_ROUNDS ?= 2
FAILOVER_NODE_ROUNDS ?= 1
test-failover: $(STAMP) system ## Kill a pg_auto_failover primary under load FAILOVER_ROUNDS (2) times, then its whole node FAILOVER_NODE_ROUNDS (1)
	FAILOVER_ROUNDS=$(FAILOVER_ROUNDS) FAILOVER_NODE_ROUNDS=$(FAILOVER_NODE_ROUNDS) $(BIN)/pytest -q -s -m failover tests/test_failover.py

test-browser: $(STAMP) system ## Run only the admin browser tests (headless Chromium); screenshots in artifacts/
	$(BIN)/pytest -q -m browser

screenshots: $(STAMP) ## Run the browser tests and refresh the committed docs/screenshots/ (then review and commit)
	CRM_REFRESH_SCREENSHOTS=1 $(BIN)/pytest -q -m browser

# --- The container image (Containerfile, docs/operations.md "Deploy: the container image") ------
# BASE_IMAGE is used when present or pullable; otherwise deploy/container/base-image builds
# LOCAL_BASE_IMAGE from Debian packages (debootstrap) once and reuses it. deploy/container/podman
# adds the flags this machine needed (runc, explicit ulimits, host network for the build).
IMAGE_VERSION ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
BASE_IMAGE ?= docker.io/library/python:3.11-slim-bookworm
LOCAL_BASE_IMAGE ?= localhost/crm-base:bookworm
IMAGE ?= localhost/crm
PODMAN := deploy/container/podman
image: ## Build the container image localhost/crm:IMAGE_VERSION (and :latest); a local Debian base when BASE_IMAGE cannot be pulled
	@base=$$(deploy/container/base-image $(BASE_IMAGE) $(LOCAL_BASE_IMAGE)) && \
	echo "image: building $(IMAGE):$(IMAGE_VERSION) on $$base" && \
	$(PODMAN) build --build-arg BASE_IMAGE=$$base --build-arg VERSION=$(IMAGE_VERSION) \
		-t $(IMAGE):$(IMAGE_VERSION) -t $(IMAGE):latest -f Containerfile .

FUZZ_EXAMPLES ?= 500
fuzz: $(STAMP) ## Long schema fuzzing pass: schemathesis coverage phase + FUZZ_EXAMPLES (500)/operation
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_COVERAGE=true $(BIN)/pytest -q -n 2 tests/test_schema_fuzz.py

HOLDERS ?= 10000
BENCH_SECONDS ?= 10
BENCH_SOAK ?= 60
BENCH_ALONE ?= 3
# Medians over this many interleaved rounds: on a shared 2-core machine single rounds ranged
# from 50% to 101% of each other, and a median of 3 or 5 still moved with one disturbed round.
BENCH_PAIR_ROUNDS ?= 7
BENCH_EVENT_ROUNDS ?= 9
BENCH_JSON ?= artifacts/bench-$(HOLDERS).json
# The benchmark's own PostgreSQL server (files kept between runs) and gunicorn's port: give a
# second checkout its own three when two benchmarks may run on one machine.
BENCH_PG_DIR ?= /var/tmp/crm-bench-pg
BENCH_PG_PORT ?= 5499
BENCH_PORT ?= 4093
bench: $(STAMP) ## Load HOLDERS (10000) through the importer, serve with gunicorn, measure every endpoint (PostgreSQL)
	@mkdir -p $(dir $(BENCH_JSON))
	$(BIN)/python -m bench.run --holders $(HOLDERS) --seconds $(BENCH_SECONDS) --soak-seconds $(BENCH_SOAK) --alone-seconds $(BENCH_ALONE) --pair-rounds $(BENCH_PAIR_ROUNDS) --event-rounds $(BENCH_EVENT_ROUNDS) --pg-dir $(BENCH_PG_DIR) --pg-port $(BENCH_PG_PORT) --port $(BENCH_PORT) --json $(BENCH_JSON)

bench-flat: $(STAMP) ## After `make bench` at 10k and 1M: every list/search p50 alone, both sizes alternately (the flatness target)
	@mkdir -p artifacts
	$(BIN)/python -m bench.flat --rounds 5 --pg-dir $(BENCH_PG_DIR) --pg-port $(BENCH_PG_PORT) --port $(BENCH_PORT) --json artifacts/bench-flat.json

lint: $(STAMP) ## ruff check + format check, Django checks, migrations up to date
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python manage.py check
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python manage.py makemigrations --check --dry-run

fmt: $(STAMP) ## Format and auto-fix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate: $(STAMP) .env ## Apply migrations
	$(BIN)/python manage.py migrate --noinput

superuser: $(STAMP) .env ## Create an admin user (interactive)
	$(BIN)/python manage.py createsuperuser

seed: $(STAMP) .env ## Fill a few organizations with demo data
	$(BIN)/python manage.py seed_demo

clean: ## Remove the virtual environment and caches (keeps .env and the database)
	rm -rf $(VENV) .pytest_cache .ruff_cache
