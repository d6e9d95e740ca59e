#!/usr/bin/env bash
# Tests every face as its ecosystem installs it, the way a new user would:
#
#   C       scripts/install.sh PREFIX (release): the SONAME (readelf -d), the
#           .so under 10 MB with no debug info, a C program built with
#           pkg-config that copies an image, the installed CLI;
#   Python  a fresh venv: `pip install ./bindings/python`, a copy with no
#           environment variable, the wheel's platform tag and the library in
#           it, OpenStack's `stevedore` installed beside it still importing, and
#           the binding's pytest suite;
#   Go      the binding's tests and a program outside the repository (its own
#           module, `replace` to bindings/go), shared and static, with only
#           PKG_CONFIG_PATH set;
#   Elixir  `mix test` with no environment variable (mix compile builds the
#           library of this checkout).
#
# Prints `--- PASS: name` / `--- FAIL: name` per check (scripts/test.sh
# counts them); exits non-zero when one failed. Network: only the package
# registries (PyPI for pip); Go runs with GOPROXY=off.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
check() {
  local name=$1
  shift
  if "$@" >"$work/out" 2>&1; then
    echo "--- PASS: $name"
  else
    cat "$work/out"
    echo "--- FAIL: $name"
    status=1
  fi
}

# An image to copy: a one-layer OCI layout made by umoci.
umoci init --layout "$work/src" && umoci new --image "$work/src:1.0" &&
  echo "hello from a package" >"$work/hello.txt" &&
  umoci insert --rootless --image "$work/src:1.0" "$work/hello.txt" /hello.txt >/dev/null
src="oci:$work/src:1.0"

# --- C
prefix=$work/prefix
if ! scripts/install.sh "$prefix" >"$work/out" 2>&1; then
  cat "$work/out"
  echo "--- FAIL: c: scripts/install.sh"
  exit 1
fi
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
so=$prefix/lib/libstevedore.so.0.1.0
c_soname() { readelf -d "$so" | grep -q 'SONAME.*\[libstevedore\.so\.0\]' && [ "$(readlink "$prefix/lib/libstevedore.so.0")" = libstevedore.so.0.1.0 ]; }
c_small_and_stripped() {
  local size
  size=$(stat -c %s "$so")
  echo "libstevedore.so: $size bytes"
  [ "$size" -lt 10000000 ] && ! readelf -S "$so" | grep -q '\.debug_info'
}
c_program() {
  cc -std=c11 -Wall -Wextra -Werror tests/c/installed.c -o "$work/c-app" $(pkg-config --cflags --libs stevedore) &&
    ldd "$work/c-app" | grep -q "libstevedore.so.0 => $prefix/lib/" &&
    "$work/c-app" "$src" "oci:$work/c-copy:1.0" | grep -q '"digest"' &&
    umoci stat --image "$work/c-copy:1.0"
}
c_cli() { "$prefix/bin/stevedore" --version | grep -q 0.1.0; }
check "c: SONAME libstevedore.so.0" c_soname
check "c: release .so under 10 MB (10,000,000 bytes), no debug info" c_small_and_stripped
check "c: a program built with pkg-config links the installed library and copies" c_program
check "c: the CLI is installed" c_cli

# --- Python
venv=$work/venv
python_install() {
  python3 -m venv "$venv" &&
    env -u STEVEDORE_LIB "$venv/bin/pip" install --quiet --disable-pip-version-check ./bindings/python stevedore pytest
}
python_copy() {
  (cd "$work" && env -u STEVEDORE_LIB "$venv/bin/python" -c "
import sys, stevedore_oci
report = stevedore_oci.copy(sys.argv[1], sys.argv[2])
assert report['digest'].startswith('sha256:'), report
print(report)" "$src" "oci:$work/py-copy:1.0") && umoci stat --image "$work/py-copy:1.0"
}
python_wheel() {
  env -u STEVEDORE_LIB "$venv/bin/pip" wheel --quiet --disable-pip-version-check --no-deps -w "$work/wheels" ./bindings/python &&
    "$venv/bin/python" - "$work"/wheels/stevedore_oci-*.whl <<'PY'
import sys, zipfile
wheel = sys.argv[1]
tag = wheel.rsplit("-", 3)[-3:]
assert tag[2].startswith(("linux_", "manylinux")), tag
assert tag != ["py3", "none", "any.whl"], tag
names = zipfile.ZipFile(wheel).namelist()
assert any(n.startswith("stevedore_oci/libstevedore") and n.endswith(".so") for n in names), names
assert "stevedore_oci/py.typed" in names, names
print(wheel, names)
PY
}
python_beside_openstack() {
  (cd "$work" && "$venv/bin/python" -c "
import stevedore, stevedore.extension, stevedore_oci
assert stevedore.__file__ != stevedore_oci.__file__
print(stevedore.__file__, stevedore_oci.__file__, stevedore_oci.__version__)")
}
python_tests() { (cd "$work" && env -u STEVEDORE_LIB "$venv/bin/python" -m pytest -q -p no:cacheprovider "$repo/bindings/python/tests"); }
check "python: pip install ./bindings/python in a fresh venv" python_install
check "python: import and copy with no environment variable" python_copy
check "python: a platform wheel that bundles the library" python_wheel
check "python: OpenStack's stevedore still imports beside it" python_beside_openstack
python_tests
[ $? -eq 0 ] || status=1

# --- Go (no module proxy: nothing but the local module is needed)
export GOPROXY=off GOFLAGS=-mod=mod
(cd bindings/go && gofmt -l . | (! grep .) && go vet ./... && go test -count=1 -v ./...) || status=1
go_outside() {
  local app=$work/go-app
  mkdir -p "$app" &&
    cat >"$app/go.mod" <<GOMOD &&
module example.com/app

go 1.19

require stevedore.dev/stevedore v0.1.0

replace stevedore.dev/stevedore => $repo/bindings/go
GOMOD
    cat >"$app/main.go" <<'GO' &&
package main

import (
	"context"
	"fmt"
	"os"

	"stevedore.dev/stevedore"
)

func main() {
	c, err := stevedore.NewClient(stevedore.ClientOptions{})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	res, err := c.Copy(context.Background(), os.Args[1], os.Args[2], stevedore.CopyOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println(stevedore.Version(), res.Digest)
}
GO
    (cd "$app" && env -i PATH="$PATH" HOME="$HOME" GOCACHE="$work/gocache" GOPROXY=off GOFLAGS=-mod=mod \
      PKG_CONFIG_PATH="$PKG_CONFIG_PATH" go build -o app . &&
      env -i PATH="$PATH" HOME="$HOME" GOCACHE="$work/gocache" GOPROXY=off GOFLAGS=-mod=mod \
        PKG_CONFIG_PATH="$PKG_CONFIG_PATH" go build -tags stevedore_static -o app-static .) &&
    env -i "$app/app" "$src" "oci:$work/go-copy:1.0" | grep -q sha256: &&
    env -i "$app/app-static" "$src" "oci:$work/go-copy-static:1.0" | grep -q sha256: &&
    ! ldd "$app/app-static" | grep -q libstevedore &&
    umoci stat --image "$work/go-copy:1.0"
}
check "go: a program outside the repository, shared and static, with only PKG_CONFIG_PATH" go_outside
unset PKG_CONFIG_PATH GOPROXY GOFLAGS

# --- Elixir: mix compile builds this checkout's library; no variable needed.
(cd bindings/elixir && mix format --check-formatted && env -u STEVEDORE_LIB_DIR mix test) || status=1
exit "$status"
