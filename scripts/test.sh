#!/usr/bin/env bash
# Runs the whole test suite from a fresh machine: installs what the tests need, starts the servers
# they need (and stops them afterwards), then runs every test. Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n==> %s\n' "$*"; }

step "checking tools"
command -v cargo >/dev/null || { echo "error: cargo is missing; install Rust from your package manager or rustup" >&2; exit 2; }

# Every cargo build of this run, including the apps that end-to-end tests generate, shares one target dir.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

if [ -d "${APPC_WASP_CORPUS:-$root/../shared/wasp-corpus}" ]; then
  echo "Wasp corpus found: the parser's corpus tests will run"
else
  echo "WARNING: no Wasp corpus at ../shared/wasp-corpus (or \$APPC_WASP_CORPUS): the corpus tests will be SKIPPED" >&2
fi

step "starting a throwaway PostgreSQL for the PostgreSQL tests"
if [ -z "${APPC_TEST_POSTGRES_URL:-}" ]; then
  APPC_TEST_POSTGRES_URL="$(bash tests/support/start-postgres.sh)"
  export APPC_TEST_POSTGRES_URL
  trap 'bash tests/support/stop-postgres.sh || true' EXIT
fi
echo "PostgreSQL at $APPC_TEST_POSTGRES_URL"

step "formatting"
cargo fmt --all -- --check

step "cargo test (workspace)"
cargo test --workspace --all-targets
cargo test --workspace --doc

printf '\nall test steps passed\n'
