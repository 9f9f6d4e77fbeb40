# Kubernetes targets, included by the top-level Makefile (`-include mk/kind.mk`).
# It relies on IMAGES, IMAGE_PREFIX, TAG, PYTEST and the targets `images` and
# `venv` from that Makefile. See docs/kubernetes.md for the walkthrough.
#
# kind and kubectl: the ones on PATH, else built from their Go modules (kind/node/build --tools).
# The node image: KIND_NODE_IMAGE if set; else kind's own default when a registry answers;
# else the air-gapped node image built here from Go modules and Debian packages
# (`make kind-node-image`, cached: an unchanged kind/node/ tree costs a second).

include kind/node/versions.env

KIND_CLUSTER  ?= voting-app
KIND_CONFIG   ?= kind/config.yaml
KIND_NODE_IMAGE ?=
# What `kind create cluster` runs when given no --image (kind $(KIND_VERSION)'s default).
KIND_DEFAULT_NODE_IMAGE ?= kindest/node:v1.37.0@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5
K8S_DIR       ?= k8s-specifications
K8S_NAMESPACE ?= vote
ROLLOUT_TIMEOUT ?= 300s
MINIKUBE      ?= minikube
# Official images the manifests name, and where a machine's local stand-ins come from when
# they can't be pulled (REDIS_IMAGE / POSTGRES_IMAGE, as for compose).
K8S_REDIS_IMAGE    := $(shell sed -n 's/^ *image: \(redis:.*\)/\1/p' $(K8S_DIR)/redis.yaml | head -1)
K8S_POSTGRES_IMAGE := $(shell sed -n 's/^ *image: \(postgres:.*\)/\1/p' $(K8S_DIR)/db.yaml | head -1)

# Puts the built kind and kubectl on PATH when they are not installed.
WITH_TOOLS = PATH="$$(kind/node/build --tools-path):$$PATH"

.PHONY: kind-node-image kind-tools kind-up kind-addons kind-load kind-load-images deploy promote undeploy kind-down minikube-load test-kind

##@ Kubernetes
kind-node-image: ## build the air-gapped kind node image (Kubernetes $(KUBERNETES_VERSION), no registry needed)
	kind/node/build

kind-tools: ## build kind and kubectl from their Go modules unless they are on PATH
	@$(WITH_TOOLS); command -v kind kubectl

kind-up: ## create the kind cluster voting-app from kind/config.yaml (reused if it exists)
	@set -e; $(WITH_TOOLS); \
	if kind get clusters 2>/dev/null | grep -qx '$(KIND_CLUSTER)'; then \
		echo "kind cluster '$(KIND_CLUSTER)' already exists"; exit 0; \
	fi; \
	image='$(KIND_NODE_IMAGE)'; \
	if [ -z "$$image" ] && ! docker image inspect '$(KIND_DEFAULT_NODE_IMAGE)' >/dev/null 2>&1 \
	   && ! docker pull -q '$(KIND_DEFAULT_NODE_IMAGE)' >/dev/null 2>&1; then \
		echo "no registry answers: using the air-gapped node image (make kind-node-image)"; \
		image=$$(kind/node/build); \
	fi; \
	kind create cluster --name '$(KIND_CLUSTER)' --config '$(KIND_CONFIG)' $${image:+--image "$$image"} --wait 180s

kind-addons: ## install metrics-server (for autoscaling) and MetalLB (for LoadBalancer Services), built from Go modules
	@$(WITH_TOOLS); kind/addons/install '$(KIND_CLUSTER)'

kind-load: images kind-load-images ## build the images and load them (and Redis and Postgres) into the kind cluster

# What kind-load-images loads: the app's images and the Redis and Postgres the manifests name.
KIND_LOAD_IMAGES ?= $(foreach name,$(IMAGES),$(IMAGE_PREFIX)$(name):$(TAG)) $(K8S_REDIS_IMAGE) $(K8S_POSTGRES_IMAGE)

kind-load-images: ## load KIND_LOAD_IMAGES into the kind cluster (Redis/Postgres: stand-ins where none can be pulled)
	@set -e; $(WITH_TOOLS); \
	for image in $(KIND_LOAD_IMAGES); do \
		case "$$image" in \
			'$(K8S_REDIS_IMAGE)') standin='$(REDIS_IMAGE)' ;; \
			'$(K8S_POSTGRES_IMAGE)') standin='$(POSTGRES_IMAGE)' ;; \
			*) standin= ;; \
		esac; \
		if [ -n "$$standin" ] && [ "$$standin" != "$$image" ] && ! docker image inspect "$$image" >/dev/null 2>&1 \
		   && ! docker pull -q "$$image" >/dev/null 2>&1; then \
			echo "no registry answers: loading $$standin as $$image"; \
			docker tag "$$standin" "$$image"; \
		fi; \
		echo "loading $$image into kind cluster $(KIND_CLUSTER)"; \
		kind load docker-image --name '$(KIND_CLUSTER)' "$$image"; \
	done

deploy: ## apply k8s-specifications (demo Secrets only where none exists), restart what runs an older image, wait
	@set -e; $(WITH_TOOLS); \
	for name in db redis; do \
		if kubectl -n '$(K8S_NAMESPACE)' get deployment "$$name" >/dev/null 2>&1; then \
			echo "deployment/$$name is from an older version of these manifests (now a StatefulSet):" >&2; \
			echo "see docs/kubernetes.md, 'Upgrading from db and redis Deployments'" >&2; exit 1; \
		fi; \
	done; \
	kubectl apply -f '$(K8S_DIR)/00-namespace.yaml'; \
	for f in '$(K8S_DIR)'/*-secret.yaml; do \
		secret=$$(sed -n 's/^  name: //p' "$$f" | head -1); \
		if kubectl -n '$(K8S_NAMESPACE)' get secret "$$secret" >/dev/null 2>&1; then \
			echo "secret/$$secret exists: kept (the demo values in $$f are not applied)"; \
		else \
			kubectl apply -f "$$f"; \
		fi; \
	done; \
	kubectl apply $$(for f in '$(K8S_DIR)'/*.yaml; do \
		case "$$f" in */00-namespace.yaml|*-secret.yaml) ;; *) printf -- '-f %s ' "$$f" ;; esac; done); \
	for name in $(IMAGES); do \
		want=$$(docker image inspect -f '{{.Id}}' "$(IMAGE_PREFIX)$$name:$(TAG)" 2>/dev/null || true); \
		running=$$(kubectl -n '$(K8S_NAMESPACE)' get pods -l "app=$$name" \
			-o jsonpath='{range .items[*]}{.status.containerStatuses[*].imageID}{"\n"}{end}'); \
		if [ -n "$$want" ] && [ -n "$$running" ] && echo "$$running" | grep -qv "$$want"; then \
			echo "deployment/$$name runs an older image: restarting it"; \
			kubectl -n '$(K8S_NAMESPACE)' rollout restart "deployment/$$name"; \
		fi; \
	done; \
	for d in $$(kubectl -n '$(K8S_NAMESPACE)' get deployments,statefulsets -o name); do \
		kubectl -n '$(K8S_NAMESPACE)' rollout status "$$d" --timeout='$(ROLLOUT_TIMEOUT)'; \
	done; \
	kubectl -n '$(K8S_NAMESPACE)' get all

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
