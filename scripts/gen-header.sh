#!/usr/bin/env bash
# Regenerates include/stevedore.h with the pinned cbindgen (the dev-dependency
# that tests/header.rs checks against), and the bindings' copies of it
# (bindings/go/stevedore.h, bindings/elixir/c_src/stevedore.h).
set -euo pipefail
cd "$(dirname "$0")/.."
STEVEDORE_UPDATE_HEADER=1 cargo test --quiet --test header -- the_checked_in_header_is_current
