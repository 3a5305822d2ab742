# sluice — build, run the demo, test, benchmark.
# `make run` and `make test` are all a fresh Debian 12 machine with Swift 6.3 needs: missing
# system and Python packages are installed when running as root, otherwise named.

SWIFT      ?= swift
PYTHON     ?= python3
SLUICE_BIN := .build/release/sluice
RUN_APT    := libssl-dev libc-ares-dev libnghttp2-dev openssl curl
TEST_APT   := wrk chromium slowhttptest gcc
TEST_PY    := pytest requests werkzeug flask prometheus-client sslyze dnslib

.PHONY: all build release run test unit blackbox bench fuzz deps test-deps clean

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
	@$(PYTHON) -c "import pytest, requests, werkzeug, flask, prometheus_client, sslyze, dnslib" 2>/dev/null || \
	  $(PYTHON) -m pip install -q $(TEST_PY) || { echo "please install: $(PYTHON) -m pip install $(TEST_PY)"; exit 1; }

build:
	$(SWIFT) build

release:
	$(SWIFT) build -c release

run: deps release
	@tools/run_demo.sh

unit:
	$(SWIFT) test

blackbox: test-deps release
	SLUICE_BIN=$(CURDIR)/$(SLUICE_BIN) $(PYTHON) -m pytest -q Tests/blackbox

test: test-deps release unit blackbox

FUZZ_SECONDS ?= 15
# Fuzz the HTTP/1 parsers and the config loader (libFuzzer + ASan), FUZZ_SECONDS per target.
fuzz:
	SWIFT=$(SWIFT) tools/fuzz.sh $(FUZZ_SECONDS)

# sluice, HAProxy and nginx on the same workloads, each pinned to its own CPU(s) while wrk and
# the upstream run on the others; a sluice mallocs/req column (gcc builds tools/malloc_count.c).
# SLUICE_WORKERS=N or auto for several sluice workers (default 1, like HAProxy nbthread 1);
# BENCH_FLAGS for more options (e.g. --quick, --proxies sluice,haproxy; see bench/README.md).
bench: release
	$(PYTHON) bench/run.py --sluice-workers $(or $(SLUICE_WORKERS),1) $(BENCH_FLAGS)

clean:
	rm -rf .build Fuzz/.build
