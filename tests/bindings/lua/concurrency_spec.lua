-- SPDX-License-Identifier: BSD-3-Clause
-- Lua has no preemptive threads: concurrency is non-blocking calls driven by
-- coroutines that yield on xssh.EAGAIN. Two sessions, two slow commands: the
-- pair takes about the time of one.
local xssh = require "xssh"
local E = require "xssh_test_env"

local function now()
  local f = assert(io.open("/proc/uptime"))
  local t = f:read("n")
  f:close()
  return t
end

-- retry a non-blocking call, yielding while it says EAGAIN
local function nb(f, ...)
  while true do
    local r = table.pack(f(...))
    if r[1] ~= xssh.EAGAIN then return table.unpack(r, 1, r.n) end
    coroutine.yield()
  end
end

local function job(s, command)
  return coroutine.wrap(function()
    local ch = nb(s.open_session, s)
    nb(ch.execute, ch, command)
    local out = {}
    while true do
      local n, data = nb(ch.read, ch, 4096)
      if n == 0 then break end
      out[#out + 1] = data
    end
    nb(ch.close, ch)
    return table.concat(out), ch:get_exit_status()
  end)
end

describe("concurrency", function()
  it("two non-blocking sessions driven by coroutines overlap", function()
    local s1 <close> = E.session()
    local s2 <close> = E.session()
    if not s1.open_session then pending("no channels in this build") return end
    s1:set_blocking(0)
    s2:set_blocking(0)
    local t0 = now()
    local jobs = { job(s1, "sleep 1; echo one; exit 1"), job(s2, "sleep 1; echo two; exit 2") }
    local results, done = {}, 0
    while done < #jobs do
      for i, j in ipairs(jobs) do
        if not results[i] then
          local out, status = j()
          if out ~= nil then
            results[i] = { out, status }
            done = done + 1
          end
        end
      end
    end
    local elapsed = now() - t0
    assert.same({ "one\n", 1 }, results[1])
    assert.same({ "two\n", 2 }, results[2])
    assert.truthy(elapsed < 1.8, string.format("took %.2f s: the commands did not overlap", elapsed))
    s1:set_blocking(1)
    s2:set_blocking(1)
  end)
end)
