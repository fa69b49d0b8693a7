# The two commands of the README: `make run` and `make test`.
# Everything else here is what they need; only python3 (3.11+) and make are assumed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
DEMO := .demo

.PHONY: run test test-fast test-calendar lint format bench clean demo help-catalogues

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "supportdesk needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The console and the command line only: no server stack, no test tools (so no plaintext
# keyring backend from keyrings.alt either).
$(RUN_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	@touch $(RUN_STAMP)

# Everything `make test` needs: the server extra and the dev tools.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP) $(RUN_STAMP)

$(DEMO)/supportdesk.db: | $(RUN_STAMP)
	$(BIN)/supportdesk --workspace $(DEMO) demo

demo: $(DEMO)/supportdesk.db

run: $(RUN_STAMP) $(DEMO)/supportdesk.db
	$(BIN)/supportdesk --workspace $(DEMO)

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The unit tier for the edit-test loop: no server, no subprocess, no console pilot.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not integration" $(PYTEST_ARGS)

# The unit tier and the console's date-sensitive tests a year ahead of today (Debian's faketime):
# a suite that passes only near the day its fixtures were written fails here.
test-calendar: $(STAMP)
	faketime -f '+365d' $(BIN)/python -m pytest -q -m "not integration or calendar" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy

# The help center's gettext catalogues: extract the English source text, update each language's
# .po (translate what is new), compile the .mo files that ship in the package.
HELP := src/supportdesk/server/help
help-catalogues: $(STAMP)
	cd $(HELP) && $(CURDIR)/$(BIN)/pybabel extract -F babel.cfg --no-location --omit-header -o locales/messages.pot .
	$(BIN)/pybabel update -i $(HELP)/locales/messages.pot -d $(HELP)/locales -D messages --width 100
	$(BIN)/pybabel compile -d $(HELP)/locales -D messages --statistics

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) $(DEMO) build dist src/*.egg-info .pytest_cache .ruff_cache .mypy_cache
