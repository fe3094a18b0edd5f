-- SPDX-License-Identifier: BSD-3-Clause
-- xssh from Lua, fanout workload of bench/run (bench/fanout.py):
--   lua xssh_fanout.lua fanout HOSTSFILE KEY KNOWN_HOSTS
-- xssh.run_many(hosts, "true", {...}): every host at once from one thread (the loop in C);
-- host keys checked strictly against KNOWN_HOSTS, Ed25519 KEY.
-- Prints `BENCH ok=<hosts whose true exited 0> run_s=<s> rss0_kib=<RSS before>`; exit 1 if
-- any failed; exits 77 with "SKIP: reason" when xssh.run_many is not there.
local okm, xssh = pcall(require, "xssh")
if not okm then
  io.stderr:write("SKIP: xssh Lua module not loadable: ", tostring(xssh):match("[^\n]*"), "\n")
  os.exit(77)
end
if xssh.run_many == nil then
  io.stderr:write("SKIP: xssh.run_many not built yet (branch manybind)\n")
  os.exit(77)
end
local _, hf, key, kh = arg[1], arg[2], arg[3], arg[4]
local hosts = {}
for line in io.lines(hf) do
  if line:match("%S") then hosts[#hosts + 1] = line end
end
local function rss_kib()
  for line in io.lines("/proc/self/status") do
    local v = line:match("^VmRSS:%s*(%d+)")
    if v then return tonumber(v) end
  end
  return -1
end
local function now()
  -- monotonic enough for seconds-long runs: the wall clock through the C library
  local p = io.open("/proc/uptime") ; local t = tonumber(p:read("*l"):match("^(%S+)")) ; p:close() ; return t
end
local rss0 = rss_kib()
local t0 = now()
local results = xssh.run_many(hosts, "true", {key = key, known_hosts = kh, max_running = 0,
                                               connect_timeout = 120, timeout = 120})
local t1 = now()
local ok, first = 0, nil
for i, h in ipairs(hosts) do
  local r = results[i]
  if r and r.ok ~= false and r.exit_status == 0 and not r.error then
    ok = ok + 1
  elseif not first then
    first = h .. ": " .. tostring(r and (r.message or r.error) or "no result")
  end
end
if first then io.stderr:write(#hosts - ok, " of ", #hosts, " hosts failed; first: ", first, "\n") end
print(string.format("BENCH ok=%d run_s=%.4f rss0_kib=%d", ok, t1 - t0, rss0))
os.exit(ok == #hosts and 0 or 1)
