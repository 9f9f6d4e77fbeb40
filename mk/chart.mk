# The Helm chart charts/voting-app, the one hand-written source of the deployment, included by the
# top-level Makefile. k8s-specifications/ is rendered from it (`make manifests`); the tests fail
# when the two differ (tests/k8s/test_render.py). helm is built from its Go module (tooling/go-tool).
CHART ?= charts/voting-app
HELM = "$$(tooling/go-tool helm.sh/helm/v4/cmd/helm@$(HELM_VERSION))"

.PHONY: manifests bump chart-lint helm

##@ Kubernetes
manifests: venv ## render k8s-specifications/ and compose's .env from the chart (after any change under charts/)
	$(PYTHON) -m tooling.manifests

bump: venv ## one version, everywhere: make bump WHAT=app|redis|postgres|python|kubernetes|<go tool> TO=<version>
	$(PYTHON) -m tooling.bump $(WHAT) $(TO)

chart-lint: ## helm lint --strict with the default and the production values
	$(HELM) lint --strict $(CHART)
	$(HELM) lint --strict $(CHART) -f $(CHART)/values-production.yaml

helm: ## print the path of the helm binary (built from its Go module on first use)
	@echo $(HELM)
