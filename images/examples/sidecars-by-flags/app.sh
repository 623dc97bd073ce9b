#!/bin/sh
# The demo's main process: serves until SIGTERM, then drains briefly and exits 0.
trap 'echo "app: SIGTERM: draining connections"; sleep 0.3; echo "app: drained, bye"; exit 0' TERM
echo "app: serving"
sleep 1000 & wait $!
