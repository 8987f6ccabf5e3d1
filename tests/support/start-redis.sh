#!/usr/bin/env bash
# Starts a throwaway redis-server on a free loopback port and prints its URL on stdout.
#
#   export APPC_TEST_REDIS_URL="$(tests/support/start-redis.sh)"
#   cargo test -p appc-runtime presence
#   tests/support/stop-redis.sh "$APPC_TEST_REDIS_URL"
#
# It installs Debian's redis-server package with apt-get when the binary is missing and it may
# (root only). The server keeps nothing on disk (no RDB snapshots, no AOF) and lives in a
# temporary folder that stop-redis.sh removes.
set -euo pipefail

if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "installing redis-server with apt-get" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >&2
  else
    echo "error: redis-server is missing; install the redis-server package" >&2
    exit 1
  fi
fi

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
data_dir="$(mktemp -d /tmp/appc-redis.XXXXXX)"
echo "$port" > "$data_dir/port"
redis-server --bind 127.0.0.1 --port "$port" --dir "$data_dir" --save "" --appendonly no \
  --daemonize yes --pidfile "$data_dir/redis.pid" --logfile "$data_dir/redis.log" >&2
for _ in $(seq 1 50); do
  if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
    echo "redis://127.0.0.1:$port"
    exit 0
  fi
  sleep 0.1
done
echo "error: redis-server did not answer on port $port; see $data_dir/redis.log" >&2
exit 1
