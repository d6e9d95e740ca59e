#!/usr/bin/env bash
# Builds and installs the C library: libstevedore.so and libstevedore.a into
# PREFIX/lib, stevedore.h into PREFIX/include, and pkg-config files in
# PREFIX/lib/pkgconfig, so that
#
#   cc app.c $(pkg-config --cflags --libs stevedore)          # shared
#   cc app.c $(pkg-config --cflags --libs stevedore-static)   # static
#
# work (with PKG_CONFIG_PATH=PREFIX/lib/pkgconfig when PREFIX is not a
# system prefix). The static library needs these system libraries, which
# stevedore-static.pc lists: -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc.
#
#   scripts/install.sh [PREFIX]        # default /usr/local
#   PROFILE=debug scripts/install.sh /tmp/stevedore
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-/usr/local}
profile=${PROFILE:-release}
case "$profile" in
  release) cargo build --quiet --release --lib ;;
  debug) cargo build --quiet --lib ;;
  *) echo "PROFILE must be release or debug" >&2; exit 2 ;;
esac
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
# What a Rust static library needs from the system (rustc --print native-static-libs).
static_libs="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"
mkdir -p "$prefix/lib/pkgconfig" "$prefix/include"
install -m 0755 "target/$profile/libstevedore.so" "$prefix/lib/"
install -m 0644 "target/$profile/libstevedore.a" "$prefix/lib/"
install -m 0644 include/stevedore.h "$prefix/include/"
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
echo "installed libstevedore $version into $prefix (pkg-config: $prefix/lib/pkgconfig/stevedore.pc)"
# The man pages, generated from the CLI's command table.
PROFILE="$profile" scripts/gen-man.sh "$prefix/share/man/man1" >/dev/null
