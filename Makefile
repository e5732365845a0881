# make run   - set up on SQLite and start the web server (port 8000, or PORT=...) and a worker
#              (Ctrl-C stops both)
# make test  - set up and run every test: a SQLite pass, then a PostgreSQL pass
# make messages - regenerate every translation catalogue (.po) and compile them (.mo); needs GNU gettext
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
ALIASES := default orders payments inventory
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/sagas
PYTEST_ARGS ?=
# The apps with a catalogue of their own (<app>/locale); the project's templates and sagaproject/*.py
# share sagaproject/locale (LOCALE_PATHS).
LOCALE_APPS := orders payments inventory sagas
LANGS := ja
# The settings default to production (DEBUG off, SECRET_KEY required). These targets set up and
# run a development site, so they turn DEBUG on unless it is given (`make run DEBUG=0`, or exported).
run setup seed migrate messages: export DEBUG ?= 1
# The web server's port: `make run PORT=8123` or `PORT=8123 make run`. honcho gives every process
# a PORT of its own (5000, 5100, ...), so the Procfile reads WEB_PORT, which honcho leaves alone.
PORT ?= 8000

.PHONY: run test test-sqlite test-postgres setup install migrate seed lint format browsers clean messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	@mkdir -p "$${DATA_DIR:-var}" && printf '# Written by make setup: the development site that make run serves.\nDEBUG=%s\n' "$$DEBUG" > "$${DATA_DIR:-var}/development.env"
	@for alias in $(ALIASES); do $(BIN)/python manage.py migrate --database=$$alias --verbosity=0 || exit 1; done
	@$(BIN)/python manage.py createcachetable --database=default
	@echo "migrated: $(ALIASES)"

seed: migrate
	$(BIN)/python manage.py seed_demo

setup: seed

run: setup
	$(BIN)/python manage.py check
	WEB_PORT=$(PORT) $(BIN)/honcho start -f Procfile

test: test-sqlite test-postgres

test-sqlite: install
	env -u DATABASE_URL -u ORDERS_DATABASE_URL -u PAYMENTS_DATABASE_URL -u INVENTORY_DATABASE_URL \
		$(BIN)/pytest -m "not postgres" $(PYTEST_ARGS)

test-postgres: install
	@if $(BIN)/python -m sagaproject.pgcheck "$${DATABASE_URL:-$(PG_TEST_URL)}"; then \
		DATABASE_URL="$${DATABASE_URL:-$(PG_TEST_URL)}" $(BIN)/pytest $(PYTEST_ARGS); \
	elif [ -n "$$CI" ]; then echo "PostgreSQL is not reachable and CI never skips its tests." >&2; exit 1; \
	else echo "PostgreSQL is not reachable: its test pass is skipped (CI refuses to skip it)."; fi

# Each app from its own directory, so its strings land in <app>/locale; then the project catalogue
# from the root without the apps. The .mo files are committed: a fresh machine needs no gettext.
messages: install
	@for app in $(LOCALE_APPS); do \
		(cd $$app && mkdir -p locale && for lang in $(LANGS); do \
			../$(BIN)/python ../manage.py makemessages -l $$lang --no-obsolete --ignore='tests/*' --ignore='migrations/*' || exit 1; \
			if [ -f locale/$$lang/LC_MESSAGES/djangojs.po ]; then \
				../$(BIN)/python ../manage.py makemessages -d djangojs -l $$lang --no-obsolete --ignore='tests/*' || exit 1; fi; \
		done) || exit 1; \
	done
	@for lang in $(LANGS); do \
		$(BIN)/python manage.py makemessages -l $$lang --no-obsolete $(foreach app,$(LOCALE_APPS),--ignore='$(app)/*') \
			--ignore='sagaproject/tests/*' --ignore='var/*' --ignore='artifacts/*' --ignore='docs/*' --ignore='staticfiles/*' \
			|| exit 1; \
	done
	$(BIN)/python manage.py compilemessages $(foreach lang,$(LANGS),-l $(lang)) --ignore='.venv/*' --ignore='var/*'

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf var/*.sqlite3* artifacts .pytest_cache
