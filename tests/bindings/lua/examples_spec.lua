-- SPDX-License-Identifier: BSD-3-Clause
-- The Lua examples of examples/lua run against the test sshd in a child lua5.4.
local E = require "xssh_test_env"

local function script_dir()
  local src = debug.getinfo(1, "S").source:sub(2)
  return (src:match("^(.*)/") or ".") .. "/../../../examples/lua"
end
local EX = script_dir()

local function run(cmd)
  local p = io.popen(string.format("export LUA_PATH='%s' LUA_CPATH='%s'; %s 2>&1", package.path, package.cpath, cmd))
  local out = p:read("a")
  local _, _, code = p:close()
  return out, code
end

describe("examples", function()
  it("proxyjump.lua runs a command through a jump host", function()
    local out, code = run(string.format("lua5.4 '%s/proxyjump.lua' %s:%d %s %d %s '%s' '%s' 'echo far; exit 3'",
      EX, E.host, E.port, E.host, E.port, E.user, E.key, E.known_hosts))
    assert.equal("far\n", out)
    assert.equal(3, code)
    local d = E.tmpdir()
    E.write(d .. "/kh", "")
    out, code = run(string.format("lua5.4 '%s/proxyjump.lua' %s:%d %s %d %s '%s' '%s'",
      EX, E.host, E.port, E.host, E.port, E.user, E.key, d .. "/kh"))
    assert.equal(255, code)
    assert.matches("KnownHostCheckNotFoundError", out)
  end)

  it("local_forward.lua forwards a local port", function()
    local d = E.tmpdir()
    -- the example in the background, forwarding until its standard input (a fifo)
    -- ends; its output is a fifo too, so reading its first line waits exactly until
    -- it forwards; a python3 child connects through it and reads the sshd banner,
    -- then the input fifo is closed: nothing depends on how fast the machine is
    local out, code = run(string.format([[
mkfifo '%s/in' '%s/outp'
lua5.4 '%s/local_forward.lua' %s %d %s '%s' '%s' 127.0.0.1 %d - < '%s/in' > '%s/outp' 2>&1 &
pid=$!
exec 3> '%s/in'
exec 4< '%s/outp'
IFS= read -r first <&4
echo "$first" > '%s/out'
port=$(echo "$first" | grep -o '127.0.0.1:[0-9]*' | head -1 | cut -d: -f2)
python3 -c "import socket,sys; s=socket.create_connection(('127.0.0.1', $port), timeout=60); sys.stdout.write(s.recv(8).decode())"
exec 3>&-
cat <&4 >> '%s/out'
wait $pid; rc=$?
cat '%s/out'; exit $rc]], d, d, EX, E.host, E.port, E.user, E.key, E.known_hosts, E.port, d, d, d, d, d, d, d))
    assert.equal(0, code, out)
    assert.matches("^SSH%-2%.0", out)
    assert.matches("forwarding 127%.0%.0%.1:%d+", out)
    assert.matches("accepted=1 ", out)
  end)
end)
