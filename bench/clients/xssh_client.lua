-- SPDX-License-Identifier: BSD-3-Clause
-- xssh from Lua, for bench/run (same flow and usage as libssh2_client.c):
-- xssh.connect{...} (host key checked strictly against $BENCH_KNOWN_HOSTS,
-- ed25519 key $BENCH_KEY), then ssh2-python-style channels
-- (open_session / execute / read / close / wait_closed / get_exit_status).
-- A workload whose API xssh does not have (yet) exits 77 with "SKIP: reason".
local ok, xssh = pcall(require, "xssh")
if not ok then
  io.stderr:write("SKIP: xssh Lua module not loadable: ", tostring(xssh):match("[^\n]*"), "\n")
  os.exit(77)
end

local E = os.getenv
local HOST, PORT, USER, KEY, KH = E("BENCH_HOST"), math.tointeger(tonumber(E("BENCH_PORT"))), E("BENCH_USER"),
  E("BENCH_KEY"), E("BENCH_KNOWN_HOSTS")
local READ = 65536

local function skip(why)
  io.stderr:write("SKIP: ", why, "\n")
  os.exit(77)
end

local function connect()
  return xssh.connect{host = HOST, port = PORT, user = USER, key = KEY, known_hosts = KH}
end

local function need(obj, what, ...)
  for _, name in ipairs{...} do
    if obj[name] == nil then skip("xssh Lua API lacks " .. what .. ":" .. name) end
  end
end

-- read to EOF; accepts read() returning (size, data) as ssh2-python does, or data alone
local function run(s, cmd)
  local ch = s:open_session()
  ch:execute(cmd)
  local out = {}
  while true do
    local a, b = ch:read(READ)
    local data
    if type(a) == "number" then
      if a < 0 then error("read returned " .. a) end
      data = b
    else
      data = a
    end
    if data == nil or #data == 0 then break end
    out[#out + 1] = data
  end
  ch:close()
  ch:wait_closed()
  local status = ch:get_exit_status()
  return table.concat(out), status
end

local function rss_kib()
  for line in io.lines("/proc/self/status") do
    local v = line:match("^VmRSS:%s+(%d+)")
    if v then return tonumber(v) end
  end
end

-- wall clock: plain Lua has none finer than a second, so ask date(1) (a few ms, outside the timed work)
local function wall()
  local p = io.popen("date +%s.%N")
  local t = p:read("n")
  p:close()
  return t
end

-- obj:method(src, dst); while the bindings settle, also the shape with the progress callback
-- first (obj:method(nil, src, dst), as swig/sftp.i declares it)
local function transfer(obj, method, src, dst)
  local ok, err = pcall(obj[method], obj, src, dst)
  if ok then return end
  if tostring(err):match("args") or tostring(err):match("expected") then
    local ok2 = pcall(obj[method], obj, nil, src, dst)
    if ok2 then return end
  end
  error(err, 0) -- the error of the documented shape
end

local w = arg[1]
if w == "scp_get" or w == "scp_put" then
  local s = connect()
  need(s, "Session", w)
  local t0 = wall()
  transfer(s, w, arg[2], arg[3])
  print(string.format("BENCH xfer_s=%.6f", wall() - t0))
  s:disconnect()
  os.exit(0)
end
if w == "sftp_get" or w == "sftp_put" then
  local s = connect()
  need(s, "Session", "sftp_init")
  local t0 = wall()
  local sftp = s:sftp_init()
  local op = w == "sftp_get" and "get" or "put"
  need(sftp, "SFTP", op)
  transfer(sftp, op, arg[2], arg[3])
  print(string.format("BENCH xfer_s=%.6f", wall() - t0))
  s:disconnect()
  os.exit(0)
end

if w == "memory" then
  local n = math.tointeger(tonumber(arg[2]))
  local ss, rss1 = {}, 0
  for i = 1, n do
    ss[i] = connect()
    if i == 1 then rss1 = rss_kib() end
  end
  local rssn = rss_kib()
  print(string.format("BENCH sessions=%d rss1_kib=%d rssn_kib=%d per_session_kib=%.1f", #ss, rss1, rssn,
    (rssn - rss1) / math.max(1, n - 1)))
  for i = 1, n do ss[i]:disconnect() end
  os.exit(0)
end

local s = connect()
need(s, "Session", "open_session")
if w == "echo" then
  local out, status = run(s, arg[2])
  io.stdout:write(out)
  io.stdout:flush()
  s:disconnect()
  os.exit(status)
elseif w == "exec" then
  local n = math.tointeger(tonumber(arg[2]))
  local okc = 0
  local c0 = os.clock()
  local t0 = wall()
  for i = 0, n - 1 do
    local out, status = run(s, "echo " .. i)
    if status == 0 and out == i .. "\n" then okc = okc + 1 end
  end
  local c1 = os.clock()
  local t1 = wall()
  print(string.format("BENCH ok=%d loop_s=%.6f loop_cpu_s=%.6f", okc, t1 - t0, c1 - c0))
  s:disconnect()
else
  io.stderr:write("xssh_client.lua: unknown workload ", tostring(w), "\n")
  os.exit(2)
end
