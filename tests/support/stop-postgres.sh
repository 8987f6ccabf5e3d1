#!/usr/bin/env bash
# Stops the cluster started last by start-postgres.sh and removes its data.
set -euo pipefail
data_dir="$(cat /tmp/appc-postgres.last 2>/dev/null || true)"
[ -n "$data_dir" ] && [ -d "$data_dir/data" ] || { echo "no cluster to stop" >&2; exit 0; }
bin_dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
pg_ctl="$(command -v pg_ctl || echo "$bin_dir/pg_ctl")"
if [ "$(id -u)" -eq 0 ]; then
  runuser -u postgres -- "$pg_ctl" --pgdata="$data_dir/data" --mode=fast stop >&2
else
  "$pg_ctl" --pgdata="$data_dir/data" --mode=fast stop >&2
fi
rm -rf "$data_dir" /tmp/appc-postgres.last
