-- SPDX-License-Identifier: BSD-3-Clause
-- xssh.async coroutines on luv (xssh.luv; docs/async-lua-ruby.md) against the
-- many-hosts fixture ($XSSH_MANY_HOSTS_ENV). No test depends on timing: overlap
-- is proven by commands that only end when all 20 run at once (sequential runs
-- would run into their bound); cancellation waits for a marker file the remote
-- command creates.
local xssh = require "xssh"
local xasync = require "xssh.async"
local uv, xluv -- required with the fixture (luv: Debian's lua-luv, scripts/install-deps.sh)

local BOUND = 1500 -- iterations of 0.2 s in a remote loop: far beyond a loaded machine's needs

local M = nil
do
  local path = os.getenv("XSSH_MANY_HOSTS_ENV")
  local f = path and io.open(path)
  if f then
    M = {}
    for line in f:lines() do
      local k, v = line:match("^([%w_]+)=(.*)$")
      if k then M[k] = v end
    end
    f:close()
  end
end

local function list(s)
  local t = {}
  for w in (s or ""):gmatch("%S+") do t[#t + 1] = w end
  return t
end

local function scratch()
  local d = string.format("%s/lua-luv-%d-%d", M.XSSH_MANY_SCRATCH, os.time(), math.random(1 << 30))
  assert(os.execute("mkdir -p '" .. d .. "' && chmod 777 '" .. d .. "'"))
  return d
end

local function kw(host, t)
  t = t or {}
  t.host, t.key, t.known_hosts, t.agent = host, t.key or M.XSSH_MANY_KEY, M.XSSH_MANY_KNOWN_HOSTS, false
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

local describe_many = M and describe or pending

describe_many("xssh.luv (coroutines on a luv loop)", function()
  uv, xluv = require "luv", require "xssh.luv"
  local good, dir
  before_each(function()
    good = list(M.XSSH_MANY_GOOD)
    dir = scratch()
  end)
  after_each(function() os.execute("rm -rf '" .. dir .. "'") end)

  it("runs 20 sessions at once on one thread (each command waits for all 20 files)", function()
    local tasks = {}
    for i = 1, 20 do
      tasks[i] = xluv.spawn(function()
        local s <close> = xluv.connect(kw(good[i]))
        return xluv.run(s, string.format("touch %s/f%d; n=0; while [ $(ls %s | wc -l) -lt 20 ]; do n=$((n+1)); " ..
          "[ $n -gt %d ] && exit 7; sleep 0.2; done; echo done %d", dir, i, dir, BOUND, i))
      end)
    end
    uv.run()
    for i, t in ipairs(tasks) do
      assert.is_true(t.done)
      assert.is_true(t.ok, tostring(t.error))
      assert.equal(getmetatable(t.result), xssh.RunResult)
      assert.same({ 0, "done " .. i .. "\n" }, { t.result.exit_status, t.result.stdout })
    end
  end)

  it("puts and gets files byte-exact over SFTP, 4 hosts at once; a missing file is an SFTP error", function()
    local parts = {}
    for i = 1, 300000 // 64 do parts[i] = string.format("%063d\n", i * 7919) end
    local data = table.concat(parts)
    local src = dir .. "/src.bin"
    local f = assert(io.open(src, "wb")); f:write(data); f:close()
    local tasks = {}
    for i = 1, 4 do
      tasks[i] = xluv.spawn(function()
        local s <close> = xluv.connect(kw(good[i]))
        local sf = s:sftp_init()
        local up = xluv.put(sf, src, string.format("%s/up%d.bin", dir, i))
        local down = xluv.get(sf, string.format("%s/up%d.bin", dir, i), string.format("%s/down%d.bin", dir, i))
        return up, down
      end)
    end
    local missing = xluv.spawn(function()
      local s <close> = xluv.connect(kw(good[5]))
      return xluv.get(s:sftp_init(), dir .. "/missing", dir .. "/x")
    end)
    uv.run()
    for i, t in ipairs(tasks) do
      assert.is_true(t.ok, tostring(t.error))
      assert.same({ #data, #data }, { t.results[1], t.results[2] })
      local g = assert(io.open(string.format("%s/down%d.bin", dir, i), "rb"))
      local got = g:read("a"); g:close()
      assert.is_true(got == data)
    end
    assert.is_false(missing.ok)
    assert.is_true(xssh.is_error(missing.error))
    assert.is_true(missing.error:is("SFTPError"))
  end)

  it("cancels a waiting run; the session runs the next command", function()
    local marker = dir .. "/started"
    local s = nil
    local runner
    local checker = xluv.spawn(function()
      s = xluv.connect(kw(good[1]))
      runner = xluv.spawn(function() return xluv.run(s, "touch " .. marker .. "; " .. wait_cmd(dir .. "/never")) end)
      for _ = 1, BOUND * 10 do
        if exists(marker) then break end
        xluv.sleep(0.02) -- the loop goes on: the runner's command starts meanwhile
      end
      assert(exists(marker), "the remote command never started")
      assert(not runner.done)
      assert(runner:cancel())
      local r = xluv.run(s, "echo again")
      s:disconnect()
      return r
    end)
    uv.run()
    assert.is_true(checker.ok, tostring(checker.error))
    assert.is_true(runner.cancelled)
    assert.is_false(runner.ok)
    assert.same({ 0, "again\n" }, { checker.result.exit_status, checker.result.stdout })
  end)

  it("raises xssh errors: refused, wrong key, unknown host key, run timeout", function()
    local function catch(f)
      return xluv.spawn(function()
        local ok, e = pcall(f)
        assert(not ok, "no error")
        return e
      end)
    end
    local ts = {
      catch(function() return xluv.connect(kw(list(M.XSSH_MANY_REFUSED)[1])) end),
      catch(function() return xluv.connect(kw(good[2], { key = M.XSSH_MANY_WRONG_KEY })) end),
      catch(function() return xluv.connect(kw(M.XSSH_MANY_UNKNOWN_HOSTKEY)) end),
      catch(function()
        local s <close> = xluv.connect(kw(good[3]))
        return xluv.run(s, wait_cmd(dir .. "/never"), { timeout = 0.3 })
      end),
    }
    uv.run()
    for _, t in ipairs(ts) do
      assert.is_true(t.ok, tostring(t.error))
      assert.is_true(xssh.is_error(t.result), tostring(t.result))
      assert.is_nil(tostring(t.result.message):find("PRIVATE KEY", 1, true))
    end
    assert.is_true(ts[2].result:is("AuthenticationError"))
    assert.is_true(ts[4].result:is("Timeout"))
  end)

  it("blocks outside a coroutine (same calls, same results)", function()
    assert.is_false(xasync.in_coroutine())
    local s <close> = xasync.connect(kw(good[1]))
    assert.equal("x\n", xasync.run(s, "echo x").stdout)
  end)

  it("runs the documented example", function()
    local here = debug.getinfo(1, "S").source:gsub("^@", ""):match("^(.*)/[^/]*$")
    local f = assert(io.open(here .. "/../../../docs/async-lua-ruby.md"))
    local doc = f:read("a"); f:close()
    local code = assert(doc:match("```lua\n(.-)```"))
    local path = dir .. "/example.lua"
    f = assert(io.open(path, "w")); f:write(code); f:close()
    local cmd = string.format("export LUA_PATH='%s' LUA_CPATH='%s'; lua5.4 '%s' '%s' '%s' %s %s %s 2>&1",
      package.path, package.cpath, path, M.XSSH_MANY_KEY, M.XSSH_MANY_KNOWN_HOSTS, good[1], good[2], good[3])
    local p = assert(io.popen(cmd))
    local out = p:read("a")
    local ok, _, code_ = p:close()
    assert.is_true(ok, out .. tostring(code_))
    for i = 1, 3 do assert.is_truthy(out:find(good[i] .. ": 0 hello\n", 1, true), out) end
    local _, n = out:gsub("\n", "")
    assert.equal(3, n, out)
  end)
end)
