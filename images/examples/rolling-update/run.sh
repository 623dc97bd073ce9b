#!/usr/bin/env bash
# `make rollout` (and `make rollout-short`, the CI form): installs what the rolling-update
# benchmark needs, then runs rollout.py. As root, on a machine with podman set up
# (`make container-env` does it) and the usher image built (`make image`).
#   run.sh [--short] [rollout.py options...]
#   --short: one run per setup, results in a temporary folder, no plot (CI): it fails only when
#            usher with a preStop drops a request or a run cannot be made, never on a timing.
# USHER_IMAGE (default localhost/usher:local) is the usher image the replicas copy usher from.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
short=0
args=()
for a in "$@"; do
  if [ "$a" = "--short" ]; then short=1; else args+=("$a"); fi
done

# Debian's packages: nginx (the app and its sidecar), HAProxy (the balancer), tini-static (in
# the tini package), busybox-static (the replicas' /bin/sh).
missing=()
command -v nginx >/dev/null || missing+=(nginx)
command -v haproxy >/dev/null || missing+=(haproxy)
command -v tini-static >/dev/null || missing+=(tini)
command -v busybox >/dev/null || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Debian's nginx and haproxy start their services when installed unless policy-rc.d says no:
  # say no for this install (container images usually ship such a file already).
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made_policy=1
  fi
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
  if [ "$made_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

if [ "$short" = 1 ]; then
  results="$(mktemp -d)"
  trap 'rm -rf "$results"' EXIT
  python3 "$here/rollout.py" --runs 1 --no-plot --results "$results" "${args[@]}"
else
  # matplotlib, from PyPI, for the plot (the harness only: nothing of it is in usher).
  python3 -c 'import matplotlib' 2>/dev/null || python3 -m pip install -q matplotlib
  python3 "$here/rollout.py" "${args[@]}"
fi
