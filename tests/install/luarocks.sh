#!/usr/bin/env bash
# The README's LuaRocks install, as CI runs it: from a copy of the checkout, into a scratch
# tree (--tree), then `require "xssh"` from a directory outside both with only
# `luarocks path` set. Checks the rock holds the module, the Lua layer and the LuaCATS
# annotations and nothing else, and that the module needs no libxssh.so.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/xssh-rock.XXXXXX); trap 'rm -rf "$work"' EXIT
bash "$here/copy_checkout.sh" "$work/src"
cmd=$(grep -o 'luarocks --lua-version=5.4 make bindings/lua/xssh-scm-1.rockspec' "$work/src/README.md" | head -1)
[ -n "$cmd" ] || { echo "README.md does not give the luarocks command this test runs"; exit 1; }
(cd "$work/src" && nice $cmd --tree "$work/tree") > "$work/build.log" 2>&1 || { cat "$work/build.log"; echo "luarocks make failed"; exit 1; }
files=$(cd "$work/tree" && find . -type f ! -path './lib/luarocks/*' | sort)
echo "installed:"; echo "$files"
expected=$(printf '%s\n' ./lib/lua/5.4/xssh_core.so ./share/lua/5.4/xssh.lua ./share/lua/5.4/xssh_annotations.lua \
  ./share/lua/5.4/xssh/async.lua ./share/lua/5.4/xssh/luv.lua | sort)
[ "$files" = "$expected" ] || { echo "the rock installs other files than: $expected"; exit 1; }
if ldd "$work/tree/lib/lua/5.4/xssh_core.so" | grep -q libxssh; then echo "xssh_core.so needs libxssh.so"; exit 1; fi
mkdir "$work/elsewhere"; cd "$work/elsewhere"
eval "$(luarocks --lua-version=5.4 path --tree "$work/tree")"
lua5.4 - "$work/tree" <<'LUA'
local tree = ...
local xssh = require "xssh"
assert(package.searchpath("xssh", package.path):sub(1, #tree) == tree, "xssh.lua not from the tree")
assert(package.searchpath("xssh_core", package.cpath):sub(1, #tree) == tree, "xssh_core.so not from the tree")
local s <close> = xssh.Session()
assert(type(xssh.version) == "string" and xssh.connect and s.userauth_password)
-- the annotations: a LuaCATS meta file that is valid Lua and documents the classes
local f = assert(io.open(tree .. "/share/lua/5.4/xssh_annotations.lua"))
local text = f:read("a"); f:close()
assert(load(text, "xssh_annotations.lua"), "annotations do not parse")
assert(text:match("^%-%-%-@meta"), "not a LuaCATS meta file")
for _, cls in ipairs{"Session", "Channel", "SFTP", "Agent", "KnownHost"} do
  assert(text:match("%-%-%-@class xssh%." .. cls .. "[%s:]"), "no ---@class xssh." .. cls)
end
print("luarocks install OK: xssh " .. xssh.version)
LUA
