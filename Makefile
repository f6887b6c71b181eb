# Book Commerce: `make run` serves the embedded default, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi:app

.PHONY: run test contract worker migrate seed lint format clean bench loadtest

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade --quiet pip

$(VENV)/.installed: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

instance/.seeded: $(VENV)/.installed
	mkdir -p instance
	$(BIN)/flask db upgrade
	$(BIN)/flask seed demo
	touch $@

migrate: $(VENV)/.installed
	$(BIN)/flask db upgrade

seed: $(VENV)/.installed
	$(BIN)/flask seed demo

run: $(VENV)/.installed instance/.seeded
	$(BIN)/flask db upgrade
	$(BIN)/flask run --host 127.0.0.1 --port 5000

worker: $(VENV)/.installed
	$(BIN)/flask jobs worker

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The API's contract, from outside: schemathesis against a live server (see tests/api/live_contract.py).
contract: $(VENV)/.installed-dev
	$(BIN)/python tests/api/live_contract.py

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.installed
	$(BIN)/python bench/run.py

loadtest: $(VENV)/.installed
	$(BIN)/python bench/loadtest.py

clean:
	rm -rf $(VENV) instance/.seeded .pytest_cache .ruff_cache
