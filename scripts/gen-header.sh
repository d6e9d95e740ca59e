#!/usr/bin/env bash
# Regenerates include/stevedore.h with the pinned cbindgen (the dev-dependency
# that tests/header.rs checks against).
set -euo pipefail
cd "$(dirname "$0")/.."
STEVEDORE_UPDATE_HEADER=1 cargo test --quiet --test header
