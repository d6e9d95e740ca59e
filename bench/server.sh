#!/usr/bin/env bash
# Times skopeo pushing to and pulling from Stevedore's registry server and
# Debian's docker-registry, the same images in the same run, alternating the
# two servers; prints the median wall time against each and the ratio
# ours/docker-registry, then 8 concurrent pulls, each server's peak RSS, and
# skopeo's own CPU on the big push with the least time that leaves it.
# With skopeo as the client, skopeo's own CPU bounds the big cases (it spends
# 4-6 s of CPU on a 1 GiB push), so the big push is also timed with two
# clients that leave the machine to the server: curl (each blob one POST and
# one streamed PUT, all at once, no hashing: the server's work alone) and
# Stevedore's own client (which verifies what it reads, hashing it too).
#
#   bench/server.sh                   # 3 runs a case, big image of 4 x 256 MiB
#   RUNS=5 BIG_MIB=64 bench/server.sh
#   ONLY=durability bench/server.sh   # the cost of durable pushes alone
#   ONLY=push bench/server.sh         # the big push, Stevedore against curl
#
# Both servers keep blobs on disk under a fresh directory each run, written
# through the page cache. Ours flushes (fsync) a pushed manifest, its blobs
# and its records before answering the PUT, docker-registry does not: the
# durability case times 100 small images pushed one after another (curl:
# two blobs and a manifest each) against ours, ours with --no-fsync, and
# docker-registry, to show what that costs.
source "$(dirname "$0")/common.sh"

# start KIND NAME: a server of KIND (ours | nofsync | docker) on a free port
# over a fresh directory; sets $addr and $pid.
start() {
  local port; port=$(free_port)
  addr=127.0.0.1:$port
  if [ "$1" = ours ] || [ "$1" = nofsync ]; then
    local flags=(); [ "$1" = nofsync ] && flags=(--no-fsync)
    "$ours" serve --addr "$addr" --root "$work/store-$2" "${flags[@]}" 2>"$work/$2.log" &
    pid=$!
    pids+=("$pid")
  else
    docker_registry "$work/store-$2" "$addr" "$2"
  fi
  wait_port "$port"
}

stop() { kill "$1" 2>/dev/null && wait "$1" 2>/dev/null || true; rm -rf "$work/store-$2"; }

peak_kib() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }


# image_parts LAYOUT: the layout's manifest digest, then its config and layer
# digests, space-separated: read once, before any clock starts (python3's
# start-up would otherwise be timed with the push).
image_parts() {
  python3 -c 'import json,sys
d = json.load(open(sys.argv[1] + "/index.json"))["manifests"][0]["digest"]
m = json.load(open(sys.argv[1] + "/blobs/sha256/" + d[7:]))
print(" ".join([d, m["config"]["digest"]] + [l["digest"] for l in m["layers"]]))' "$1"
}

# curl_push ADDR LAYOUT REPO MANIFEST BLOB...: pushes the layout's image with
# curl, its blobs all at once, each a POST and then one PUT streaming the file.
curl_push() {
  local addr=$1 layout=$2 repo=$3 manifest=$4 uploads=()
  shift 4
  for blob in "$@"; do curl_blob "$addr" "$layout" "$repo" "$blob" & uploads+=($!); done
  for upload in "${uploads[@]}"; do wait "$upload"; done
  curl -sf -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "@$layout/blobs/sha256/${manifest#sha256:}" "http://$addr/v2/$repo/manifests/1" -o /dev/null
}

# curl_blob ADDR LAYOUT REPO DIGEST: one blob, a POST then one PUT; with
# VERIFY=1 the file is also hashed (`openssl dgst -sha256`) while it is sent,
# the work a client that checks what it pushes cannot skip.
curl_blob() {
  local addr=$1 layout=$2 repo=$3 blob=$4 location file
  file=$layout/blobs/sha256/${blob#sha256:}
  location=$(curl -sf -o /dev/null -D - -X POST "http://$addr/v2/$repo/blobs/uploads/" | tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }')
  case $location in http*) ;; *) location=http://$addr$location ;; esac
  case $location in *\?*) location="$location&" ;; *) location="$location?" ;; esac
  [ "${VERIFY:-0}" = 1 ] && openssl dgst -sha256 "$file" >/dev/null &
  curl -sf -X PUT -H 'Content-Type: application/octet-stream' -T "$file" "${location}digest=$blob" -o /dev/null
  wait
}

