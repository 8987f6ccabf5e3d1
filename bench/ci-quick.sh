#!/usr/bin/env bash
# The CI smoke test of the server benchmarks: installs the Node anchor's pinned dependencies,
# builds the benchmark binaries and runs `appc-bench quick` (seconds, small numbers, all three
# servers, the socket.io-client validation). It asserts that every connection is held, every
# message delivered and the validation counts match; it asserts nothing about speed.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --prefix bench/node --no-audit --no-fund
cargo build --release -p appc-bench
./target/release/appc-bench quick "$@"
