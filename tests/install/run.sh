#!/usr/bin/env bash
# `cmake --install` the build into a scratch prefix, then, from a directory outside the
# checkout, build and run consumers of it: a CMake project with find_package(xssh), the
# same with pkg_check_modules(xssh), and a plain `cc $(pkg-config --cflags --libs xssh)`.
set -euo pipefail
build=$1; src=$(cd "$(dirname "$0")" && pwd)
prefix=$(mktemp -d /tmp/xssh-install.XXXXXX); trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(dirname "$(find "$prefix" -name 'libxssh.so.0' | head -1)")
[ -f "$libdir/pkgconfig/xssh.pc" ] || { echo "no xssh.pc in $libdir/pkgconfig"; exit 1; }
[ -f "$libdir/cmake/xssh/xsshConfig.cmake" ] || { echo "no xsshConfig.cmake in $libdir/cmake/xssh"; exit 1; }
# the consumer project leaves the checkout: nothing may resolve through the source tree
mkdir "$prefix/consumer-src" "$prefix/run"
cp "$src/CMakeLists.txt" "$src/consumer.c" "$prefix/consumer-src/"
cd "$prefix/run"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cmake -S "$prefix/consumer-src" -B "$prefix/consumer" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$prefix/consumer" >/dev/null
echo "pkg-config xssh: $(pkg-config --modversion xssh) $(pkg-config --cflags --libs xssh)"
cc -o "$prefix/consumer_cc" "$prefix/consumer-src/consumer.c" $(pkg-config --cflags --libs xssh)
export LD_LIBRARY_PATH="$libdir"
"$prefix/consumer/consumer"
"$prefix/consumer/consumer_pc"
"$prefix/consumer_cc"
# the Lua module of the same install finds libxssh through its relative RUNPATH (the
# prefix given to `cmake --install` differs from the configured one), with no LD_LIBRARY_PATH
luamod=$(find "$prefix" -name 'xssh_core.so' | head -1)
if [ -n "$luamod" ]; then
  unset LD_LIBRARY_PATH
  lualayer=$(dirname "$(find "$prefix" -name 'xssh.lua' | head -1)")
  LUA_CPATH="$(dirname "$luamod")/?.so" LUA_PATH="$lualayer/?.lua;$lualayer/?/init.lua" \
    lua5.4 -e 'local x = require "xssh"; assert(x.Session); print("lua: require \"xssh\" from the install: ok")'
fi
# the xssh command-line tool and its manual page: bin/xssh runs from the install (its
# relative RUNPATH finds libxssh, no LD_LIBRARY_PATH), share/man/man1/xssh.1 is there
if [ -x "$build/tools/xssh/xssh" ]; then
  unset LD_LIBRARY_PATH
  [ -x "$prefix/bin/xssh" ] || { echo "the build has tools/xssh/xssh, the install no bin/xssh"; exit 1; }
  "$prefix/bin/xssh" --version | grep -q '^xssh ' || { echo "bin/xssh --version failed"; exit 1; }
  [ -f "$prefix/share/man/man1/xssh.1" ] || { echo "no share/man/man1/xssh.1"; exit 1; }
  echo "xssh tool from the install: $("$prefix/bin/xssh" --version)"
fi