# seconds CMD...: the wall time of CMD, started once what earlier cases left
# in the page cache is on disk, so that no case pays for another's writeback.
seconds() { local start; sync; start=$(date +%s.%N); "$@" >/dev/null; awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.3f\n", e - s }'; }

# put_blob ADDR REPO FILE DIGEST: uploads FILE as a blob, a POST then one
# PUT (docker-registry does not take the single-POST form).
put_blob() {
  local location
  location=$(curl -sf -o /dev/null -D - -X POST "http://$1/v2/$2/blobs/uploads/" | tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }')
  case $location in http*) ;; *) location=http://$1$location ;; esac
  case $location in *\?*) location="$location&" ;; *) location="$location?" ;; esac
  curl -sf -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$3" "${location}digest=$4" -o /dev/null
}

# small_pushes ADDR N: pushes N small images (a 4 KiB layer, a config, a
# manifest) one after another, each its own repository.
small_pushes() {
  local addr=$1 n=$2 i
  for i in $(seq "$n"); do
    local d="$work/small/$i"
    put_blob "$addr" "small/$i" "$d/layer" "$(cat "$d/layer.digest")"
    put_blob "$addr" "small/$i" "$d/config" "$(cat "$d/config.digest")"
    curl -sf -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
      --data-binary "@$d/manifest" "http://$addr/v2/small/$i/manifests/1" -o /dev/null
  done
}

# The durability case: 100 small pushes, RUNS times against each kind.
durability() {
  python3 - "$work/small" 100 <<'PY'
import hashlib, json, os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(1, n + 1):
    d = os.path.join(root, str(i)); os.makedirs(d)
    layer = os.urandom(4096); config = json.dumps({"os": "linux", "architecture": "amd64", "n": i}).encode()
    dig = lambda b: "sha256:" + hashlib.sha256(b).hexdigest()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": dig(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": dig(layer), "size": len(layer)}]}).encode()
    for name, data in [("layer", layer), ("config", config), ("manifest", manifest)]:
        open(os.path.join(d, name), "wb").write(data)
        open(os.path.join(d, name + ".digest"), "w").write(dig(data))
PY
  for run in $(seq "$RUNS"); do
    for kind in ours nofsync docker; do
      start "$kind" "small-$kind-$run"
      seconds small_pushes "$addr" 100 >> "$work/push-100-small.$kind"
      stop "$pid" "small-$kind-$run"
    done
  done
  printf "\n%-28s %10s %12s %16s\n" case "ours" "--no-fsync" "docker-registry"
  awk -v o="$(median < "$work/push-100-small.ours")" -v n="$(median < "$work/push-100-small.nofsync")" \
    -v d="$(median < "$work/push-100-small.docker")" \
    'BEGIN { printf "%-28s %9.2fs %11.2fs %15.2fs\n", "100 small pushes (curl)", o, n, d }'
}

[ "${ONLY:-}" = push ] || durability
[ "${ONLY:-}" = durability ] && exit 0

echo "generating images (big: 4 x $BIG_MIB MiB, many: 200 x 50 KiB)..." >&2
python3 bench/make_fixtures.py "$work/fixtures" "$BIG_MIB"
big_parts=$(image_parts "$work/fixtures/big")

