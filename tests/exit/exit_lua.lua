-- SPDX-License-Identifier: BSD-3-Clause
-- exit_lua.lua MODE HELPER: every kind of xssh object alive, traffic flowing, then leave by MODE:
--
--   os_exit      os.exit(7): exit() at once, no finaliser runs
--   os_exit_close os.exit(7, true): lua_close finalises every object (and unloads the module), then exit()
--   end          the script ends (lua.c closes the state; exit code 0)
--   gc_exit      drop every object, parents first, collect, then os.exit(7)
--   close_exit   close every session held (the reported case: <close> on the target), check no
--                forward runs, then os.exit(7)
--
-- Alive: session S with channels mid-command (the helper's sink and stream), an SFTP handle, a
-- listener, a local and a remote forward each carrying a live connection, a 2-hop ProxyJump chain
-- S -> H2 -> T streaming `cat /dev/zero` (read just before leaving, so data is in flight), and a
-- second target T2 through the same hops, closed by <close> (its hops live on).
-- Setup failures exit 2 with a message. Reads $XSSH_TEST_ENV.
local xssh = require "xssh"

local mode, helper = arg[1], arg[2]
local env = {}
for line in io.lines(os.getenv("XSSH_TEST_ENV")) do
  local k, v = line:match("^([%w_]+)=(.*)$")
  if k then env[k] = v end
end
local HOST, PORT, USER = env.XSSH_TEST_HOST, math.tointeger(tonumber(env.XSSH_TEST_PORT)), env.XSSH_TEST_USER
local KEY, KH = env.XSSH_TEST_KEY_ED25519, env.XSSH_TEST_KNOWN_HOSTS

local function fail(msg)
  io.stderr:write("exit_lua: ", msg, "\n")
  os.exit(2)
end

local function hop(via)
  local s = xssh.Session()
  if via then s:connect_via(via, HOST, PORT, 30000) else s:connect(HOST, PORT, 30000) end
  s:verify_host(HOST, PORT, xssh.HOSTKEY_POLICIES.strict, KH)
  s:userauth_publickey_fromfile(USER, KEY)
  return s
end

local function start(s, cmd)
  local ch = s:open_session()
  ch:execute(cmd)
  return ch
end

local function read_line(ch)
  local line = ""
  while line:sub(-1) ~= "\n" do
    local n, d = ch:read(1)
    if n <= 0 then fail("the helper ended early") end
    line = line .. d
  end
  return line
end

local function traffic(f)
  local _, _, _, out, back = f:stats()
  return out + back > 0
end

local S = hop()
local sink = start(S, "exec python3 " .. helper .. " sink")
local sink_port = math.tointeger(tonumber(read_line(sink)))
local L = S:forward_local("127.0.0.1", 0, "127.0.0.1", sink_port)
local R = S:forward_remote("127.0.0.1", 0, "127.0.0.1", sink_port)
local listener = S:forward_listen(0)
local streamer = start(S, string.format("exec python3 %s stream %d %d", helper, L:port(), R:port()))
read_line(streamer)
local sftp = S:sftp_init()
local fh = sftp:open(helper, xssh.LIBSSH2_FXF_READ, 0)
local T, T2
do
  local H2 = hop(S)
  T = hop(H2)
  do
    local t2 <close> = hop(H2) -- closed at the end of this block, its hops live on
    T2 = t2
    t2:run("true")
  end
end -- H2: the chain keeps it alive
local zero = start(T, "exec cat /dev/zero")
-- read from the chain until both forwards carried traffic; the last reads leave data in flight
local ok = false
for _ = 1, 20000 do
  local n = zero:read(65536)
  if n <= 0 then fail("the ProxyJump chain ended early") end
  if traffic(L) and traffic(R) then ok = true break end
end
if not ok then fail("no traffic through the forwards") end

if mode == "os_exit" then
  os.exit(7)
elseif mode == "os_exit_close" then
  os.exit(7, true)
elseif mode == "end" then
  return
elseif mode == "gc_exit" then
  S, T, T2, sftp, L, listener, sink, R, fh, streamer, zero = nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil
  collectgarbage()
  collectgarbage()
  os.exit(7)
elseif mode == "close_exit" then
  T:close()
  S:disconnect()
  if L:is_running() or R:is_running() then
    io.stderr:write("exit_lua: a forward runs after its session was closed\n")
    os.exit(97)
  end
  os.exit(7)
else
  fail("unknown mode " .. tostring(mode))
end
