#!/usr/bin/env bash
# Builds and installs the C library and the CLI under PREFIX:
#
#   PREFIX/lib/libstevedore.so.0.1.0   the shared library, SONAME libstevedore.so.0,
#   PREFIX/lib/libstevedore.so.0       with the usual symlinks
#   PREFIX/lib/libstevedore.so
#   PREFIX/lib/libstevedore.a          the static library
#   PREFIX/include/stevedore.h         the header
#   PREFIX/lib/pkgconfig/stevedore.pc, stevedore-static.pc
#   PREFIX/bin/stevedore               the command-line tool
#   PREFIX/share/man/man1/stevedore*.1 its man pages
#
# so that
#
#   cc app.c $(pkg-config --cflags --libs stevedore)          # shared
#   cc app.c $(pkg-config --cflags --libs stevedore-static)   # static
#
# work (with PKG_CONFIG_PATH=PREFIX/lib/pkgconfig when PREFIX is not a
# system prefix; stevedore.pc adds an rpath to PREFIX/lib). The static library
# needs these system libraries, which stevedore-static.pc lists:
# -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc.
#
# The crate itself is an rlib only (Rust dependents build no C library); the
# C library is this same lib target built with `cargo rustc --crate-type`.
#
#   scripts/install.sh [PREFIX]               # default /usr/local; stripped release build
#   PROFILE=debug scripts/install.sh PREFIX   # unoptimised, with debug info
#   PROFILE=release-debug scripts/install.sh PREFIX   # optimised, with line tables
#   NO_CLI=1 scripts/install.sh PREFIX        # the library only
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-/usr/local}
profile=${PROFILE:-release}
case "$profile" in
  release | release-debug) cargo_profile=$profile dir=$profile ;;
  debug) cargo_profile=dev dir=debug ;;
  *) echo "PROFILE must be release, release-debug or debug" >&2; exit 2 ;;
esac
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
major=${version%%.*}
soname=libstevedore.so.$major
target=${CARGO_TARGET_DIR:-target}
# The library is built with the crate's default features, as the CLI is: the
# CLI's crates are compiled but not linked into it, and the dependencies are
# built once for both (a build with only `capi` would compile them all again).
# A release library also loses its symbol table (-C strip=symbols; the dynamic
# symbols stay) and has this crate's own code optimised for size (-C
# opt-level=s; the dependencies, where hashing and compression run, keep
# opt-level 3), which keeps it under 10 MB (9.7 MB; 10.4 MB without).
# bindings/python/pyproject.toml passes these same arguments, so the wheel
# reuses this build.
strip=()
if [ "$profile" = release ]; then strip=(-C strip=symbols -C opt-level=s); fi
cargo rustc --quiet --lib --profile "$cargo_profile" \
  --crate-type cdylib --crate-type staticlib -- -C "link-arg=-Wl,-soname,$soname" "${strip[@]}"
if [ -z "${NO_CLI:-}" ]; then
  cargo build --quiet --profile "$cargo_profile" --bin stevedore
fi
# What a Rust static library needs from the system (rustc --print native-static-libs).
static_libs="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"
mkdir -p "$prefix/lib/pkgconfig" "$prefix/include"
install -m 0755 "$target/$dir/libstevedore.so" "$prefix/lib/libstevedore.so.$version"
ln -sf "libstevedore.so.$version" "$prefix/lib/$soname"
ln -sf "$soname" "$prefix/lib/libstevedore.so"
install -m 0644 "$target/$dir/libstevedore.a" "$prefix/lib/"
install -m 0644 include/stevedore.h "$prefix/include/"
if [ -z "${NO_CLI:-}" ]; then
  install -D -m 0755 "$target/$dir/stevedore" "$prefix/bin/stevedore"
fi
cat > "$prefix/lib/pkgconfig/stevedore.pc" <<PC
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: stevedore
Description: A daemonless OCI container image toolkit (C ABI)
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -Wl,-rpath,\${libdir} -lstevedore
Libs.private: $static_libs
PC
cat > "$prefix/lib/pkgconfig/stevedore-static.pc" <<PC
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: stevedore-static
Description: A daemonless OCI container image toolkit (C ABI), linked statically
Version: $version
Cflags: -I\${includedir}
Libs: \${libdir}/libstevedore.a $static_libs
PC
if [ -z "${NO_CLI:-}" ]; then
  # The man pages, generated from the CLI's command table by the CLI just installed.
  "$prefix/bin/stevedore" man "$prefix/share/man/man1" >/dev/null
fi
echo "installed libstevedore $version ($soname) and stevedore into $prefix (pkg-config: $prefix/lib/pkgconfig/stevedore.pc)"