S=(skopeo --insecure-policy copy --quiet --src-tls-verify=false --dest-tls-verify=false)
declare -A peak
for run in $(seq "$RUNS"); do
  for kind in ours docker; do
    # The light clients first, each into a server of its own: a client
    # pushing second into a server that already holds the same blobs would
    # be timed against the first one's writeback (and, before the server
    # dropped uploads of blobs it holds, against renames over those files).
    start "$kind" "$kind-curl-$run"
    # shellcheck disable=SC2086 # the digests, one word each
    seconds curl_push "$addr" "$work/fixtures/big" bench/curl-big $big_parts >> "$work/push-big-curl.$kind"
    stop "$pid" "$kind-curl-$run"
    start "$kind" "$kind-curlsha-$run"
    # shellcheck disable=SC2086 # the digests, one word each
    VERIFY=1 seconds curl_push "$addr" "$work/fixtures/big" bench/curl-big $big_parts >> "$work/push-big-curlsha.$kind"
    stop "$pid" "$kind-curlsha-$run"
    start "$kind" "$kind-stevedore-$run"
    seconds "$ours" --tls-verify=false copy --quiet "oci:$work/fixtures/big:1" "docker://$addr/bench/ours-big:1" >> "$work/push-big-stevedore.$kind"
    stop "$pid" "$kind-stevedore-$run"
    [ "${ONLY:-}" = push ] && continue
    start "$kind" "$kind-$run"
    for image in big many; do
      # skopeo's own CPU (user + system) on the push is kept too.
      seconds /usr/bin/time -f '%U %S' -a -o "$work/skopeo-cpu-$image.$kind" \
        "${S[@]}" "oci:$work/fixtures/$image:1" "docker://$addr/bench/$image:1" >> "$work/push-$image.$kind"
      # The first pull right after the push, then another: a server that
      # wrote past the page cache would read a fresh blob from disk first.
      for pull in first again; do
        seconds "${S[@]}" "docker://$addr/bench/$image:1" "oci:$work/pulled-$kind:1" >> "$work/pull-$image-$pull.$kind"
        rm -rf "$work/pulled-$kind"
      done
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

# push_ratios: Stevedore's client against curl into the same server
# (targets: <= 1.3x into ours, <= 1.1x into docker-registry), and against
# curl that also hashes each blob as it sends it (what verifying costs).
push_ratios() {
  for kind in ours docker; do
    awk -v k="$kind" -v s="$(median < "$work/push-big-stevedore.$kind")" -v c="$(median < "$work/push-big-curl.$kind")" \
      -v h="$(median < "$work/push-big-curlsha.$kind")" \
      'BEGIN { printf "%-28s %9.2fs %9.2fs (curl) %6.2f %9.2fs (curl+sha) %6.2f\n", "push-big stevedore/curl " k, s, c, (c > 0 ? s / c : 0), h, (h > 0 ? s / h : 0) }'
  done
}
if [ "${ONLY:-}" = push ]; then
  echo; push_ratios; exit 0
fi

printf "\n%-28s %10s %16s %6s\n" case "ours" "docker-registry" ratio
for case in push-big-curl push-big-stevedore push-big push-many pull-big-first pull-big-again pull-many-first pull-many-again pull8; do
  o=$(median < "$work/$case.ours"); d=$(median < "$work/$case.docker")
  label=$case; [ "$case" = pull8 ] && label="8 concurrent pulls of big"
  awk -v n="$label" -v o="$o" -v d="$d" 'BEGIN { printf "%-28s %9.2fs %15.2fs %6.2f\n", n, o, d, (d > 0 ? o / d : 0) }'
done
push_ratios
awk -v o="${peak[ours]}" -v d="${peak[docker]}" 'BEGIN { printf "%-28s %7.1fMiB %12.1fMiB %6.2f\n", "server peak RSS", o / 1024, d / 1024, o / d }'
# skopeo's CPU on the big push bounds that push from below whatever the
# server: spread over every core, it is the least wall time skopeo can take.
cores=$(nproc)
for image in big many; do
  o=$(awk '{ print $1 + $2 }' "$work/skopeo-cpu-$image.ours" | median)
  d=$(awk '{ print $1 + $2 }' "$work/skopeo-cpu-$image.docker" | median)
  awk -v n="skopeo CPU in push-$image" -v o="$o" -v d="$d" 'BEGIN { printf "%-28s %9.2fs %15.2fs\n", n, o, d }'
done
big_cpu=$(awk '{ print $1 + $2 }' "$work/skopeo-cpu-big.ours" | median)
awk -v o="$big_cpu" -v c="$cores" -v t="$(median < "$work/push-big.docker")" \
  'BEGIN { printf "push-big cannot beat %.2fs (skopeo CPU / %d cores): ratio >= %.2f\n", o / c, c, o / c / t }'
