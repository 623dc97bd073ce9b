#!/bin/sh
# The demo's main process: serves until SIGTERM, then drains briefly and exits 0.
# /tmp/serving exists while it serves (the Kubernetes manifest's readiness probe reads it).
trap 'rm -f /tmp/serving; echo "app: SIGTERM: draining connections"; sleep 0.3; echo "app: drained, bye"; exit 0' TERM
touch /tmp/serving
echo "app: serving"
sleep 1000 & wait $!
