# usher's build. `make static` is the release binary; `make test` the whole test run;
# `make demo` shows an app with two sidecars being started and shut down in order.
SWIFT ?= swift
ARCH := $(shell uname -m)
SWIFT_ROOT := $(shell dirname $$(dirname $$(readlink -f $$(command -v swiftc))))
SOURCES := $(shell find Sources -type f) Package.swift

.SECONDARY:
.PHONY: all static release release-check integration-arm64 musl-deps release-deps test unit integration integration-arm64 demo deps build-deps container-env image bench bench-quick clean fuzz fuzz-quick sanitize FORCE \
  rollout rollout-short

all: static

# --- The release binaries -----------------------------------------------------------------------
# The same sources as the development build, compiled in Embedded Swift mode and linked fully
# static against musl libc, stripped: they run in an empty root filesystem. One set of rules
# for both machines, calling swiftc and clang directly rather than through SwiftPM: the only
# Embedded stdlib for aarch64 is aarch64-none-none-elf, a target SwiftPM has no Linux SDK for,
# and SwiftPM's Linux link step brings glibc's start files and libraries; here each step and
# each library linked is in plain sight. Per machine, in .build-musl/<arch>/:
#   1. UsherCore.o: the library, one whole-module object (-wmo), and its .swiftmodule;
#   2. main.o: Sources/usher/main.swift, whose entry is renamed usher_swift_main, because
#      3. cusher/*.o, the C shim, one object per file of Sources/CUsher; its entry.c holds main
#         (USHER_C_MAIN): musl passes ELF constructors no argv;
#   4. usher: linked by lld with musl's crt files and libc.a, libyaml (see LIBYAML) for that
#      machine, Swift's Unicode tables and libgcc (aarch64 musl's long double needs its
#      soft-float helpers). --gc-sections and release.ld (no unwind tables) keep it small.
# Both compile against musl's headers only (-nostdinc, clang's own headers, then musl's) and a
# folder holding just yaml.h. The Embedded stdlib for x86_64 is named for the -gnu triple; it
# has no libc in it, so the triple names the CPU only. aarch64-none-none-elf defines no
# __linux__, which musl's headers test for. The glibc build the tests use is `swift build`.
MUSL := .build-musl
CLANG = $(SWIFT_ROOT)/bin/clang
SWIFTC = $(SWIFT_ROOT)/bin/swiftc
OBJCOPY = $(SWIFT_ROOT)/bin/llvm-objcopy
swift_triple.x86_64 := x86_64-unknown-linux-gnu
swift_triple.aarch64 := aarch64-none-none-elf
swift_defines.aarch64 := -Xcc -D__linux__
# The commit for --version, as a define: nothing generated lands in the source tree. "-dirty"
# when tracked files differ from it; "unknown" outside a git checkout (pass USHER_COMMIT then).
USHER_COMMIT ?= $(shell if git rev-parse --git-dir >/dev/null 2>&1; then \
  c=$$(git rev-parse --short=12 HEAD); git diff --quiet HEAD -- || c=$$c-dirty; echo $$c; \
  else echo unknown; fi)
# Size: -Osize, full LTO (-lto=llvm-full here, -flto for the shim, lld at --lto-O2), the machine
# outliner and identical code folding at the link. What each flag saved, and the flags measured
# and left out: Sources/UsherCore/UsherCore.docc/Sizes.md. One line of why per flag:
#   -sil-inline-removed-call-benefit=0: inline only where that also folds a closure, drops
#     retains and releases, or specializes, not for a call's removal alone;
#   -enable-lexical-lifetimes=false: release after the last use (usher has no deinit to see it);
#   -sil-inline-ref-count-benefit=0: no inlining for the retains and releases it removes alone;
#   -force-attribute=swift_retain:noinline: one swift_retain, not one inlined at each of ~700 calls;
#   -sil-inline-removed-load-/-store-benefit=0: no inlining for the loads and stores it removes;
#   -disable-llvm-merge-functions-pass: smaller without it (lld's ICF still folds identical code).
SIZE_FLAGS := -Xllvm -sil-inline-removed-call-benefit=0 -Xfrontend -enable-lexical-lifetimes=false \
  -Xllvm -sil-inline-ref-count-benefit=0 -Xllvm -force-attribute=swift_retain:noinline \
  -Xllvm -sil-inline-removed-load-benefit=0 -Xllvm -sil-inline-removed-store-benefit=0 \
  -Xfrontend -disable-llvm-merge-functions-pass
