#!/usr/bin/env bash
# Quick start: builds appc, then one of the example apps, and runs it on its embedded default
# database (SQLite, under the example's .appc/) in development mode.
#
#   bash scripts/run-example.sh [chat|todo|uppercase]     # default: chat; PORT=4000 to change the port
#
# The first run compiles the server's dependencies (a few minutes on 2 cores); later runs reuse them.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
example="${1:-chat}"

if [ ! -f "examples/$example/main.wasp" ]; then
  echo "error: no example named \`$example\`; choose one of: $(ls examples | tr '\n' ' ')" >&2
  exit 2
fi
command -v cargo >/dev/null || { echo "error: cargo is missing; install Rust (rustup or your package manager)" >&2; exit 2; }
command -v rustfmt >/dev/null || { echo "error: rustfmt is missing; install it with \`rustup component add rustfmt\`" >&2; exit 2; }
bash scripts/require-rust.sh

# The compiler and the generated app share one target folder, so dependencies are compiled once.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

echo "==> building appc"
cargo build --quiet -p appc
echo "==> building examples/$example with appc (debug profile: quick to compile)"
"$CARGO_TARGET_DIR/debug/appc" build --debug "examples/$example"

cd "examples/$example"
export APPC_ENV=development PORT="${PORT:-3000}"
echo "==> starting examples/$example on http://127.0.0.1:$PORT (Ctrl-C stops it)"
exec ./.appc/build/server
