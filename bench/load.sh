#!/usr/bin/env bash
# The registry server under load: wrk (Debian's) fetching a manifest by tag
# and a small (4 KiB) blob over keep-alive connections, 64 and 256 at once,
# against Stevedore's server and Debian's docker-registry in the same run,
# both on 127.0.0.1 with their stores on disk. Prints requests per second,
# p50 and p99 latency, errors (non-2xx answers and socket errors) and each
# server's RSS after the case (and its peak).
#
#   bench/load.sh                    # 10 s a case
#   SECONDS_PER_CASE=30 bench/load.sh
#
# Installs wrk when missing (the benchmark's own need, not the tests').
source "$(dirname "$0")/common.sh"
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
DURATION=${SECONDS_PER_CASE:-10}

# A small image: a 4 KiB layer, its config and manifest, in $work/img.
python3 - "$work/img" <<'PY'
import hashlib, json, os, sys
d = sys.argv[1]; os.makedirs(d)
dig = lambda b: "sha256:" + hashlib.sha256(b).hexdigest()
layer = os.urandom(4096); config = json.dumps({"os": "linux", "architecture": "amd64"}).encode()
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": dig(config), "size": len(config)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": dig(layer), "size": len(layer)}]}).encode()
for name, data in [("layer", layer), ("config", config), ("manifest", manifest)]:
    open(os.path.join(d, name), "wb").write(data)
    open(os.path.join(d, name + ".digest"), "w").write(dig(data))
PY
layer_digest=$(cat "$work/img/layer.digest")

push() {
  local addr=$1 blob location
  for blob in layer config; do
    # A POST then one PUT (docker-registry does not take the single-POST form).
    location=$(curl -sf -o /dev/null -D - -X POST "http://$addr/v2/load/app/blobs/uploads/" | tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }')
    case $location in http*) ;; *) location=http://$addr$location ;; esac
    case $location in *\?*) location="$location&" ;; *) location="$location?" ;; esac
    curl -sf -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$work/img/$blob" \
      "${location}digest=$(cat "$work/img/$blob.digest")" -o /dev/null
  done
  curl -sf -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "@$work/img/manifest" "http://$addr/v2/load/app/manifests/1" -o /dev/null
}

# wrk's Lua: the Accept header a client pulling by tag sends, and a summary
# line (requests/s, p50 and p99 in ms, non-2xx, socket errors) at the end.
cat > "$work/load.lua" <<'LUA'
wrk.headers["Accept"] = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %.0f %.2f %.2f %d %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, e.status,
    e.connect + e.read + e.write + e.timeout))
end
LUA

rss_kib() { awk -v f="$2" '$1 == f ":" { print $2 }' "/proc/$1/status"; }

declare -A server_pid server_addr
for kind in ours docker; do
  port=$(free_port); addr=127.0.0.1:$port
  if [ "$kind" = ours ]; then
    "$ours" serve --addr "$addr" --root "$work/store-ours" 2>"$work/ours.log" &
    pid=$!; pids+=("$pid")
  else
    docker_registry "$work/store-docker" "$addr" docker
  fi
  wait_port "$port"
  push "$addr"
  server_pid[$kind]=$pid; server_addr[$kind]=$addr
done

printf "%-10s %-6s %-16s %10s %9s %9s %7s %9s\n" server conns case "req/s" "p50 ms" "p99 ms" errors "RSS MiB"
for conns in 64 256; do
  for case in manifest blob; do
    for kind in ours docker; do
      addr=${server_addr[$kind]}
      case $case in
        manifest) url="http://$addr/v2/load/app/manifests/1" ;;
        blob) url="http://$addr/v2/load/app/blobs/$layer_digest" ;;
      esac
      result=$(wrk -t 2 -c "$conns" -d "${DURATION}s" --timeout 10s -s "$work/load.lua" "$url" | awk '/^RESULT/ { $1 = ""; print }')
      read -r rps p50 p99 status_errors socket_errors <<<"$result"
      rss=$(rss_kib "${server_pid[$kind]}" VmRSS)
      printf "%-10s %-6s %-16s %10s %9s %9s %7s %9.1f\n" "$kind" "$conns" "$case" "$rps" "$p50" "$p99" \
        "$((status_errors + socket_errors))" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
    done
  done
done
for kind in ours docker; do
  awk -v n="$kind" -v k="$(rss_kib "${server_pid[$kind]}" VmHWM)" 'BEGIN { printf "%s peak RSS: %.1f MiB\n", n, k / 1024 }'
done
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -r); $(date -u +%Y-%m-%d)"
