#!/usr/bin/env bash
# Generates the man pages from the CLI's command table (clap_mangen):
# stevedore.1 and stevedore-VERB.1 for every verb, into DIR (default man/).
#
#   scripts/gen-man.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-man}
cargo run --quiet --bin stevedore -- man "$dir"
echo "man pages in $dir/"
