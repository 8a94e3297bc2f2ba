# vellum — the two commands of the quick start, and their parts.
#
#   make run     install what is missing, build, start the server on ./vellum-data,
#                send the sample events in and verify them out
#   make check   install what is missing, build with ASan+UBSan, run every test
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0

BUILD      ?= build
CHECKBUILD ?= build-check
DEBS = gcc make meson ninja-build pkg-config python3 curl libssl-dev libcurl4-openssl-dev \
       libinih-dev libsystemd-dev
# the test suite also needs these (cmocka, JSON vectors, HTTP, libFuzzer)
TEST_DEBS = libcmocka-dev libjansson-dev clang libclang-rt-14-dev openssl systemd-journal-remote \
            strace chromium faketime nftables

.PHONY: all deps deps-test build run demo check bench clean

all: build

deps-test:
	@$(MAKE) --no-print-directory deps DEBS="$(DEBS) $(TEST_DEBS)"

deps:
	@missing=""; for p in $(DEBS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  else \
	    echo "vellum needs these Debian packages; run as root:"; \
	    echo "  apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

$(BUILD)/build.ninja: | deps
	meson setup $(BUILD) -Dtests=false

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	./scripts/run-server.sh $(BUILD)/src/cli/vellum ./vellum-data 127.0.0.1:8080

# The library through the command line alone, no server.
demo: build
	./scripts/demo.sh $(BUILD)/src/cli/vellum ./vellum-demo

$(CHECKBUILD)/build.ninja: | deps-test
	meson setup $(CHECKBUILD) -Db_sanitize=address,undefined -Db_lundef=false

check: deps-test $(CHECKBUILD)/build.ninja
	ninja -C $(CHECKBUILD)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  meson test -C $(CHECKBUILD) --print-errorlogs --num-processes 2 >$(CHECKBUILD)/test-output.txt 2>&1; \
	  status=$$?; tail -n 40 $(CHECKBUILD)/test-output.txt; \
	  python3 tests/summarize.py $(CHECKBUILD)/meson-logs/testlog.json; sum=$$?; \
	  [ $$status -eq 0 ] && [ $$sum -eq 0 ]

bench:
	@$(MAKE) --no-print-directory deps DEBS="$(DEBS) systemd-journal-remote"
	meson setup build-bench --buildtype=release -Dtests=false 2>/dev/null || true
	ninja -C build-bench
	./bench/run.sh build-bench
	./bench/serve_bench.sh build-bench 10
	./bench/agent_bench.sh build-bench 300000 20
	./bench/startup_bench.sh build-bench 15

clean:
	rm -rf $(BUILD) $(CHECKBUILD) build-bench
