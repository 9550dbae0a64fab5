# The two commands of the README:
#   make run   installs everything and serves the platform with demo data (embedded default)
#   make test  installs what the tests need and runs the whole suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_WORKERS ?= 2

.PHONY: run test install install-test serve migrate demo schema console clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py populatedb

run: demo
	@$(MAKE) --no-print-directory serve

# The web server and, beside it, the periodic work (manage.py run_periodic: the beat schedule
# run in-process, no broker); Ctrl-C stops both.
serve:
	@echo "Core API and GraphiQL:       http://$(HOST):$(PORT)/graphql/"
	@echo "Storefront API and GraphiQL: http://$(HOST):$(PORT)/storefront/graphql/"
	@echo "Merchant console:            http://$(HOST):$(PORT)/console/"
	@echo "Staff console (admin):       http://$(HOST):$(PORT)/admin/"
	@$(PY) manage.py run_periodic & scheduler=$$!; \
	trap 'kill $$scheduler 2>/dev/null; wait $$scheduler; exit 0' INT TERM EXIT; \
	$(PY) manage.py runserver $(HOST):$(PORT)

test: install-test
	$(PY) -m pytest -n $(PYTEST_WORKERS) -q -rs

schema: install
	$(PY) manage.py print_schemas

# The merchant console (console/, React + Vite): typed operations from the core schema, then the bundle
# committed under backend/core/static/console/ with the hash of its sources. Needs Node 20 and npm;
# `make run` does not (it serves the committed bundle).
console: install
	npm ci --prefix console --no-audit --no-fund --silent
	npm run --prefix console build
	$(PY) console/source_hash.py --write

clean:
	rm -rf $(VENV) db.sqlite3 media private-media static
