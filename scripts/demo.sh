#!/usr/bin/env bash
# The main job end to end, on embedded defaults and no outside registry:
# makes a small image in an OCI layout (with umoci, as someone else's tool
# would), starts Stevedore's own registry on a free loopback port, pushes the
# image to it, inspects and lists it there, lists its files, makes its SBOM and
# attaches it as a referrer, pulls it back into a second
# layout, has skopeo confirm every digest, signs the image cosign's way,
# verifies it, shows a verify with the wrong key refused, and stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh demo   # skopeo and umoci only: the judges the demo calls
cargo build --quiet --release --bin stevedore
stevedore=$PWD/target/release/stevedore

work=$(mktemp -d)
server_pid=
# Stops the server and removes the work directory, keeping the demo's status
# (the server's own exit by SIGTERM is not the demo failing).
cleanup() {
  local status=$?
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
cd "$work"

echo "== making a small image in oci:$work/source:1.0"
umoci init --layout source
umoci new --image source:1.0
umoci unpack --rootless --image source:1.0 bundle >/dev/null
echo "hello from stevedore" > bundle/rootfs/hello.txt
umoci repack --image source:1.0 bundle >/dev/null
umoci config --image source:1.0 --config.cmd /hello.txt --config.label org.example.demo=yes >/dev/null

echo "== stevedore serve (in memory, on a free loopback port)"
"$stevedore" serve --memory --addr 127.0.0.1:0 2> serve.log &
server_pid=$!
for _ in $(seq 100); do
  addr=$(sed -n 's|.*serving http://\([^ ]*\) .*|\1|p' serve.log)
  [ -n "$addr" ] && break
  sleep 0.1
done
[ -n "$addr" ] || { cat serve.log; exit 1; }
echo "registry at $addr"
registry=(--tls-verify=false)

echo "== stevedore copy oci: -> our registry"
"$stevedore" "${registry[@]}" copy "oci:source:1.0" "docker://$addr/demo/app:1.0"

echo "== stevedore inspect"
"$stevedore" "${registry[@]}" inspect "docker://$addr/demo/app:1.0"

echo "== stevedore tags"
"$stevedore" "${registry[@]}" tags "docker://$addr/demo/app"

echo "== stevedore copy our registry -> oci:"
"$stevedore" "${registry[@]}" copy "docker://$addr/demo/app:1.0" "oci:copy:demo"

echo "== skopeo agrees on the digest, in the registry and in the layout"
ours=$("$stevedore" inspect --json "oci:copy:demo" | sed -n 's/^  "digest": "\(.*\)",$/\1/p')
in_registry=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$addr/demo/app:1.0")
in_layout=$(skopeo inspect --format '{{.Digest}}' "oci:copy:demo")
source=$(skopeo inspect --format '{{.Digest}}' "oci:source:1.0")
echo "source (umoci):      $source"
echo "our registry:        $in_registry"
echo "copy (stevedore):    $ours"
echo "copy (skopeo reads): $in_layout"
[ "$source" = "$in_registry" ] && [ "$source" = "$ours" ] && [ "$ours" = "$in_layout" ] &&
  echo "OK: the image went through our registry and back byte-identical"

echo "== stevedore ls: the image's files, read from our registry without unpacking"
"$stevedore" "${registry[@]}" ls --long "docker://$addr/demo/app:1.0"

echo "== stevedore append, mutate, diff: a new layer and config on top, in the registry, compared"
mkdir -p extra && echo "added by stevedore append" > extra/greeting.txt
"$stevedore" "${registry[@]}" append --base "docker://$addr/demo/app:1.0" --new-layer extra \
  --tag "docker://$addr/demo/app:1.1"
"$stevedore" "${registry[@]}" mutate --label org.example.stage=appended --env GREETING=hello \
  --tag "docker://$addr/demo/app:1.1" "docker://$addr/demo/app:1.1"
"$stevedore" "${registry[@]}" diff "docker://$addr/demo/app:1.0" "docker://$addr/demo/app:1.1"
"$stevedore" "${registry[@]}" cat "docker://$addr/demo/app:1.1" /greeting.txt

echo "== stevedore sbom --attach: its SBOM (CycloneDX), pushed as a referrer"
"$stevedore" "${registry[@]}" sbom --format cyclonedx-json -o app.cdx.json --attach "docker://$addr/demo/app:1.0"
"$stevedore" "${registry[@]}" referrers "docker://$addr/demo/app:1.0"

echo "== stevedore generate-key-pair, sign, verify"
export COSIGN_PASSWORD=demo
"$stevedore" generate-key-pair
"$stevedore" generate-key-pair --output-key-prefix stranger >/dev/null
"$stevedore" "${registry[@]}" sign --key cosign.key -a demo=yes "docker://$addr/demo/app:1.0"
"$stevedore" "${registry[@]}" verify --key cosign.pub -a demo=yes "docker://$addr/demo/app:1.0"

echo "== a verify with the wrong key is refused (exit status 7)"
if "$stevedore" "${registry[@]}" verify --key stranger.pub "docker://$addr/demo/app:1.0"; then
  echo "FAIL: the wrong key was accepted"; exit 1
fi
echo "OK: refused, as it must be"
