# GDPR export (issue 6): the export benchmark, `make bench-gdpr POSTS=1000000`.
# POSTS given on the command line (or in the environment) wins; the default here is 100,000
# (mk/synth.mk has its own POSTS default for `make seed`, which must not leak into this target).
GDPR_POSTS = $(if $(filter command line environment,$(origin POSTS)),$(POSTS),100000)
GDPR_BENCH_ARGS ?=

.PHONY: bench-gdpr

bench-gdpr: install  ## Whole-workspace GDPR export of POSTS posts: records/s, peak RSS (<= 250 MB), ratio to COPY (<= 4)
	$(BIN)/python bench/gdpr_export.py --posts $(GDPR_POSTS) $(GDPR_BENCH_ARGS)
