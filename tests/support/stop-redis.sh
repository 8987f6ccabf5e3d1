#!/usr/bin/env bash
# Stops a Redis started by start-redis.sh and removes its folder: the one at the URL or port
# given (`stop-redis.sh redis://127.0.0.1:6390`), else the one started last.
set -euo pipefail
target="${1:-}"
if [ -n "$target" ]; then
  port="${target##*:}"
  port="${port%%/*}"
  record="/tmp/appc-redis.port-$port"
else
  record=/tmp/appc-redis.last
fi
data_dir="$(cat "$record" 2>/dev/null || true)"
[ -n "$data_dir" ] && [ -f "$data_dir/redis.pid" ] || { echo "no Redis to stop" >&2; exit 0; }
pid="$(cat "$data_dir/redis.pid")"
kill -TERM "$pid" 2>/dev/null || true
for _ in $(seq 1 100); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
rm -rf "$data_dir" "$record"
if [ "$(cat /tmp/appc-redis.last 2>/dev/null || true)" = "$data_dir" ]; then rm -f /tmp/appc-redis.last; fi
