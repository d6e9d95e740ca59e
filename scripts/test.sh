#!/usr/bin/env bash
# Runs every test: style and lint gates, then the Rust tests (unit,
# integration against real skopeo, umoci and docker-registry, CLI, header,
# C ABI, packaging), then every package as its ecosystem installs it and the
# Python, Go and Elixir bindings' tests (scripts/test-packages.sh), then the README's
# main job (scripts/demo.sh), then every fuzz target for 15 seconds
# (scripts/fuzz.sh; 12 targets, 3 minutes). Ends with the totals of all
# runners.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo fmt --all -- --check
cargo clippy --all-targets --quiet -- -D warnings
log=$(mktemp)
# The tests share no blob-location cache with the user's, nor with an earlier run.
XDG_CACHE_HOME=$(mktemp -d)
export XDG_CACHE_HOME
trap 'rm -f "$log"; rm -rf "$XDG_CACHE_HOME"' EXIT
status=0
cargo test --no-fail-fast 2>&1 | tee "$log" || status=$?

# Every face installed the way its ecosystem installs it (C with
# scripts/install.sh, Python with pip in a fresh venv, Go through pkg-config
# from a module outside the repository, Elixir with mix), and each binding's
# own tests against that install.
scripts/test-packages.sh 2>&1 | tee -a "$log" || status=$?

demo_log=$(mktemp)
if scripts/demo.sh >"$demo_log" 2>&1; then
  echo "--- PASS: scripts/demo.sh" | tee -a "$log"
else
  cat "$demo_log"
  echo "--- FAIL: scripts/demo.sh" | tee -a "$log"
  status=1
fi
rm -f "$demo_log"

scripts/fuzz.sh 15 2>&1 | tee -a "$log" || status=$?

awk '/^test result:/ { passed += $4; failed += $6 }
     /^[0-9]+ (passed|failed)/ && / in [0-9.]+s/ {
       for (i = 1; i < NF; i++) { if ($(i+1) ~ /^passed/) passed += $i; if ($(i+1) ~ /^failed/) failed += $i }
     }
     /^[0-9]+ tests?, [0-9]+ failures?/ { passed += $1 - $3; failed += $3 }
     /^--- PASS/ { passed += 1 }
     /^--- FAIL/ { failed += 1 }
     END { printf "%d passed, %d failed\n", passed, failed }' "$log"
exit "$status"
