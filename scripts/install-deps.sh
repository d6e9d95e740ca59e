#!/usr/bin/env bash
# Installs, from Debian's packages, the real peers Stevedore is judged by.
#
#   scripts/install-deps.sh demo   what scripts/demo.sh runs: skopeo and umoci
#   scripts/install-deps.sh        everything the tests use (the default):
#     skopeo and umoci (judges of OCI layouts), docker-registry (the server our
#     client is tested against) with htpasswd, openssl and GNU time, valgrind
#     and a C compiler and pkg-config (the C ABI test), Go and Elixir (the
#     bindings), curl (a light client in the server benchmark), nginx and
#     caddy (serving static registry trees), buildah (reads the images we
#     build, as someone else's tool).
# Only what is missing is installed.
set -euo pipefail
case "${1:-all}" in
  demo) wanted="skopeo:skopeo umoci:umoci" ;;
  all) wanted="pkg-config:pkgconf skopeo:skopeo umoci:umoci docker-registry:docker-registry htpasswd:apache2-utils /usr/bin/time:time openssl:openssl go:golang-go mix:elixir valgrind:valgrind cc:gcc curl:curl /usr/sbin/nginx:nginx caddy:caddy buildah:buildah" ;;
  *) echo "usage: $0 [demo|all]" >&2; exit 2 ;;
esac
missing=()
for tool_package in $wanted; do
  command -v "${tool_package%%:*}" >/dev/null 2>&1 || missing+=("${tool_package#*:}")
done
if [ "${1:-all}" = all ]; then
  # The Elixir binding's NIF needs erl_nif.h; its JSON is OTP's :json from
  # OTP 27, jiffy before (Debian 12 has OTP 25).
  [ -f /usr/lib/erlang/usr/include/erl_nif.h ] || missing+=(erlang-dev)
  erl -noshell -eval 'halt(case code:ensure_loaded(json) of {module, _} -> 0; _ -> 1 end).' 2>/dev/null ||
    ls -d /usr/lib/erlang/lib/jiffy-* >/dev/null 2>&1 || missing+=(erlang-jiffy)
  # The Python package is tested from a fresh virtual environment; readelf
  # checks the C library's SONAME.
  python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
  command -v readelf >/dev/null 2>&1 || missing+=(binutils)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The SBOM tests: rpm/rpmbuild write a real rpmdb.sqlite, cargo-auditable builds
# a Rust binary with its dependency list, and the official schema validators of
# SPDX (spdx-tools) and CycloneDX (cyclonedx-python-lib) judge the documents.
if ! command -v rpmbuild >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rpm >/dev/null
fi
command -v cargo-auditable >/dev/null 2>&1 || cargo install --locked --quiet cargo-auditable
python3 -c 'import spdx_tools, cyclonedx.validation.json, jsonschema' 2>/dev/null ||
  python3 -m pip install --quiet --disable-pip-version-check spdx-tools 'cyclonedx-python-lib[json-validation]'
# The S3 store's tests run the registry against two S3 implementations on
# loopback: moto's server mode (PyPI) and s3s-fs (crates.io; 0.14.1 is the
# last release building on Rust 1.95, and the binary needs --features binary).
command -v moto_server >/dev/null 2>&1 ||
  python3 -m pip install --quiet --disable-pip-version-check 'moto[server]'
command -v s3s-fs >/dev/null 2>&1 ||
  cargo install --locked --quiet s3s-fs@0.14.1 --features binary