musl_includes = -isystem $(shell $(CLANG) -print-resource-dir)/include -isystem /usr/include/$(1)-linux-musl \
  -isystem $(MUSL)/$(1)/include
swift_flags = -target $(swift_triple.$(1)) -enable-experimental-feature Embedded -wmo -Osize -lto=llvm-full \
  $(SIZE_FLAGS) -Xfrontend -function-sections -I $(MUSL)/$(1)/modules -I Sources/CYAML -Xcc -nostdinc \
  $(addprefix -Xcc ,$(call musl_includes,$(1))) $(swift_defines.$(1))
# libgcc of the machine's gcc (the host's, or the cross compiler's).
libgcc = $(shell if [ $(1) = $(ARCH) ]; then gcc -print-libgcc-file-name; \
  else $(1)-linux-gnu-gcc -print-libgcc-file-name; fi)
# The packages each machine's build needs: this machine's musl, or the cross packages too.
deps.$(ARCH) := musl-deps
deps.$(if $(filter x86_64,$(ARCH)),aarch64,x86_64) := release-deps
CORE_SOURCES := $(shell find Sources/UsherCore -name '*.swift' | LC_ALL=C sort)

# Rebuilt only when the commit changes, so cusher/entry.o (which holds it) is too. (Every object
# also depends on this Makefile, so a changed flag rebuilds.)
$(MUSL)/commit: FORCE
	@mkdir -p $(MUSL); echo '$(USHER_COMMIT)' | cmp -s - $@ || echo '$(USHER_COMMIT)' > $@

# The C shim's module for Swift, and yaml.h alone (not the rest of /usr/include, which is glibc's).
$(MUSL)/%/modules/CUsher/module.modulemap:
	mkdir -p $(@D) $(MUSL)/$*/include
	ln -sf /usr/include/yaml.h $(MUSL)/$*/include/yaml.h
	printf 'module CUsher {\n    header "%s"\n    export *\n}\n' $(CURDIR)/Sources/CUsher/include/cusher.h > $@

.SECONDEXPANSION:
$(MUSL)/%/UsherCore.o: $(CORE_SOURCES) Sources/CUsher/include/cusher.h Makefile $(MUSL)/%/modules/CUsher/module.modulemap | $$(deps.$$*)
	$(SWIFTC) $(call swift_flags,$*) -parse-as-library -module-name UsherCore \
	  -emit-module -emit-module-path $(@D)/UsherCore.swiftmodule -c -o $@ $(CORE_SOURCES) 2>&1 \
	  | { grep -v "warning: libc not found for '$(swift_triple.$*)'" || true; }; test -s $@

$(MUSL)/%/main.o: Sources/usher/main.swift $(MUSL)/%/UsherCore.o Makefile
	$(SWIFTC) $(call swift_flags,$*) -I $(@D) -module-name usher \
	  -Xfrontend -entry-point-function-name -Xfrontend usher_swift_main -c -o $@ $< 2>&1 \
	  | { grep -v "warning: libc not found for '$(swift_triple.$*)'" || true; }; test -s $@

