# berth — see README.md. Every target that needs root or the testbed says so.
SHELL      := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO         ?= go
BIN        := $(CURDIR)/bin
VERSION    ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS    := -X main.version=$(VERSION)
TESTBED    := $(BIN)/testbed
# Name of the testbed the integration tests boot; several can run at once.
TESTBED_NAME ?= berth-it
PREFIX     ?= /usr
DESTDIR    ?=
UNIT_PKGS   = $$($(GO) list ./... | grep -v /test/integration)

.PHONY: all deps build images test test-unit test-integration bench bench-deps demo install lint clean

all: build

deps:
	@contrib/install-deps.sh

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/berth ./cmd/berth
	$(GO) build -o $(TESTBED) ./contrib/testbed

# Offline test images from Debian's busybox-static (contrib/images).
images: deps
	$(GO) run ./contrib/images -o $(BIN)/images

# All tiers: unit (no root needed) and integration (root, in the testbed).
test: lint test-unit test-integration

# Unit tests: pure logic; the few that need root say so and skip without it.
test-unit:
	$(GO) test -count=1 $(UNIT_PKGS)

# Integration tests: root; boots the testbed (real systemd in
# systemd-nspawn), runs the tests inside, tears it down, then checks the
# host is clean.
test-integration: deps build images
	$(GO) test -c -o $(BIN)/integration.test ./test/integration
	BERTH_BIN=$(BIN)/berth BERTH_IMAGES=$(BIN)/images \
	  $(TESTBED) run $(TESTBED_NAME) -- $(BIN)/integration.test -test.v -test.count=1 -test.timeout=15m
	$(TESTBED) leftovers

# Benchmarks, inside the testbed (see docs/BENCHMARKS.md): the image
# import, then `berth run` against systemd-run, podman and crun
# (contrib/bench), which rewrites its block of BENCH_DOC (empty: don't).
BENCH_RUNS ?= 100
BENCH_DOC  ?= $(CURDIR)/docs/BENCHMARKS.md
bench: deps bench-deps build images
	$(GO) test -c -o $(BIN)/imagestore.bench ./imagestore
	$(GO) build -o $(BIN)/runbench ./contrib/bench
	BERTH_IMAGES=$(BIN)/images $(TESTBED) run berth-bench -- \
	  $(BIN)/imagestore.bench -test.run '^$$' -test.bench . -test.benchmem -test.count 5
	$(TESTBED) run berth-bench -- $(BIN)/runbench -berth $(BIN)/berth -image $(BIN)/images/busybox.tar \
	  -n $(BENCH_RUNS) -rev $(VERSION) $(if $(BENCH_DOC),-doc $(BENCH_DOC))

# The peers `make bench` measures berth against (podman, crun); not
# needed by the tests or CI.
bench-deps:
	@contrib/bench/install-peers.sh

# The main job: boot the testbed, import busybox, run from its rootfs.
demo: deps build images
	contrib/demo/demo.sh

install: build
	install -D -m 0755 $(BIN)/berth $(DESTDIR)$(PREFIX)/bin/berth
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system-generators
	ln -sf ../../../bin/berth $(DESTDIR)$(PREFIX)/lib/systemd/system-generators/berth-generator

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf $(BIN)
