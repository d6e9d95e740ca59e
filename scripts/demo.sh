#!/usr/bin/env bash
# The main job end to end, on embedded defaults and no outside registry: makes
# a small image in an OCI layout (with umoci, as someone else's tool would),
# copies it with Stevedore to a second layout, inspects it, lists its tags,
# and has skopeo confirm the copy's digest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo build --quiet --release --bin stevedore
stevedore=$PWD/target/release/stevedore

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

echo "== making a small image in oci:$work/source:1.0"
umoci init --layout source
umoci new --image source:1.0
umoci unpack --rootless --image source:1.0 bundle >/dev/null
echo "hello from stevedore" > bundle/rootfs/hello.txt
umoci repack --image source:1.0 bundle >/dev/null
umoci config --image source:1.0 --config.cmd /hello.txt --config.label org.example.demo=yes >/dev/null

echo "== stevedore copy"
"$stevedore" copy "oci:source:1.0" "oci:copy:demo"

echo "== stevedore inspect"
"$stevedore" inspect "oci:copy:demo"

echo "== stevedore tags"
"$stevedore" tags "oci:copy"

echo "== skopeo agrees on the digest"
ours=$("$stevedore" inspect --json "oci:copy:demo" | sed -n 's/^  "digest": "\(.*\)",$/\1/p')
theirs=$(skopeo inspect --format '{{.Digest}}' "oci:copy:demo")
echo "stevedore: $ours"
echo "skopeo:    $theirs"
[ "$ours" = "$theirs" ] && echo "OK: the copy is byte-identical to the source"
