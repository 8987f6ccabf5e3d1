#!/usr/bin/env bash
# Fuzzes the spec compiler (parse + analysis) and the runtime's payload decoder with cargo-fuzz
# (libFuzzer) for a bounded time each. Not part of CI: run it by hand after changing the parser,
# the analysis or payload decoding.
#
# Usage: bash scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 120)
#
# cargo-fuzz needs nightly compiler flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain accept
# them, so no second toolchain is needed. Findings (crashing inputs) are kept under
# <crate>/fuzz/artifacts/<target>/ and the script exits 1 when there is one.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds="${1:-120}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz (cargo install cargo-fuzz --locked)"
  cargo install cargo-fuzz --locked
fi

# Seeds: every real spec we have, and the payloads of the runtime's tests.
parse_corpus="$root/compiler/fuzz/corpus/parse"
mkdir -p "$parse_corpus"
corpus_dir="${APPC_WASP_CORPUS:-$root/../shared/wasp-corpus}"
seed_index=0
while IFS= read -r -d '' spec; do
  seed_index=$((seed_index + 1))
  cp "$spec" "$parse_corpus/seed-$seed_index.wasp"
done < <(find "$corpus_dir" "$root/examples" "$root/tests/cases" "$root/compiler/tests/fixtures" \
  -name '*.wasp' -not -path '*/node_modules/*' -not -path '*/.appc/*' -print0 2>/dev/null)
echo "parse: $seed_index seed specs"

payload_corpus="$root/runtime/fuzz/corpus/payload"
mkdir -p "$payload_corpus"
printf '%s' '{"text":"hello"}' > "$payload_corpus/seed-1.json"
printf '%s' '{"vote":2,"lines":[{"text":"a"},{"text":null}]}' > "$payload_corpus/seed-2.json"
printf '%s' '[1,2.5,"x",true,null,{"a":[[]]}]' > "$payload_corpus/seed-3.json"

status=0
run_target() {
  local crate_dir=$1 target=$2 corpus=$3
  echo "==> fuzzing $target for ${seconds}s ($crate_dir)"
  local log
  log=$(mktemp)
  if (cd "$crate_dir" && cargo fuzz run "$target" "$corpus" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1) >"$log" 2>&1; then
    echo "$target: no finding"
  else
    echo "$target: FINDING (see $crate_dir/fuzz/artifacts/$target/)"
    tail -n 40 "$log"
    status=1
  fi
  grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)' "$log" || true
  grep -E '^#[0-9]+.*(DONE|cov:)' "$log" | tail -n 1 || true
  rm -f "$log"
}

run_target "$root/compiler" parse "$parse_corpus"
if [ -d "$root/runtime/fuzz" ]; then
  run_target "$root/runtime" payload "$payload_corpus"
fi
exit $status
