#!/bin/sh
# A demo sidecar: NAME and how long it needs to flush on SIGTERM.
name=$1 flush=$2
trap 'echo "$name: SIGTERM: flushing for ${flush}s"; sleep "$flush"; echo "$name: done"; exit 0' TERM
echo "$name: up"
sleep 1000 & wait $!
