-- SPDX-License-Identifier: BSD-3-Clause
-- ssh -J in Lua: run a command on TARGET through JUMP, every host key checked (strict).
--
--   LUA_CPATH='build/lua/?.so;;' LUA_PATH='bindings/lua/?.lua;;' \
--     lua5.4 examples/lua/proxyjump.lua JUMP_HOST:JUMP_PORT TARGET_HOST TARGET_PORT USER KEY KNOWN_HOSTS [COMMAND]
local xssh = require "xssh"

if #arg < 6 then
  io.stderr:write("usage: proxyjump.lua JUMP_HOST:JUMP_PORT TARGET_HOST TARGET_PORT USER KEY KNOWN_HOSTS [COMMAND]\n")
  os.exit(2)
end
local jump, thost, tport, user, key, known_hosts = arg[1], arg[2], math.tointeger(tonumber(arg[3])), arg[4], arg[5], arg[6]
local command = arg[7] or "echo hello from the far side"

-- <close> disconnects the target at the end of the function: that joins the thread carrying
-- its bytes through the jump host and drops the hop. os.exit below therefore finds no xssh
-- thread running (and xssh's exit handler would stop one first if there were; docs/tunnels.md).
local ok, res = pcall(function()
  local s <close> = xssh.connect{ host = thost, port = tport, user = user, key = key, known_hosts = known_hosts,
                                  proxy_jump = { jump } }
  local r = s:run(command)
  io.stdout:write(r.stdout)
  return r.exit_status
end)
if not ok then
  io.stderr:write("failed: ", tostring(res), "\n")
  os.exit(255)
end
os.exit(res or 255)
