# chartd: build, run, test and benchmark.
# Every tool a test needs is installed here, pinned, into ./bin/peers, so `make test` works on a fresh machine.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
PEERS := $(BIN)/peers
HELM_VERSION := v3.22.0
CM_VERSION := v0.16.3
ORAS_VERSION := 1.3.2
DIST_VERSION := v3.1.2
MINIO_VERSION := v0.0.0-20260212201848-7aac2a2c5b7c
AZURITE_VERSION := 3.37.0
# chartd's version, stamped into the binary (chartd --version, /info).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# Build tags that leave blob drivers out, e.g. CHARTD_TAGS=nogcs,noazure
# (see cmd/chartd/drivers*.go).
CHARTD_TAGS ?=
CHARTD_LDFLAGS := -s -w -X github.com/chartd/chartd/server.Version=$(VERSION)
PG_BINDIR ?= /usr/lib/postgresql/15/bin
export CHARTD_PEERS := $(PEERS)
export PATH := $(PEERS):$(PATH)

.PHONY: all build run test test-unit test-e2e tools bench fuzz vet clean postgres

all: build

# -s -w drops the symbol table and DWARF: about a third of the binary, and
# nothing a running server reads (panics still print file:line traces).
build:
	$(GO) build -trimpath -tags '$(CHARTD_TAGS)' -ldflags '$(CHARTD_LDFLAGS)' -o $(BIN)/chartd ./cmd/chartd
	$(GO) build -o $(BIN)/helm ./cmd/helm

run: build
	$(BIN)/chartd --listen-host=127.0.0.1 --port=8080 --data-dir=./data

# --- peers -------------------------------------------------------------------
# Independent targets: `make -j tools` builds the peers in parallel.
tools: $(PEERS)/helm $(PEERS)/chartmuseum $(PEERS)/helm-cm-push $(PEERS)/oras postgres \
	$(PEERS)/minio $(PEERS)/azurite-blob $(PEERS)/fake-gcs-server

$(PEERS)/helm:
	mkdir -p $(PEERS)
	GOBIN=$(PEERS) $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

# The module proxy refuses version lists for these, so each is built from a pinned wrapper module (tools/<name>).
$(PEERS)/chartmuseum: tools/chartmuseum/go.mod
	mkdir -p $(PEERS)
	cd tools/chartmuseum && GOFLAGS=-mod=mod GONOSUMDB=github.com/helm/chartmuseum $(GO) build -o $(PEERS)/chartmuseum helm.sh/chartmuseum/cmd/chartmuseum

$(PEERS)/helm-cm-push: tools/helm-cm-push/go.mod
	mkdir -p $(PEERS)
	cd tools/helm-cm-push && GOFLAGS=-mod=mod $(GO) build -o $(PEERS)/helm-cm-push github.com/chartmuseum/helm-push/cmd/helm-cm-push

$(PEERS)/oras: tools/oras/go.mod
	mkdir -p $(PEERS)
	cd tools/oras && GOFLAGS=-mod=mod $(GO) build -ldflags "-X oras.land/oras/internal/version.Version=$(ORAS_VERSION)" -o $(PEERS)/oras oras.land/oras/cmd/oras

# Object storage servers the storage drivers are tested against (S3, Azure
# Blob, GCS); the tests start them on 127.0.0.1 themselves.
$(PEERS)/minio:
	mkdir -p $(PEERS)
	GOBIN=$(PEERS) $(GO) install github.com/minio/minio@$(MINIO_VERSION)

$(PEERS)/azurite-blob:
	@command -v npm >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm)
	mkdir -p $(PEERS)/azurite
	npm install --prefix $(PEERS)/azurite --no-audit --no-fund --no-save azurite@$(AZURITE_VERSION)
	ln -sfn azurite/node_modules/.bin/azurite-blob $@

$(PEERS)/fake-gcs-server: tools/fake-gcs-server/go.mod
	mkdir -p $(PEERS)
	cd tools/fake-gcs-server && GOFLAGS=-mod=mod $(GO) build -o $@ github.com/fsouza/fake-gcs-server

$(PEERS)/registry:
	mkdir -p $(PEERS)
	GOBIN=$(PEERS) $(GO) install github.com/distribution/distribution/v3/cmd/registry@$(DIST_VERSION)

# Tests start their own throwaway PostgreSQL (only the binaries must be
# present) and make OpenPGP keys with GnuPG.
postgres:
	@test -x $(PG_BINDIR)/initdb && command -v gpg >/dev/null || \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql-15 gnupg)

# --- checks ------------------------------------------------------------------
vet:
	$(GO) vet ./...

test: tools vet
	$(GO) test -count=1 -timeout 20m ./...

bench: tools $(PEERS)/registry build
	@test -x /usr/bin/time || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y time)
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x -timeout 60m ./test/bench/...

clean:
	rm -rf $(BIN)
