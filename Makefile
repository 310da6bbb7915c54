# chartd: build, run, test and benchmark.
# Every tool a test needs is installed here, pinned, into ./bin/peers, so `make test` works on a fresh machine.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
PEERS := $(BIN)/peers
# Real Helm is pinned by its wrapper module (tools/helm3, tools/helm4): v3.22.0 and v4.3.1.
HELM_VERSION = $(eval HELM_VERSION := $(shell cd tools/helm3 && $(GO) list -f '{{.Version}}' -m helm.sh/helm/v3))$(HELM_VERSION)
HELM4_VERSION = $(eval HELM4_VERSION := $(shell cd tools/helm4 && $(GO) list -f '{{.Version}}' -m helm.sh/helm/v4))$(HELM4_VERSION)
CM_VERSION := v0.16.3
ORAS_VERSION := 1.3.2
DIST_VERSION := v3.1.2
K8S_VERSION := v1.35.4
ETCD_VERSION := v3.6.16
CLUSTER := $(BIN)/cluster
export CHARTD_CLUSTER_BIN := $(CLUSTER)
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

.PHONY: all build run test test-unit test-e2e tools bench fuzz vet clean postgres cluster ui chromium FORCE

all: build

# -s -w drops the symbol table and DWARF: about a third of the binary, and
# nothing a running server reads (panics still print file:line traces).
build: ui
	$(GO) build -trimpath -tags '$(CHARTD_TAGS)' -ldflags '$(CHARTD_LDFLAGS)' -o $(BIN)/chartd ./cmd/chartd
	$(GO) build -o $(BIN)/helm ./cmd/helm

run: build
	$(BIN)/chartd --listen-host=127.0.0.1 --port=8080 --data-dir=./data

# --- peers -------------------------------------------------------------------
# Independent targets: `make -j tools` builds the peers in parallel.
tools: $(PEERS)/helm $(PEERS)/helm4 $(PEERS)/chartmuseum $(PEERS)/helm-cm-push $(PEERS)/oras postgres \
	$(PEERS)/minio $(PEERS)/azurite-blob $(PEERS)/fake-gcs-server cluster chromium

# Real Helm, built as Helm's release builds are (its Makefile at the tag): static, -trimpath, stripped, with the
# version stamped. Helm 3 also stamps the Kubernetes version it defaults to (.Capabilities.KubeVersion, lint's
# deprecation cut-off) from its client-go, as major+1 and minor: client-go v0.37.0 gives v1.37.0. A plain
# `go install` stamps neither, and reports v1.20.0, which is not what users of the downloaded Helm see.
# Helm 4 reads client-go's version from its build info at run time, so it needs only the version stamps.
# The release's git commit is not recoverable from the module proxy, so gitCommit is left empty.
# client-go's version as "0 37 0", asked of the wrapper module once, and only by targets that need it.
HELM3_K8S = $(eval HELM3_K8S := $(subst ., ,$(subst v,,$(shell cd tools/helm3 && $(GO) list -f '{{.Version}}' -m k8s.io/client-go))))$(HELM3_K8S)
HELM3_LDFLAGS = -w -s \
	-X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) \
	-X helm.sh/helm/v3/internal/version.metadata= \
	-X helm.sh/helm/v3/internal/version.gitTreeState=clean \
	-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$(shell echo $$(($(firstword $(HELM3_K8S)) + 1))) \
	-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$(word 2,$(HELM3_K8S)) \
	-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$(shell echo $$(($(firstword $(HELM3_K8S)) + 1))) \
	-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$(word 2,$(HELM3_K8S))
HELM4_LDFLAGS = -w -s \
	-X helm.sh/helm/v4/internal/version.version=$(HELM4_VERSION) \
	-X helm.sh/helm/v4/internal/version.metadata= \
	-X helm.sh/helm/v4/internal/version.gitTreeState=clean

# Each binary depends on a file holding the flags it was built with, rewritten only when they change, so a binary
# built another way (an earlier plain `go install`) or with other flags is rebuilt, and an up-to-date one is not.
$(PEERS)/.helm.ldflags: FORCE
	@mkdir -p $(PEERS)
	@echo '$(HELM3_LDFLAGS)' | cmp -s - $@ || echo '$(HELM3_LDFLAGS)' > $@

$(PEERS)/.helm4.ldflags: FORCE
	@mkdir -p $(PEERS)
	@echo '$(HELM4_LDFLAGS)' | cmp -s - $@ || echo '$(HELM4_LDFLAGS)' > $@

# Built into a temporary name and renamed, so a test never runs a half-written binary.
$(PEERS)/helm: tools/helm3/go.mod $(PEERS)/.helm.ldflags
	cd tools/helm3 && CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(HELM3_LDFLAGS)' -o $@.tmp helm.sh/helm/v3/cmd/helm
	mv $@.tmp $@

