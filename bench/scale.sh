#!/usr/bin/env bash
# Stevedore at scale against skopeo (#21), each case side by side, wall time
# and peak RSS (bench/timed.py), a fresh destination registry per run:
#   - copy of the big image between two docker-registries (streamed: no disk);
#   - sync of N images sharing a 3-layer base (N in $SIZES, 2 tags each)
#     registry -> registry and registry -> local, then the same sync again;
#   - tags of a repository of T tags (T in $TAGS) in docker-registry and in
#     our server, a page of 1,000 tags from our server, and the catalog of
#     $REPOS repositories in our server, followed page by page;
# and prints the growth table (bench/README.md keeps one run of it).
#
#   bench/scale.sh                              # SIZES="1 10 100" TAGS="1 100 10000"
#   RUNS=1 BIG_MIB=64 SIZES="1 10" bench/scale.sh
#
# Every server listens on 127.0.0.1 and is stopped (by PID) on exit.
source "$(dirname "$0")/common.sh"
SIZES=${SIZES-"1 10 100"}
TAGS=${TAGS:-"1 100 10000"}
REPOS=${REPOS:-10000}
COPY=${COPY:-1}   # 0 skips the registry -> registry copy
BASE_MIB=${BASE_MIB:-8}
export XDG_CACHE_HOME=$work/cache

# start_docker NAME: a docker-registry over a fresh directory; sets $addr, $pid.
start_docker() {
  local port; port=$(free_port); addr=127.0.0.1:$port
  docker_registry "$work/store-$1" "$addr" "$1"
  wait_port "$port"
}
# start_ours NAME: our server, without fsync (only listings are timed on it:
# 10,000 durable tag writes would make the setup, not the case, slow).
start_ours() {
  local port; port=$(free_port); addr=127.0.0.1:$port
  "$ours" serve --addr "$addr" --root "$work/store-$1" --no-fsync 2>"$work/$1.log" &
  pid=$!; pids+=("$pid")
  wait_port "$port"
}
stop() { kill "$1" 2>/dev/null && wait "$1" 2>/dev/null || true; rm -rf "$work/store-$2"; }

# measure FILE CMD...: appends "wall_s peak_rss_kib cpu_s" of CMD to FILE
# (bench/timed.py: the wall time to the microsecond from the command's own
# start to its end; no shell's, GNU time's or date's start-up counted, which
# added milliseconds to every listing, ours and skopeo's alike).
measure() {
  local file=$1; shift
  python3 bench/timed.py "$file" "$@" 2>>"$work/measure.log"
}
col() { cut -d' ' -f"$1" "$2" | median; }
# cpu_s PID: the CPU time (user + system, seconds) process PID has used.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($14 + $15) / hz }' "/proc/$1/stat"; }

echo "generating images (big: 4 x $BIG_MIB MiB; 100 images over a 3 x $BASE_MIB MiB base)..." >&2
python3 bench/make_fixtures.py "$work/fixtures" "$BIG_MIB"
python3 - "$work/fixtures/scale" "$BASE_MIB" <<'PY'
import os, sys
sys.path.insert(0, "bench")
from make_fixtures import Layout
out, base_mib = sys.argv[1], int(sys.argv[2])
layout = Layout(out)
base = [layout.layer(f"base{i}.bin", os.urandom(base_mib << 20)) for i in range(3)]
for i in range(100):
    image = layout.image(base + [layout.layer(f"top{i}.bin", os.urandom(256 << 10))])
    for t in ("a", "b"):
        layout.tag(image, f"app{i}-{t}")
PY

start_docker source; src=$addr; src_pid=$pid
for i in $(seq 0 99); do for t in a b; do
  echo "oci:$work/fixtures/scale:app$i-$t docker://$src/bench/app$i:$t"
done; done > "$work/seed.list"
"$ours" --tls-verify=false sync --no-blob-cache "$work/seed.list" >/dev/null
[ "$COPY" = 1 ] && "$ours" --tls-verify=false copy --quiet "oci:$work/fixtures/big:1" "docker://$src/bench/big:1"

