# ElasticWeb operator: kubebuilder's make verbs. Each target installs what it needs first
# (npm packages, the local control plane). `make help` lists them.

.DEFAULT_GOAL := help
SHELL := /usr/bin/env bash

# Image to build, push and deploy.
IMG ?= controller:latest
# Container tool for docker-build and docker-push: docker when its engine answers, else podman if
# installed, else Debian's buildah, which builds the Dockerfile on a local Node base with no registry
# (hack/cluster/real-node/operator-image.ts; the image then lives in the local cache, and goes into
# a running real node at once).
CONTAINER_TOOL ?= $(shell if docker info >/dev/null 2>&1; then echo docker; elif command -v podman >/dev/null; then echo podman; else echo buildah; fi)

##@ Setup

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

.PHONY: deps
deps: node_modules/.package-lock.json ## Install the npm packages (Node 24 comes as one of them).

.PHONY: native
native: deps ## Compile the malloc_trim addon into dist/native/ (src/native/; needs a C compiler, else the operator runs without it).
	npm run -s build:native

.PHONY: cluster-binaries
cluster-binaries: ## Build etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok (cached).
	bash hack/cluster/build.sh

.PHONY: real-node-deps
real-node-deps: ## Install a real node's Debian packages (apt-get, only what is missing); build kubelet, kube-proxy, CNI plugins (cached).
	bash hack/cluster/real-node/packages.sh
	bash hack/cluster/build.sh --real-node

##@ Development

.PHONY: manifests
manifests: deps ## Generate the CRD, RBAC and dashboard from src/ and hack/, then the Helm chart from config/.
	npm run manifests
	npm run helm

.PHONY: helm
helm: deps ## Generate the Helm chart in dist/chart from the kustomize tree (config/).
	npm run helm

.PHONY: helm-binary
helm-binary: ## Build helm from the Go module proxy (cached), for the chart's tests.
	bash hack/helm/build.sh

.PHONY: fmt
fmt: deps ## Format and fix the code (biome).
	npm run fmt

.PHONY: lint
lint: deps ## Type-check (tsc) and lint (biome).
	npm run typecheck
	npm run lint

.PHONY: test
test: deps cluster-binaries helm-binary real-node-deps native ## Run every test: unit, runtime, alerts, end-to-end, real node and faults, on local clusters.
	npm test

##@ Build

.PHONY: build
build: deps ## Type-check, strip the types into dist/, bundle the entry point, compile the malloc_trim addon (what the image runs; npm start runs src/ directly).
	npm run typecheck
	npm run build

.PHONY: run
run: deps native ## Run the operator against the current kubeconfig (or a local cluster), with the sample.
	npm run demo

.PHONY: docker-build
docker-build: deps ## Build the operator image IMG (with buildah and a local base when there is no Docker engine).
ifeq ($(CONTAINER_TOOL),buildah)
	npm run -s image -- $(IMG)
else
	$(CONTAINER_TOOL) build -t $(IMG) .
endif

.PHONY: docker-push
docker-push: ## Push the operator image IMG.
	$(CONTAINER_TOOL) push $(IMG)

##@ Deployment (uses the current kubeconfig)

.PHONY: install
install: deps ## Install the CRD into the cluster.
	kubectl apply --server-side -k config/crd

.PHONY: uninstall
uninstall: ## Remove the CRD (and with it every ElasticWeb and what it owns).
	kubectl delete -k config/crd --ignore-not-found

.PHONY: deploy
deploy: deps ## Deploy the operator with image IMG: namespace, CRD, RBAC, manager Deployment.
	npm run -s deploy -- $(IMG)

.PHONY: undeploy
undeploy: ## Remove everything deploy installed (the ElasticWebs first, so their children are collected while their kind still exists).
	# The garbage collector resolves an owner through discovery: once the CRD is gone it can no longer
	# look the owner up and leaves the Deployments and Services behind. Deleting the ElasticWebs in the
	# foreground first lets it collect their children while the kind is still served.
	if kubectl get crd elasticwebs.elasticweb.example.com >/dev/null 2>&1; then \
		kubectl delete elasticwebs.elasticweb.example.com --all --all-namespaces --cascade=foreground --wait --timeout=180s; \
	fi
	kubectl delete -k config/default --ignore-not-found --wait

##@ Local cluster

.PHONY: cluster-up
cluster-up: deps cluster-binaries ## Start a local full cluster in the background (kubeconfig in .cluster/).
	npm run cluster -- up --full

.PHONY: cluster-up-real
cluster-up-real: deps cluster-binaries ## Start a local cluster with one real node (root; kubeconfig in .cluster/).
	npm run cluster -- up --real

.PHONY: cluster-down
cluster-down: deps ## Stop the local cluster.
	npm run cluster -- down

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)
