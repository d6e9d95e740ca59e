#!/usr/bin/env bash
# Times a big image (4 x BIG_MIB MiB; 256 makes 1 GiB) pushed and pulled by
# Stevedore's own client through `stevedore serve` on the file-system store,
# on S3 (s3s-fs, started here on 127.0.0.1: the fairer of the two S3 test
# services; moto keeps everything in Python memory), and through three
# servers on one bucket at once (three clients, one per server, each
# pushing then pulling the image under its own name). Prints the median
# wall time of each case over RUNS runs.
#
#   bench/s3.sh                       # 3 runs, 1 GiB
#   RUNS=1 BIG_MIB=64 STEVEDORE_BIN=target/debug/stevedore bench/s3.sh
source "$(dirname "$0")/common.sh"

export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=benchsecret AWS_REGION=us-east-1
s3port=$(free_port)
mkdir -p "$work/s3/bench"
s3s-fs --host 127.0.0.1 --port "$s3port" --access-key bench --secret-key benchsecret "$work/s3" \
  >"$work/s3s.log" 2>&1 &
pids+=("$!")
wait_port "$s3port"
export AWS_ENDPOINT_URL=http://127.0.0.1:$s3port

# serve FLAGS...: starts `stevedore serve` on a free port; sets $addr, $pid.
serve() {
  local port; port=$(free_port)
  addr=127.0.0.1:$port
  "$ours" serve --addr "$addr" "$@" 2>>"$work/serve.log" &
  pid=$!
  pids+=("$pid")
  wait_port "$port"
}
stop() { kill "$1" 2>/dev/null && wait "$1" 2>/dev/null || true; }
seconds() { local start; start=$(date +%s.%N); "$@" >/dev/null; awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.3f\n", e - s }'; }
push() { "$ours" --tls-verify=false copy --quiet "oci:$work/fixtures/big:1" "docker://$1/bench/$2:1"; }
pull() { rm -rf "$work/out-$2"; "$ours" --tls-verify=false copy --quiet "docker://$1/bench/$2:1" "oci:$work/out-$2:1"; }
push_pull_three() {
  local i job=()
  for i in 0 1 2; do ( push "${addrs[$i]}" "three$i$1" ) & job+=("$!"); done
  wait "${job[@]}"
}
pull_three() {
  local i job=()
  for i in 0 1 2; do ( pull "${addrs[$(( (i + 1) % 3 ))]}" "three$i$1" ) & job+=("$!"); done
  wait "${job[@]}"
}

echo "generating the big image (4 x $BIG_MIB MiB)..." >&2
python3 bench/make_fixtures.py "$work/fixtures" "$BIG_MIB"
for run in $(seq "$RUNS"); do
  rm -rf "$work/store"
  serve --root "$work/store" --no-fsync; fs=$pid; fs_addr=$addr
  seconds push "$fs_addr" "fs$run" >> "$work/push.fs"
  seconds pull "$fs_addr" "fs$run" >> "$work/pull.fs"
  stop "$fs"
  serve --s3 "s3://bench/run$run"; s3=$pid
  seconds push "$addr" "s3$run" >> "$work/push.s3"
  seconds pull "$addr" "s3$run" >> "$work/pull.s3"
  stop "$s3"
  addrs=(); three=()
  for i in 0 1 2; do serve --s3 "s3://bench/three$run"; addrs+=("$addr"); three+=("$pid"); done
  seconds push_pull_three "$run" >> "$work/push.three"
  seconds pull_three "$run" >> "$work/pull.three"
  for p in "${three[@]}"; do stop "$p"; done
done
printf '%-28s %10s %10s\n' case "push s" "pull s"
for c in fs s3 three; do
  label=$c
  case $c in fs) label="one server, fs store";; s3) label="one server, s3s-fs";; three) label="three servers at once (x3)";; esac
  printf '%-28s %10s %10s\n' "$label" "$(median < "$work/push.$c")" "$(median < "$work/pull.$c")"
done