# The C shim: each file of Sources/CUsher (split by concern) compiled to an object of its own,
# as LLVM bitcode (-flto), which the link's LTO merges into one module with the Swift code, so
# the split costs nothing in size. Only entry.c reads USHER_COMMIT and USHER_C_MAIN, and only
# entry.o is rebuilt when the commit changes. The rules per machine (cusher_rules) come from one
# template, as a pattern rule's stem cannot hold both the machine and the file.
CUSHER_OBJECTS := $(patsubst Sources/CUsher/%.c,%.o,$(sort $(wildcard Sources/CUsher/*.c)))
cusher_defines = $(if $(filter entry,$(1)),-DUSHER_C_MAIN -DUSHER_COMMIT='"$(USHER_COMMIT)"')
define cusher_rules
$(MUSL)/$(1)/cusher/%.o: Sources/CUsher/%.c Sources/CUsher/include/cusher.h Makefile | $(deps.$(1))
	mkdir -p $$(@D)
	$$(CLANG) --target=$(1)-linux-musl -nostdinc $$(call musl_includes,$(1)) -ISources/CUsher/include \
	  -Os -flto -Wall $$(call cusher_defines,$$*) -c -o $$@ $$<
$(MUSL)/$(1)/cusher/entry.o: $(MUSL)/commit
endef
$(foreach machine,x86_64 aarch64,$(eval $(call cusher_rules,$(machine))))

# libyaml for the release binary: Debian's own source package of the installed libyaml-dev
# (the same upstream version, which Debian does not patch), compiled here for musl and each
# machine with -Oz, LTO and function sections: smaller than Debian's glibc-built libyaml.a (see
# Sizes.md), and built for the libc it is linked with. The source is fetched once through apt
# (deb-src of the system's own Debian sources, with a private state directory: the system's apt
# setup is not changed) into $(MUSL)/libyaml-src.
LIBYAML_SRC := $(MUSL)/libyaml-src
LIBYAML_FILES := api reader scanner parser
$(LIBYAML_SRC)/src/api.c: | build-deps
	rm -rf $(LIBYAML_SRC) $(MUSL)/apt && mkdir -p $(MUSL)/apt/lists/partial $(MUSL)/apt/parts $(LIBYAML_SRC)
	sed 's/^Types: deb$$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > $(MUSL)/apt/parts/debian-src.sources
	cd $(MUSL)/apt && apt-get -qq -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$(CURDIR)/$(MUSL)/apt/parts \
	  -o Dir::State::Lists=$(CURDIR)/$(MUSL)/apt/lists update && \
	  apt-get -qq -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$(CURDIR)/$(MUSL)/apt/parts \
	  -o Dir::State::Lists=$(CURDIR)/$(MUSL)/apt/lists source --download-only \
	  libyaml=$$(dpkg-query -W -f='$${Version}\n' libyaml-dev | head -1) 2>&1 | { grep -v "unsandboxed" || true; }
	tar xzf $(MUSL)/apt/libyaml_*.orig.tar.gz -C $(LIBYAML_SRC) --strip-components=1
	test -f $@
$(MUSL)/%/libyaml.a: $(LIBYAML_SRC)/src/api.c Makefile | $$(deps.$$*)
	mkdir -p $(@D)/yaml
	v=$$(dpkg-query -W -f='$${source:Upstream-Version}\n' libyaml-dev | head -1); for f in $(LIBYAML_FILES); do \
	  $(CLANG) --target=$*-linux-musl -nostdinc $(call musl_includes,$*) -I$(LIBYAML_SRC)/include \
	    -DYAML_VERSION_MAJOR=$${v%%.*} -DYAML_VERSION_MINOR=$$(echo $$v | cut -d. -f2) \
	    -DYAML_VERSION_PATCH=$$(echo $$v | cut -d. -f3) -DYAML_VERSION_STRING="\"$$v\"" \
	    -Oz -flto -ffunction-sections -fdata-sections -w -c -o $(@D)/yaml/$$f.o $(LIBYAML_SRC)/src/$$f.c || exit 1; \
	done
	$(SWIFT_ROOT)/bin/llvm-ar rcs $@ $(addprefix $(@D)/yaml/,$(addsuffix .o,$(LIBYAML_FILES)))

$(MUSL)/%/usher: $(MUSL)/%/main.o $(MUSL)/%/UsherCore.o \
  $$(addprefix $(MUSL)/$$*/cusher/,$(CUSHER_OBJECTS)) $(MUSL)/%/libyaml.a Sources/usher/release.ld
	$(CLANG) --target=$*-linux-musl -fuse-ld=lld -static -nostdlib -o $@ \
	  /usr/lib/$*-linux-musl/crt1.o /usr/lib/$*-linux-musl/crti.o $(filter %.o,$^) \
	  $(MUSL)/$*/libyaml.a $(SWIFT_ROOT)/lib/swift/embedded/$(swift_triple.$*)/libswiftUnicodeDataTables.a \
	  -Wl,--start-group /usr/lib/$*-linux-musl/libc.a $(call libgcc,$*) -Wl,--end-group /usr/lib/$*-linux-musl/crtn.o \
	  -Wl,--gc-sections -Wl,--icf=all -Wl,--lto-O2 -Wl,-mllvm,-enable-machine-outliner=always \
	  -Wl,--no-eh-frame-hdr -Wl,-T,Sources/usher/release.ld 2>&1 | { grep -v "different target triples" || true; }; test -x $@

# dist/usher: the release binary for this machine.
static: dist/usher
dist/usher: $(MUSL)/$(ARCH)/usher
	mkdir -p dist
	$(OBJCOPY) --strip-all $< $@

# For make bench only: the same release build of this machine, but against glibc (its static
# libc.a), so that the benchmark can hold musl's costs (signals, reaping, memory) against glibc's.
GLIBC := .build-glibc
glibc_swift_flags = -target $(swift_triple.$(ARCH)) -enable-experimental-feature Embedded -wmo -Osize \
  -lto=llvm-full $(SIZE_FLAGS) -Xfrontend -function-sections -I $(GLIBC)/modules -I Sources/CYAML
$(GLIBC)/modules/CUsher/module.modulemap:
	mkdir -p $(@D)
	printf 'module CUsher {\n    header "%s"\n    export *\n}\n' $(CURDIR)/Sources/CUsher/include/cusher.h > $@
$(GLIBC)/UsherCore.o: $(CORE_SOURCES) Sources/CUsher/include/cusher.h Makefile $(GLIBC)/modules/CUsher/module.modulemap | build-deps
	$(SWIFTC) $(glibc_swift_flags) -parse-as-library -module-name UsherCore \
	  -emit-module -emit-module-path $(@D)/UsherCore.swiftmodule -c -o $@ $(CORE_SOURCES)
$(GLIBC)/main.o: Sources/usher/main.swift $(GLIBC)/UsherCore.o Makefile
	$(SWIFTC) $(glibc_swift_flags) -I $(@D) -module-name usher \
	  -Xfrontend -entry-point-function-name -Xfrontend usher_swift_main -c -o $@ $<
$(GLIBC)/cusher/%.o: Sources/CUsher/%.c Sources/CUsher/include/cusher.h Makefile
	mkdir -p $(@D)
	$(CLANG) -ISources/CUsher/include -Os -flto -Wall $(call cusher_defines,$*) -c -o $@ $<
$(GLIBC)/cusher/entry.o: $(MUSL)/commit
$(GLIBC)/usher: $(GLIBC)/main.o $(GLIBC)/UsherCore.o $(addprefix $(GLIBC)/cusher/,$(CUSHER_OBJECTS))
	$(CLANG) -fuse-ld=lld -static -o $@.full $^ /usr/lib/$(ARCH)-linux-gnu/libyaml.a \
	  $(SWIFT_ROOT)/lib/swift/embedded/$(swift_triple.$(ARCH))/libswiftUnicodeDataTables.a -lm \
	  -Wl,--gc-sections -Wl,--icf=all -Wl,--lto-O2 -Wl,-mllvm,-enable-machine-outliner=always \
	  -Wl,--no-eh-frame-hdr -Wl,-T,Sources/usher/release.ld
	$(OBJCOPY) --strip-all $@.full $@

# What the build needs beyond the Swift toolchain: libyaml's headers, pkg-config file and static
# library (Debian's libyaml-dev), for the Pod-spec parser.
build-deps:
	@if [ ! -f /usr/include/yaml.h ] || [ ! -f /usr/lib/$(ARCH)-linux-gnu/libyaml.a ]; then \
	  echo "installing: libyaml-dev"; \
	  export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq libyaml-dev pkg-config >/dev/null; \
	fi

# --- make release: dist/release/ -----------------------------------------------------------------
# The two release binaries (stripped), then images/release.sh: the `uname -m` names, checksums,
# the multi-arch OCI image (podman) and RELEASE-NOTES.md. Built on an x86_64 machine.
RELEASE := dist/release
release: $(RELEASE)/usher-linux-amd64 $(RELEASE)/usher-linux-arm64 | container-env
	bash images/release.sh $(RELEASE)

$(RELEASE)/usher-linux-amd64: $(MUSL)/x86_64/usher
	mkdir -p $(@D)
	$(OBJCOPY) --strip-all $< $@
$(RELEASE)/usher-linux-arm64: $(MUSL)/aarch64/usher
	mkdir -p $(@D)
	$(OBJCOPY) --strip-all $< $@

# The integration tests against the arm64 binary, run by qemu-user: usher is emulated, the
# programs it starts run natively. USHER_BIN is a wrapper that execs qemu (so the pid the tests
# see is usher's; under `unshare --pid --fork` qemu is PID 1, running usher as PID 1).
# USHER_QEMU tells conftest.py, which skips the tests that cannot hold under emulation, each with
# its reason (see QEMU_SKIPS there). ARM64_TESTS: a subset (CI runs one, see .ci/run).
ARM64_TESTS ?= Tests/Integration
QEMU_USHER := $(MUSL)/qemu/usher
integration-arm64: $(RELEASE)/usher-linux-arm64 deps | release-deps
	mkdir -p $(dir $(QEMU_USHER))
	printf '#!/bin/sh\nexec qemu-aarch64-static %s "$$@"\n' $(CURDIR)/$(RELEASE)/usher-linux-arm64 > $(QEMU_USHER)
	chmod +x $(QEMU_USHER)
	USHER_BIN=$(CURDIR)/$(QEMU_USHER) USHER_QEMU=aarch64 python3 -m pytest -q $(PYTEST_JOBS) $(ARM64_TESTS)

# What `make static` needs beyond build-deps: musl (headers, crt files, libc.a) for this machine,
# and gcc for its libgcc.a.
musl-deps: build-deps
	@if [ ! -f /usr/lib/$(ARCH)-linux-musl/libc.a ] || ! command -v gcc >/dev/null; then \
	  echo "installing: musl-dev gcc"; \
	  export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq musl-dev musl-tools gcc >/dev/null; \
	fi

# What `make release` needs beyond that, on an x86_64 machine: musl, libyaml.a and libgcc
# (the cross gcc's) for arm64, from Debian's arm64 packages after dpkg --add-architecture;
# qemu-user-static to run the arm64 binary in its tests.
release-deps: musl-deps
	@need=""; \
	for f in /usr/lib/aarch64-linux-musl/libc.a:musl-dev:arm64 \
	  /usr/bin/aarch64-linux-gnu-gcc:gcc-aarch64-linux-gnu /usr/aarch64-linux-gnu/lib/crt1.o:libc6-dev-arm64-cross \
	  /usr/bin/qemu-aarch64-static:qemu-user-static; do \
	  [ -e "$${f%%:*}" ] || need="$$need $${f#*:}"; \
	done; \
	if [ -n "$$need" ]; then \
	  echo "installing:$$need"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64; \
	  apt-get update -qq && apt-get install -y -qq $$need >/dev/null; \
	fi

# What the tests need beyond the Swift toolchain: a C compiler and static libc for the helper
# program, pytest and pytest-xdist (see PYTEST_JOBS), unshare (util-linux), script (bsdutils),
# strip (binutils), strace for the idle test, tini-static to compare memory with,
# busybox-static as a base image for the example, valgrind for the allocation test
# (reliability/test_allocations.py).
deps:
	@missing=""; \
	for c in gcc strip unshare script strace tini-static busybox valgrind; do command -v $$c >/dev/null || missing="$$missing $$c"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && \
	  apt-get install -y -qq gcc libc6-dev binutils util-linux bsdutils strace tini busybox-static valgrind >/dev/null; \
	fi
	@python3 -c 'import pytest, yaml, xdist' 2>/dev/null || python3 -m pip install -q pytest PyYAML pytest-xdist

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

# release/test_release.py checks dist/release, not USHER_BIN: release-check runs it.
# The integration tests spend most of their time waiting for processes (a grace period, a probe
# period, a restart back-off), not computing: three pytest workers, each taking whole files
# (--dist loadfile: a file's tests share fixtures and run in their order), cut the suite from
# about 8 minutes to under 3 on these 2-core machines, on both architectures. Nothing they share
# collides: every usher has its own pid namespace, temporary folder and ports, the one fixed
# port and uid each belong to a single file, and a test of the default status file mounts a /run
# of its own. PYTEST_JOBS= (empty) runs them one at a time.
PYTEST_JOBS ?= -n 3 --dist loadfile
integration: static
	USHER_BIN=$(CURDIR)/dist/usher python3 -m pytest -q $(PYTEST_JOBS) Tests/Integration --ignore=Tests/Integration/release/test_release.py

# The release folder: binaries, checksums, the image index and its amd64 image in podman.
release-check: release deps
	python3 -m pytest -q Tests/Integration/release/test_release.py

# The whole suite, as CI runs it: unit, integration (PID 1, subreaper, podman), the release folder
# (make release), a short fuzz run over the seed corpus, the sanitizer runs, and the short
# rolling update (usher with a preStop must drop no request).
test: deps container-env unit integration release-check fuzz-quick sanitize rollout-short

# usher against tini-static, tini, dumb-init and catatonit, as root (installs the peers when
# missing); writes Tests/Benchmarks/results/results.{json,md}. bench-quick: small counts, for CI,
# so the harness cannot rot; it fails when a measurement breaks, never on a timing.
# With the same build on glibc beside usher (signals, reaping, memory: musl against glibc) and
# the arm64 binary's size.
bench: static $(GLIBC)/usher $(RELEASE)/usher-linux-arm64
	Tests/Benchmarks/run.sh

bench-quick: static $(GLIBC)/usher $(RELEASE)/usher-linux-arm64
	Tests/Benchmarks/run.sh --quick

# A rolling update through HAProxy, two nginx replicas in podman, once per init (no init, tini,
# usher with and without a preStop, usher -f), repeated; writes the table and the plot to
# images/examples/rolling-update/results/. rollout-short: one run per setup, for CI; it fails if
# usher with a preStop drops a request (or a run cannot be made), never on a timing (about a
# minute; part of make test). USHER_IMAGE is the image the replicas copy usher
# from.
USHER_IMAGE ?= localhost/usher:local
rollout: container-env image
	USHER_IMAGE=$(USHER_IMAGE) bash images/examples/rolling-update/run.sh

rollout-short: container-env image
	USHER_IMAGE=$(USHER_IMAGE) bash images/examples/rolling-update/run.sh --short

demo: static
	bash images/examples/sidecars-by-flags/demo.sh $(CURDIR)/dist/usher

clean:
	rm -rf .build .build-musl dist

# --- Fuzzing and sanitizers ----------------------------------------------------------------------
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
SANITIZE_INTEGRATION := lifecycle/test_lifecycle.py cli/test_exit_status.py pod/test_pod_startup.py pod/test_pod_shutdown.py \
  pod/test_pod_restarts.py reliability/test_threads.py
sanitize: build-deps deps
	ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 \
	  $(SWIFT) test --disable-xctest --scratch-path .build-asan $(ASAN_FLAGS)
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  $(SWIFT) test --disable-xctest --scratch-path .build-ubsan $(UBSAN_FLAGS)
	$(SWIFT) build --scratch-path .build-asan $(ASAN_FLAGS) --product usher
	rm -rf .build-asan/reports && mkdir -p .build-asan/reports
	USHER_BIN=$(CURDIR)/.build-asan/debug/usher \
	  ASAN_OPTIONS=detect_leaks=1:log_path=$(CURDIR)/.build-asan/reports/asan \
	  python3 -m pytest -q $(PYTEST_JOBS) $(addprefix Tests/Integration/,$(SANITIZE_INTEGRATION))
	@if [ -n "$$(ls .build-asan/reports)" ]; then cat .build-asan/reports/*; echo "AddressSanitizer reported the above"; exit 1; fi
