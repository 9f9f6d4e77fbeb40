# Kubernetes targets, included by the top-level Makefile (`-include mk/kind.mk`).
# It relies on IMAGES, IMAGE_PREFIX, TAG, PYTEST and the targets `images` and
# `venv` from that Makefile. See docs/kubernetes.md for the walkthrough.

KIND          ?= kind
KUBECTL       ?= kubectl
MINIKUBE      ?= minikube
KIND_CLUSTER  ?= voting-app
KIND_CONFIG   ?= kind/config.yaml
K8S_DIR       ?= k8s-specifications
K8S_NAMESPACE ?= vote
ROLLOUT_TIMEOUT ?= 300s

.PHONY: kind-up kind-load deploy undeploy kind-down minikube-load test-kind

kind-up: ## create the kind cluster voting-app from kind/config.yaml (reused if it exists)
	@if $(KIND) get clusters 2>/dev/null | grep -qx '$(KIND_CLUSTER)'; then \
		echo "kind cluster '$(KIND_CLUSTER)' already exists"; \
	else \
		$(KIND) create cluster --name '$(KIND_CLUSTER)' --config '$(KIND_CONFIG)' --wait 120s; \
	fi

kind-load: images ## build the images and load them into the kind cluster's node(s)
	@set -e; for name in $(IMAGES); do \
		echo "loading $(IMAGE_PREFIX)$$name:$(TAG) into kind cluster $(KIND_CLUSTER)"; \
		$(KIND) load docker-image --name '$(KIND_CLUSTER)' "$(IMAGE_PREFIX)$$name:$(TAG)"; \
	done

deploy: ## apply k8s-specifications and wait for every rollout in namespace vote
	$(KUBECTL) apply -f '$(K8S_DIR)'
	@set -e; for d in $$($(KUBECTL) -n '$(K8S_NAMESPACE)' get deployments -o name); do \
		$(KUBECTL) -n '$(K8S_NAMESPACE)' rollout status "$$d" --timeout='$(ROLLOUT_TIMEOUT)'; \
	done
	$(KUBECTL) -n '$(K8S_NAMESPACE)' get all

undeploy: ## delete everything applied by deploy (the namespace and its volumes too)
	$(KUBECTL) delete -f '$(K8S_DIR)' --ignore-not-found --wait=true

kind-down: ## delete the kind cluster
	$(KIND) delete cluster --name '$(KIND_CLUSTER)'

minikube-load: images ## build the images and load them into minikube (then `make deploy`)
	@set -e; for name in $(IMAGES); do \
		echo "loading $(IMAGE_PREFIX)$$name:$(TAG) into minikube"; \
		$(MINIKUBE) image load "$(IMAGE_PREFIX)$$name:$(TAG)"; \
	done

test-kind: venv ## run the live tests (pytest -m kind) against the kind cluster
	$(PYTEST) -m kind -rs tests/kind
