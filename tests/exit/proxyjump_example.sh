#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# proxyjump_example.sh LANG BUILD_DIR SOURCE_DIR: run examples/LANG/proxyjump.* once through the
# test sshd (jump host and target are the same sshd), a command that exits 3; the example
# returns that status. run_exit.py repeats it under a CPU hog (the examples exit while their
# ProxyJump carrier may still run: the crash).
set -u
lang=$1 build=$2 src=$3
# shellcheck disable=SC1090
. "$XSSH_TEST_ENV"
h=$XSSH_TEST_HOST p=$XSSH_TEST_PORT
args=("$h" "$p" "$XSSH_TEST_USER" "$XSSH_TEST_KEY_ED25519" "$XSSH_TEST_KNOWN_HOSTS" 'echo far; exit 3')
case $lang in
c) exec "$build/examples/c/proxyjump" "$h" "$p" "${args[@]}" ;;
lua) LUA_CPATH="$build/lua/?.so" LUA_PATH="$src/bindings/lua/?.lua" exec lua5.4 "$src/examples/lua/proxyjump.lua" "$h:$p" "${args[@]}" ;;
python) PYTHONPATH="$build/python" exec python3 "$src/examples/python/proxyjump.py" "$h:$p" "${args[@]}" ;;
ruby) exec ruby -I"$build/ruby" -I"$src/bindings/ruby/lib" "$src/examples/ruby/proxyjump.rb" "$h:$p" "${args[@]}" ;;
*) echo "unknown language $lang" >&2; exit 2 ;;
esac
