# Governance console (issue 21): page load times, `make bench-console POSTS=1000000`; the browser test.
CONSOLE_POSTS = $(if $(filter command line environment,$(origin POSTS)),$(POSTS),1000000)

.PHONY: bench-console test-console-ui

bench-console: install  ## Load every Governance console page on a POSTS (1,000,000) workspace: each under 1 s
	$(BIN)/python bench/console_pages.py --posts $(CONSOLE_POSTS)

test-console-ui: install  ## The Governance console in Airflow's UI (Chromium + Playwright); screenshots in test-artifacts/governance-ui
	$(BIN)/pytest tests/ops/test_governance_ui.py -q
