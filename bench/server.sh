#!/usr/bin/env bash
# Times skopeo pushing to and pulling from Stevedore's registry server and
# Debian's docker-registry, the same images in the same run, alternating the
# two servers; prints the median wall time against each and the ratio
# ours/docker-registry, then 8 concurrent pulls, and each server's peak RSS.
# The big push is also timed with Stevedore's own client, which leaves more
# of the machine to the server than skopeo does.
#
#   bench/server.sh                   # 3 runs a case, big image of 4 x 256 MiB
#   RUNS=5 BIG_MIB=64 bench/server.sh
#
# Both servers keep blobs on disk under a fresh directory each run, and
# neither flushes blobs to disk as they are committed (fsync).
source "$(dirname "$0")/common.sh"

# start KIND NAME: a server of KIND (ours | docker) on a free port over a
# fresh directory; sets $addr and $pid.
start() {
  local port; port=$(free_port)
  addr=127.0.0.1:$port
  if [ "$1" = ours ]; then
    "$ours" serve --addr "$addr" --root "$work/store-$2" 2>"$work/$2.log" &
  else
    printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n' \
      "$work/store-$2" "$addr" > "$work/$2.yml"
    docker-registry serve "$work/$2.yml" >"$work/$2.log" 2>&1 &
  fi
  pid=$!
  pids+=("$pid")
  wait_port "$port"
}

stop() { kill "$1" 2>/dev/null && wait "$1" 2>/dev/null || true; rm -rf "$work/store-$2"; }

peak_kib() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }


seconds() { local start; start=$(date +%s.%N); "$@" >/dev/null; awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.3f\n", e - s }'; }

echo "generating images (big: 4 x $BIG_MIB MiB, many: 200 x 50 KiB)..." >&2
python3 bench/make_fixtures.py "$work/fixtures" "$BIG_MIB"

S=(skopeo --insecure-policy copy --quiet --src-tls-verify=false --dest-tls-verify=false)
declare -A peak
for run in $(seq "$RUNS"); do
  for kind in ours docker; do
    start "$kind" "$kind-$run"
    # Our own client first, into a repository skopeo does not use: with
    # skopeo the client's own CPU bounds the big cases.
    seconds "$ours" --tls-verify=false copy --quiet "oci:$work/fixtures/big:1" "docker://$addr/bench/ours-big:1" >> "$work/push-big-stevedore.$kind"
    for image in big many; do
      seconds "${S[@]}" "oci:$work/fixtures/$image:1" "docker://$addr/bench/$image:1" >> "$work/push-$image.$kind"
      seconds "${S[@]}" "docker://$addr/bench/$image:1" "oci:$work/pulled-$kind:1" >> "$work/pull-$image.$kind"
      rm -rf "$work/pulled-$kind"
    done
    # 8 clients pulling the big image at once.
    start_all=$(date +%s.%N)
    for c in $(seq 8); do "${S[@]}" "docker://$addr/bench/big:1" "oci:$work/c$c:1" & done
    wait_clients=$(jobs -p | grep -v "^$pid$" || true)
    for j in $wait_clients; do wait "$j"; done
    awk -v s="$start_all" -v e="$(date +%s.%N)" 'BEGIN { printf "%.3f\n", e - s }' >> "$work/pull8.$kind"
    rm -rf "$work"/c*
    kib=$(peak_kib "$pid")
    [ "${peak[$kind]:-0}" -lt "$kib" ] && peak[$kind]=$kib
    stop "$pid" "$kind-$run"
  done
done

printf "\n%-28s %10s %16s %6s\n" case "ours" "docker-registry" ratio
for case in push-big-stevedore push-big push-many pull-big pull-many pull8; do
  o=$(median < "$work/$case.ours"); d=$(median < "$work/$case.docker")
  label=$case; [ "$case" = pull8 ] && label="8 concurrent pulls of big"
  awk -v n="$label" -v o="$o" -v d="$d" 'BEGIN { printf "%-28s %9.2fs %15.2fs %6.2f\n", n, o, d, (d > 0 ? o / d : 0) }'
done
awk -v o="${peak[ours]}" -v d="${peak[docker]}" 'BEGIN { printf "%-28s %7.1fMiB %12.1fMiB %6.2f\n", "server peak RSS", o / 1024, d / 1024, o / d }'
