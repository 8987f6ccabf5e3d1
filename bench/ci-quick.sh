#!/usr/bin/env bash
# The CI smoke test of the server benchmarks (scripts/test.sh runs it): installs the Node anchor's
# pinned dependencies, builds appc and the benchmark binaries (debug: the tests built them
# already), builds the generated chat and uppercase example servers with `appc build --debug`,
# and runs `appc-bench quick` (seconds, small numbers) with those generated servers as appc,
# beside Node and the raw limit, plus the socket.io-client validation, then `appc-bench processes`
# at small scale. It asserts that every
# connection is made and held, every message delivered and the validation counts match; it
# asserts nothing about speed. The hand-written stand-in is covered by `cargo test -p appc-bench`.
#
# Extra arguments go to `appc-bench quick`. Set CARGO_TARGET_DIR to share compiled dependencies
# with the rest of the test run (scripts/test.sh does).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
npm ci --prefix bench/node --no-audit --no-fund
cargo build --quiet -p appc -p appc-bench
for example in chat uppercase; do
  echo "==> building the generated examples/$example server (debug)"
  "$CARGO_TARGET_DIR/debug/appc" build --debug --color never "examples/$example"
done
# The uppercase app declares `encoding: msgpack`, so echo runs in msgpack on every server (Node
# and the limit speak it too); the chat scenarios and the validation stay in JSON.
"$CARGO_TARGET_DIR/debug/appc-bench" quick \
  --appc-chat-bin examples/chat/.appc/build/server \
  --appc-echo-bin examples/uppercase/.appc/build/server \
  --echo-encoding msgpack \
  "$@"

# The multi-process broadcast at small scale (the generated chat alone, with Redis, as two
# processes on one Redis, and two Node processes with @socket.io/redis-adapter): every client must
# connect and every message reach every client, whichever process its sender is on. It needs
# PostgreSQL (scripts/test.sh exports APPC_TEST_POSTGRES_URL) and redis-server.
if [ -n "${APPC_TEST_POSTGRES_URL:-}" ]; then
  echo "==> appc-bench processes (small numbers, delivery only)"
  "$CARGO_TARGET_DIR/debug/appc-bench" processes \
    --appc-chat-bin examples/chat/.appc/build/server \
    --clients 50 --senders 4 --rate 20 --messages 20 --no-pin --assert-delivery
else
  echo "SKIPPED: appc-bench processes needs APPC_TEST_POSTGRES_URL (tests/support/start-postgres.sh prints one)" >&2
fi
