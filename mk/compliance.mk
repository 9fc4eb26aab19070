# Compliance export (issue 3): the export benchmark, `make bench-export POSTS=1000000 FORMAT=csv`.
# POSTS given on the command line (or in the environment) wins; the default here is 100,000.
EXPORT_POSTS = $(if $(filter command line environment,$(origin POSTS)),$(POSTS),100000)
FORMAT ?= csv
EXPORT_BENCH_ARGS ?=

.PHONY: bench-export

bench-export: install  ## Compliance export of POSTS posts as FORMAT: posts/s, peak RSS (<= 250 MB), ratio to COPY (<= 3)
	$(BIN)/python bench/compliance_export.py --posts $(EXPORT_POSTS) --format $(FORMAT) $(EXPORT_BENCH_ARGS)

.PHONY: bench-ledger

bench-ledger: install  ## Completeness ledger cost at POSTS (1,000,000) posts/day: record, sweep, size, prune
	$(BIN)/python bench/compliance_ledger.py --posts $(if $(filter command line environment,$(origin POSTS)),$(POSTS),1000000)