S=(skopeo --insecure-policy)
rows=()
row() { rows+=("$(printf "%-34s %8.3fs %8.3fs %6.2f | %7.1f %7.1f %6.2f" "$1" "$2" "$3" "$(awk -v a="$2" -v b="$3" 'BEGIN { print (b > 0 ? a / b : 0) }')" "$(awk -v k="$4" 'BEGIN { print k / 1024 }')" "$(awk -v k="$5" 'BEGIN { print k / 1024 }')" "$(awk -v a="$4" -v b="$5" 'BEGIN { print (b > 0 ? a / b : 0) }')")"); }

# Registry -> registry copy of the big image (blobs streamed, nothing on
# disk), by ours, skopeo, and curl pipes (bench/curl_copy.sh: the least any
# client can cost; "curl+sha" also hashes every stream, as a client that
# checks what it moves must).
for run in $(seq "$RUNS"); do
  [ "$COPY" = 1 ] || break
  for tool in ours skopeo curl curl+sha; do
    start_docker "r2r-$tool-$run"
    src_cpu=$(cpu_s "$src_pid")
    case $tool in
      ours) measure "$work/r2r.ours" "$ours" --tls-verify=false copy --quiet --no-blob-cache "docker://$src/bench/big:1" "docker://$addr/bench/big:1" ;;
      skopeo) measure "$work/r2r.skopeo" "${S[@]}" copy --quiet --src-tls-verify=false --dest-tls-verify=false "docker://$src/bench/big:1" "docker://$addr/bench/big:1" ;;
      curl) measure "$work/r2r.curl" env VERIFY=0 bench/curl_copy.sh "$src" "$addr" bench/big 1 ;;
      curl+sha) measure "$work/r2r.curl+sha" env VERIFY=1 bench/curl_copy.sh "$src" "$addr" bench/big 1 ;;
    esac
    echo "$(cpu_s "$src_pid") $src_cpu $(cpu_s "$pid")" | awk '{ print $1 - $2, $3 }' >> "$work/r2r-registries.$tool"
    stop "$pid" "r2r-$tool-$run"
  done
done
[ "$COPY" = 1 ] && row "copy big registry->registry" "$(col 1 "$work/r2r.ours")" "$(col 1 "$work/r2r.skopeo")" "$(col 2 "$work/r2r.ours")" "$(col 2 "$work/r2r.skopeo")"
[ "$COPY" = 1 ] && for tool in curl curl+sha; do
  row "  $tool pipes, same copy" "$(col 1 "$work/r2r.$tool")" "$(col 1 "$work/r2r.skopeo")" "$(col 2 "$work/r2r.$tool")" "$(col 2 "$work/r2r.skopeo")"
done
# Where the copy's CPU goes: the client, the source and the destination
# docker-registry (medians), and the least wall time that leaves on 2 cores.
[ "$COPY" = 1 ] && r2r_cpu=$(for tool in ours skopeo curl curl+sha; do
  printf '%s: client %.2fs, source registry %.2fs, destination registry %.2fs; ' "$tool" \
    "$(col 3 "$work/r2r.$tool")" "$(col 1 "$work/r2r-registries.$tool")" "$(col 2 "$work/r2r-registries.$tool")"
done)

