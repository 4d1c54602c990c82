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
# Packaging (packaging/README.md): mtimes in the sysext and the deb, the
# deb's version (Debian-valid, from VERSION), its maintainer.
# Each is computed once (:=), so a commit made during a build cannot
# give the binary, the sysext and the deb different versions.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
PKG_VERSION       := $(VERSION)
PKG_EPOCH         := $(SOURCE_DATE_EPOCH)
DEB_VERSION       ?= $(shell packaging/deb-version.sh $(PKG_VERSION))
PKG_DEB_VERSION   := $(DEB_VERSION)
DEB_MAINTAINER    ?= berth developers <berth@users.noreply.github.com>
MAN_NAME          := containers built into systemd
PKG_WORK          := $(BIN)/pkg
PKG_CGO_ENABLED   ?= 0

.PHONY: all deps build images reboot-test test test-unit test-integration bench bench-deps demo demo-test install sysext deb packaging-test lint clean

all: build

deps:
	@contrib/install-deps.sh

# berth is built static (no cgo), as the packages have it: every container
# start runs four Go programs (the client, berth-unit's __init,
# berth-nsinit, berth-unit's __cleanup), and a static binary starts about
# 1 ms faster than a dynamically linked one.
BUILD_CGO_ENABLED ?= 0
build:
	CGO_ENABLED=$(BUILD_CGO_ENABLED) $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/berth ./cmd/berth
	CGO_ENABLED=$(BUILD_CGO_ENABLED) $(GO) build -trimpath -ldflags "-s -w" -o $(BIN)/berth-nsinit ./cmd/berth-nsinit
	CGO_ENABLED=$(BUILD_CGO_ENABLED) $(GO) build -trimpath -ldflags "-s -w" -o $(BIN)/berth-unit ./cmd/berth-unit
	$(GO) build -o $(TESTBED) ./contrib/testbed

# Offline test images from Debian's busybox-static (contrib/images).
images: deps
	$(GO) run ./contrib/images -o $(BIN)/images

# All tiers: unit (no root needed), integration and packaging (root, in
# the testbed), the reboot test and the demo.
test: lint test-unit test-integration packaging-test reboot-test demo-test

# Unit tests: pure logic; the few that need root say so and skip without it.
test-unit:
	$(GO) test -count=1 $(UNIT_PKGS)

# The reboot test: an app in /etc/berth comes back by itself after the
# testbed is shut down and booted again (contrib/testbed/reboot-test.sh).
reboot-test: deps build images
	contrib/testbed/reboot-test.sh $(TESTBED_NAME)
	$(TESTBED) leftovers $(TESTBED_NAME)-reboot

# Integration tests: root; boots the testbed (real systemd in
# systemd-nspawn), runs the tests inside, tears it down, then checks the
# host is clean.
test-integration: deps build images $(DOCKER_CLI)
	$(GO) test -c -o $(BIN)/integration.test ./test/integration
	BERTH_BIN=$(BIN)/berth BERTH_IMAGES=$(BIN)/images DOCKER_CLI=$(DOCKER_CLI) \
	  $(TESTBED) run $(TESTBED_NAME) -- $(BIN)/integration.test -test.v -test.count=1 -test.timeout=15m
	$(TESTBED) leftovers $(TESTBED_NAME)

# Docker's CLI for the Engine API tests (docs/api.md): the Docker 28 CLI
# these machines come with (/usr/local/bin/docker, client only) when it is
# there and runs, else the client binary out of Debian's docker.io
# package (20.10), which is not installed (no dockerd, containerd or runc
# on the machine). DOCKER_CLI=$(BIN)/docker tests with the latter.
DOCKER28 := /usr/local/bin/docker
ifeq ($(origin DOCKER_CLI),undefined)
DOCKER_CLI := $(shell $(DOCKER28) --version >/dev/null 2>&1 && echo $(DOCKER28) || echo $(BIN)/docker)
endif
.PHONY: docker-cli
docker-cli: $(BIN)/docker
$(BIN)/docker:
	rm -rf $(BIN)/docker-deb && mkdir -p $(BIN)/docker-deb
	cd $(BIN)/docker-deb && { apt-get download docker.io || { apt-get update -qq && apt-get download docker.io; }; }
	dpkg-deb --fsys-tarfile $(BIN)/docker-deb/docker.io_*.deb | tar -xO ./usr/bin/docker > $@.tmp
	chmod 0755 $@.tmp && mv $@.tmp $@ && rm -rf $(BIN)/docker-deb

