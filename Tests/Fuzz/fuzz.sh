#!/usr/bin/env bash
# Builds the libFuzzer targets in Targets/ (normal-mode UsherCore with ASan and coverage) under
# .build-fuzz/, and runs them. See README.md.
#   fuzz.sh build                 build every target
#   fuzz.sh run SECONDS [TARGET]  each target (or one): its corpus, then SECONDS of fuzzing
#   fuzz.sh corpus [TARGET]       each target over its seed corpus only, no fuzzing
# Fails when a target crashes, traps, leaks, times out (5 s) or goes over 2 GB; the input is
# left in .build-fuzz/crashes/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=.build-fuzz
# An abort in a target is libFuzzer's to report (and fast): not the Swift runtime's backtracer.
export SWIFT_BACKTRACE=enable=no
FUZZ=Tests/Fuzz
TARGETS=(cli config words duration signal httpurl expand envfile)
# The largest input per target: command lines and files of a realistic size and well beyond.
declare -A MAX_LEN=([cli]=4096 [config]=32768 [words]=1024 [duration]=128 [signal]=64 [httpurl]=512 [expand]=4096 [envfile]=4096)

build() {
    mkdir -p "$OUT/obj/CUsher" "$OUT/bin"
    local sources
    sources=$(find Sources/UsherCore -name '*.swift' | sort)
    local stamp="$OUT/obj/UsherCore.o"
    # Rebuild the library when a source under Sources/ is newer than it.
    if [ ! -f "$stamp" ] || [ -n "$(find Sources -newer "$stamp" -type f | head -1)" ]; then
        printf 'module CUsher {\n  header "%s/Sources/CUsher/include/cusher.h"\n  export *\n}\n' "$ROOT" \
            > "$OUT/obj/CUsher/module.modulemap"
        # The C shim, one object per file (beside its module map).
        rm -f "$OUT/obj/CUsher/"*.o
        for c in Sources/CUsher/*.c; do
            clang -c -g -O1 -fsanitize=fuzzer-no-link,address -I Sources/CUsher/include \
                "$c" -o "$OUT/obj/CUsher/$(basename "$c" .c).o"
        done
        # shellcheck disable=SC2086
        swiftc -module-name UsherCore -parse-as-library -wmo -O -g -sanitize=fuzzer,address \
            -emit-module -emit-module-path "$OUT/obj/UsherCore.swiftmodule" \
            -emit-object -o "$OUT/obj/UsherCore.o" \
            -I "$OUT/obj/CUsher" -I Sources/CYAML $sources
    fi
    for t in "${TARGETS[@]}"; do
        local bin="$OUT/bin/$t"
        if [ ! -f "$bin" ] || [ "$OUT/obj/UsherCore.o" -nt "$bin" ] || \
           [ -n "$(find "$FUZZ/Common.swift" "$FUZZ/Targets/$t.swift" -newer "$bin")" ]; then
            swiftc -parse-as-library -O -g -sanitize=fuzzer,address \
                -I "$OUT/obj" -I "$OUT/obj/CUsher" -I Sources/CYAML \
                "$FUZZ/Common.swift" "$FUZZ/Targets/$t.swift" \
                "$OUT/obj/UsherCore.o" "$OUT/obj/CUsher/"*.o -lyaml -use-ld=lld -o "$bin"
        fi
    done
}

# run TARGET SECONDS: the seed corpus plus what earlier runs found (kept under .build-fuzz, so
# the tree stays clean), then SECONDS of fuzzing; SECONDS 0 runs the corpus alone.
run_one() {
    local t=$1 seconds=$2
    local work="$OUT/corpus/$t" crashes="$OUT/crashes/$t"
    mkdir -p "$work" "$crashes"
    local args=(-max_len="${MAX_LEN[$t]}" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1
                -artifact_prefix="$crashes/" -dict="$FUZZ/dict/$t.dict")
    [ -f "$FUZZ/dict/$t.dict" ] || unset 'args[${#args[@]}-1]'
    echo "== $t: ${seconds}s" >&2
    if [ "$seconds" = 0 ]; then
        # Every seed once, whole (files named one by one are run as they are, not fuzzed and
        # not cut to -max_len).
        "$OUT/bin/$t" "${args[@]}" "$FUZZ/corpus/$t"/* > "$OUT/$t.log" 2>&1 \
            || { tail -n 60 "$OUT/$t.log" >&2; echo "== $t: FAILED on a seed (log in $OUT/$t.log)" >&2; return 1; }
        echo "   $(grep -ac '^Executed ' "$OUT/$t.log") seeds, no failure" >&2
        return 0
    fi
    "$OUT/bin/$t" "${args[@]}" -max_total_time="$seconds" "$work" "$FUZZ/corpus/$t" \
        > "$OUT/$t.log" 2>&1 || { tail -n 60 "$OUT/$t.log" >&2; echo "== $t: FAILED (input in $crashes/, log in $OUT/$t.log)" >&2; return 1; }
    grep -aE '^(#[0-9]+.*(DONE|pulse)|stat::|Done )' "$OUT/$t.log" | tail -n 8 >&2
}

cmd=${1:-}
case "$cmd" in
    build) build ;;
    run|corpus)
        if [ "$cmd" = run ]; then seconds=${2:?seconds}; only=${3:-}; else seconds=0; only=${2:-}; fi
        build
        status=0
        for t in "${TARGETS[@]}"; do
            [ -z "$only" ] || [ "$only" = "$t" ] || continue
            run_one "$t" "$seconds" || status=1
        done
        exit $status ;;
    *) echo "usage: $0 build | run SECONDS [TARGET] | corpus [TARGET]" >&2; exit 2 ;;
esac
