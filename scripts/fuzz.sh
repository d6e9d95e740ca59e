#!/usr/bin/env bash
# Runs every fuzz target in tests/fuzz (one per parser of untrusted input)
# for SECONDS each (default 60), on the stable toolchain: cargo-fuzz with
# libFuzzer's coverage guidance and no sanitizer (installed from crates.io
# when missing). Each target starts from its committed seeds
# (tests/fuzz/seeds/TARGET) plus what earlier runs found
# (tests/fuzz/corpus/TARGET, not committed). Prints "--- PASS: fuzz TARGET"
# or "--- FAIL: fuzz TARGET" with the crash and the input libFuzzer saved
# under tests/fuzz/artifacts/TARGET; exits non-zero when any failed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
fuzz=(--fuzz-dir tests/fuzz --sanitizer none --release)
cargo fuzz build "${fuzz[@]}"
status=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for target in $(cargo fuzz list --fuzz-dir tests/fuzz); do
  corpus=$PWD/tests/fuzz/corpus/$target
  mkdir -p "$corpus"
  # 2 GiB of memory and 10 s per input at most: more is a finding too.
  if cargo fuzz run "${fuzz[@]}" "$target" "$corpus" "$PWD/tests/fuzz/seeds/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=65536 -print_final_stats=1 >"$log" 2>&1; then
    echo "--- PASS: fuzz $target ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs in ${seconds}s)"
  else
    tail -n 60 "$log"
    echo "--- FAIL: fuzz $target"
    status=1
  fi
done
exit "$status"
