#!/usr/bin/env bash
# Stops a cluster started by start-postgres.sh and removes its data: the one at the URL or port
# given (`stop-postgres.sh postgres://appc@127.0.0.1:5433/postgres`), else the one started last
# on this machine (which may be another run's: pass the URL when several runs share /tmp).
set -euo pipefail
target="${1:-}"
if [ -n "$target" ]; then
  port="${target##*:}"
  port="${port%%/*}"
  record="/tmp/appc-postgres.port-$port"
else
  record=/tmp/appc-postgres.last
fi
data_dir="$(cat "$record" 2>/dev/null || true)"
[ -n "$data_dir" ] && [ -d "$data_dir/data" ] || { echo "no cluster to stop" >&2; exit 0; }
bin_dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
pg_ctl="$(command -v pg_ctl || echo "$bin_dir/pg_ctl")"
if [ "$(id -u)" -eq 0 ]; then
  runuser -u postgres -- "$pg_ctl" --pgdata="$data_dir/data" --mode=fast stop >&2
else
  "$pg_ctl" --pgdata="$data_dir/data" --mode=fast stop >&2
fi
rm -rf "$data_dir" "$record"
if [ "$(cat /tmp/appc-postgres.last 2>/dev/null || true)" = "$data_dir" ]; then rm -f /tmp/appc-postgres.last; fi
