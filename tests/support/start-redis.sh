#!/usr/bin/env bash
# Starts a throwaway Redis (Debian's redis-server) on a free loopback port and prints its URL on
# stdout, like start-postgres.sh:
#
#   export APPC_TEST_REDIS_URL="$(tests/support/start-redis.sh)"
#   cargo test -p appc --test multi_process
#   tests/support/stop-redis.sh             # or leave it: it keeps nothing on disk
#
# `start-redis.sh PORT` starts it on that port instead (a test that restarts Redis uses the same
# port again). The server binds 127.0.0.1 only, saves nothing, and runs in the background; its
# folder under /tmp holds its pid and log. It installs the redis-server package with apt-get when
# the binary is missing and it may (root only).
set -euo pipefail

if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing redis-server with apt-get" >&2
    install_redis() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >&2; }
    install_redis || { apt-get update -qq >&2 && install_redis; }
  else
    echo "error: redis-server is missing; install Debian's redis-server package (7 or newer)" >&2
    exit 1
  fi
fi

# A free port: ask the kernel for one, unless the caller chose it.
port="${1:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')}"
data_dir="$(mktemp -d /tmp/appc-redis.XXXXXX)"

redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
  --dir "$data_dir" --pidfile "$data_dir/redis.pid" --logfile "$data_dir/redis.log" \
  --daemonize yes >&2

# Ready once it answers PING (redis-cli comes with the package).
for _ in $(seq 1 100); do
  if redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then
    echo "$data_dir" > /tmp/appc-redis.last
    echo "$data_dir" > "/tmp/appc-redis.port-$port"
    echo "redis://127.0.0.1:$port"
    exit 0
  fi
  sleep 0.05
done
echo "error: redis-server did not answer on port $port within 5 s; its log:" >&2
cat "$data_dir/redis.log" >&2
exit 1
