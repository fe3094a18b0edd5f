-- SPDX-License-Identifier: BSD-3-Clause
-- A plain blocking call inside an xssh.luv task on the session another task's
-- xluv.run waits on (docs/async-lua-ruby.md): the blocking call reads the
-- waiting call's output into libssh2's queue, so the waiting op's socket stays
-- quiet. The C core makes that op runnable and writes its Multi's wake-up
-- descriptor, which Multi:fds() lists with the sockets (xssh.luv watches it in
-- its epoll set): the waiting call finishes at once instead of at the
-- dead-peer probe (docs/multi.md, "Wake-ups across the multis of a thread").
--
-- No timing: the order is forced with marker files. The waiting command reads
-- its stdin first (the op writes it only after the server answered its exec
-- request: from then on it holds nothing a blocking call needs), prints only
-- after the blocking command started (m1), and the blocking command ends only
-- after the waiting command has printed and exited (m2, then its process is
-- gone): everything of the waiting command's channel comes before the end of
-- the blocking command's and is read by the blocking call. The session has no
-- keepalive and a one-hour timeout (no probe wakes the op). A woken op is done
-- within a loop turn; one that is not would wait for its own 20 s timeout
-- (whose timer wakes it too): a 10 s timer cancels it then (a failure bound,
-- not a measurement: with the fix it takes a few ms), and a guard timer stops
-- a loop that hangs anyway.
local E = require "xssh_test_env"
local uv = require "luv"
local xluv = require "xssh.luv"

local BOUND = 300 -- iterations of 0.2 s in a remote wait loop: far beyond a loaded machine's needs
local WATCH = 6000 -- iterations of a 0.01 s luv sleep in a local watch loop
local OP_TIMEOUT = 20 -- s: the waiting call's own timeout (its timer would wake it)
local BOUND_MS = 10000 -- the waiting call must be done well before that timer
local GUARD_MS = 120000

local function exists(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end

local function wait_cmd(path)
  return string.format("n=0; while [ ! -e %s ]; do n=$((n+1)); [ $n -gt %d ] && exit 7; sleep 0.2; done", path, BOUND)
end

-- until the process whose pid is in path is gone (reaped)
local function wait_gone_cmd(path)
  return string.format("p=$(cat %s); n=0; while kill -0 $p 2>/dev/null; do n=$((n+1)); [ $n -gt %d ] && exit 8; "
    .. "sleep 0.2; done", path, BOUND)
end

local function run_loop(tasks)
  local guard = uv.new_timer()
  local hung = false
  guard:start(GUARD_MS, 0, function() hung = true; uv.stop() end)
  guard:unref()
  uv.run()
  assert(not hung, "the loop hung (guard timer)")
  guard:close()
  uv.run()
  for i, t in ipairs(tasks) do
    assert(t.done, "task " .. i .. " not done")
    assert(t.ok, "task " .. i .. ": " .. tostring(t.error))
  end
end

local function expected()
  local t = {}
  for i = 1, 3000 do t[i] = i .. "\n" end
  return table.concat(t)
end

describe("xssh.luv: a plain blocking call reading the input of another task's waiting call", function()
  local function case(blocking)
    local d = E.tmpdir()
    local waiting_cmd = string.format("read x; echo $$ > %s/pid; touch %s/m0; %s; seq 1 3000; exec touch %s/m2",
      d, d, wait_cmd(d .. "/m1"), d)
    local blocking_cmd = string.format("touch %s/m1; %s; %s; echo b", d, wait_cmd(d .. "/m2"),
      wait_gone_cmd(d .. "/pid"))
    local res = {}
    local main = xluv.spawn(function()
      local s <close> = xluv.connect{ host = E.host, port = E.port, user = E.user, key = E.key,
        known_hosts = E.known_hosts, agent = false, timeout = 3600, options = { ServerAliveInterval = 0 } }
      local a = xluv.spawn(xluv.run, s, waiting_cmd, { stdin = "go\n", timeout = OP_TIMEOUT })
      local n = 0
      while not exists(d .. "/m0") do
        n = n + 1
        assert(n < WATCH, "the waiting command never started")
        xluv.sleep(0.01)
      end
      res.b = blocking(s, blocking_cmd) -- the loop is blocked meanwhile
      res.a_done_before = a.done
      local late = false
      local bound = uv.new_timer()
      bound:start(BOUND_MS, 0, function() late = true; a:cancel() end)
      local ok, r = pcall(a.wait, a)
      bound:stop()
      bound:close()
      assert(not late, "the waiting call was not woken: its output had been read by the blocking call, "
        .. "its socket stayed quiet " .. BOUND_MS .. " ms")
      assert(ok, tostring(r))
      res.a = r
      res.again = s:run("echo again").stdout
    end)
    run_loop({ main })
    assert.equal("b\n", res.b)
    assert.is_false(res.a_done_before)
    assert.equal(0, res.a.exit_status)
    assert.equal(expected(), res.a.stdout)
    assert.equal("again\n", res.again)
  end

  it("Session:run (blocking) inside a task: the waiting xluv.run finishes without the probe", function()
    case(function(s, cmd)
      local r = s:run(cmd, { timeout = 120 })
      assert.equal(0, r.exit_status)
      return r.stdout
    end)
  end)

  it("blocking channel calls (open, exec, read to the end) inside a task: the same", function()
    case(function(s, cmd)
      local ch <close> = s:open_session()
      assert.equal(0, ch:execute(cmd))
      local out = {}
      while true do
        local n, data = ch:read(65536)
        if n == 0 then break end
        out[#out + 1] = data
      end
      assert.equal(0, ch:close())
      return table.concat(out)
    end)
  end)
end)
