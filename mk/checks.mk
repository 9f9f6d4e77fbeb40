# Checks beyond Python's, included by the top-level Makefile.
# - checkov, the manifest and workflow scanner, in its own virtualenv (its dependencies would clash
#   with the app's): `make test` installs it and runs the scan among the tests (marker `scan`);
#   every check it skips is justified in tooling/scan/checkov.yaml.
# - `make lint` also runs actionlint on the CI workflows (built from its Go module) and shellcheck
#   (Debian: apt-get install shellcheck) on every shell script in the repository.
SCAN_VENV ?= .venv-scan
# Every tracked file whose first line names bash or sh.
SHELL_SCRIPTS = $(shell git ls-files -z | xargs -0 awk 'FNR == 1 && /^\#!.*(bash|\/sh)/ {print FILENAME} {nextfile}')

.PHONY: scan scan-venv lint-workflows lint-shell

$(SCAN_VENV)/.installed: tooling/scan/requirements.txt
	test -x $(SCAN_VENV)/bin/python || python3 -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install -q --disable-pip-version-check -r tooling/scan/requirements.txt
	touch $@

##@ Checks
scan-venv: $(SCAN_VENV)/.installed ## install checkov into its own virtualenv

scan: venv scan-venv ## scan the Kubernetes manifests and the CI workflows with checkov
	$(PYTEST) -m scan -q

test: scan-venv

lint: lint-workflows lint-shell

lint-workflows: ## actionlint on .github/workflows (built from its Go module, cached)
	"$$(tooling/go-tool github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION))" -no-color -oneline

lint-shell: ## shellcheck on every shell script
	@command -v shellcheck >/dev/null || { echo "lint needs shellcheck: apt-get install shellcheck" >&2; exit 1; }
	shellcheck -x -P SCRIPTDIR $(SHELL_SCRIPTS)
