# Benchmarks and demo data, included by the top-level Makefile. See docs/benchmarks.md.
#   make bench            the five measurements -> docs/benchmarks.md + docs/benchmarks.json
#   make bench QUICK=1    small sizes (CI, about a minute once images are built) -> artifacts/bench-quick/
#   make seed             a few thousand votes against `make up`'s stack (its published ports)

SEED_VOTERS ?= 3000
SEED_CONCURRENCY ?= 16

.PHONY: bench seed

##@ Benchmarks and reliability
bench: venv ## benchmarks against the compose stack (QUICK=1: small sizes, as CI runs them)
	@command -v wrk >/dev/null || { echo "bench needs wrk: apt-get install wrk" >&2; exit 1; }
	$(PYTHON) -m bench $(if $(QUICK),--quick --command "make bench QUICK=1",--command "make bench")

seed: venv ## cast SEED_VOTERS votes (20% change their mind) on the app from `make up`, wait for the totals
	PYTHONPATH=common $(PYTHON) -m loadgen --vote-url $(call published,vote) --result-url $(call published,result) \
		--voters $(SEED_VOTERS) --concurrency $(SEED_CONCURRENCY) --wait
