#!/usr/bin/env bash
# usher's benchmark against tini-static, tini, dumb-init and catatonit (and usher on glibc), and,
# for an app with sidecars, against supervisord and s6-svscan; instruction and allocation counts
# under valgrind.
#   Tests/Benchmarks/run.sh            full run (a few minutes)
#   Tests/Benchmarks/run.sh --quick    small counts, under a minute (also BENCH_QUICK=1); for CI
# Installs the peers when missing, builds the C helpers into Tests/Benchmarks/.out, builds
# dist/usher only if it is missing (USHER_BIN picks another binary), runs bench.py, which writes
# Tests/Benchmarks/results/results.{json,md}. Needs root. Fails when a measurement breaks, never
# on a timing figure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=$here/.out

missing=""
for tool in tini tini-static dumb-init catatonit gcc unshare strace readelf valgrind supervisord s6-svscan; do
  command -v "$tool" >/dev/null || missing="$missing $tool"
done
if [ -n "$missing" ]; then
  echo "run.sh: installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq tini dumb-init catatonit gcc libc6-dev \
    binutils util-linux strace valgrind supervisor s6 >/dev/null
fi

mkdir -p "$out"
build() {  # build NAME SOURCE: a static helper, rebuilt when its source is newer
  if [ ! -x "$out/$1" ] || [ "$here/helpers/$2" -nt "$out/$1" ]; then
    gcc -O2 -static -Wall -Wextra -o "$out/$1" "$here/helpers/$2"
  fi
}
build child child.c
build probe probe.c
build true-static true.c

usher=${USHER_BIN:-$repo/dist/usher}
if [ ! -x "$usher" ] && [ -z "${USHER_BIN:-}" ]; then
  make -C "$repo" static
fi
# Beside it, when they are there (make bench builds them): the same build on glibc, whose
# signal, reaping and memory figures the musl binary is held against, and the arm64 binary,
# for its size.
extra=()
glibc=${USHER_GLIBC_BIN:-$repo/.build-glibc/usher}
[ -x "$glibc" ] && extra+=(--usher-glibc "$glibc")
arm64=${USHER_ARM64_BIN:-$repo/dist/release/usher-linux-arm64}
[ -f "$arm64" ] && extra+=(--usher-arm64 "$arm64")

exec python3 "$here/bench.py" --usher "$usher" "${extra[@]}" "$@"
