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
-- Each wait an xssh.async call yields ({WAIT, fd, events, timeout_ms}) becomes a
-- uv poll handle on fd in those directions plus a uv timer for the timeout;
-- the first to fire stops both and resumes the coroutine. Handles live only for
-- one wait, so a socket the C core closes between waits is never watched.
-- task:cancel() closes the coroutine: the pending op is cancelled
-- (xssh_multi_op_cancel) and the session stays usable (xssh.async).
local uv = require("luv")
local async = require("xssh.async")
local core = require("xssh").core

local M = {}
for _, k in ipairs({ "connect", "run", "get", "put" }) do M[k] = async[k] end

local POLL_IN, POLL_OUT, POLL_ERR = core.XSSH_POLL_IN, core.XSSH_POLL_OUT, core.XSSH_POLL_ERR

local PARK = {} -- yielded by Task:wait: no handle, woken by the awaited task's end

local Task = {}
Task.__index = Task
Task.__name = "xssh.luv.Task"

local function finish(task, ok, ...)
  task.done = true
  task.ok = ok
  if ok then
    task.result = ...
    task.results = table.pack(...)
  else
    task.error = ...
  end
  for _, cb in ipairs(task.waiters) do cb(task) end
  task.waiters = {}
end

local function clear(task)
  if task.poll then
    task.poll:stop()
    if not task.poll:is_closing() then task.poll:close() end
    task.poll = nil
  end
  if task.timer then
    task.timer:stop()
    if not task.timer:is_closing() then task.timer:close() end
    task.timer = nil
  end
end

local step

-- one wait of the coroutine: a poll handle on fd and/or a timer
local function wait(task, fd, events, timeout_ms)
  local fired = false
  local function wake(ready)
    if fired then return end
    fired = true
    clear(task)
    step(task, ready)
  end
  if fd and fd >= 0 and events ~= 0 then
    local dirs = ((events & POLL_IN) ~= 0 and "r" or "") .. ((events & POLL_OUT) ~= 0 and "w" or "")
    local p = assert(uv.new_poll(fd))
    task.poll = p
    p:start(dirs, function(err, got)
      local ready = 0
      if err then ready = POLL_ERR end
      if got then
        if got:find("r", 1, true) then ready = ready | POLL_IN end
        if got:find("w", 1, true) then ready = ready | POLL_OUT end
        if got:find("d", 1, true) then ready = ready | POLL_ERR end
      end
      wake(ready == 0 and POLL_ERR or ready)
    end)
  end
  if timeout_ms and timeout_ms >= 0 then
    local t = uv.new_timer()
    task.timer = t
    t:start(timeout_ms, 0, function() wake(0) end)
  elseif not task.poll then
    -- nothing to wait for (should not happen while an op runs): go on next turn
    local t = uv.new_timer()
    task.timer = t
    t:start(0, 0, function() wake(0) end)
  end
end

function step(task, ...)
  local co = task.co
  local r = table.pack(coroutine.resume(co, ...))
  if not r[1] then
    finish(task, false, r[2])
    return
  end
  if coroutine.status(co) == "dead" then
    finish(task, true, table.unpack(r, 2, r.n))
    return
  end
  if r[2] == async.WAIT then
    wait(task, r[3], r[4], r[5])
  elseif r[2] == PARK then
    return
  else
    -- a plain yield (xssh.luv.sleep yields WAIT too): resume on the next turn
    wait(task, -1, 0, 0)
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
        if t then step(t, 0) end
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
  local args = table.pack(...)
  step(task, table.unpack(args, 1, args.n))
  return task
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

return M