# sync of N images (2 tags each) sharing a base.
sync_cpu=()
for n in $SIZES; do
  : > "$work/sync-$n.list"; : > "$work/sync-$n-oci.list"
  printf '%s:\n  tls-verify: false\n  images:\n' "$src" > "$work/sync-$n.yaml"
  for i in $(seq 0 $((n - 1))); do
    printf '    bench/app%s: [a, b]\n' "$i" >> "$work/sync-$n.yaml"
    for t in a b; do
      echo "docker://$src/bench/app$i:$t docker://DST/mirror/app$i:$t" >> "$work/sync-$n.list"
      echo "docker://$src/bench/app$i:$t oci:$work/out-ours/app$i:$t" >> "$work/sync-$n-oci.list"
    done
  done
  for run in $(seq "$RUNS"); do
    for tool in ours skopeo; do
      start_docker "sync-$n-$tool-$run"
      rm -rf "$XDG_CACHE_HOME"
      for pass in first again; do
        src_cpu=$(cpu_s "$src_pid"); dst_cpu=$(cpu_s "$pid")
        if [ $tool = ours ]; then
          sed "s|DST|$addr|" "$work/sync-$n.list" > "$work/run.list"
          measure "$work/sync-$n-$pass.ours" "$ours" --tls-verify=false sync "$work/run.list"
        else
          measure "$work/sync-$n-$pass.skopeo" "${S[@]}" sync --src yaml --dest docker --dest-tls-verify=false "$work/sync-$n.yaml" "$addr/mirror"
        fi
        echo "$(cpu_s "$src_pid") $src_cpu $(cpu_s "$pid") $dst_cpu" | awk '{ print $1 - $2 + $3 - $4 }' >> "$work/sync-$n-$pass-registries.$tool"
      done
      stop "$pid" "sync-$n-$tool-$run"
      # Registry -> local: our oci: layouts against skopeo's dir: (skopeo
      # sync writes no oci: layout).
      if [ $tool = ours ]; then
        mkdir -p "$work/out-ours"
        measure "$work/sync-$n-local.ours" "$ours" --tls-verify=false sync "$work/sync-$n-oci.list"
        rm -rf "$work/out-ours"
      else
        measure "$work/sync-$n-local.skopeo" "${S[@]}" sync --src yaml --dest dir "$work/sync-$n.yaml" "$work/out-skopeo"
        rm -rf "$work/out-skopeo"
      fi
    done
  done
  sync_cpu+=("sync $n images (first), CPU (median): ours $(col 3 "$work/sync-$n-first.ours")s + both registries $(col 1 "$work/sync-$n-first-registries.ours")s; skopeo $(col 3 "$work/sync-$n-first.skopeo")s + both registries $(col 1 "$work/sync-$n-first-registries.skopeo")s")
  for pass in first again local; do
    row "sync $n images ($pass)" "$(col 1 "$work/sync-$n-$pass.ours")" "$(col 1 "$work/sync-$n-$pass.skopeo")" "$(col 2 "$work/sync-$n-$pass.ours")" "$(col 2 "$work/sync-$n-$pass.skopeo")"
  done
done

# tags: one repository tagged up to each count, in docker-registry and ours.
start_ours tagsours; ours_addr=$addr; ours_pid=$pid
"$ours" --tls-verify=false copy --quiet "docker://$src/bench/app0:a" "docker://$ours_addr/bench/tags:t0"
# add_tags FROM TO: tags bench/tags t$FROM..t$((TO-1)) with t0's manifest in
# both servers by writing the tag records straight into their stores (each
# reads a tag list from its files on every request): benchmark setup, not the
# thing measured (one PUT a tag took docker-registry longer than the run).
add_tags() {
  python3 - "$work/store-source/docker/registry/v2/repositories/bench/tags/_manifests/tags" \
    "$work/store-tagsours/meta/repos/bench+tags/tags" "$@" <<'PY'
import os, sys
docker, ours, start, end = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
digest = open(os.path.join(docker, "t0", "current", "link")).read()
assert digest == open(os.path.join(ours, "t0")).read().strip(), "t0 differs"
algorithm, hex_ = digest.split(":")
for i in range(start, end):
    for d in ("current", os.path.join("index", algorithm, hex_)):
        os.makedirs(os.path.join(docker, f"t{i}", d), exist_ok=True)
        with open(os.path.join(docker, f"t{i}", d, "link"), "w") as f:
            f.write(digest)
    with open(os.path.join(ours, f"t{i}"), "w") as f:
        f.write(digest)
PY
}
"$ours" --tls-verify=false copy --quiet "docker://$src/bench/app0:a" "docker://$src/bench/tags:t0"
have=1
# page_ms: a page of 1,000 tags from our server, by curl (median of 5, ms).
page_ms() {
  for _ in $(seq 5); do curl -s -o /dev/null -w '%{time_total}\n' "http://$ours_addr/v2/bench/tags/tags/list?n=1000"; done | median | awk '{ printf "%.1f", $1 * 1000 }'
}
for count in $TAGS; do
  add_tags "$have" "$count"; have=$count
  # Our server keeps a large listing in memory once its directory has been
  # unchanged for 2 s (src/server/listing_cache.rs): a page right after the
  # tags were written reads the directory; the listings are timed settled.
  fresh_ms=$(page_ms)
  sleep 2.1
  for run in $(seq "$RUNS"); do
    for server in docker ours; do
      a=$src; [ $server = ours ] && a=$ours_addr
      measure "$work/tags-$count-$server.ours" "$ours" --tls-verify=false tags "docker://$a/bench/tags"
      measure "$work/tags-$count-$server.skopeo" skopeo list-tags --tls-verify=false "docker://$a/bench/tags"
    done
  done
  for server in docker ours; do
    row "tags $count ($server)" "$(col 1 "$work/tags-$count-$server.ours")" "$(col 1 "$work/tags-$count-$server.skopeo")" "$(col 2 "$work/tags-$count-$server.ours")" "$(col 2 "$work/tags-$count-$server.skopeo")"
  done
