# Facegate: `make run` sets everything up and serves the site on 127.0.0.1:8000;
# `make test` runs the test suite.

PYTHON ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check install browser models clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

models: install
	$(BIN)/python manage.py prepare_models

run: models
	$(BIN)/python manage.py serve 127.0.0.1:$(PORT)

# Debian's Chromium for the browser tests; Playwright drives it, it does not download one.
browser:
	@command -v chromium >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

# Lint and a migration check first: a model change without its migration fails CI.
check: install
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run

test: check models browser
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) var
