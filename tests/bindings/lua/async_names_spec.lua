-- SPDX-License-Identifier: BSD-3-Clause
-- xssh.async / xssh.luv errors name the Lua function the user called (issue 17,
-- a newcomer's findings): an op on a closed session said "xssh_multi_add_run:
-- the session is closed" (the C function); a bad argument of
-- xluv.forward_local pointed at luv.lua (the wrapper's frame), not at the
-- caller's line. Against the harness sshd (XSSH_TEST_ENV); nothing depends on
-- timing (the session is closed before the calls, the port is held busy).
local E = require "xssh_test_env"
local xssh = require "xssh"
local xasync = require "xssh.async"
local uv = require "luv"
local xluv = require "xssh.luv"

local GUARD_MS = 120000 -- a loop still running after this has hung: stopped, the test fails
local MODS = { { "xssh.async", xasync }, { "xssh.luv", xluv } }

-- f(...) in a task on the loop: ok, the error (a guard timer fails a hang)
local function in_task(f, ...)
  local args = table.pack(...)
  local guard = uv.new_timer()
  local hung = false
  guard:start(GUARD_MS, 0, function() hung = true; uv.stop() end)
  guard:unref()
  local t = xluv.spawn(function()
    local r = f(table.unpack(args, 1, args.n))
    return r
  end)
  uv.run()
  guard:close()
  uv.run()
  assert(not hung, "the loop hung (guard timer)")
  assert(t.done, "task not done")
  return t.ok, t.error
end

local function close_forward(r)
  if type(r) == "table" and r.close then
    r:close()
    uv.run()
  end
end

describe("xssh.async / xssh.luv: an op's error names the Lua function called", function()
  it("an op on a closed session: ClosedError '<module>.<fn>: the session is closed' (plain and in a task)", function()
    local s = E.session()
    local sftp = s:sftp_init()
    local d = E.tmpdir()
    E.write(d .. "/up", "data")
    s:disconnect()
    local cases = {
      { "run", { s, "true" } },
      { "stream", { s, "true" } },
      { "sftp", { s } },
      { "listdir", { sftp, d } },
      { "get", { sftp, d .. "/up", d .. "/down" } },
      { "put", { sftp, d .. "/up", d .. "/r" } },
      { "forward_local", { s, "127.0.0.1", 22 } },
    }
    local failures = {}
    for _, mod in ipairs(MODS) do
      for _, c in ipairs(cases) do
        local fn, args = c[1], c[2]
        for _, where in ipairs({ "plain", "task" }) do
          local ok, err
          if where == "plain" then
            ok, err = pcall(mod[2][fn], table.unpack(args))
          else
            ok, err = in_task(mod[2][fn], table.unpack(args))
          end
          local want = mod[1] .. "." .. fn .. ": the session is closed"
          if ok then close_forward(err) end
          if ok or not xssh.is_error(err) or not err:is("ClosedError") or err.code ~= xssh.core.XSSH_ECLOSED
            or err.message ~= want or tostring(err):find("xssh_", 1, true) then
            failures[#failures + 1] = string.format("%s.%s (%s): %s", mod[1], fn, where, ok and "no error" or tostring(err))
          end
        end
      end
    end
    assert.same({}, failures)
    assert.is_false(io.open(d .. "/down") ~= nil, "get on a closed session left a file")
  end)

  it("a port that cannot be bound: ConnectError naming forward_local, the address and the cause", function()
    local s <close> = E.session()
    local busy = uv.new_tcp()
    assert(busy:bind("127.0.0.1", 0))
    assert(busy:listen(1, function() end))
    local port = busy:getsockname().port
    local got = {}
    for _, mod in ipairs(MODS) do
      local ok, err = pcall(mod[2].forward_local, s, "127.0.0.1", 22, { bind_port = port })
      if ok then close_forward(err) end
      got[mod[1]] = { ok, err }
    end
    -- (closed before any assertion: a handle left open would keep the next test's loop running)
    busy:close()
    uv.run()
    for _, mod in ipairs(MODS) do
      local ok, err = got[mod[1]][1], got[mod[1]][2]
      assert.is_false(ok)
      assert.is_true(xssh.is_error(err) and err:is("ConnectError"), tostring(err))
      assert.equal(xssh.core.XSSH_ECONNECT, err.code)
      assert.matches("^" .. mod[1]:gsub("%.", "%%.") .. "%.forward_local: cannot listen on 127%.0%.0%.1:" .. port
        .. ": ", err.message)
    end
    -- the session is still usable
    assert.equal("ok\n", xasync.run(s, "echo ok").stdout)
  end)

  it("an SFTP status error keeps its class and sftp_status (no C name to replace)", function()
    local s <close> = E.session()
    local sftp = s:sftp_init()
    for _, mod in ipairs(MODS) do
      local ok, err = in_task(mod[2].listdir, sftp, E.tmpdir() .. "/missing")
      assert.is_false(ok)
      assert.is_true(xssh.is_error(err) and err:is("SFTPError"), tostring(err))
      assert.equal(2, err.sftp_status)
      assert.is_nil(err.message:find("xssh_", 1, true), err.message)
    end
  end)
end)

describe("xssh.luv: argument errors point at the caller's line", function()
  it("every xssh.luv function that forwards to xssh.async", function()
    local s <close> = E.session()
    local sftp = s:sftp_init()
    local cases = {
      { "connect", { 5 } },
      { "run", { s, 5 } },
      { "stream", { s, nil } },
      { "sftp", { sftp } },
      { "listdir", { sftp, "" } },
      { "get", { sftp, nil, "x" } },
      { "put", { sftp, "x", 7 } },
      { "forward_local", { s, "127.0.0.1", "x" } },
    }
    local failures = {}
    for _, mod in ipairs(MODS) do
      for _, c in ipairs(cases) do
        local fn, args = c[1], c[2]
        local f = mod[2][fn]
        local line
        local ok, err = pcall(function()
          line = debug.getinfo(1, "l").currentline; local r = f(table.unpack(args, 1, 4)); return r
        end)
        if ok then close_forward(err) end
        local want = "async_names_spec.lua:" .. tostring(line) .. ": " .. mod[1] .. "." .. fn .. ": bad argument #"
        if ok or type(err) ~= "string" or not err:find(want, 1, true) or err:find("luv.lua", 1, true)
          or err:find("async.lua", 1, true) then
          failures[#failures + 1] = string.format("%s.%s: %s", mod[1], fn, ok and "no error" or tostring(err))
        end
      end
    end
    assert.same({}, failures)
    -- and the brief's own form: the message starts with this file's name and line
    local ok, err = pcall(function() local fw = xluv.forward_local(s, "127.0.0.1", "x"); return fw end)
    assert.is_false(ok)
    assert.matches("^[^:]*async_names_spec%.lua:%d+: xssh%.luv%.forward_local: bad argument #3 'port'", err)
  end)
end)

describe("xssh.async / xssh.luv: every error an op ends with starts with the function called", function()
  -- the C core's own words follow the name (a timeout, a session closed while the op
  -- waits, a connect failure); never doubled
  local function check(err, fname, cls, code, rest)
    assert.is_true(xssh.is_error(err) and err:is(cls), tostring(err))
    assert.equal(code, err.code)
    local m = err.message
    assert.equal(fname .. ": ", m:sub(1, #fname + 2), m)
    assert.is_nil(m:find(fname, #fname + 1, true), m)
    assert.is_nil(m:find("xssh_", 1, true), m)
    if rest then assert.truthy(m:find(rest, #fname + 3, true), m) end
  end

  it("the rule (the C core's, xssh_multi_op_opts.caller): a C name replaced, other text prefixed, once; the object kept",
    function()
    -- no Lua copy of the rule left: xssh.async sets the caller, the C core names the message
    assert.is_nil(xasync._named_error)
    local s = E.session()
    local sftp = s:sftp_init()
    local missing = E.tmpdir() .. "/missing"
    -- other text prefixed, once; an SFTPError keeps its class and sftp_status
    local ok, err = pcall(xasync.listdir, sftp, missing)
    assert.is_false(ok)
    check(err, "xssh.async.listdir", "SFTPError", xssh.core.XSSH_ESFTP_NO_SUCH_FILE)
    assert.equal(2, err.sftp_status)
    -- a C name replaced (xssh_multi_add_run: the session is closed), once
    s:disconnect()
    ok, err = pcall(xasync.run, s, "x")
    assert.is_false(ok)
    assert.equal("xssh.async.run: the session is closed", err.message)
    check(err, "xssh.async.run", "ClosedError", xssh.core.XSSH_ECLOSED)
  end)

  it("a timeout (run and stream; plain and in a task)", function()
    local s <close> = E.session()
    for _, mod in ipairs(MODS) do
      local run = function() return mod[2].run(s, "sleep 30", { timeout = 1 }) end
      local stream = function()
        local p = mod[2].stream(s, "sleep 30", { timeout = 1 })
        for _ in p:iter() do end
      end
      for _, c in ipairs({ { "run", run }, { "stream", stream } }) do
        local ok, err = pcall(c[2])
        assert.is_false(ok)
        check(err, mod[1] .. "." .. c[1], "Timeout", xssh.core.XSSH_ETIMEOUT, "run 'sleep 30': timed out")
        ok, err = in_task(c[2])
        assert.is_false(ok)
        check(err, mod[1] .. "." .. c[1], "Timeout", xssh.core.XSSH_ETIMEOUT, "run 'sleep 30': timed out")
      end
    end
    assert.equal("ok\n", xasync.run(s, "echo ok").stdout) -- usable after them
  end)

  it("a session closed while the op waits (run and stream, in a task; another task closes it)", function()
    local d = E.tmpdir()
    for _, mod in ipairs(MODS) do
      for _, fn in ipairs({ "run", "stream" }) do
        local s = E.session()
        local marker = d .. "/started-" .. mod[1] .. "-" .. fn
        local cmd = "touch " .. marker .. "; sleep 30"
        local guard = uv.new_timer()
        local hung = false
        guard:start(GUARD_MS, 0, function() hung = true; uv.stop() end)
        guard:unref()
        local t = xluv.spawn(function()
          if fn == "run" then return mod[2].run(s, cmd) end
          for _ in mod[2].stream(s, cmd):iter() do end
        end)
        local closer = xluv.spawn(function()
          -- wait (on the loop) until the command has started: bounded only on failure
          for _ = 1, 60000 do
            if io.open(marker) then break end
            xluv.sleep(0.01)
          end
          s:disconnect() -- closed underneath while the op waits
        end)
        uv.run()
        guard:close()
        uv.run()
        assert(not hung, "the loop hung (guard timer)")
        assert.is_true(closer.done and closer.ok, tostring(closer.error))
        assert.is_true(t.done)
        assert.is_false(t.ok)
        check(t.error, mod[1] .. "." .. fn, "ClosedError", xssh.core.XSSH_ECLOSED, "closed")
      end
    end
  end)

  it("a connect failure (plain and in a task)", function()
    local busy = uv.new_tcp()
    assert(busy:bind("127.0.0.1", 0)) -- bound, never listening: the connection is refused
    local port = busy:getsockname().port
    local got = {}
    for _, mod in ipairs(MODS) do
      local c = function() return mod[2].connect({ host = "127.0.0.1", port = port, user = E.user, agent = false }) end
      got[#got + 1] = { mod[1], pcall(c) }
      got[#got + 1] = { mod[1], in_task(c) }
    end
    busy:close()
    uv.run()
    for _, g in ipairs(got) do
      assert.is_false(g[2])
      check(g[3], g[1] .. ".connect", "ConnectError", xssh.core.XSSH_ECONNECT, tostring(port))
    end
  end)
end)

describe("xssh.async / xssh.luv forward_local: option errors say what was given", function()
  it("bind_host, bind_port, port", function()
    local s <close> = E.session()
    for _, mod in ipairs(MODS) do
      local f = mod[1] .. ".forward_local: "
      for _, c in ipairs({
        { { "127.0.0.1", 22, { bind_port = "x" } }, "bind_port must be an integer 0..65535 (0: any free port), got string" },
        { { "127.0.0.1", 22, { bind_port = 70000 } }, "bind_port must be an integer 0..65535 (0: any free port), got 70000" },
        { { "127.0.0.1", 22, { bind_host = 5 } }, "bind_host must be a string or nil, got number" },
        { { "127.0.0.1", 70000 }, "port must be an integer 1..65535, got 70000" },
      }) do
        local ok, err = pcall(mod[2].forward_local, s, table.unpack(c[1]))
        if ok then close_forward(err) end
        assert.is_false(ok)
        assert.is_true(xssh.is_error(err) and err.code == xssh.core.XSSH_EARG, tostring(err))
        assert.equal(f .. c[2], err.message)
      end
    end
  end)
end)
