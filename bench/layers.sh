#!/usr/bin/env bash
# Looking inside a large image without unpacking it. Builds an image from this
# machine's own /usr as 4 gzip layers (umoci raw add-layer; tens of thousands
# of files, hundreds of MiB) in an oci: layout, then times, with peak RSS from
# GNU time:
#   ls      stevedore ls           vs umoci unpack --rootless + find (target <= 0.25x)
#   export  stevedore export       vs gzip -dc of the layers, the floor (target <= 1.3x)
#           and vs skopeo copy to dir: + tar t of each layer (the naive way)
#   sbom    stevedore sbom         vs stevedore ls (target <= 1.5x)
# and peak RSS of ls (target <= 64 MiB for 100k entries).
# RUNS=N (default 3) runs of each, medians shown. LAYERS overrides the layers:
# one layer per ';'-separated group of paths under /.
source "$(dirname "$0")/common.sh"

LAYERS=${LAYERS:-"usr/bin usr/sbin var/lib/dpkg/status;usr/include usr/lib/python3;usr/share/man usr/share/doc;usr/share/locale usr/share/zoneinfo usr/share/i18n"}
layout=$work/usr-image
umoci init --layout "$layout"
umoci new --image "$layout:1"
# os-release is a link into /usr/lib on Debian: the first layer gets its bytes.
mkdir -p "$work/extra/etc"
cp /etc/os-release "$work/extra/etc/os-release"
i=0
IFS=';' read -ra groups <<<"$LAYERS"
for group in "${groups[@]}"; do
  i=$((i + 1))
  # shellcheck disable=SC2086 # a group is a list of paths
  if [ $i = 1 ]; then
    tar -C / -cf "$work/layer.tar" $group -C "$work/extra" etc 2>/dev/null || true
  else
    tar -C / -cf "$work/layer.tar" $group 2>/dev/null || true
  fi
  umoci raw add-layer --image "$layout:1" "$work/layer.tar"
  rm -f "$work/layer.tar"
done
entries=$("$ours" ls "oci:$layout:1" | wc -l)
blobs=$(python3 - "$layout" <<'EOF'
import json, sys
root = sys.argv[1]
index = json.load(open(f"{root}/index.json"))
digest = [m for m in index["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "1"][0]["digest"]
manifest = json.load(open(f"{root}/blobs/" + digest.replace(":", "/")))
print(" ".join(f"{root}/blobs/" + l["digest"].replace(":", "/") for l in manifest["layers"]))
EOF
)
compressed=$(du -cm $blobs | tail -1 | cut -f1)
uncompressed=$(for b in $blobs; do gzip -dc "$b"; done | wc -c)
echo "image: ${#groups[@]} gzip layers, $entries entries, ${compressed} MiB compressed, $((uncompressed / 1048576)) MiB of tar"

# measure NAME CMD...: runs CMD under GNU time (stdout to /dev/null); appends
# "wall cpu rss_kib" to $work/NAME.
measure() {
  local name=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$work/time.out" "$@" >/dev/null
  awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$work/time.out" >> "$work/$name"
}

# run_case NAME CMD...: RUNS measured runs; sets $wall $cpu $rss (medians).
run_case() {
  local name=$1; shift
  rm -f "$work/$name"
  for _ in $(seq "$RUNS"); do
    measure "$name" "$@"
    rm -rf "$work/bundle" "$work/dir-copy" "$work/export.tar"
  done
  wall=$(cut -d' ' -f1 "$work/$name" | median)
  cpu=$(cut -d' ' -f2 "$work/$name" | median)
  rss=$(cut -d' ' -f3 "$work/$name" | median)
  printf "%-34s %8.2fs %8.2fs %8.1f MiB\n" "$name" "$wall" "$cpu" "$(echo "$rss / 1024" | bc -l)"
  eval "wall_${name//[^a-z]/_}=$wall; rss_${name//[^a-z]/_}=$rss"
}

echo
printf "%-34s %9s %9s %12s\n" case wall cpu "peak RSS"
run_case "stevedore ls" "$ours" ls "oci:$layout:1"
run_case "umoci unpack + find" sh -c "umoci unpack --rootless --image '$layout:1' '$work/bundle' >/dev/null && find '$work/bundle/rootfs'"
run_case "stevedore export" "$ours" export "oci:$layout:1"
run_case "gzip -dc layers" sh -c "for b in $blobs; do gzip -dc \"\$b\"; done"
run_case "skopeo copy dir: + tar t" sh -c "skopeo --insecure-policy copy --quiet 'oci:$layout:1' 'dir:$work/dir-copy' && for b in $blobs; do tar -tzf '$work/dir-copy/'\"\$(basename \$b)\"; done"
run_case "stevedore sbom" "$ours" sbom "oci:$layout:1"

# The memory target is for 100k entries: one layer of exactly 100,000 (1,000
# directories of 99 small files each, paths as long as /usr's), listed alone.
python3 - "$work/many.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as tar:
    for d in range(1000):
        info = tarfile.TarInfo(f"usr/share/doc/package-number-{d:04d}")
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(info)
        for f in range(99):
            data = f"{d}/{f}\n".encode()
            info = tarfile.TarInfo(f"usr/share/doc/package-number-{d:04d}/changelog-entry-{f:03d}.txt")
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
PY
umoci init --layout "$work/many-image" && umoci new --image "$work/many-image:1"
umoci raw add-layer --image "$work/many-image:1" "$work/many.tar"
many_entries=$("$ours" ls "oci:$work/many-image:1" | wc -l)
run_case "stevedore ls, 100k" "$ours" ls "oci:$work/many-image:1"

echo
awk -v ls="$wall_stevedore_ls" -v umoci="$wall_umoci_unpack___find" -v ex="$wall_stevedore_export" \
    -v gz="$wall_gzip__dc_layers" -v sk="$wall_skopeo_copy_dir____tar_t" -v sb="$wall_stevedore_sbom" \
    -v rss="$rss_stevedore_ls" -v n="$entries" -v many="$rss_stevedore_ls_____k" \
    -v many_n="$many_entries" 'BEGIN {
  printf "ls / umoci unpack+find   %5.2fx  (target <= 0.25x)\n", ls / umoci
  printf "export / gzip -dc        %5.2fx  (target <= 1.3x)\n", ex / gz
  printf "export / skopeo+tar t    %5.2fx\n", ex / sk
  printf "sbom / ls                %5.2fx  (target <= 1.5x)\n", sb / ls
  printf "ls peak RSS              %5.1f MiB for %d entries (%.1f MiB per 100k, scaled)\n", rss / 1024, n, rss / 1024 * 100000 / n
  printf "ls peak RSS, 100k image  %5.1f MiB for %d entries (target <= 64)\n", many / 1024, many_n
}'
