#!/usr/bin/env bash
# Runs the whole test suite from a fresh machine: installs what the tests need, starts the servers
# they need (and stops them afterwards), then runs every test. Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n==> %s\n' "$*"; }

# Installs Debian's package $2, which the tests named by $3 need, unless $1 (a command name, or
# the path of the executable) is already there. Exits when it cannot.
install_debian_package() {
  local executable=$1 package=$2 tests=$3
  if command -v "$executable" >/dev/null 2>&1; then return; fi
  step "installing $package for $tests (apt-get)"
  command -v apt-get >/dev/null || { echo "error: $executable is missing and there is no apt-get; install Debian's $package package" >&2; exit 2; }
  local as_root=()
  if [ "$(id -u)" -ne 0 ]; then as_root=(sudo); fi
  local install=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$package")
  # The package lists may be missing or stale on a fresh machine: refresh them only if needed.
  "${install[@]}" || { "${as_root[@]}" apt-get update -q && "${install[@]}"; }
}

step "checking tools"
command -v cargo >/dev/null || { echo "error: cargo is missing; install Rust from your package manager or rustup" >&2; exit 2; }
command -v rustfmt >/dev/null || { echo "error: rustfmt is missing; install it (rustup component add rustfmt)" >&2; exit 2; }
bash scripts/require-rust.sh
command -v node >/dev/null || { echo "error: node is missing; install Node.js 18 or later (the end-to-end tests drive servers with socket.io-client)" >&2; exit 2; }
command -v npm >/dev/null || { echo "error: npm is missing; install it with Node.js" >&2; exit 2; }

# The browser test (compiler/tests/e2e.rs, tests/e2e/browser_chat.mjs) drives Debian's chromium
# with playwright-core; it never downloads a browser, so install the distribution's one here.
install_debian_package /usr/bin/chromium chromium "the browser tests"
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null)"

# The load-balancer tests (compiler/tests/load_balancer.rs) put Debian's nginx in front of several
# server processes; tests/support/start-nginx.sh runs it from a temporary folder, never as a service.
install_debian_package /usr/sbin/nginx nginx "the load-balancer tests"
echo "nginx: $(/usr/sbin/nginx -v 2>&1)"

# Every cargo build of this run, including the apps that end-to-end tests generate, shares one target dir.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

if [ -d "${APPC_WASP_CORPUS:-$root/../shared/wasp-corpus}" ]; then
  echo "Wasp corpus found: the parser's corpus tests will run"
else
  echo "WARNING: no Wasp corpus at ../shared/wasp-corpus (or \$APPC_WASP_CORPUS): the corpus tests will be SKIPPED (and fail where CI is set)" >&2
fi

# The multi-process tests (compiler/tests/multi_process.rs) run Debian's redis-server; install
# it like chromium. Its system service, if the package started one, is left alone: the tests
# start their own throwaway servers on free ports.
install_debian_package redis-server redis-server "the multi-process tests"
echo "redis-server: $(redis-server --version)"

# What this run started is stopped when it ends, however it ends.
stop_servers=()
# Each entry is a script and its argument, split on the space (the URLs hold none).
trap 'for stop in "${stop_servers[@]}"; do bash $stop || true; done' EXIT

step "starting a throwaway PostgreSQL for the PostgreSQL tests"
if [ -z "${APPC_TEST_POSTGRES_URL:-}" ]; then
  APPC_TEST_POSTGRES_URL="$(bash tests/support/start-postgres.sh)"
  export APPC_TEST_POSTGRES_URL
  stop_servers+=("tests/support/stop-postgres.sh $APPC_TEST_POSTGRES_URL")
fi
echo "PostgreSQL at $APPC_TEST_POSTGRES_URL"

step "starting a throwaway Redis for the runtime's Redis tests (the multi-process tests start their own)"
if [ -z "${APPC_TEST_REDIS_URL:-}" ]; then
  APPC_TEST_REDIS_URL="$(bash tests/support/start-redis.sh)"
  export APPC_TEST_REDIS_URL
  stop_servers+=("tests/support/stop-redis.sh $APPC_TEST_REDIS_URL")
fi
echo "Redis at $APPC_TEST_REDIS_URL"

step "end-to-end test packages (npm ci in tests/e2e)"
# The e2e tests (compiler/tests/e2e.rs) run node scripts with the real socket.io-client.
npm ci --prefix tests/e2e --no-audit --no-fund

step "formatting"
cargo fmt --all -- --check

step "cargo test (workspace)"
cargo test --workspace --all-targets
# TLS to PostgreSQL is a runtime feature that only PostgreSQL apps build in; test it on its own.
cargo test -p appc-runtime --features postgres-tls --test postgres_tls
cargo test --workspace --doc

# A smoke test of the server benchmarks (small numbers, all three servers, the socket.io-client
# cross-check) with the generated chat and uppercase servers as appc: it asserts that every
# connection is made and every message arrives, nothing about speed. Debug binaries are enough for
# that; the tests above built appc, appc-bench and both examples already, so this rebuilds little.
step "benchmark smoke test (appc-bench quick with the generated servers)"
bash bench/ci-quick.sh

printf '\nall test steps passed\n'
