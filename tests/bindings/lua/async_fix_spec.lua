-- SPDX-License-Identifier: BSD-3-Clause
-- xssh.async / xssh.luv defects a newcomer found (docs/async-lua-ruby.md):
-- run cut the output at 1 MiB; wrong arguments gave messages naming C internals
-- (session_op, sftp_xfer, Multi:add_*); luv printed "EBADF" on stderr for a
-- poll error; and fds must not pile up over connect/run/close cycles.
-- Against the harness sshd (XSSH_TEST_ENV); nothing depends on timing.
local E = require "xssh_test_env"
local xssh = require "xssh"
local xasync = require "xssh.async"
local uv = require "luv"
local xluv = require "xssh.luv"

local GUARD_MS = 120000 -- a loop still running after this has hung: stopped, the test fails

local function kw(t)
  t = t or {}
  t.host, t.port, t.user, t.key, t.known_hosts, t.agent = E.host, E.port, E.user, E.key, E.known_hosts, false
  return t
end

-- run fn as a task on the loop; its results (its error raised); a guard timer fails a hang
local function run_task(fn)
  local guard = uv.new_timer()
  local hung = false
  guard:start(GUARD_MS, 0, function() hung = true; uv.stop() end)
  guard:unref()
  local t = xluv.spawn(fn)
  uv.run()
  guard:close()
  uv.run()
  assert(not hung, "the loop hung (guard timer)")
  assert(t.done, "task not done")
  if not t.ok then error(t.error, 0) end
  return table.unpack(t.results, 1, t.results.n)
end

