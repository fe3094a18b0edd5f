-- SPDX-License-Identifier: BSD-3-Clause
--
-- xssh.luv: runs xssh.async coroutines on a luv (libuv) event loop
-- (Debian's lua-luv; docs/async-lua-ruby.md).
--
--   local uv = require("luv")
--   local xluv = require("xssh.luv")
--   local task = xluv.spawn(function()
--     local s <close> = xluv.connect{host = "h", key = "..."}
--     return xluv.run(s, "uname -a")
--   end)
--   uv.run()            -- until every task is done
--   task.ok, task.result / task.error
--
-- A wait an xssh.async call yields (one socket, or several at once: the
-- protocol in xssh/async.lua) registers the task's interest in each socket
-- with ONE shared watch per fd (in xssh.luv's epoll set, whose fd is the only
-- one libuv polls: see "pset" below): the watch is the union of the directions its
-- waiters want, and a readiness wakes each waiter that wanted it, with its own
-- part. A task's timer (its own uv timer) covers the timeout. The first event
-- of a wait withdraws all of that task's interests (a handle nobody wants any
-- more is stopped and closed) before the task runs, so a socket the C core
-- closes between waits is never watched.
-- task:cancel() closes the coroutine: the pending op is cancelled
-- (xssh_multi_op_cancel) and the session stays usable (xssh.async).
local uv = require("luv")
local async = require("xssh.async")
local core = require("xssh").core

local M = {}
-- xssh.async's functions, naming themselves xssh.luv.<fn> in their errors
for _, k in ipairs({ "connect", "run", "get", "put", "sftp", "listdir", "stream" }) do
  M[k] = async._named(k, "xssh.luv." .. k)
end

local POLL_IN, POLL_OUT, POLL_ERR = core.XSSH_POLL_IN, core.XSSH_POLL_OUT, core.XSSH_POLL_ERR

local PARK = {} -- yielded by Task:wait: no handle, woken by the awaited task's end

local Task = {}
Task.__index = Task
Task.__name = "xssh.luv.Task"

-- ---- shared poll handles ------------------------------------------------------

-- fd -> { fd=, handle=, mask= (directions the handle watches), waiters = {[waiter] = events} }
local polls = {}
M._polls = polls -- (for tests: the handles alive)

local fire -- (waiter, fd or nil, events): ends a wait and resumes its task

-- Input one task's op reads from a shared socket (a session two calls use, or
-- a plain blocking call inside a task) may be for another call's op: libssh2
-- queues it, and that op's socket stays quiet. The C core makes that op
-- runnable in its own Multi and writes the Multi's wake-up descriptor, which
-- Multi:fds() lists (last) with the sockets: it is watched here like a socket
-- (an eventfd, readable then), so the waiting task runs its Multi, whose op
-- reads libssh2's queue (docs/multi.md, "Wake-ups across the multis of a thread").

-- The sockets are watched in ONE epoll set (xssh_core._pollset_new, see
-- swig/lua/xssh_lua_pollset.swg), and libuv watches only the set's fd (one uv
-- poll handle, readable when a socket is ready, active while a socket is
-- watched): libuv reports POLLERR of a watched socket (a refused connect, a
-- reset) as EBADF, and luv 1.44 prints "EBADF: bad file descriptor" on stderr
-- for it before the callback runs; the epoll fd itself never has POLLERR. A
-- socket's error reaches its waiters as POLL_ERR (the set's ready()).
local pset, pset_handle, pset_count = nil, nil, 0

local function pset_dispatch()
  local ready = pset:ready()
  for fd, r in pairs(ready) do
    local p = polls[fd]
    if p and p.mask ~= 0 then p.cb(r) end
  end
end

local function pset_watch(delta)
  pset_count = pset_count + delta
  if pset_count > 0 and not pset_handle then
    pset_handle = uv.new_poll(pset:fd())
    pset_handle:start("r", function() pset_dispatch() end)
  elseif pset_count == 0 and pset_handle then
    pset_handle:stop()
    if not pset_handle:is_closing() then pset_handle:close() end
    pset_handle = nil
  end
end

local function poll_update(p)
  local mask = 0
  for _, ev in pairs(p.waiters) do mask = mask | ev end
  if mask == 0 then
    polls[p.fd] = nil
    pset:set(p.fd, 0)
    pset_watch(-1)
  elseif mask ~= p.mask then
    p.mask = mask
    pset:set(p.fd, mask)
  end
