# Synthetic workspace: `make seed POSTS=100000`, `make bench-synth POSTS=1000000`.
POSTS ?= 100000

.PHONY: seed bench-synth
seed: install  ## Seed database `mattermost` with a synthetic workspace (POSTS=N), files under .mmgov/filestore
	$(BIN)/python -m mmgov_dev.synth --posts $(POSTS) --file-root .mmgov/filestore

bench-synth: install  ## Time generating + COPY-loading POSTS posts (target: 1,000,000 in < 60 s)
	$(BIN)/python bench/synth.py --posts $(POSTS)