describe("xssh.async.run: all of the output, as Session:run", function()
  it("returns ~3 MB of stdout and stderr exactly (no 1 MiB cut)", function()
    local N = 3 * 1024 * 1024 + 17
    local r = run_task(function()
      local s <close> = xluv.connect(kw())
      return xluv.run(s, string.format("head -c %d /dev/zero; head -c %d /dev/zero | tr '\\0' e >&2", N, N + 5))
    end)
    assert.equal(0, r.exit_status)
    assert.equal(N, #r.stdout)
    assert.equal(N + 5, #r.stderr)
    assert.equal(string.rep("\0", 64), r.stdout:sub(-64))
    assert.equal(string.rep("e", 64), r.stderr:sub(-64))
    -- the same outside a coroutine (blocking through the multi)
    local s <close> = E.session()
    local rb = xasync.run(s, string.format("head -c %d /dev/zero", N))
    assert.equal(N, #rb.stdout)
    assert.equal(N, #s:run(string.format("head -c %d /dev/zero", N)).stdout)
  end)
end)

describe("xssh.async / xssh.luv: argument errors name the function, the argument and the type", function()
  it("every function, every argument (table-driven)", function()
    local s = E.session()
    local sftp = s:sftp_init()
    local d = E.tmpdir()
    -- {function name, arguments, the expected message's tail}
    local cases = {
      { "connect", { nil }, "#1 'opts' %(table of options or host name string expected, got nil%)" },
      { "connect", { 5 }, "#1 'opts' %(table of options or host name string expected, got number%)" },
      { "connect", { s }, "#1 'opts' %(table of options or host name string expected, got xssh.Session%)" },
      { "connect", { "h", "22" }, "#2 'port' %(integer or nil expected, got string%)" },
      { "connect", { "h", 22, 5 }, "#3 'user' %(string or nil expected, got number%)" },
      { "connect", { "h", 22, "u", true }, "#4 'more' %(table or nil expected, got boolean%)" },
      { "run", { nil, "true" }, "#1 'session' %(xssh.Session expected, got nil%)" },
      { "run", { sftp, "true" }, "#1 'session' %(xssh.Session expected, got xssh.SFTP%)" },
      { "run", { "s", "true" }, "#1 'session' %(xssh.Session expected, got string%)" },
      { "run", { s, nil }, "#2 'command' %(string expected, got nil%)" },
      { "run", { s, 5 }, "#2 'command' %(string expected, got number%)" },
      { "run", { s, "true", "x" }, "#3 'opts' %(table or nil expected, got string%)" },
      { "stream", { nil, "true" }, "#1 'session' %(xssh.Session expected, got nil%)" },
      { "stream", { s, {} }, "#2 'command' %(string expected, got table%)" },
      { "stream", { s, "true", 1 }, "#3 'opts' %(table or nil expected, got number%)" },
      { "sftp", { nil }, "#1 'session' %(xssh.Session expected, got nil%)" },
      { "sftp", { sftp }, "#1 'session' %(xssh.Session expected, got xssh.SFTP%)" },
      { "listdir", { s, "/" }, "#1 'sftp' %(xssh.SFTP expected, got xssh.Session%)" },
      { "listdir", { nil, "/" }, "#1 'sftp' %(xssh.SFTP expected, got nil%)" },
      { "listdir", { sftp, nil }, "#2 'path' %(non%-empty string expected, got nil%)" },
      { "listdir", { sftp, "" }, "#2 'path' %(non%-empty string expected, got empty string%)" },
      { "get", { s, "/r", d .. "/l" }, "#1 'sftp' %(xssh.SFTP expected, got xssh.Session%)" },
      { "get", { sftp, nil, d .. "/l" }, "#2 'remote' %(non%-empty string expected, got nil%)" },
      { "get", { sftp, "", d .. "/l" }, "#2 'remote' %(non%-empty string expected, got empty string%)" },
      { "get", { sftp, "/r", nil }, "#3 'local' %(non%-empty string expected, got nil%)" },
      { "get", { sftp, "/r", d .. "/l", true }, "#4 'opts' %(table or nil expected, got boolean%)" },
      { "put", { nil, d .. "/l", "/r" }, "#1 'sftp' %(xssh.SFTP expected, got nil%)" },
      { "put", { sftp, 7, "/r" }, "#2 'local' %(non%-empty string expected, got number%)" },
      { "put", { sftp, d .. "/l", nil }, "#3 'remote' %(non%-empty string expected, got nil%)" },
      { "put", { sftp, d .. "/l", "/r", "x" }, "#4 'opts' %(table or nil expected, got string%)" },
      { "forward_local", { nil, "127.0.0.1", 9 }, "#1 'session' %(xssh.Session expected, got nil%)" },
      { "forward_local", { sftp, "127.0.0.1", 9 }, "#1 'session' %(xssh.Session expected, got xssh.SFTP%)" },
      { "forward_local", { s, nil, 9 }, "#2 'host' %(non%-empty string expected, got nil%)" },
      { "forward_local", { s, "127.0.0.1", "9" }, "#3 'port' %(integer 1..65535 expected, got string%)" },
      { "forward_local", { s, "127.0.0.1", 9, 0 }, "#4 'opts' %(table or nil expected, got number%)" },
    }
    local covered, failures = {}, {}
    for _, mod in ipairs({ { "xssh.async", xasync }, { "xssh.luv", xluv } }) do
      for i, c in ipairs(cases) do
        local fn, args, tail = c[1], c[2], c[3]
        covered[fn] = true
        local f = mod[2][fn]
        -- inside a task too: the check comes before anything is started or yielded
        for _, where in ipairs({ "plain", "task" }) do
          local ok, err
          if where == "plain" then
            ok, err = pcall(f, table.unpack(args, 1, 4))
          else
            local t = xluv.spawn(function() return f(table.unpack(args, 1, 4)) end)
            uv.run()
            ok, err = t.ok, t.error
          end
          local msg = tostring(err)
          -- (each module names its own function: xssh.luv.run for xluv.run)
          local want = mod[1]:gsub("%.", "%%.") .. "%." .. fn .. ": bad argument " .. tail .. "$"
          if ok or type(err) ~= "string" or not msg:find(want) or msg:find("session_op", 1, true)
            or msg:find("sftp_xfer", 1, true) or msg:find("Multi", 1, true) then
            failures[#failures + 1] = string.format("%s.%s case %d (%s): %s", mod[1], fn, i, where,
              ok and "no error" or msg)
          end
        end
      end
    end
    assert.same({}, failures)
    for _, fn in ipairs({ "connect", "run", "stream", "sftp", "listdir", "get", "put", "forward_local" }) do
      assert.is_true(covered[fn], fn .. " has no case")
    end
    -- the error points at the caller's line (not a tail call: that frame would be gone)
    local ok, err = pcall(function() local r = xasync.run(nil, "true"); return r end)
    assert.is_false(ok)
    assert.matches("async_fix_spec%.lua:%d+: xssh%.async%.run: bad argument #1", err)
    ok, err = pcall(function() local r = xasync.get(sftp, nil, "x"); return r end)
    assert.matches("async_fix_spec%.lua:%d+: xssh%.async%.get: bad argument #2", err)
    -- connect's option errors name xssh.async.connect too
    ok, err = pcall(xasync.connect, { host = "h", bogus = 1 })
    assert.is_false(ok)
    assert.matches("^InvalidArgumentError: xssh%.async%.connect: unknown option 'bogus'", tostring(err))
    -- a value of the right type but out of range stays an InvalidArgumentError
    ok, err = pcall(xasync.forward_local, s, "127.0.0.1", 0)
    assert.is_false(ok)
    assert.is_true(xssh.is_error(err) and err:is("InvalidArgumentError"), tostring(err))
    s:close()
  end)
end)

-- run a Lua chunk in a child lua5.4 (this process's module paths); its stdout, its stderr
local function child(src)
  -- (not in E.tmpdir(): the child's xssh_test_env empties that scratch space)
  local script, errf = os.tmpname(), os.tmpname()
  local f = assert(io.open(script, "w"))
  f:write(src)
  f:close()
  local q = function(v) return "'" .. (v:gsub("'", "'\\''")) .. "'" end
  local cmd = string.format("env LUA_PATH=%s LUA_CPATH=%s XSSH_TEST_ENV=%s lua5.4 %s 2>%s", q(package.path),
    q(package.cpath), q(os.getenv("XSSH_TEST_ENV") or ""), q(script), q(errf))
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  p:close()
  local ef = assert(io.open(errf))
  local err = ef:read("a")
  ef:close()
  os.remove(script)
  os.remove(errf)
  return out, err
end

describe("xssh.luv: a socket error (POLLERR) is the op's error, never a print on stderr", function()
  it("a refused connection (POLLERR on the connecting socket): ConnectError, stderr empty", function()
    local out, err = child([[
local uv = require "luv"
local xluv = require "xssh.luv"
-- a port nothing listens on: bound, then closed (connect gets RST: POLLERR)
local srv = uv.new_tcp()
assert(srv:bind("127.0.0.1", 0))
local port = srv:getsockname().port
srv:close()
local t = xluv.spawn(function()
  local ok, e = pcall(xluv.connect, { host = "127.0.0.1", port = port, user = "u", agent = false,
    known_hosts = "/dev/null" })
  return ok, tostring(e)
end)
uv.run()
-- then a run on a real session: the loop still works after the error
local E = require "xssh_test_env"
local t2 = xluv.spawn(function()
  local s <close> = xluv.connect{ host = E.host, port = E.port, user = E.user, key = E.key,
    known_hosts = E.known_hosts, agent = false }
  return xluv.run(s, "echo ok").stdout
end)
uv.run()
io.write(tostring(t.ok), "|", tostring(t.results[1]), "|", t.results[2], "|", tostring(t2.ok), "|",
  tostring(t2.ok and t2.result or t2.error), "\n")
]])
    assert.equal("", err)
    assert.matches("^true|false|ConnectError: .*Connection refused.*|true|ok\n\n$", out)
  end)
end)

describe("xssh.luv: no fd left behind", function()
  it("40 connect/run/close cycles in one loop keep the fd count within a small constant", function()
    local function fds()
      local n = 0
      local p = assert(io.popen(string.format("ls /proc/%d/fd", math.tointeger(uv.os_getpid()))))
      for _ in p:lines() do n = n + 1 end
      p:close()
      return n
    end
    -- one cycle first: the loop's own fds (the epoll set, luv's) exist from then on
    local function cycle()
      local s <close> = xluv.connect(kw())
      local r = xluv.run(s, "echo x")
      assert(r.stdout == "x\n", r.stdout)
      local sftp = xluv.sftp(s)
      assert(#xluv.listdir(sftp, "/") > 0)
    end
    run_task(cycle)
    collectgarbage()
    collectgarbage()
    local before = fds()
    run_task(function()
      for _ = 1, 40 do cycle() end
    end)
    collectgarbage()
    collectgarbage()
    local after = fds()
    assert.is_true(after - before <= 3, string.format("fds %d before, %d after 40 cycles", before, after))
  end)
end)
