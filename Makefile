# sluice — build, run the demo, test, benchmark.
# `make run` and `make test` are all a fresh Debian 12 machine with Swift 6.3 needs: missing
# system and Python packages are installed when running as root, otherwise named.

SWIFT      ?= swift
PYTHON     ?= python3
SLUICE_BIN := .build/release/sluice
APT_PKGS   := libssl-dev openssl curl
PY_PKGS    := pytest requests werkzeug flask

.PHONY: all build release run test unit blackbox bench deps clean

all: release

deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "please install:$$missing  (sudo apt-get install$$missing)"; exit 1; fi; \
	fi
	@$(PYTHON) -c "import pytest, requests, werkzeug, flask" 2>/dev/null || \
	  $(PYTHON) -m pip install -q $(PY_PKGS) || { echo "please install: $(PYTHON) -m pip install $(PY_PKGS)"; exit 1; }

build:
	$(SWIFT) build

release:
	$(SWIFT) build -c release

run: deps release
	@tools/run_demo.sh

unit:
	$(SWIFT) test

blackbox: deps release
	SLUICE_BIN=$(CURDIR)/$(SLUICE_BIN) $(PYTHON) -m pytest -q Tests/blackbox

test: deps release unit blackbox

bench: release
	$(PYTHON) bench/run.py

clean:
	rm -rf .build
