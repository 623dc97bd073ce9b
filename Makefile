# usher's build. `make static` is the release binary; `make test` the whole test run;
# `make demo` shows an app with two sidecars being started and shut down in order.
SWIFT ?= swift
ARCH := $(shell uname -m)
# The toolchain's Embedded Swift libraries (the Unicode tables that String needs).
SWIFT_ROOT := $(shell dirname $$(dirname $$(readlink -f $$(command -v swiftc))))
EMBEDDED_LIB := $(SWIFT_ROOT)/lib/swift/embedded/$(ARCH)-unknown-linux-gnu
SOURCES := $(shell find Sources -type f) Package.swift

.PHONY: all static test unit integration demo deps build-deps container-env image bench bench-quick clean fuzz fuzz-quick sanitize \
  rollout rollout-short

all: static

# The same sources in Embedded Swift mode, linked fully static and stripped: runs in an empty
# root filesystem. Its own scratch path, so it never mixes with the development build.
static: dist/usher
dist/usher: $(SOURCES) | build-deps
	USHER_EMBEDDED=1 USHER_EMBEDDED_LIB=$(EMBEDDED_LIB) \
	  $(SWIFT) build -c release --scratch-path .build-embedded --product usher
	mkdir -p dist
	strip -o dist/usher .build-embedded/release/usher

# What the build needs beyond the Swift toolchain: libyaml's headers, pkg-config file and static
# library (Debian's libyaml-dev), for the Pod-spec parser.
build-deps:
	@if [ ! -f /usr/include/yaml.h ] || [ ! -f /usr/lib/$(ARCH)-linux-gnu/libyaml.a ]; then \
	  echo "installing: libyaml-dev"; \
	  export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq libyaml-dev pkg-config >/dev/null; \
	fi

# What the tests need beyond the Swift toolchain: a C compiler and static libc for the helper
# program, pytest, unshare (util-linux), script (bsdutils), strip (binutils), strace for the
# idle test, tini-static to compare memory with, busybox-static as a base image for the example.
deps:
	@missing=""; \
	for c in gcc strip unshare script strace tini-static busybox; do command -v $$c >/dev/null || missing="$$missing $$c"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && \
	  apt-get install -y -qq gcc libc6-dev binutils util-linux bsdutils strace tini busybox-static >/dev/null; \
	fi
	@python3 -c 'import pytest, yaml' 2>/dev/null || python3 -m pip install -q pytest PyYAML

unit: build-deps
	$(SWIFT) test --parallel --num-workers 2

# podman with runc, set up for these machines by the shared script (vfs storage, no network).
container-env:
	@if [ -f ../shared/container-env.sh ]; then \
	  bash ../shared/container-env.sh >/dev/null; \
	else \
	  command -v podman >/dev/null || { echo "podman is missing and ../shared/container-env.sh is not there"; exit 1; }; \
	fi

# The usher image from the binary built here (images/Dockerfile builds it inside the Swift image).
image: static
	podman build -q -f images/Dockerfile.local -t localhost/usher:local .

integration: static
	USHER_BIN=$(CURDIR)/dist/usher python3 -m pytest -q Tests/Integration

# The whole suite, as CI runs it: unit, integration (PID 1, subreaper, podman), a short fuzz run
# over the seed corpus, and the sanitizer runs.
test: deps container-env unit integration fuzz-quick sanitize

# usher against tini-static, tini, dumb-init and catatonit, as root (installs the peers when
# missing); writes Tests/Benchmarks/results/results.{json,md}. bench-quick: small counts, for CI,
# so the harness cannot rot; it fails when a measurement breaks, never on a timing.
bench: static
	Tests/Benchmarks/run.sh

bench-quick: static
	Tests/Benchmarks/run.sh --quick

# A rolling update through HAProxy, two nginx replicas in podman, once per init (no init, tini,
# usher with and without a preStop, usher -f), repeated; writes the table and the plot to
# images/examples/rolling-update/results/. rollout-short: one run per setup, for CI; it fails if
# usher with a preStop drops a request (or a run cannot be made), never on a timing.
# USHER_IMAGE is the image the replicas copy usher from.
USHER_IMAGE ?= localhost/usher:local
rollout: container-env image
	USHER_IMAGE=$(USHER_IMAGE) bash images/examples/rolling-update/run.sh

rollout-short: container-env image
	USHER_IMAGE=$(USHER_IMAGE) bash images/examples/rolling-update/run.sh --short

demo: static
	bash images/examples/sidecars-by-flags/demo.sh $(CURDIR)/dist/usher

clean:
	rm -rf .build .build-embedded dist

# --- Fuzzing and sanitizers (issue 7) -------------------------------------------------------------
# libFuzzer targets over the parsers (command line, word splitting, durations, signal names, HTTP
# URLs, the YAML config), built with ASan from the normal-mode sources into .build-fuzz/; see
# Tests/Fuzz/README.md. fuzz: FUZZ_SECONDS per target. fuzz-quick, for CI: every seed of the
# corpus, then 4s per target; fails on any crash, trap, leak, hang (5s) or RSS over 2 GB.
FUZZ_SECONDS ?= 180
fuzz: build-deps
	Tests/Fuzz/fuzz.sh run $(FUZZ_SECONDS)

fuzz-quick: build-deps
	Tests/Fuzz/fuzz.sh corpus
	Tests/Fuzz/fuzz.sh run 4

# The unit tests under AddressSanitizer (leak checking on) and UndefinedBehaviorSanitizer, each in
# its own scratch path; then integration tests of the engine against an ASan usher, whose reports
# go to files (its stderr belongs to the tests) that must not exist afterwards. swiftc takes no
# -sanitize=undefined on Linux (Swift traps on overflow and out-of-bounds by itself): UBSan covers
# the C shim, and links its runtime into the test binary. --disable-xctest: the suite is Swift
# Testing; XCTest's empty runner leaks its own objects at exit, which LeakSanitizer would report.
# lld links the ASan runtime without the hundreds of warnings gold prints for it.
ASAN_FLAGS := -Xswiftc -sanitize=address -Xcc -fsanitize=address -Xswiftc -use-ld=lld
UBSAN_FLAGS := -Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=all -Xswiftc -Xclang-linker -Xswiftc -fsanitize=undefined
SANITIZE_INTEGRATION := test_lifecycle.py test_exit_status.py test_pod_startup.py test_pod_shutdown.py test_pod_restarts.py \
  test_threads.py
sanitize: build-deps deps
	ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 \
	  $(SWIFT) test --disable-xctest --scratch-path .build-asan $(ASAN_FLAGS)
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  $(SWIFT) test --disable-xctest --scratch-path .build-ubsan $(UBSAN_FLAGS)
	$(SWIFT) build --scratch-path .build-asan $(ASAN_FLAGS) --product usher
	rm -rf .build-asan/reports && mkdir -p .build-asan/reports
	USHER_BIN=$(CURDIR)/.build-asan/debug/usher \
	  ASAN_OPTIONS=detect_leaks=1:log_path=$(CURDIR)/.build-asan/reports/asan \
	  python3 -m pytest -q $(addprefix Tests/Integration/,$(SANITIZE_INTEGRATION))
	@if [ -n "$$(ls .build-asan/reports)" ]; then cat .build-asan/reports/*; echo "AddressSanitizer reported the above"; exit 1; fi
