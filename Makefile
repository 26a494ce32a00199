# drover — `make up` and `make test` work on a fresh machine: they install what is missing.
SHELL := /bin/bash
.DEFAULT_GOAL := help
ARCH := $(shell uname -m | sed -e 's/x86_64/x64/' -e 's/aarch64/arm64/')
OS := $(shell uname -s | tr A-Z a-z)
export PATH := $(CURDIR)/.tools/node_modules/node-$(OS)-$(ARCH)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
JEST := node --experimental-vm-modules --disable-warning=ExperimentalWarning node_modules/jest/bin/jest.js
# Extra arguments for jest, e.g. `make test JEST_ARGS=test/unit`.
JEST_ARGS ?=

.PHONY: help up test test-unit build deps node docker-deps etcd-deps test-image lint typecheck gen bench clean

help:
	@echo "make up      install what is needed, start a manager and apply the quickstart"
	@echo "make test    install what is needed and run every test"
	@echo "make build   install Node.js 24 (if needed) and dependencies, type-check"
	@echo "make lint    type-check and check the layering rules"
	@echo "make bench   run the store/API benchmark"
	@echo "make bench-gitops  GitOps: converge 1,000 objects, a 100-object commit, 100 repositories"
	@echo "make bench-store  SQLite vs etcd: writes/s, watch latency, failover"

node:
	@./scripts/ensure-node.sh

# dockerd, busybox-static and docker-compose for the tests that start private Docker engines.
docker-deps:
	@./scripts/ensure-docker.sh

# etcd-server and etcd-client for the tests that start private etcd members (store contract, HA, migration).
etcd-deps:
	@./scripts/ensure-etcd.sh

# The busybox test image (drover-test:latest) in the engine of $$DOCKER_HOST, for the Docker examples.
test-image: docker-deps
	./scripts/build-test-image.sh

node_modules/.installed: package.json package-lock.json | node
	@# npm install (not ci): it installs the lockfile's exact versions, and npm ci rejects locks
	@# that lack other platforms' optional packages, as this registry setup writes them.
	npm install --no-audit --no-fund --loglevel=error
	@touch $@

deps: node node_modules/.installed

build: deps typecheck

typecheck: deps
	tsc --noEmit -p tsconfig.json

lint: typecheck
	node scripts/check-layers.ts

gen: deps
	node scripts/gen-types.ts

up: deps
	./bin/drover up

test: deps docker-deps etcd-deps lint
	$(JEST) --ci --json --outputFile=.jest-results.json $(JEST_ARGS)

test-unit: deps etcd-deps
	$(JEST) test/unit test/contract $(JEST_ARGS)

bench: deps
	node bench/api-bench.ts
	node bench/tasks-bench.ts
	node bench/scheduler-bench.ts
	node bench/agents-bench.ts

# drover vs docker-compose vs Swarm on private Docker engines (needs root); prints Markdown tables.
.PHONY: bench-docker
bench-docker: deps docker-deps
	node bench/docker-bench.ts --sizes 20,100 --runs 3

# GitOps: converge 1,000 objects from a fresh repository, then a commit changing 100, a no-op sync, 100 repositories.
.PHONY: bench-gitops
bench-gitops: deps
	node bench/gitops-bench.ts --objects 1000 --files 100 --changed 100 --repos 100 --per-repo 10

# SQLite vs etcd (three members on loopback, two managers): writes/s, watch latency p99, failover; a Markdown table.
.PHONY: bench-store
bench-store: deps etcd-deps
	node bench/store-bench.ts --objects 2000 --watchers 20 --paced 200 --ttl 3,10 --failovers 3

clean:
	rm -rf node_modules .tools .drover-data .jest-results.json
