-- SPDX-License-Identifier: BSD-3-Clause
-- xssh.run_many / put_many / get_many and xssh.Multi against the many-hosts
-- fixture (tests/harness/many_hosts.py; $XSSH_MANY_HOSTS_ENV). No test depends
-- on timing: overlap is proven by commands that only end when all of them run
-- at once (sequential execution would run into their bound).
local xssh = require "xssh"
local E = require "xssh_test_env"

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

local function port_of(h) return math.tointeger(tonumber(h:match(":(%d+)$"))) end

local function slice(t, i, j)
  local out = {}
  for k = i, j do out[#out + 1] = t[k] end
  return out
end

local function scratch()
  local d = string.format("%s/lua-multi-%d-%d", M.XSSH_MANY_SCRATCH, os.time(), math.random(1 << 30))
  assert(os.execute("mkdir -p '" .. d .. "' && chmod 777 '" .. d .. "'"))
  return d
end

local function kw(t)
  t = t or {}
  t.key, t.known_hosts, t.agent = M.XSSH_MANY_KEY, M.XSSH_MANY_KNOWN_HOSTS, false
  return t
end

local function options()
  local o = xssh.Options()
  o:set("IdentityFile", M.XSSH_MANY_KEY)
  o:set("UserKnownHostsFile", M.XSSH_MANY_KNOWN_HOSTS)
  o:set("IdentityAgent", "none")
  return o
end

local describe_many = M and describe or pending

describe_many("run_many and Multi", function()
  local good = M and list(M.XSSH_MANY_GOOD) or {}

  it("runs 50 hosts with mixed outcomes in one thread, each reported right", function()
    local fail_port, sleep_port = port_of(good[2]), port_of(good[3])
    local hosts = slice(good, 1, 45)
    hosts[46] = { host = good[46], key = M.XSSH_MANY_WRONG_KEY }
    hosts[47] = list(M.XSSH_MANY_UNKNOWN_HOSTKEY)[1]
    hosts[48] = list(M.XSSH_MANY_MISMATCH_HOSTKEY)[1]
    local refused = list(M.XSSH_MANY_REFUSED)
    hosts[49], hosts[50] = refused[1], refused[2]
    local cmd = string.format("case ${SSH_CONNECTION##* } in %d) echo bad >&2; exit 3;; %d) sleep 300;; esac; echo ok",
      fail_port, sleep_port)
    local rs = xssh.run_many(hosts, cmd, kw{ timeout = 3 })
    assert.equal(50, #rs)
    for i = 1, 45 do
      local r = rs[i]
      assert.equal(good[i], r.host)
      if i == 2 then
        assert.same({ false, 3, "bad\n", "none" }, { r.ok, r.exit_status, r.stderr, r.phase })
        assert.is_nil(r.error)
      elseif i == 3 then
        assert.equal("Timeout", r.error.class)
        assert.equal("command", r.phase)
      else
        assert.same({ true, 0, "ok\n" }, { r.ok, r.exit_status, r.stdout })
      end
    end
    assert.equal("AuthenticationError", rs[46].error.class)
    assert.equal("auth", rs[46].phase)
    assert.equal("KnownHostCheckNotFoundError", rs[47].error.class)
    assert.equal("KnownHostCheckMisMatchError", rs[48].error.class)
    assert.same({ "hostkey", "hostkey" }, { rs[47].phase, rs[48].phase })
    for i = 49, 50 do
      assert.equal("ConnectError", rs[i].error.class)
      assert.equal("connect", rs[i].phase)
    end
  end)

  it("runs the hosts at the same time (a barrier only all of them together pass)", function()
    local d, n = scratch(), 20
    local cmd = string.format("touch %s/$$; i=0; while [ $(ls %s | wc -l) -lt %d ]; do i=$((i+1)); "
      .. "[ $i -gt %d ] && exit 9; sleep 0.2; done; echo done", d, d, n, BOUND)
    local rs = xssh.run_many(slice(good, 1, n), cmd, kw{ parallelism = n })
    for i = 1, n do assert.same({ true, "done\n" }, { rs[i].ok, rs[i].stdout }) end
  end)

  it("keeps to parallelism", function()
    local d = scratch()
    local cmd = string.format("touch %s/$$; n=$(ls %s | wc -l); rm %s/$$; echo $n", d, d, d)
    local rs = xssh.run_many(slice(good, 1, 6), cmd, kw{ parallelism = 1 })
    for i = 1, 6 do assert.same({ true, "1\n" }, { rs[i].ok, rs[i].stdout }) end
  end)

  it("streams whole lines to on_output; an error it raises is raised; true cancels", function()
    local got = {}
    local hosts = slice(good, 1, 3)
    local rs = xssh.run_many(hosts, "printf 'one\\ntwo\\n'; echo err >&2; printf last", kw{
      on_output = function(host, stream, data)
        got[host] = got[host] or {}
        table.insert(got[host], stream .. ":" .. data)
      end })
    for i, h in ipairs(hosts) do
      assert.is_true(rs[i].ok)
      assert.equal("", rs[i].stdout)
      local out, err = {}, {}
      for _, x in ipairs(got[h]) do
        if x:sub(1, 7) == "stdout:" then out[#out + 1] = x:sub(8) else err[#err + 1] = x:sub(8) end
      end
      assert.same({ "one\n", "two\n", "last" }, out)
      assert.same({ "err\n" }, err)
    end
    local ok, e = pcall(xssh.run_many, slice(good, 1, 2), "echo x", kw{ on_output = function() error("from on_output") end })
    assert.is_false(ok)
    assert.matches("from on_output", tostring(e))
    -- only the host whose callback raised is cancelled (it would sleep 300 s); the others run
    -- to their end; the first error is raised, a table error with every host's result attached
    local hosts3 = slice(good, 1, 3)
    local slow = string.format("echo x; [ ${SSH_CONNECTION##* } = %d ] && sleep 300; echo y", port_of(good[1]))
    local boom = { msg = "boom" }
    ok, e = pcall(xssh.run_many, hosts3, slow, kw{ on_output = function(h) if h == good[1] then error(boom) end end })
    assert.is_false(ok)
    assert.equal(boom, e)
    assert.equal(3, #e.results)
    assert.equal(boom, e.results[1].error)
    assert.is_false(e.results[1].ok)
    assert.is_true(e.results[2].ok)
    assert.is_true(e.results[3].ok)
    local cmd = string.format("echo x; [ ${SSH_CONNECTION##* } = %d ] && sleep 300; echo y", port_of(good[1]))
    rs = xssh.run_many(slice(good, 1, 2), cmd, kw{ on_output = function(h) return h == good[1] end })
    assert.equal(xssh.ECANCELLED, rs[1].error.code)
    assert.is_true(rs[2].ok)
  end)

  -- sigint_pty.py (a pseudo-terminal, SIGINT once the work runs) with these arguments
  local function sigint_pty(host, where, mode)
    local here = debug.getinfo(1, "S").source:gsub("^@", ""):match("^(.*)/[^/]*$")
    local cmd = string.format("export LUA_PATH='%s' LUA_CPATH='%s'; python3 '%s/sigint_pty.py' '%s' '%s' '%s' '%s' %s 2>&1",
      package.path, package.cpath, here, host, M.XSSH_MANY_KEY, M.XSSH_MANY_KNOWN_HOSTS, where, mode or "")
    local p = assert(io.popen(cmd))
    local out = p:read("a")
    local ok = p:close()
    assert.is_true(ok, out)
    assert.matches("interrupted", out)
  end

  it("stops on Ctrl-C in the standalone lua5.4 (any hook mask lua.c sets)", function()
    sigint_pty(good[1], scratch() .. "/started")
  end)

  it("on Ctrl-C drives the cancels to their end: put_many's remote temporary is removed", function()
    sigint_pty(good[2], scratch(), "put")
  end)

  it("puts and gets byte-exact", function()
    local parts = {}
    for i = 1, 30000 do parts[i] = string.char(i % 256, (i * 7) % 256, 0, 13, 10) end
    local data = table.concat(parts)
    local tmp, d = E.tmpdir(), scratch()
    E.write(tmp .. "/src.bin", data)
    local hosts = slice(good, 1, 4)
    local rs = xssh.put_many(hosts, tmp .. "/src.bin", d .. "/up.bin", kw())
    for i = 1, 4 do assert.same({ true, #data }, { rs[i].ok, rs[i].transferred }) end
    assert.equal(data, E.read(d .. "/up.bin"))
    rs = xssh.get_many(hosts, d .. "/up.bin", tmp .. "/down", kw())
    for i, h in ipairs(hosts) do
      assert.same({ true, #data }, { rs[i].ok, rs[i].transferred })
      assert.equal(data, E.read(tmp .. "/down/" .. h .. "/up.bin"))
    end
    -- an SFTP failure carries the server's status, as the blocking calls' errors do
    rs = xssh.get_many(slice(good, 1, 1), d .. "/missing", tmp .. "/down", kw())
    assert.is_true(rs[1].error:is("SFTPError"))
    assert.equal(2, rs[1].error.sftp_status)
  end)

  it("names the function and the argument of a wrong argument", function()
    local h = slice(good, 1, 1)
    local function msg(...)
      local ok, e = pcall(...)
      assert.is_false(ok)
      return type(e) == "table" and e.message or tostring(e)
    end
    assert.matches("xssh.run_many: hosts must be", msg(xssh.run_many, "h", "true"))
    assert.matches("xssh.run_many: hosts%[1%] must be", msg(xssh.run_many, { 5 }, "true"))
    assert.matches("xssh.run_many: hosts%[1%].host must be", msg(xssh.run_many, { { port = 1 } }, "true"))
    assert.matches("xssh.run_many: hosts%[1%]: unknown option 'bogus'", msg(xssh.run_many, { { host = "h", bogus = 1 } }, "true"))
    assert.matches("hosts%[1%]: unknown option 'prot' %(did you mean 'port'%?%)",
      msg(xssh.run_many, { { host = "h", prot = 1 } }, "true"))
    assert.matches("xssh.run_many: unknown option 'timout' %(did you mean 'timeout'%?%)",
      msg(xssh.run_many, h, "true", { timout = 1 }))
    -- hosts must be a sequence: a hole or a non-integer key is an error, never a silent skip
    assert.matches("xssh.run_many: hosts must be a list without holes: hosts%[2%] is nil",
      msg(xssh.run_many, { good[1], nil, good[2] }, "true", kw()))
    assert.matches("xssh.run_many: hosts must be a list %(keys 1..n%), not a table with key 'a'",
      msg(xssh.run_many, { a = good[1] }, "true", kw()))
    assert.matches("xssh.put_many: hosts must be a list", msg(xssh.put_many, { [2] = good[1] }, "/tmp/x", "/tmp/y"))
    assert.matches("xssh.get_many: hosts must be a list", msg(xssh.get_many, { x = 1 }, "/tmp/x", "/tmp/y"))
    assert.same({}, xssh.run_many({}, "true", kw())) -- an empty list is a list
    assert.matches("xssh.run_many: command must be", msg(xssh.run_many, h, 5))
    assert.matches("xssh.run_many: parallelism", msg(xssh.run_many, h, "true", { parallelism = "4" }))
    assert.matches("xssh.run_many: timeout", msg(xssh.run_many, h, "true", { timeout = "1" }))
    assert.matches("xssh.run_many: on_output", msg(xssh.run_many, h, "true", { on_output = 5 }))
    assert.matches("xssh.run_many: unknown option 'bogus'", msg(xssh.run_many, h, "true", { bogus = 1 }))
    assert.matches("xssh.run_many: port must be", msg(xssh.run_many, h, "true", { port = "x" }))
    assert.matches("xssh.run_many: hosts%[1%]: port must be", msg(xssh.run_many, { { host = "h", port = "x" } }, "true"))
    assert.matches("xssh.put_many: local", msg(xssh.put_many, h, 5, "/tmp/x"))
    assert.matches("xssh.get_many: local_dir", msg(xssh.get_many, h, "/tmp/x", 5))
    local m = xssh.Multi()
    assert.matches("xssh.Multi:set_socket_callback: bad argument #1 'callback' %(function or nil expected",
      msg(m.set_socket_callback, m, 5))
  end)

  it("drives its own loop: wait, info_read, on_done", function()
    local m = xssh.Multi()
    m:set_max_running(4)
    local done, ops = {}, {}
    for i = 1, 5 do
      ops[i] = m:add_host_run(good[i], options(), "echo " .. i, nil, nil, function(op) done[#done + 1] = op:result().stdout end)
    end
    assert.equal(xssh.OP_QUEUED, ops[1]:state())
    assert.is_false(pcall(ops[1].result, ops[1]))
    local running = 5
    for _ = 1, 10000 do
      if running == 0 then break end
      running = m:wait(60000)
    end
    assert.equal(0, running)
    assert.equal(5, #done)
    local seen = 0
    while m:info_read() do seen = seen + 1 end
    assert.equal(5, seen)
    for i = 1, 5 do assert.equal(i .. "\n", ops[i]:result().stdout) end
  end)

  it("calls the socket and timer callbacks (external-loop interest) in protected mode", function()
    local m = xssh.Multi()
    local watch, changes, timers = {}, 0, 0
    m:set_socket_callback(function(fd, what)
      changes = changes + 1
      watch[fd] = what ~= xssh.POLL_NONE and what or nil
    end)
    m:set_timer_callback(function() timers = timers + 1 end)
    local ops = {}
    for i = 1, 3 do ops[i] = m:add_host_run(good[i], options(), "echo ext") end
    assert.equal(0, m:perform_all())
    for i = 1, 3 do assert.equal("ext\n", ops[i]:result().stdout) end
    assert.is_true(changes > 0 and timers > 0)
    assert.same({}, watch) -- every socket it asked for was released
    -- an error in the socket callback is raised by the driving call
    m = xssh.Multi()
    m:set_socket_callback(function() error("from socket callback") end)
    m:add_host_run(good[1], options(), "true")
    local ok, e = pcall(m.perform_all, m)
    assert.is_false(ok)
    assert.matches("from socket callback", tostring(e))
  end)

  it("is GC-safe: callbacks held by C, ops outlive their Multi", function()
    local calls = {}
    local m = xssh.Multi()
    local o = xssh.core.multi_op_options(0, 0, 0, 0, 0, 0, 0, 1, 0, nil) -- line mode
    m:add_host_run(good[1], options(), "echo gc", o, function(_, _, d) calls[#calls + 1] = d end,
      function(op) calls[#calls + 1] = op:result().exit_status end)
    collectgarbage()
    collectgarbage()
    m:perform_all()
    assert.same({ "gc\n", 0 }, calls)
    m = xssh.Multi()
    local ops = {}
    for i = 1, 3 do ops[i] = m:add_host_run(good[i], options(), "sleep 300", nil, nil, function() error("never") end) end
    m:perform()
    m = nil
    collectgarbage()
    collectgarbage()
    for i = 1, 3 do
      assert.equal(xssh.OP_DONE, ops[i]:state())
      assert.is_not_nil(ops[i]:result().error)
    end
  end)
end)
