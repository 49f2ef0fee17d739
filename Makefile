# ElasticWeb operator. Each target installs what it needs first (npm packages, the local control plane).
# Run `make help` for the list.

.DEFAULT_GOAL := help
SHELL := /usr/bin/env bash

##@ Setup

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

.PHONY: deps
deps: node_modules/.package-lock.json ## Install the npm packages (Node 24 comes as one of them).

.PHONY: cluster-binaries
cluster-binaries: ## Build etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok (cached).
	bash hack/cluster/build.sh

##@ Development

.PHONY: fmt
fmt: deps ## Format and fix the code.
	npm run fmt

.PHONY: lint
lint: deps ## Type-check and lint.
	npm run typecheck
	npm run lint

.PHONY: test
test: deps cluster-binaries ## Run every test (unit, and end-to-end on local clusters).
	npm test

##@ Local cluster

.PHONY: cluster-up
cluster-up: deps cluster-binaries ## Start a local full cluster in the background (kubeconfig in .cluster/).
	npm run cluster -- up --full

.PHONY: cluster-down
cluster-down: deps ## Stop the local cluster.
	npm run cluster -- down

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)