done
settled_ms=$(page_ms)

# The catalog of $REPOS repositories in our server, every page followed.
# Repository cat/r0 is pushed; the others are copies of its records, written
# straight into the store (setup, not the thing measured).
catalog=$(python3 - "$ours_addr" "$REPOS" "$work/store-tagsours/meta/repos" <<'PY'
import http.client, json, os, shutil, sys, time
addr, n, repos_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
host, port = addr.split(":")
c = http.client.HTTPConnection(host, int(port))
accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
c.request("GET", "/v2/bench/tags/manifests/t0", headers=accept)
r = c.getresponse(); body = r.read(); kind = r.getheader("Content-Type")
m = json.loads(body)
for blob in [m["config"]] + m["layers"]:
    c.request("POST", f"/v2/cat/r0/blobs/uploads/?mount={blob['digest']}&from=bench/tags")
    r = c.getresponse(); r.read(); assert r.status == 201, r.status
c.request("PUT", "/v2/cat/r0/manifests/1", body=body, headers={"Content-Type": kind})
r = c.getresponse(); r.read(); assert r.status == 201, r.status
for i in range(1, n):
    shutil.copytree(os.path.join(repos_dir, "cat+r0"), os.path.join(repos_dir, f"cat+r{i}"))
time.sleep(2.1)  # settled, as the tag lists above
start = time.time(); url = "/v2/_catalog?n=1000"; repos = 0; first = None
while url:
    t = time.time(); c.request("GET", url); r = c.getresponse(); repos += len(json.loads(r.read())["repositories"])
    first = first or (time.time() - t)
    link = r.getheader("Link"); url = link.split(";")[0].strip("<> ") if link else None
print(f"{repos} {time.time() - start:.3f} {first * 1000:.1f}")
PY
)
stop "$ours_pid" tagsours
stop "$src_pid" source

echo
printf "%-34s %9s %9s %6s | %7s %7s %6s\n" case ours skopeo ratio "MiB ours" skopeo ratio
printf '%s\n' "${rows[@]}"
[ "$COPY" = 1 ] && echo "copy big CPU (median) ${r2r_cpu%; }"
printf '%s\n' "${sync_cpu[@]}"
echo "our server, one page of 1,000 tags of $have: $settled_ms ms settled, $fresh_ms ms right after they were written (median of 5, curl)"
read -r repos secs first_ms <<< "$catalog"
echo "our server, _catalog of $repos repositories, 1,000 a page: $secs s in all, first page $first_ms ms"
