# Retention (issue 5): the soft-delete benchmark, `make bench-purge POSTS=1000000`.
# POSTS given on the command line (or in the environment) wins; the default here is 1,000,000
# (mk/synth.mk has its own POSTS default for `make seed`, which must not leak into this target).
PURGE_POSTS = $(if $(filter command line environment,$(origin POSTS)),$(POSTS),1000000)
PURGE_BENCH_ARGS ?=

.PHONY: bench-purge

bench-purge: install  ## Soft-delete POSTS (1,000,000) expired posts with the real purge code under concurrent writes
	$(BIN)/python bench/retention_purge.py --posts $(PURGE_POSTS) $(PURGE_BENCH_ARGS)