$(PEERS)/helm4: tools/helm4/go.mod $(PEERS)/.helm4.ldflags
	cd tools/helm4 && CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(HELM4_LDFLAGS)' -o $@.tmp helm.sh/helm/v4/cmd/helm
	mv $@.tmp $@

FORCE:

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

# --- a real control plane ------------------------------------------------------
# The release tests start etcd, kube-apiserver and kube-controller-manager on 127.0.0.1
# (internal/testutil/cluster). They are built from the module proxy through pinned wrapper
# modules; without the version -X flags the apiserver reports v0.0.0-master and charts'
# kubeVersion constraints fail.
K8S_MINOR := $(word 2,$(subst ., ,$(K8S_VERSION)))
K8S_VPKG := k8s.io/component-base/version
K8S_LDFLAGS := -s -w -X $(K8S_VPKG).gitVersion=$(K8S_VERSION) -X $(K8S_VPKG).gitMajor=1 -X $(K8S_VPKG).gitMinor=$(K8S_MINOR) \
	-X $(K8S_VPKG).gitTreeState=clean -X $(K8S_VPKG).gitCommit=0000000000000000000000000000000000000000 \
	-X $(K8S_VPKG).buildDate=2026-01-01T00:00:00Z -X k8s.io/client-go/pkg/version.gitVersion=$(K8S_VERSION) \
	-X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$(K8S_MINOR)
K8S_CMDS := kube-apiserver kube-controller-manager kubectl

cluster: $(addprefix $(CLUSTER)/,$(K8S_CMDS)) $(CLUSTER)/etcd

$(addprefix $(CLUSTER)/,$(K8S_CMDS)): $(CLUSTER)/%: tools/k8s/go.mod tools/k8s/go.sum
	mkdir -p $(CLUSTER)
	cd tools/k8s && $(GO) build -ldflags "$(K8S_LDFLAGS)" -o $(CLUSTER)/$* k8s.io/kubernetes/cmd/$*

$(CLUSTER)/etcd: tools/etcd/go.mod tools/etcd/go.sum
	mkdir -p $(CLUSTER)
	cd tools/etcd && $(GO) build -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$(ETCD_VERSION)" -o $(CLUSTER)/etcd go.etcd.io/etcd/server/v3

# Tests start their own throwaway PostgreSQL (only the binaries must be
# present) and make OpenPGP keys with GnuPG.
postgres:
	@test -x $(PG_BINDIR)/initdb && command -v gpg >/dev/null || \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql-15 gnupg)

# The browser tests (test/ui) and the UI benchmark drive Debian's headless Chromium.
# After postgres: under make -j two apt-get runs would race for dpkg's lock.
chromium: postgres
	@command -v chromium >/dev/null || \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y chromium)

# --- the web UI ----------------------------------------------------------------
# web/ (Preact, marked, DOMPurify; pinned by package-lock.json) bundled by esbuild
# into internal/webui/dist, which chartd embeds. Only the npm registry is needed.
# Without it, go build embeds internal/webui/dist-fallback (a page saying so).
UI_DIST := internal/webui/dist/index.html
ui: $(UI_DIST)

$(UI_DIST): web/package.json web/package-lock.json web/build.mjs $(wildcard web/src/*)
	@command -v npm >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm)
	cd web && npm ci --no-audit --no-fund --ignore-scripts
	cd web && node build.mjs

# --- checks ------------------------------------------------------------------
vet:
	$(GO) vet ./...

test: tools ui vet
	@t0=$$(date +%s); $(GO) test -count=1 -timeout 30m ./... && echo "stage go test: $$(( $$(date +%s) - t0 )) s"
	@t0=$$(date +%s); $(MAKE) --no-print-directory fuzz && echo "stage fuzz: $$(( $$(date +%s) - t0 )) s"

# Every fuzz target in the module, briefly: the seed corpora already run in
# `go test`; this looks a little further each run. FUZZTIME=30s for longer.
# Go 1.26's fuzz coordinator can fail a target with a bare "context
# deadline exceeded" as -fuzztime ends (golang/go#75804, fixed in 1.27):
# such a run, which wrote no failing input, is run once more; a failure
# that wrote one, or any other, fails at once.
FUZZTIME ?= 2s
fuzz:
	@set -e; for d in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for t in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$d/*_test.go | sed 's/^func //'); do \
			echo "fuzz $$d $$t"; \
			out=$$($(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$d 2>&1) || \
			{ case "$$out" in *"context deadline exceeded"*) ! grep -q "Failing input written" <<<"$$out";; *) false;; esac && \
				echo "  (Go's fuzz deadline race, golang/go#75804, no input found: once more)" && \
				out=$$($(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$d 2>&1); } || { echo "$$out"; exit 1; }; \
		done; \
	done

bench: tools $(PEERS)/registry build
	@test -x /usr/bin/time || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y time)
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x -timeout 60m ./test/bench/...

clean:
	rm -rf $(BIN)
