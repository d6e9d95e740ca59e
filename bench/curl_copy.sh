#!/usr/bin/env bash
# The least a registry -> registry copy can cost a client: curl streaming
# each blob from the source's GET into the destination's PUT (a POST, then
# one PUT), all blobs at once, then the manifest; nothing checked, nothing
# written to disk. With VERIFY=1 each stream is also hashed (`openssl dgst
# -sha256` on a tee of it): the work of a client that checks what it moves.
# The benchmarks time it beside ours and skopeo to show what the registries
# themselves leave for any client.
#
#   bench/curl_copy.sh SRC_ADDR DST_ADDR REPO TAG
set -euo pipefail
src=$1 dst=$2 repo=$3 tag=$4
accept='application/vnd.oci.image.manifest.v1+json'
manifest=$(mktemp)
trap 'rm -f "$manifest"' EXIT
curl -sf -H "Accept: $accept" "http://$src/v2/$repo/manifests/$tag" -o "$manifest"
digests=$(python3 -c 'import json,sys
m = json.load(open(sys.argv[1]))
print(" ".join([m["config"]["digest"]] + [l["digest"] for l in m["layers"]]))' "$manifest")

blob() {
  local digest=$1 location
  location=$(curl -sf -o /dev/null -D - -X POST "http://$dst/v2/$repo/blobs/uploads/" | tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }')
  case $location in http*) ;; *) location=http://$dst$location ;; esac
  case $location in *\?*) location="$location&" ;; *) location="$location?" ;; esac
  if [ "${VERIFY:-0}" = 1 ]; then
    curl -sf "http://$src/v2/$repo/blobs/$digest" | tee >(openssl dgst -sha256 >/dev/null) |
      curl -sf -X PUT -H 'Content-Type: application/octet-stream' -T - "${location}digest=$digest" -o /dev/null
  else
    curl -sf "http://$src/v2/$repo/blobs/$digest" |
      curl -sf -X PUT -H 'Content-Type: application/octet-stream' -T - "${location}digest=$digest" -o /dev/null
  fi
}
uploads=()
for digest in $digests; do blob "$digest" & uploads+=($!); done
for upload in "${uploads[@]}"; do wait "$upload"; done
curl -sf -X PUT -H "Content-Type: $accept" --data-binary "@$manifest" "http://$dst/v2/$repo/manifests/$tag" -o /dev/null
