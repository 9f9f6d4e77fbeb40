# The fault-injection suite and its report, included by the top-level Makefile.
# It relies on PYTHON, PYTEST and the target `venv` from that Makefile.

RELIABILITY_JSON ?= artifacts/reliability.json

.PHONY: reliability test-faults

##@ Benchmarks and reliability
test-faults: venv ## run only the fault-injection suite (compose stack, kills and restarts)
	$(PYTEST) -m faults tests/faults $(PYTEST_ARGS)

reliability: venv ## run the fault suite and the node-loss tests (a kind cluster), rewrite the tables of docs/reliability.md
	rm -f $(RELIABILITY_JSON)
	RELIABILITY_REPORT=$(RELIABILITY_JSON) $(PYTEST) -m faults tests/faults $(PYTEST_ARGS)
	RELIABILITY_REPORT=$(RELIABILITY_JSON) $(PYTEST) -m kind tests/kind/test_node_loss.py $(PYTEST_ARGS)
	$(PYTHON) -m tests.faults.report $(RELIABILITY_JSON) docs/reliability.md
