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
K8S_VERSION := v1.35.4
ETCD_VERSION := v3.6.16
CLUSTER := $(BIN)/cluster
export CHARTD_CLUSTER_BIN := $(CLUSTER)
PG_BINDIR ?= /usr/lib/postgresql/15/bin
export CHARTD_PEERS := $(PEERS)
export PATH := $(PEERS):$(PATH)

.PHONY: all build run test test-unit test-e2e tools bench fuzz vet clean postgres cluster

all: build

build:
	$(GO) build -o $(BIN)/chartd ./cmd/chartd
	$(GO) build -o $(BIN)/helm ./cmd/helm

run: build
	$(BIN)/chartd --listen-host=127.0.0.1 --port=8080 --data-dir=./data

# --- peers -------------------------------------------------------------------
tools: $(PEERS)/helm $(PEERS)/chartmuseum $(PEERS)/helm-cm-push $(PEERS)/oras postgres cluster

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