# Benchmarks, inside the testbed (see docs/BENCHMARKS.md): the image
# import, then builds against buildah and `berth run` against systemd-run,
# podman, crun and docker run through berth's API (DOCKER_CLI)
# (contrib/bench), which rewrites its block of BENCH_DOC (empty: don't).
BENCH_RUNS ?= 100
BENCH_DOC  ?= $(CURDIR)/docs/BENCHMARKS.md
bench: deps bench-deps build images $(DOCKER_CLI)
	$(GO) test -run '^$$' -bench 'ParseRender100|Generator100' -benchtime 20x -count 3 ./unitgen ./cmd/berth
	$(GO) test -c -o $(BIN)/imagestore.bench ./imagestore
	$(GO) build -o $(BIN)/runbench ./contrib/bench
	BERTH_IMAGES=$(BIN)/images $(TESTBED) run berth-bench -- \
	  $(BIN)/imagestore.bench -test.run '^$$' -test.bench . -test.benchmem -test.count 5
	$(TESTBED) run berth-bench -- $(BIN)/runbench -berth $(BIN)/berth -image $(BIN)/images/busybox.tar -docker $(DOCKER_CLI) \
	  -n $(BENCH_RUNS) -rev $(VERSION) $(if $(BENCH_DOC),-doc $(BENCH_DOC))

# The peers `make bench` measures berth against (podman, crun, buildah); not
# needed by the tests or CI.
bench-deps:
	@contrib/bench/install-peers.sh

# The main job: boot the testbed, import busybox, run from its rootfs.
demo: deps build images
	contrib/demo/demo.sh

# The demo as a test (make test, so CI runs it; about 25 s): it must end
# well, print the page the web container serves with the api container's
# answer, and leave nothing behind. Its testbed is named after
# TESTBED_NAME, so it can run beside `make demo` and other testbeds.
DEMO_TESTBED ?= $(TESTBED_NAME)-demo
demo-test: deps build images
	set -o pipefail; BERTH_DEMO_TESTBED=$(DEMO_TESTBED) contrib/demo/demo.sh 2>&1 | tee $(BIN)/demo.log
	@grep -q "^Hello from the shop's web container" $(BIN)/demo.log && \
	  grep -qxF '{"item": "berth mug", "stock": 42}' $(BIN)/demo.log || \
	  { echo "demo-test: the demo's output lacks the web container's page with the api's stock line" >&2; exit 1; }
	$(TESTBED) leftovers $(DEMO_TESTBED)

# Lays out berth under $(DESTDIR)$(PREFIX) (packaging/README.md): the
# binary, the generator link, tmpfiles.d, berth-gc.service and .timer,
# berth.socket and .service (the Engine API, docs/api.md), shell
# completions and berth(1)
# (from `berth --help` with help2man; skipped with a warning without it).
install: build
	install -D -m 0755 $(BIN)/berth $(DESTDIR)$(PREFIX)/bin/berth
	install -D -m 0755 $(BIN)/berth-nsinit $(DESTDIR)$(PREFIX)/libexec/berth/berth-nsinit
	install -D -m 0755 $(BIN)/berth-unit $(DESTDIR)$(PREFIX)/libexec/berth/berth-unit
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system-generators
	ln -sf ../../../bin/berth $(DESTDIR)$(PREFIX)/lib/systemd/system-generators/berth-generator
	install -D -m 0644 packaging/berth.tmpfiles $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/berth.conf
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed 's|@BINDIR@|$(PREFIX)/bin|g' packaging/berth-gc.service.in > $(DESTDIR)$(PREFIX)/lib/systemd/system/berth-gc.service
	sed 's|@BINDIR@|$(PREFIX)/bin|g' packaging/berth.service.in > $(DESTDIR)$(PREFIX)/lib/systemd/system/berth.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/berth-gc.service $(DESTDIR)$(PREFIX)/lib/systemd/system/berth.service
	install -m 0644 packaging/berth-gc.timer packaging/berth.socket $(DESTDIR)$(PREFIX)/lib/systemd/system/
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
	  $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	$(BIN)/berth completion bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/berth
	$(BIN)/berth completion zsh > $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_berth
	$(BIN)/berth completion fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/berth.fish
	chmod 0644 $(DESTDIR)$(PREFIX)/share/bash-completion/completions/berth \
	  $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_berth $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/berth.fish
	@set -eo pipefail; if command -v help2man >/dev/null; then \
	  install -d $(DESTDIR)$(PREFIX)/share/man/man1; \
	  echo "help2man $(BIN)/berth | gzip > $(DESTDIR)$(PREFIX)/share/man/man1/berth.1.gz"; \
	  SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) help2man -N -n "$(MAN_NAME)" $(BIN)/berth \
	    | gzip -9n > $(DESTDIR)$(PREFIX)/share/man/man1/berth.1.gz; \
	  chmod 0644 $(DESTDIR)$(PREFIX)/share/man/man1/berth.1.gz; \
	else echo "install: help2man is missing (make deps): no man page" >&2; fi

