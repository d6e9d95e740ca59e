#!/usr/bin/env bash
# Times Stevedore's copy against skopeo's on the same work, on one local
# docker-registry, alternating the two tools; prints for each case the median
# wall time, CPU time and peak RSS of both and the ratio ours/skopeo.
#
#   bench/copy.sh            # 3 runs a case, big image of 4 x 256 MiB
#   RUNS=5 BIG_MIB=64 bench/copy.sh
#
# Both tools write durably: skopeo fsyncs each blob into an OCI layout, and
# Stevedore's store flushes each blob (fsync) before linking it into place.
source "$(dirname "$0")/common.sh"

# start_registry NAME: a docker-registry on a free loopback port; sets $addr and $registry_pid.
start_registry() {
  local port
  port=$(free_port)
  addr=127.0.0.1:$port
  docker_registry "$work/registry-$1" "$addr" "registry-$1"
  registry_pid=$pid
  wait_port "$port"
}

stop_registry() {
  kill "$1" 2>/dev/null && wait "$1" 2>/dev/null || true
  rm -rf "$work/registry-$2"
}

start_registry main
reg=$addr

echo "generating images (big: 4 x $BIG_MIB MiB, many: 200 x 50 KiB, multi: 3 platforms)..." >&2
python3 bench/make_fixtures.py "$work/fixtures" "$BIG_MIB"
for image in big many multi; do
  skopeo --insecure-policy copy --quiet --all --dest-tls-verify=false "oci:$work/fixtures/$image:1" "docker://$reg/bench/$image:1"
done
for i in $(seq 3); do
  skopeo --insecure-policy copy --quiet --dest-tls-verify=false "oci:$work/fixtures/many:1" "docker://$reg/bench/many:t$i"
done

n=0
# measure NAME CMD...: runs CMD under GNU time; appends "wall cpu rss_kib" to $work/NAME.
measure() {
  local name=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$work/time.out" "$@" >/dev/null
  awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$work/time.out" >> "$work/$name"
}


# case NAME OURS_CMD -- SKOPEO_CMD  (the string DST is replaced by a fresh destination per run)
bench_case() {
  local name=$1; shift
  local ours_cmd=() skopeo_cmd=() side=ours
  for arg in "$@"; do
    if [ "$arg" = "--" ]; then side=skopeo; continue; fi
    if [ $side = ours ]; then ours_cmd+=("$arg"); else skopeo_cmd+=("$arg"); fi
  done
  rm -f "$work/$name.ours" "$work/$name.skopeo"
  for _ in $(seq "$RUNS"); do
    for tool in ours skopeo; do
      n=$((n + 1))
      local dst_dir="$work/dst-$n" dst_repo="bench/new-$n"
      local cmd=()
      if [ $tool = ours ]; then cmd=("${ours_cmd[@]}"); else cmd=("${skopeo_cmd[@]}"); fi
      cmd=("${cmd[@]//DSTDIR/$dst_dir}")
      cmd=("${cmd[@]//DSTREPO/$dst_repo}")
      # Pushes go to an empty registry each run: neither tool may find the
      # blobs there already (skopeo's blob-info cache would mount them).
      local fresh_pid=
      if [[ "${cmd[*]}" == *FRESHREG* ]]; then
        start_registry "run-$n"
        fresh_pid=$registry_pid
        cmd=("${cmd[@]//FRESHREG/$addr}")
      fi
      measure "$name.$tool" "${cmd[@]}"
      rm -rf "$dst_dir"
      [ -n "$fresh_pid" ] && stop_registry "$fresh_pid" "run-$n"
    done
  done
  local ow oc om sw sc sm
  ow=$(cut -d' ' -f1 "$work/$name.ours" | median); oc=$(cut -d' ' -f2 "$work/$name.ours" | median); om=$(cut -d' ' -f3 "$work/$name.ours" | median)
  sw=$(cut -d' ' -f1 "$work/$name.skopeo" | median); sc=$(cut -d' ' -f2 "$work/$name.skopeo" | median); sm=$(cut -d' ' -f3 "$work/$name.skopeo" | median)
  awk -v n="$name" -v ow="$ow" -v oc="$oc" -v om="$om" -v sw="$sw" -v sc="$sc" -v sm="$sm" 'BEGIN {
    printf "%-24s %8.2fs %8.2fs %6.2f | %7.2fs %7.2fs %6.2f | %7.1f %7.1f %6.2f\n",
      n, ow, sw, (sw > 0 ? ow / sw : 0), oc, sc, (sc > 0 ? oc / sc : 0), om / 1024, sm / 1024, (sm > 0 ? om / sm : 0) }'
}

S="skopeo --insecure-policy"
R="docker://$reg/bench"
echo
printf "%-24s %9s %9s %6s | %8s %8s %6s | %7s %7s %6s\n" case "ours" "skopeo" ratio "cpu ours" "skopeo" ratio "MiB ours" skopeo ratio
bench_case "pull big -> oci" "$ours" --tls-verify=false copy --quiet "$R/big:1" "oci:DSTDIR:1" -- $S copy --quiet --src-tls-verify=false "$R/big:1" "oci:DSTDIR:1"
bench_case "pull many -> oci" "$ours" --tls-verify=false copy --quiet "$R/many:1" "oci:DSTDIR:1" -- $S copy --quiet --src-tls-verify=false "$R/many:1" "oci:DSTDIR:1"
bench_case "pull multi --all -> oci" "$ours" --tls-verify=false copy --quiet --all "$R/multi:1" "oci:DSTDIR:1" -- $S copy --quiet --all --src-tls-verify=false "$R/multi:1" "oci:DSTDIR:1"
bench_case "push big oci ->" "$ours" --tls-verify=false copy --quiet "oci:$work/fixtures/big:1" "docker://FRESHREG/DSTREPO:1" -- $S copy --quiet --dest-tls-verify=false "oci:$work/fixtures/big:1" "docker://FRESHREG/DSTREPO:1"
bench_case "push many oci ->" "$ours" --tls-verify=false copy --quiet "oci:$work/fixtures/many:1" "docker://FRESHREG/DSTREPO:1" -- $S copy --quiet --dest-tls-verify=false "oci:$work/fixtures/many:1" "docker://FRESHREG/DSTREPO:1"
bench_case "registry new repo big" "$ours" --tls-verify=false copy --quiet "$R/big:1" "docker://$reg/DSTREPO:1" -- $S copy --quiet --src-tls-verify=false --dest-tls-verify=false "$R/big:1" "docker://$reg/DSTREPO:1"
bench_case "inspect --raw" "$ours" --tls-verify=false inspect --raw "$R/big:1" -- skopeo inspect --raw --tls-verify=false "$R/big:1"
bench_case "tags" "$ours" --tls-verify=false tags "$R/many" -- skopeo list-tags --tls-verify=false "$R/many"
