#!/bin/sh
# make demo: an app with two sidecars under usher, as PID 1 of its own pid namespace when
# possible. After a second it sends SIGTERM, as `docker stop` or Kubernetes would, and usher's
# log shows the ordered shutdown: preStop wait, the app first, then the sidecars in reverse.
set -eu
usher=${1:-dist/usher}
here=$(cd "$(dirname "$0")" && pwd)
set -- "$usher" \
  --sidecar "log-shipper=sh $here/sidecar.sh log-shipper 0.2" \
  --sidecar "proxy=sh $here/sidecar.sh proxy 0.1" \
  --pre-stop 500ms --grace 10s \
  -- "$here/app.sh"
echo "\$ usher --sidecar 'log-shipper=...' --sidecar 'proxy=...' --pre-stop 500ms --grace 10s -- ./app.sh"
if [ "$(id -u)" = 0 ] && unshare --pid --fork --mount-proc true 2>/dev/null; then
  unshare --pid --fork --mount-proc "$@" &
  outer=$!
  sleep 0.2
  target=$(cat "/proc/$outer/task/$outer/children")  # usher, PID 1 inside
else
  "$@" &
  outer=$!
  target=$outer
fi
sleep 1
echo "--- sending SIGTERM to usher"
kill -TERM "$target"
status=0
wait "$outer" || status=$?
echo "--- usher exited with status $status"
