# Operations (issue 7): the local Airflow UI, settings loading, the browser test's Chromium.
# docker-compose.yaml / Dockerfile need a Docker engine (none on our machines): see docs/runbook.md.
AIRFLOW_ARGS ?=

.PHONY: airflow stop-airflow airflow-settings browser-deps test-browser

airflow: install  ## Local Airflow UI (standalone, LocalExecutor, embedded PostgreSQL) + demo workspace; AIRFLOW_ARGS="--port 8081"
	$(BIN)/python scripts/airflow_local.py start $(AIRFLOW_ARGS)

stop-airflow:  ## Stop the local Airflow started by `make airflow`
	@if [ -x $(BIN)/python ]; then $(BIN)/python scripts/airflow_local.py stop; fi

# `make stop` stops the local Airflow before the PostgreSQL it runs on.
stop: stop-airflow

airflow-settings: install  ## Load airflow_settings.yaml into the Airflow of AIRFLOW_HOME if set, else the local one
	@if [ -n "$${AIRFLOW_HOME:-}" ]; then \
	  $(BIN)/python -m mmgov.airflow_settings airflow_settings.yaml; \
	else \
	  $(BIN)/python scripts/airflow_local.py settings $(AIRFLOW_ARGS); \
	fi

browser-deps:  ## Debian's chromium for the browser test (installed in CI as root with apt; else a hint)
	@if [ -x /usr/bin/chromium ]; then \
	  echo "chromium: $$(/usr/bin/chromium --version 2>/dev/null | head -1)"; \
	elif [ "$${CI:-}" = "true" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	else \
	  echo "chromium not installed: tests marked browser will skip (sudo apt-get install chromium)"; \
	fi

test-browser: install browser-deps  ## Only the browser test of the Airflow UI (screenshots in test-artifacts/)
	$(BIN)/pytest -m browser $(PYTEST_ARGS)