end

local function poll_new(fd)
  pset = pset or core._pollset_new()
  -- (an fd epoll refuses - not a socket, closed - is reported to the op as an error on it)
  if not pset:set(fd, POLL_IN) then return nil end
  local p = { fd = fd, mask = POLL_IN, waiters = {} }
  pset_watch(1)
  p.cb = function(ready)
    if ready == 0 then ready = POLL_ERR end
    -- a snapshot: waking a waiter runs its task, which may change the waiters
    local list = {}
    for w, ev in pairs(p.waiters) do list[#list + 1] = { w, ev } end
    for _, it in ipairs(list) do
      local w, ev = it[1], it[2]
      if p.waiters[w] and not w.fired then
        local r = ready & (ev | POLL_ERR)
        if r ~= 0 then fire(w, fd, r) end
      end
    end
  end
  polls[fd] = p
  return p
end

-- withdraw every interest of waiter w (and stop its task's timer)
local function withdraw(w)
  for fd in pairs(w.fds) do
    local p = polls[fd]
    if p and p.waiters[w] then
      p.waiters[w] = nil
      poll_update(p)
    end
  end
  w.fds = {}
  if w.task.timer then w.task.timer:stop() end
end

function fire(w, fd, r)
  if w.fired then return end
  w.fired = true
  local task = w.task
  withdraw(w)
  if task.w == w then task.w = nil end
  if w.many then
    local ready = {}
    if fd then ready[fd] = r end
    task:_step(fd == w.first and r or 0, ready)
  else
    task:_step(fd and r or 0)
  end
end

local function timer_of(task)
  if not task.timer then task.timer = uv.new_timer() end
  return task.timer
end

-- one wait of the task: its interest in fd (or in every socket of many) and a timer
local function wait(task, fd, events, timeout_ms, many)
  local w = { task = task, fds = {}, many = type(many) == "table", first = fd, fired = false }
  task.w = w
  local bad -- a socket libuv refuses to watch: reported to the op as an error on it
  local function add(f, ev)
    if math.type(f) ~= "integer" or f < 0 or math.type(ev) ~= "integer" or (ev & (POLL_IN | POLL_OUT)) == 0 then return end
    ev = ev & (POLL_IN | POLL_OUT)
    local p = polls[f] or poll_new(f)
    if not p then
      bad = bad or f
      return
    end
    w.fds[f] = (w.fds[f] or 0) | ev
    p.waiters[w] = (p.waiters[w] or 0) | ev
    poll_update(p)
  end
  if w.many then
    for _, pe in ipairs(many) do add(pe[1], pe[2]) end
  else
    add(fd, events)
  end
  local t = nil
  if bad then
    t = timer_of(task)
    t:start(0, 0, function() fire(w, bad, POLL_ERR) end)
  elseif math.type(timeout_ms) == "integer" and timeout_ms >= 0 then
    t = timer_of(task)
    t:start(timeout_ms, 0, function() fire(w, nil, 0) end)
  elseif next(w.fds) == nil then
    -- nothing to wait for (should not happen while an op runs): go on next turn
    t = timer_of(task)
    t:start(0, 0, function() fire(w, nil, 0) end)
  end
end

-- end the task's current wait now (withdrawn) and resume it on the next turn as if its timer ran out
local function kick(task)
  local w = task.w
  if not w or w.fired then return end
  withdraw(w)
  timer_of(task):start(0, 0, function() fire(w, nil, 0) end)
end

-- ---- tasks ------------------------------------------------------------------

local function finish(task, ok, ...)
  task.done = true
  task.ok = ok
  if ok then
    task.result = ...
    task.results = table.pack(...)
  else
    task.error = ...
  end
  if task.timer then
    task.timer:stop()
    if not task.timer:is_closing() then task.timer:close() end
    task.timer = nil
  end
  local waiters = task.waiters
  task.waiters = {}
  for _, cb in ipairs(waiters) do cb(task) end
end

local function clear(task)
  local w = task.w
  if w then
    w.fired = true
    withdraw(w)
    task.w = nil
  end
end

function Task:_step(...)
  local co = self.co
  local r = table.pack(coroutine.resume(co, ...))
  if not r[1] then
    clear(self)
    finish(self, false, r[2])
    return
  end
  if coroutine.status(co) == "dead" then
    clear(self)
    finish(self, true, table.unpack(r, 2, r.n))
    return
  end
  if r[2] == async.WAIT then
    wait(self, r[3], r[4], r[5], r[6])
  elseif r[2] == PARK then
    return
  else
    -- a plain yield: resume on the next turn
    wait(self, -1, 0, 0)
  end
end

-- Cancel a task that is not done: its pending xssh op is cancelled (the
-- session stays usable), the coroutine closed; task.error = "cancelled".
function Task:cancel()
  if self.done then return false end
  clear(self)
  local ok, err = coroutine.close(self.co)
  self.cancelled = true
  finish(self, false, ok and "cancelled" or err)
  return true
end

-- Inside a task: wait until other (a task) is done; its results (its error is raised).
function Task:wait()
  if not self.done then
    local me = coroutine.running()
    local parked = true
    table.insert(self.waiters, function()
      if parked then
        parked = false
        -- resume the waiting coroutine through its own task's step
        local t = M._tasks_by_co[me]
        if t and not t.done then t:_step(0) end
      end
    end)
    while not self.done do coroutine.yield(PARK) end
  end
  if not self.ok then error(self.error, 0) end
  return table.unpack(self.results, 1, self.results.n)
end

M._tasks_by_co = setmetatable({}, { __mode = "k" })
-- Start fn(...) as a task on the loop (it runs at once until its first wait).
function M.spawn(fn, ...)
  local task = setmetatable({ done = false, waiters = {} }, Task)
  task.co = coroutine.create(fn)
  M._tasks_by_co[task.co] = task
  task:_step(...)
  return task
end

-- The task running the calling coroutine (nil outside a task).
function M.current()
  return M._tasks_by_co[coroutine.running()]
end

-- Inside a task: start(callback) starts something of luv (a connect, a read, a
-- write...) that calls callback(...) once; the task waits (other tasks run)
-- until it does and gets callback's arguments. A task cancelled meanwhile is
-- not resumed (the late call is ignored).
function M.await(start)
  local me = M.current()
  if not me then error("xssh.luv.await: not inside an xssh.luv task", 2) end
  local res, parked = nil, false
  start(function(...)
    if res then return end
    res = table.pack(...)
    if parked and not me.done then
      parked = false
      me:_step()
    end
  end)
  while not res do
    parked = true
    coroutine.yield(PARK)
  end
  return table.unpack(res, 1, res.n)
end

-- Inside a task: sleep seconds on the loop's timer.
function M.sleep(seconds)
  coroutine.yield(async.WAIT, -1, 0, math.max(0, math.floor(seconds * 1000)))
end

-- Run fn as a task and the loop until every handle is done; fn's results
-- (its error raised).
function M.run_main(fn, ...)
  local t = M.spawn(fn, ...)
  uv.run()
  if not t.done then error("xssh.luv.run_main: the loop stopped before the task finished", 2) end
  if not t.ok then error(t.error, 0) end
  return table.unpack(t.results, 1, t.results.n)
end

-- ---- local forwarding ---------------------------------------------------------

-- xssh.luv.forward_local(session, host, port [, {bind_host=, bind_port=}]): as
-- xssh.async.forward_local, driven by an internal task of the loop (fw.task)
-- from now until fw:close(). While it is open the loop has work (uv.run does
-- not return). fw:close() inside a task waits until the forward has ended
-- (listener and connections closed); outside a task it returns at once and the
-- loop finishes the cancellation.
local LuvForward = setmetatable({}, { __index = async.Forward })
LuvForward.__index = LuvForward
LuvForward.__name = "xssh.luv.Forward"
LuvForward.__close = function(self) self:close() end
M.Forward = LuvForward

function LuvForward:close()
  local first = async.Forward.close(self)
  local me = M.current()
  if me and me ~= self.task and not self.task.done then
    pcall(self.task.wait, self.task) -- its failure is in fw.error / fw.task.error
  end
  return first
end

-- (depth 1: this wrapper is a frame between the caller and the checks, so a bad
-- argument is reported at the caller's line)
local async_forward_local = async._named("forward_local", "xssh.luv.forward_local", 1)

function M.forward_local(session, host, port, opts)
  local fw = setmetatable(async_forward_local(session, host, port, opts), LuvForward)
  fw.on_close = function() kick(fw.task) end
  fw.task = M.spawn(function() return fw:serve() end)
  return fw
end

return M