# --- Packages (packaging/README.md). Both need root only for deps. The
# binary in them is built static (CGO_ENABLED=0) into $(PKG_WORK)/bin, so
# the sysext runs on any host whatever its libc, and bin/berth is left
# as `make build` made it.
# The sysext: bin/berth.raw, a squashfs of the install tree for
# /var/lib/extensions on Flatcar, Fedora CoreOS or any systemd >= 252.
sysext: deps
	rm -rf $(PKG_WORK)/sysext
	CGO_ENABLED=$(PKG_CGO_ENABLED) $(MAKE) --no-print-directory install BIN=$(PKG_WORK)/bin VERSION=$(PKG_VERSION) SOURCE_DATE_EPOCH=$(PKG_EPOCH) DESTDIR=$(PKG_WORK)/sysext PREFIX=/usr
	install -D -m 0644 packaging/extension-release.berth \
	  $(PKG_WORK)/sysext/usr/lib/extension-release.d/extension-release.berth
	rm -f $(BIN)/berth.raw
	mksquashfs $(PKG_WORK)/sysext $(BIN)/berth.raw -noappend -quiet -all-root \
	  -all-time $(PKG_EPOCH) -mkfs-time $(PKG_EPOCH) >/dev/null
	@echo "sysext: $(BIN)/berth.raw ($(PKG_VERSION))"

# The Debian package: bin/berth_$(PKG_DEB_VERSION)_amd64.deb, built with dpkg-deb.
deb: deps
	rm -rf $(PKG_WORK)/deb $(BIN)/berth_*_amd64.deb
	CGO_ENABLED=$(PKG_CGO_ENABLED) $(MAKE) --no-print-directory install BIN=$(PKG_WORK)/bin VERSION=$(PKG_VERSION) SOURCE_DATE_EPOCH=$(PKG_EPOCH) DESTDIR=$(PKG_WORK)/deb PREFIX=/usr
	install -d -m 0755 $(PKG_WORK)/deb/DEBIAN
	install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm $(PKG_WORK)/deb/DEBIAN/
	sed -e 's|@VERSION@|$(PKG_DEB_VERSION)|' -e 's|@MAINTAINER@|$(DEB_MAINTAINER)|' \
	  -e "s|@SIZE@|$$(du -sk --apparent-size --exclude=DEBIAN $(PKG_WORK)/deb | cut -f1)|" \
	  packaging/deb/control.in > $(PKG_WORK)/deb/DEBIAN/control
	cd $(PKG_WORK)/deb && find usr -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum > DEBIAN/md5sums
	chmod 0644 $(PKG_WORK)/deb/DEBIAN/control $(PKG_WORK)/deb/DEBIAN/md5sums
	SOURCE_DATE_EPOCH=$(PKG_EPOCH) dpkg-deb --root-owner-group -Zxz --build \
	  $(PKG_WORK)/deb $(BIN)/berth_$(PKG_DEB_VERSION)_amd64.deb

# Both packages tested inside the testbed (root): the sysext merges and
# unmerges, the deb installs, works and is removed and purged
# (packaging/test.sh; the image's content is merged as a directory
# extension, so no loop device is needed). The check after it looks at
# this testbed only, since other testbeds may be running (.ci/run checks
# them all at the end).
PKG_TESTBED ?= $(TESTBED_NAME)-pkg
packaging-test: build images sysext deb
	$(TESTBED) run $(PKG_TESTBED) -- \
	  packaging/test.sh $(BIN)/berth.raw $(BIN)/berth_$(PKG_DEB_VERSION)_amd64.deb $(PKG_VERSION) $(PKG_DEB_VERSION) $(BIN)/images/busybox.tar
	$(TESTBED) leftovers $(PKG_TESTBED)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@# The Docker SDK (and its OpenTelemetry) is for TestDockerSDK only.
	@if $(GO) list -deps ./cmd/berth | grep -E '^(github.com/docker/docker/client|go.opentelemetry.io/)'; then \
	  echo "lint: berth links the Docker SDK client; only test/integration may" >&2; exit 1; fi

clean:
	rm -rf $(BIN)
