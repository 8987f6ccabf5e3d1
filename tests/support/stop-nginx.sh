#!/usr/bin/env bash
# Stops an nginx that start-nginx.sh started, given the folder it printed, and removes the folder.
#
#   tests/support/stop-nginx.sh /tmp/appc-nginx.AbC123
set -euo pipefail
folder="${1:-}"
case "$folder" in
  /tmp/appc-nginx.*) ;;
  *) echo "error: pass the folder start-nginx.sh printed (/tmp/appc-nginx.*)" >&2; exit 2 ;;
esac
[ -d "$folder" ] || { echo "no nginx folder at $folder" >&2; exit 0; }
pid="$(cat "$folder/nginx.pid" 2>/dev/null || true)"
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
  # TERM is nginx's fast shutdown: open connections (WebSockets) are closed, not waited for.
  kill -TERM "$pid"
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "nginx (pid $pid) did not stop within 5 s of SIGTERM; killing it" >&2
    # The master is the leader of its own process group (it daemonized): end its workers too.
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
fi
rm -rf "$folder"
