#!/usr/bin/env bash
# Sets everything up (Debian packages when missing, build) and runs the demo in
# C, Python, Lua and Ruby against a throwaway local sshd (127.0.0.1, generated keys, stopped at exit).
set -euo pipefail
cd "$(dirname "$0")/.."
need=0
for c in cmake swig sshd busted ruby; do command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || need=1; done
pkg-config --exists libssh2 criterion 2>/dev/null || need=1
if [ "$need" = 1 ]; then bash scripts/install-deps.sh; fi
bash scripts/build.sh
dir=$(mktemp -d /tmp/xssh-demo.XXXXXX)
trap '/usr/bin/python3 tests/harness/sshd_harness.py stop --dir "$dir" --clean' EXIT
envfile=$(/usr/bin/python3 tests/harness/sshd_harness.py start --dir "$dir")
while IFS== read -r k v; do export "$k=$v"; done < "$envfile"
echo "== C demo =="
# a scratch known_hosts: the first connection learns the key (accept-new), the second checks it
build/examples/c/demo "$XSSH_TEST_HOST" "$XSSH_TEST_PORT" "$XSSH_TEST_USER" "$XSSH_TEST_KEY_ED25519" "$dir/demo_known_hosts"
echo "== Python demo =="
PYTHONPATH=build/python /usr/bin/python3 examples/python/demo.py
echo "== Lua demo =="
LUA_CPATH="build/lua/?.so;;" LUA_PATH="bindings/lua/?.lua;;" lua5.4 examples/lua/demo.lua
echo "== Ruby demo =="
ruby -I build/ruby -I bindings/ruby/lib examples/ruby/demo.rb
