# Book Commerce: `make run` serves the embedded default, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi:app
# `make run PORT=5050`: links in emails follow the port, unless BASE_URL is set (environment or make).
PORT ?= 5000
BASE_URL ?= http://127.0.0.1:$(PORT)
export BASE_URL

.PHONY: run test cluster screenshots contract worker migrate seed lint format clean bench loadtest mutation mutation-report security lighthouse deploy-check

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
	$(BIN)/flask run --host 127.0.0.1 --port $(PORT)

worker: $(VENV)/.installed
	$(BIN)/flask jobs worker

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The system as it is deployed on several machines, on this one: PgBouncer, two app instances on
# 127.0.0.2 and 127.0.0.3, two workers and nginx (deploy/nginx.conf) in front; Ctrl-C stops it all.
# Needs PostgreSQL, Redis, nginx and pgbouncer; settings in scripts/cluster.py (CLUSTER_PORT=8170).
cluster: $(VENV)/.installed-dev
	$(BIN)/python scripts/cluster.py

# The pictures in docs/screenshots/ (desktop, and phone for the main pages), retaken by the browser
# journeys; a plain `make test` leaves them alone.
screenshots: $(VENV)/.installed-dev
	BC_SCREENSHOTS=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/e2e/test_*_journey.py

# Mutation testing of the money modules (not in CI; see docs/testing.md). Two children by default:
# `make mutation MUTATION_CHILDREN=4`, or one module: `make mutation MUTANTS='app.donations.fund.*'`.
MUTATION_CHILDREN ?= 2
MUTANTS ?=

$(VENV)/.installed-mutation: requirements-mutation.txt $(VENV)/.installed-dev
	$(BIN)/pip install --quiet -r requirements-mutation.txt
	touch $@

mutation: $(VENV)/.installed-mutation
	$(BIN)/mutmut run --max-children $(MUTATION_CHILDREN) $(MUTANTS)
	$(BIN)/python scripts/mutation_report.py

mutation-report: $(VENV)/.installed-mutation
	$(BIN)/python scripts/mutation_report.py

# The API's contract, from outside: schemathesis against a live server (see tests/api/live_contract.py).
contract: $(VENV)/.installed-dev
	$(BIN)/python tests/api/live_contract.py

# The deployment files with the tools that read them (also part of `make test`): kubernetes-validate
# (deploy/k8s/, Kubernetes 1.34), hadolint and the Dockerfile's install step in a fresh virtualenv,
# promtool check/test rules (deploy/prometheus/; Debian package prometheus), the Grafana dashboard's
# queries against /metrics. REDIS_URL is needed for the queue metrics and the scheduler.
deploy-check: $(VENV)/.installed-dev
	$(BIN)/kubernetes-validate --strict -k 1.34.0 deploy/k8s/*.yaml deploy/k8s/example/*.yaml
	$(BIN)/hadolint Dockerfile
	promtool check rules deploy/prometheus/alerts.yml
	promtool test rules deploy/prometheus/alerts_test.yml
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/deploy $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Pages loaded with wrk (Debian package); BENCH_SECTIONS=pages,import,... reruns a part (bench/README.md).
bench: $(VENV)/.installed
	@command -v wrk >/dev/null || { echo "make bench needs wrk: apt-get install wrk"; exit 1; }
	$(BIN)/python bench/run.py

loadtest: $(VENV)/.installed
	$(BIN)/python bench/loadtest.py

# Not CI: bandit over app/ and wapiti3 against a running, logged-in app (about 15 minutes);
# reports in reports/, the figures in docs/security.md. Exits 1 on a finding of medium or more.
SECURITY_VENV := .venv-security
$(SECURITY_VENV)/.installed: requirements-security.txt
	$(PYTHON) -m venv $(SECURITY_VENV)
	$(SECURITY_VENV)/bin/pip install --upgrade --quiet pip
	$(SECURITY_VENV)/bin/pip install --quiet -r requirements-security.txt
	touch $@

security: $(VENV)/.installed $(SECURITY_VENV)/.installed
	$(BIN)/python security/scan.py

clean:
	rm -rf $(VENV) $(SECURITY_VENV) instance/.seeded .pytest_cache .ruff_cache mutants

# Lighthouse scores of the demo site, signed out and in (not in CI; needs Chromium and npm).
tools/lighthouse/node_modules/.installed: tools/lighthouse/package.json tools/lighthouse/package-lock.json
	cd tools/lighthouse && npm ci --no-audit --no-fund
	touch $@

lighthouse: $(VENV)/.installed tools/lighthouse/node_modules/.installed
	CHROME_PATH=$${CHROME_PATH:-/usr/bin/chromium} $(BIN)/python tools/lighthouse/run.py $(LIGHTHOUSE_ARGS)
