# sluice — build, run the demo, test, benchmark.
# `make run` and `make test` are all a fresh Debian 12 machine with Swift 6.3 needs: missing
# system and Python packages are installed when running as root, otherwise named.

SWIFT      ?= swift
PYTHON     ?= python3
SLUICE_BIN := .build/release/sluice
RUN_APT    := libssl-dev libc-ares-dev libnghttp2-dev openssl curl
TEST_APT   := wrk chromium slowhttptest gcc haproxy nginx-light nghttp2-client python3-yaml
TEST_PY    := pytest requests werkzeug flask prometheus-client sslyze dnslib h2 pyyaml

.PHONY: all build release dist install run test unit blackbox bench fuzz deps test-deps clean

all: release

# Installs the Debian packages given in $(1) that are missing (as root), or names them.
define apt_ensure
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "please install:$$missing  (sudo apt-get install$$missing)"; exit 1; fi; \
	fi
endef

deps:
	$(call apt_ensure,$(RUN_APT))

test-deps: deps
	$(call apt_ensure,$(TEST_APT))
	@$(PYTHON) -c "import pytest, requests, werkzeug, flask, prometheus_client, sslyze, dnslib, h2, yaml" 2>/dev/null || \
	  $(PYTHON) -m pip install -q $(TEST_PY) || { echo "please install: $(PYTHON) -m pip install $(TEST_PY)"; exit 1; }

build:
	$(SWIFT) build

release:
	$(SWIFT) build -c release

# dist/sluice: release build with the Swift runtime linked in (and c-ares and nghttp2 from their
# static archives: tools/dist-pkgconfig's .pc files name them in place of the shared libraries),
# stripped: it needs only glibc, OpenSSL and libstdc++/libgcc at run time.
DIST_FLAGS := -c release --static-swift-stdlib --scratch-path .build-dist
dist: deps
	PKG_CONFIG_PATH=$(CURDIR)/tools/dist-pkgconfig $(SWIFT) build $(DIST_FLAGS)
	mkdir -p dist
	cp .build-dist/release/sluice dist/sluice
	strip dist/sluice

PREFIX  ?= /usr/local
SYSCONF ?= /etc
# Installs dist/sluice, the example configuration (never over an existing one) and the systemd unit.
install: dist
	install -D -m 755 dist/sluice $(DESTDIR)$(PREFIX)/bin/sluice
	install -d $(DESTDIR)$(SYSCONF)/sluice
	# The unit's RuntimeDirectory holds the pid file (the service cannot write to /etc).
	[ -e $(DESTDIR)$(SYSCONF)/sluice/proxy.conf ] || sed 's|^pid_file .*|pid_file /run/sluice/sluice.pid;|' proxy.conf.example \
	  | install -m 644 /dev/stdin $(DESTDIR)$(SYSCONF)/sluice/proxy.conf
	sed 's|/usr/local/bin/sluice|$(PREFIX)/bin/sluice|g; s|/etc/sluice|$(SYSCONF)/sluice|g' deploy/sluice.service \
	  | install -D -m 644 /dev/stdin $(DESTDIR)$(SYSCONF)/systemd/system/sluice.service

run: deps release
	@tools/run_demo.sh

unit:
	$(SWIFT) test

blackbox: test-deps release dist
	SLUICE_BIN=$(CURDIR)/$(SLUICE_BIN) SLUICE_DIST=$(CURDIR)/dist/sluice $(PYTHON) -m pytest -q Tests/blackbox

test: test-deps release dist unit blackbox

FUZZ_SECONDS ?= 15
# Fuzz the HTTP/1 parsers and the config loader (libFuzzer + ASan), FUZZ_SECONDS per target.
fuzz:
	SWIFT=$(SWIFT) tools/fuzz.sh $(FUZZ_SECONDS)

# sluice, HAProxy and nginx on the same workloads, each pinned to its own CPU(s) while wrk and
# the upstream run on the others; a sluice mallocs/req column (gcc builds tools/malloc_count.c);
# `balance hash` vs round-robin; HTTP/2 with h2load (TLS and h2c); the per-worker split of
# `workers 2` (and nginx reuseport). About 250 s (budget 300 s; --quick about 110 s). Missing
# wrk, nginx-light, haproxy, openssl and nghttp2-client (h2load) are installed when run as root.
# SLUICE_WORKERS=N or auto for several sluice workers (default 1, like HAProxy nbthread 1);
# BENCH_FLAGS for more options (e.g. --quick, --proxies sluice,haproxy, --no-h2; see bench/README.md).
bench: release
	$(PYTHON) bench/run.py --sluice-workers $(or $(SLUICE_WORKERS),1) $(BENCH_FLAGS)

clean:
	rm -rf .build .build-dist dist Fuzz/.build
