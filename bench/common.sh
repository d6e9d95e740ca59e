# Shared by the benchmark scripts (sourced, not run): installs the peers,
# builds the release CLI as $ours, makes $work (removed on exit, after the
# background processes in $pids are stopped), and small helpers.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
RUNS=${RUNS:-3}
BIG_MIB=${BIG_MIB:-256}
# STEVEDORE_BIN runs that binary instead of building the release one.
if [ -n "${STEVEDORE_BIN:-}" ]; then
  ours=$STEVEDORE_BIN
else
  cargo build --quiet --release --bin stevedore
  ours=$PWD/target/release/stevedore
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# A free port on 127.0.0.1.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Waits until something listens on 127.0.0.1:PORT.
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; }

# The median of the numbers on stdin, one a line.
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# docker_registry ROOT ADDR NAME: starts Debian's docker-registry storing under
# ROOT and listening on ADDR (its config and log are $work/NAME.yml and .log);
# sets $pid.
docker_registry() {
  printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n' \
    "$1" "$2" > "$work/$3.yml"
  docker-registry serve "$work/$3.yml" >"$work/$3.log" 2>&1 &
  pid=$!
  pids+=("$pid")
}
