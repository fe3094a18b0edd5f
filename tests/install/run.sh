#!/usr/bin/env bash
# install the build into a scratch prefix, then build and run a consumer with find_package and pkg-config
set -euo pipefail
build=$1; src=$(cd "$(dirname "$0")" && pwd)
prefix=$(mktemp -d /tmp/xssh-install.XXXXXX); trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(ls -d "$prefix"/lib*/ | head -1)
PKG_CONFIG_PATH="$libdir/pkgconfig:$(find "$libdir" -name pkgconfig -type d | head -1)" \
  cmake -S "$src" -B "$prefix/consumer" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$prefix/consumer" >/dev/null
LD_LIBRARY_PATH=$(dirname "$(find "$prefix" -name 'libxssh.so.0' | head -1)") "$prefix/consumer/consumer"
LD_LIBRARY_PATH=$(dirname "$(find "$prefix" -name 'libxssh.so.0' | head -1)") "$prefix/consumer/consumer_pc"
