-- xssh demo (Lua 5.4): connect (host key verified), authenticate, run
-- `echo me; exit 2`, print the output and the exit status.
--
-- Reads the server from XSSH_TEST_* variables (scripts/demo.sh sets them) or arg:
--   LUA_CPATH='build/lua/?.so;;' LUA_PATH='bindings/lua/?.lua;;' \
--     lua5.4 examples/lua/demo.lua HOST PORT USER KEY KNOWN_HOSTS
local xssh = require "xssh"

local host, port, user, key, known_hosts
if #arg >= 5 then
  host, port, user, key, known_hosts = arg[1], math.tointeger(tonumber(arg[2])), arg[3], arg[4], arg[5]
else
  host, port = os.getenv("XSSH_TEST_HOST"), math.tointeger(tonumber(os.getenv("XSSH_TEST_PORT")))
  user, key, known_hosts = os.getenv("XSSH_TEST_USER"), os.getenv("XSSH_TEST_KEY_ED25519"),
                           os.getenv("XSSH_TEST_KNOWN_HOSTS")
end

print("xssh " .. xssh.version)
local ok, err = pcall(function()
  local s <close> = xssh.connect{ host = host, port = port, user = user, key = key, known_hosts = known_hosts }
  print("host key " .. s:hostkey_fingerprint() .. " verified; authenticated as " .. user)
  local r = s:run("echo me; exit 2")
  io.write("stdout: ", r.stdout, "exit status: ", tostring(r.exit_status), "\n")
end)
if not ok then
  -- an xssh error object: class, symbolic name, detailed message
  io.stderr:write("failed: ", tostring(err), "\n")
  os.exit(1)
end
