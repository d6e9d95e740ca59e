#!/usr/bin/env bash
# Installs, from Debian's packages, the real peers the demo and the tests use:
# skopeo and umoci (judges of OCI layouts), docker-registry (the server our
# client is tested against) with htpasswd, valgrind and a C compiler (the C ABI
# test). Only what is missing is installed.
set -euo pipefail
missing=()
for tool_package in skopeo:skopeo umoci:umoci docker-registry:docker-registry htpasswd:apache2-utils /usr/bin/time:time openssl:openssl go:golang-go valgrind:valgrind cc:gcc; do
  command -v "${tool_package%%:*}" >/dev/null 2>&1 || missing+=("${tool_package#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
