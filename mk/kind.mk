# Kubernetes targets, included by the top-level Makefile (`-include mk/kind.mk`).
# It relies on IMAGES, IMAGE_PREFIX, TAG, PYTEST and the targets `images` and
# `venv` from that Makefile. See docs/kubernetes.md for the walkthrough.
#
# They are plain kind and kubectl commands. kind and kubectl are the ones on PATH, else built from
# their Go modules. AIRGAPPED=1 is the one switch for a machine with no container registry in
# reach (kind/airgapped/README.md): kind then runs a node image built here, and kind-load also
# loads Redis and Postgres, from local stand-ins, which a cluster with a registry pulls itself.

include kind/airgapped/versions.env

KIND_CLUSTER  ?= voting-app
KIND_CONFIG   ?= kind/config.yaml
# Worker nodes beside the control plane (0: one node, as kind/config.yaml describes).
KIND_WORKERS  ?= 0
# Empty: kind's own node image (with AIRGAPPED=1: the one kind/airgapped/build makes).
KIND_NODE_IMAGE ?=
AIRGAPPED     ?=
K8S_DIR       ?= k8s-specifications
K8S_NAMESPACE ?= vote
# The values files (of the chart's folder) install-chart gives helm.
CHART_VALUES  ?= values-production.yaml
ROLLOUT_TIMEOUT ?= 300s
MINIKUBE      ?= minikube
# What kind-load-images loads: the app's images.
KIND_LOAD_IMAGES ?= $(foreach name,$(IMAGES),$(IMAGE_PREFIX)$(name):$(TAG))

# Puts kind and kubectl on PATH, built from their Go modules where they are not installed.
WITH_TOOLS = PATH="$$(kind/airgapped/build --tools-path):$$PATH"

NODE_IMAGE = image='$(KIND_NODE_IMAGE)';
ifeq ($(AIRGAPPED),1)
NODE_IMAGE = image='$(KIND_NODE_IMAGE)'; image=$${image:-$$(kind/airgapped/build)};
# The Redis and Postgres the manifests name, tagged from the local stand-ins compose uses.
K8S_REDIS_IMAGE    := $(shell sed -n 's/^ *image: \(redis:.*\)/\1/p' $(K8S_DIR)/redis.yaml | head -1)
K8S_POSTGRES_IMAGE := $(shell sed -n 's/^ *image: \(postgres:.*\)/\1/p' $(K8S_DIR)/db.yaml | head -1)
KIND_LOAD_IMAGES += $(K8S_REDIS_IMAGE) $(K8S_POSTGRES_IMAGE)
STANDINS = kind/airgapped/standins '$(K8S_REDIS_IMAGE)=$(REDIS_IMAGE)' '$(K8S_POSTGRES_IMAGE)=$(POSTGRES_IMAGE)';
endif

.PHONY: kind-node-image kind-tools kind-up kind-addons kind-load kind-load-images deploy install-chart deploy-ha promote undeploy kind-down minikube-load test-kind

##@ Kubernetes
kind-node-image: ## build the air-gapped kind node image (Kubernetes $(KUBERNETES_VERSION), no registry needed)
	kind/airgapped/build

kind-tools: ## build kind and kubectl from their Go modules unless they are on PATH
	@$(WITH_TOOLS); command -v kind kubectl

kind-up: ## create the kind cluster $(KIND_CLUSTER) from kind/config.yaml and KIND_WORKERS workers, reused if it exists
	@set -e; $(WITH_TOOLS); \
	if kind get clusters 2>/dev/null | grep -qx '$(KIND_CLUSTER)'; then echo "kind cluster '$(KIND_CLUSTER)' exists"; exit 0; fi; \
	$(NODE_IMAGE) kind/with-workers '$(KIND_CONFIG)' '$(KIND_WORKERS)' | \
		kind create cluster --name '$(KIND_CLUSTER)' --config - $${image:+--image "$$image"} --wait 180s

kind-addons: ## install metrics-server (for autoscaling) and MetalLB (for LoadBalancer Services), built from Go modules
	@$(WITH_TOOLS); kind/addons/install '$(KIND_CLUSTER)'

kind-load: images kind-load-images ## build the images and load them into the kind cluster

# One call: kind saves the images into one archive, so the layers they share go to each node once.
kind-load-images: ## load KIND_LOAD_IMAGES into the kind cluster
	@set -e; $(WITH_TOOLS); $(STANDINS) \
	kind load docker-image --name '$(KIND_CLUSTER)' $(KIND_LOAD_IMAGES)

deploy: ## apply k8s-specifications (demo Secrets only where none exists), restart what runs an older image, wait
	@$(WITH_TOOLS); K8S_DIR='$(K8S_DIR)' NAMESPACE='$(K8S_NAMESPACE)' ROLLOUT_TIMEOUT='$(ROLLOUT_TIMEOUT)' \
		tooling/deploy $(foreach name,$(IMAGES),$(name)=$(IMAGE_PREFIX)$(name):$(TAG))

install-chart: ## install the chart as an operator does in K8S_NAMESPACE: namespace, random credentials, helm upgrade --install with CHART_VALUES; HELM_ARGS go to helm
	@$(WITH_TOOLS); HELM=$(HELM) NAMESPACE='$(K8S_NAMESPACE)' CHART='$(CHART)' VALUES='$(CHART_VALUES)' \
		tooling/install-chart $(HELM_ARGS)

deploy-ha: CHART_VALUES = values-production.yaml values-ha.yaml
deploy-ha: install-chart ## install-chart in the high-availability mode (Redis under Sentinel, Postgres under Patroni)

promote: ## blue-green: send Service SERVICE (vote, result) to Deployment SERVICE-COLOR (blue, green) once it is available
	@set -e; $(WITH_TOOLS); \
	case '$(SERVICE)/$(COLOR)' in vote/blue|vote/green|result/blue|result/green) ;; \
		*) echo "usage: make promote SERVICE=vote|result COLOR=blue|green" >&2; exit 2 ;; esac; \
	kubectl -n '$(K8S_NAMESPACE)' rollout status 'deployment/$(SERVICE)-$(COLOR)' --timeout='$(ROLLOUT_TIMEOUT)'; \
	kubectl -n '$(K8S_NAMESPACE)' patch service '$(SERVICE)' --type merge -p '{"spec":{"selector":{"color":"$(COLOR)"}}}'

undeploy: ## delete everything applied by deploy (the namespace and its volumes too)
	@$(WITH_TOOLS); kubectl delete -f '$(K8S_DIR)' --ignore-not-found --wait=true

kind-down: ## delete the kind cluster (and kind's Docker network once no cluster is left)
	@set -e; $(WITH_TOOLS); kind delete cluster --name '$(KIND_CLUSTER)'; \
	if [ -z "$$(kind get clusters 2>/dev/null)" ] && docker network inspect kind >/dev/null 2>&1; then \
		docker network rm kind >/dev/null && echo "removed Docker network kind"; \
	fi

minikube-load: images ## build the images and load them into minikube (then `make deploy`)
	@set -e; for name in $(IMAGES); do \
		echo "loading $(IMAGE_PREFIX)$$name:$(TAG) into minikube"; \
		$(MINIKUBE) image load "$(IMAGE_PREFIX)$$name:$(TAG)"; \
	done

test-kind: venv ## run the live tests (pytest -m kind): they create, use and delete their own kind cluster
	$(PYTEST) -m kind tests/kind $(PYTEST_ARGS)
