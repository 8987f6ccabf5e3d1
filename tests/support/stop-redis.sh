#!/usr/bin/env bash
# Stops the redis-server that start-redis.sh started for URL (redis://127.0.0.1:PORT) and removes
# its temporary folder.
#
#   tests/support/stop-redis.sh "$APPC_TEST_REDIS_URL"
set -euo pipefail

url="${1:-${APPC_TEST_REDIS_URL:-}}"
port="${url##*:}"
port="${port%%/*}"
port="${port%%\?*}"
if [ -z "$port" ]; then
  echo "usage: stop-redis.sh redis://127.0.0.1:PORT" >&2
  exit 2
fi
for pid_file in /tmp/appc-redis.*/redis.pid; do
  [ -f "$pid_file" ] || continue
  data_dir="$(dirname "$pid_file")"
  if [ "$(cat "$data_dir/port" 2>/dev/null)" = "$port" ]; then
    kill "$(cat "$pid_file")" 2>/dev/null || true
    rm -rf "$data_dir"
  fi
done
