-- SPDX-License-Identifier: BSD-3-Clause
-- ssh -L in Lua: forward a free local port to DEST_HOST:DEST_PORT through the server.
--
--   LUA_CPATH='build/lua/?.so;;' LUA_PATH='bindings/lua/?.lua;;' \
--     lua5.4 examples/lua/local_forward.lua HOST PORT USER KEY KNOWN_HOSTS DEST_HOST DEST_PORT [SECONDS|-]
-- SECONDS (default 30): how long to forward; "-": until standard input ends.
local xssh = require "xssh"

if #arg < 7 then
  io.stderr:write("usage: local_forward.lua HOST PORT USER KEY KNOWN_HOSTS DEST_HOST DEST_PORT [SECONDS|-]\n")
  os.exit(2)
end
local host, port, user, key, known_hosts = arg[1], math.tointeger(tonumber(arg[2])), arg[3], arg[4], arg[5]
local dest_host, dest_port = arg[6], math.tointeger(tonumber(arg[7]))
local until_eof = arg[8] == "-"
local seconds = until_eof and 0 or math.tointeger(tonumber(arg[8] or "30"))

local ok, err = pcall(function()
  local s <close> = xssh.connect{ host = host, port = port, user = user, key = key, known_hosts = known_hosts }
  -- the forward runs on a thread inside the library; <close> stops it at scope end
  local fwd <close> = s:forward_local("127.0.0.1", 0, dest_host, dest_port)
  print(string.format("forwarding 127.0.0.1:%d -> %s:%d %s", fwd:port(), dest_host, dest_port,
                      until_eof and "until standard input ends" or string.format("for %d s", seconds)))
  io.stdout:flush()
  if until_eof then io.read("a") else os.execute("sleep " .. seconds) end
  local accepted, active, failed, bytes_out, bytes_in = fwd:stats()
  print(string.format("accepted=%d active=%d failed=%d bytes_out=%d bytes_in=%d",
                      accepted, active, failed, bytes_out, bytes_in))
end)
if not ok then
  io.stderr:write("failed: ", tostring(err), "\n")
  os.exit(1)
end
