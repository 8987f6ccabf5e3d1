#!/usr/bin/env bash
# Fails with a clear message when rustc is older than the workspace's `rust-version` (Cargo.toml),
# before cargo would fail with a less helpful one about a dependency. Used by test.sh and
# run-example.sh; `RUSTC` chooses the compiler to check, as it does for cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
rustc="${RUSTC:-rustc}"
needed=$(sed -n 's/^rust-version = "\([0-9.]*\)"$/\1/p' Cargo.toml)
if [ -z "$needed" ]; then
  echo "error: Cargo.toml declares no rust-version; restore the \`rust-version = \"X.Y\"\` line of [workspace.package]" >&2
  exit 2
fi
if ! version_line=$("$rustc" --version 2>/dev/null); then
  echo "error: rustc is missing; install Rust $needed or newer (rustup or your package manager)" >&2
  exit 2
fi
# `rustc 1.94.0 (4a4ef493e 2026-03-02)` -> `1.94.0`
found=$(printf '%s\n' "$version_line" | sed -n 's/^rustc \([0-9][0-9.]*\).*/\1/p')
if [ -z "$found" ]; then
  echo "error: could not read the version from \`$rustc --version\` (\`$version_line\`); appc needs Rust $needed or newer" >&2
  exit 2
fi
# The older of the two comes first in version order; if that is not `needed`, rustc is too old.
if [ "$(printf '%s\n%s\n' "$needed" "$found" | sort -V | head -n 1)" != "$needed" ]; then
  echo "error: appc needs Rust $needed or newer (its dependencies require it), but rustc is $found; update with \`rustup update stable\` or install a newer Rust from your package manager" >&2
  exit 2
fi
