#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on a free local port and prints its URL on stdout.
#
#   export APPC_TEST_POSTGRES_URL="$(tests/support/start-postgres.sh)"
#   cargo test -p appc-runtime
#   tests/support/stop-postgres.sh          # or leave it: the data lives under /tmp
#
# PostgreSQL refuses to run as root, so when this script runs as root it runs the server as the
# `postgres` system user (created by Debian's postgresql package). It installs the package with
# apt-get when no PostgreSQL binaries are found and it may (root only).
set -euo pipefail

find_bin_dir() {
  if command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"
    return
  fi
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

bin_dir="$(find_bin_dir)"
if [ -z "$bin_dir" ] || [ ! -x "$bin_dir/pg_ctl" ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "installing postgresql with apt-get" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    bin_dir="$(find_bin_dir)"
  else
    echo "error: no PostgreSQL binaries found; install the postgresql package" >&2
    exit 1
  fi
fi

# A free port: ask the kernel for one.
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
data_dir="$(mktemp -d /tmp/appc-postgres.XXXXXX)"
run_as=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres: "$data_dir"
  run_as=(runuser -u postgres --)
fi

"${run_as[@]}" "$bin_dir/initdb" --pgdata="$data_dir/data" --username=appc --auth=trust \
  --encoding=UTF8 --no-instructions >"$data_dir/initdb.log" 2>&1 ||
  { cat "$data_dir/initdb.log" >&2; exit 1; }
"${run_as[@]}" "$bin_dir/pg_ctl" --pgdata="$data_dir/data" --log="$data_dir/server.log" --wait \
  --options="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$data_dir -c fsync=off" \
  start >&2 || { cat "$data_dir/server.log" >&2; exit 1; }

echo "$data_dir" > /tmp/appc-postgres.last
echo "postgres://appc@127.0.0.1:$port/postgres"
