# Mattermost's real schema (issue 18): the plans of the key queries, `make bench-plans POSTS=1000000`.
PLANS_POSTS = $(if $(filter command line environment,$(origin POSTS)),$(POSTS),1000000)
PLANS_BENCH_ARGS ?=

.PHONY: bench-plans

bench-plans: install  ## EXPLAIN the export, membership, purge and GDPR queries on POSTS (1,000,000) posts: index used
	$(BIN)/python bench/query_plans.py --posts $(PLANS_POSTS) $(PLANS_BENCH_ARGS)
