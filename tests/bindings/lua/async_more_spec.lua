-- SPDX-License-Identifier: BSD-3-Clause
-- xssh.async / xssh.luv beyond connect/run/get/put (docs/async-lua-ruby.md):
-- one shared poll handle per socket, the several-socket wait, SFTP start-up and
-- listing, streamed output, local forwarding, cancellation mid-stream and
-- mid-transfer, and a blocking call meeting a suspended op on one session.
-- Against the harness sshd (XSSH_TEST_ENV). Nothing depends on timing: a remote
-- command that must wait does so until a file exists that the test creates
-- only once it has seen what it waits for; the transfer is cancelled once its
-- first write has reached the destination (a luv fs_event on the directory).
-- Each loop has a guard timer that stops it (and so fails the test) instead of
-- hanging if something never happens.
local E = require "xssh_test_env"
local xssh = require "xssh"
local xasync = require "xssh.async"
local uv = require "luv"
local xluv = require "xssh.luv"

local BOUND = 300 -- iterations of 0.2 s in a remote wait loop: far beyond a loaded machine's needs
local GUARD_MS = 120000 -- a loop still running after this has hung: stopped, the test fails

local function kw(t)
  t = t or {}
  t.host, t.port, t.user, t.key, t.known_hosts, t.agent = E.host, E.port, E.user, E.key, E.known_hosts, false
  return t
end

local function exists(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end

-- a shell loop waiting (bounded) until path exists
local function wait_cmd(path)
  return string.format("n=0; while [ ! -e %s ]; do n=$((n+1)); [ $n -gt %d ] && exit 7; sleep 0.2; done", path, BOUND)
end

-- run the loop until every task is done (or the guard stops it); asserts each task succeeded
local function run_loop(tasks)
  local guard = uv.new_timer()
  local hung = false
  guard:start(GUARD_MS, 0, function() hung = true; uv.stop() end)
  guard:unref()
  uv.run()
  assert(not hung, "the loop hung (guard timer)")
  guard:close()
  uv.run() -- (the close callback: a handle left closing at exit crashes luv's loop teardown)
  for i, t in ipairs(tasks or {}) do
    assert(t.done, "task " .. i .. " not done")
    assert(t.ok, "task " .. i .. ": " .. tostring(t.error))
  end
end

local function touch(path)
  local f = assert(io.open(path, "w"))
  f:close()
end

-- ---- luv TCP helpers for tasks (xluv.await) ----
local function tcp_connect(port)
  local c = uv.new_tcp()
  local err = xluv.await(function(cb) c:connect("127.0.0.1", port, cb) end)
  if err then
    c:close()
    return nil, err
  end
  return c
end
local function tcp_write(c, data)
  local err = xluv.await(function(cb) c:write(data, cb) end)
  assert(not err, err)
end
local function tcp_read(c) -- the next chunk; nil at EOF
  local err, data = xluv.await(function(cb)
    c:read_start(function(e, d)
      c:read_stop()
      cb(e, d)
    end)
  end)
  assert(not err, err)
  return data
end
local function tcp_read_n(c, n)
  local parts, got = {}, 0
  while got < n do
    local d = tcp_read(c)
    assert(d, "EOF after " .. got .. " of " .. n .. " bytes")
    parts[#parts + 1] = d
    got = got + #d
  end
  return table.concat(parts)
end
local function tcp_shutdown(c)
  xluv.await(function(cb) c:shutdown(cb) end)
end

-- an echo server on the loop: echoes every byte; on EOF it shuts its side down
local function echo_server()
  local srv = uv.new_tcp()
  assert(srv:bind("127.0.0.1", 0))
  local conns = 0
  assert(srv:listen(16, function(err)
    assert(not err, err)
    local c = uv.new_tcp()
    srv:accept(c)
    conns = conns + 1
    c:read_start(function(e, data)
      if e or not data then
        c:shutdown(function() c:close() end)
      else
        c:write(data)
      end
    end)
  end))
  return srv, srv:getsockname().port, function() return conns end
end

describe("xssh.luv: one poll handle per socket, several sockets at once", function()
  it("runs two commands on ONE session at once (one poll handle on its socket)", function()
    local d = E.tmpdir()
    local fds_seen, dup = 0, false
    local main = xluv.spawn(function()
      local s <close> = xluv.connect(kw())
      -- each command ends only once the other has started: both are in flight together
      local a = xluv.spawn(function() return xluv.run(s, "touch " .. d .. "/a; " .. wait_cmd(d .. "/b") .. "; echo A") end)
      local b = xluv.spawn(function() return xluv.run(s, "touch " .. d .. "/b; " .. wait_cmd(d .. "/a") .. "; echo B") end)
      while not (a.done and b.done) do
        local seen = {}
        uv.walk(function(h)
          if h:get_type() == "poll" and h:is_active() then
            local fd = h:fileno()
            if seen[fd] then dup = true end
            seen[fd] = true
            fds_seen = fds_seen + 1
          end
        end)
        xluv.sleep(0.01)
      end
      return a:wait(), b:wait()
    end)
    run_loop({ main })
    assert.is_false(dup)
    assert.same({ 0, "A\n" }, { main.results[1].exit_status, main.results[1].stdout })
    assert.same({ 0, "B\n" }, { main.results[2].exit_status, main.results[2].stdout })
    assert.is_nil(next(xluv._polls)) -- every handle gone with the waits
  end)

  it("the several-socket yield: all sockets at once, or one after the other for a one-socket adapter", function()
    -- a Multi stand-in (only what wait_once calls): two sockets, a timer
    local function fake()
      local m = { acted = {} }
      function m.fds() return { { 5, xssh.POLL_IN }, { 6, xssh.POLL_IN | xssh.POLL_OUT } }, 250 end
      function m.socket_action(_, fd, ev) m.acted[#m.acted + 1] = { fd, ev } end
      return m
    end
    -- an adapter of the new form: sees all sockets, answers for the second one
    local m = fake()
    local co = coroutine.create(function() xasync.wait_once(m) end)
    local ok, tag, fd, ev, ms, fds = coroutine.resume(co)
    assert.is_true(ok)
    assert.equal(xasync.WAIT, tag)
    assert.same({ 5, xssh.POLL_IN, 250 }, { fd, ev, ms })
    assert.same({ { 5, xssh.POLL_IN }, { 6, xssh.POLL_IN | xssh.POLL_OUT } }, fds)
    assert.is_true(coroutine.resume(co, 0, { [6] = xssh.POLL_OUT }))
    assert.equal("dead", coroutine.status(co))
    assert.same({ { 6, xssh.POLL_OUT } }, m.acted)
    -- the timer: no socket ready
    m = fake()
    co = coroutine.create(function() xasync.wait_once(m) end)
    coroutine.resume(co)
    coroutine.resume(co, 0, {})
    assert.same({ { xssh.SOCKET_TIMEOUT, 0 } }, m.acted)
    -- a one-socket adapter (resumes with an integer only): the second socket is waited next, timeout 0
    m = fake()
    co = coroutine.create(function() xasync.wait_once(m) end)
    coroutine.resume(co)
    local _, tag2, fd2, ev2, ms2, more = coroutine.resume(co, xssh.POLL_IN)
    assert.same({ xasync.WAIT, 6, xssh.POLL_IN | xssh.POLL_OUT, 0 }, { tag2, fd2, ev2, ms2 })
    assert.is_nil(more)
    coroutine.resume(co, 0)
    assert.equal("dead", coroutine.status(co))
    assert.equal(5, m.acted[1][1])
  end)
end)
