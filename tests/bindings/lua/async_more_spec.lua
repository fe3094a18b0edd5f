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

  it("a shared handle wakes each waiter with its own readiness (a socketpair, the bare protocol)", function()
    local pair = uv.socketpair(nil, nil, { nonblock = true }, { nonblock = true })
    local a, b = pair[1], pair[2]
    -- the shared watch of a (xssh.luv's record; the sockets are in its epoll set, and libuv
    -- watches only that set's fd: no uv poll handle on a itself, ever)
    local handles = function()
      local direct = 0
      uv.walk(function(h) if h:get_type() == "poll" and h:is_active() and h:fileno() == a then direct = direct + 1 end end)
      assert.equal(0, direct)
      return xluv._polls[a] and 1 or 0
    end
    local order = {}
    local reader
    -- (the writer starts waiting first: a task starting to wait after another one's step
    -- would give the reader one extra look at its socket, see xssh/luv.lua)
    local writer = xluv.spawn(function()
      local ev = coroutine.yield(xasync.WAIT, a, xssh.POLL_OUT, -1)
      order[#order + 1] = { "writer", ev, handles(), reader.done }
      -- the reader still waits on the same handle: make a readable
      local w = uv.new_pipe()
      w:open(b)
      xluv.await(function(cb) w:write("x", cb) end)
      w:close()
    end)
    reader = xluv.spawn(function()
      local ev = coroutine.yield(xasync.WAIT, a, xssh.POLL_IN, -1)
      order[#order + 1] = { "reader", ev }
    end)
    local both = handles()
    run_loop({ reader, writer })
    assert.equal(1, both) -- two waiters on a: one poll handle
    -- the writer first, with POLL_OUT only, while the reader (POLL_IN) kept waiting
    assert.same({ { "writer", xssh.POLL_OUT, 1, false }, { "reader", xssh.POLL_IN } }, order)
    assert.equal(0, handles())
    uv.fs_close(a)
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

-- names in a local directory -> size
local function dir_sizes(path)
  local t = {}
  local req = assert(uv.fs_scandir(path))
  while true do
    local name = uv.fs_scandir_next(req)
    if not name then break end
    local st = uv.fs_stat(path .. "/" .. name)
    t[name] = st and st.size or -1
  end
  return t
end

-- inside a task: wait until a file in dir has data (a luv fs_event, i.e. inotify, on dir)
local function first_write(dir)
  local ev = uv.new_fs_event()
  local function written()
    for _, size in pairs(dir_sizes(dir)) do if size > 0 then return true end end
    return false
  end
  xluv.await(function(cb)
    ev:start(dir, {}, function(err)
      if err or written() then cb() end
    end)
  end)
  ev:stop()
  ev:close()
end

local BIG = 128 << 20 -- a sparse file: thousands of SFTP writes, cancelled after the first

describe("xssh.luv: cancellation mid-transfer", function()
  for _, direction in ipairs({ "get", "put" }) do
    it(direction .. " cancelled after its first write: nothing half-written, session and SFTP usable", function()
      local d = E.tmpdir()
      local src_dir, dst_dir = d .. "/src", d .. "/dst"
      assert(os.execute(string.format("mkdir -p '%s' '%s' && truncate -s %d '%s/big'", src_dir, dst_dir, BIG, src_dir)))
      local small = {}
      for i = 1, 100000 // 10 do small[i] = string.format("%09d\n", i * 7919) end
      small = table.concat(small)
      E.write(src_dir .. "/small", small)
      local transfer, left
      local main = xluv.spawn(function()
        local s <close> = xluv.connect(kw())
        local sf = xluv.sftp(s)
        local names = {}
        for _, e in ipairs(xluv.listdir(sf, src_dir)) do names[#names + 1] = e.name end
        table.sort(names)
        assert.same({ "big", "small" }, names)
        transfer = xluv.spawn(function() return xluv[direction](sf, src_dir .. "/big", dst_dir .. "/big") end)
        first_write(dst_dir)
        assert(not transfer.done, "the transfer ended before it could be cancelled")
        assert(transfer:cancel())
        left = dir_sizes(dst_dir) -- atomic: no "big"; the temporary file removed
        -- usable: a command, and SFTP (transfer and listing) on the same SFTP object
        assert.equal("usable\n", xluv.run(s, "echo usable").stdout)
        assert.equal(#small, xluv[direction](sf, src_dir .. "/small", dst_dir .. "/small"))
        local listed = {}
        for _, e in ipairs(xluv.listdir(sf, dst_dir)) do listed[#listed + 1] = e.name end
        return listed
      end)
      run_loop({ main })
      assert.is_true(transfer.cancelled)
      assert.same({}, left)
      assert.is_true(E.read(dst_dir .. "/small") == small)
      assert.same({ "small" }, main.result)
    end)
  end
end)

describe("xssh.luv: SFTP start-up and listing", function()
  it("starts SFTP without blocking and lists a directory; a missing one is an SFTPError", function()
    local d = E.tmpdir()
    E.write(d .. "/a", "12345")
    E.write(d .. "/b", "")
    assert(os.execute("mkdir '" .. d .. "/sub'"))
    local main = xluv.spawn(function()
      local s <close> = xluv.connect(kw())
      local sf = xluv.sftp(s)
      local entries = xluv.listdir(sf, d)
      local ok, err = pcall(xluv.listdir, sf, d .. "/missing")
      assert(not ok)
      return entries, err
    end)
    run_loop({ main })
    local entries, err = main.results[1], main.results[2]
    local by = {}
    for _, e in ipairs(entries) do
      assert.equal("string", type(e.longentry))
      by[e.name] = e
    end
    assert.equal(3, #entries) -- "." and ".." left out
    assert.equal(5, by.a.attrs.filesize)
    assert.equal(0, by.b.attrs.filesize)
    assert.equal(xssh.LIBSSH2_SFTP_S_IFDIR, by.sub.attrs.permissions & xssh.LIBSSH2_SFTP_S_IFMT)
    assert.is_true(xssh.is_error(err), tostring(err))
    assert.is_true(err:is("SFTPError"), tostring(err.class))
    assert.equal(2, err.sftp_status) -- SSH_FX_NO_SUCH_FILE
  end)

  it("blocks outside a coroutine (same calls, same results)", function()
    local d = E.tmpdir()
    E.write(d .. "/only", "x")
    local s <close> = E.session()
    local sf = xasync.sftp(s)
    local entries = xasync.listdir(sf, d)
    assert.equal(1, #entries)
    assert.equal("only", entries[1].name)
    local p = xasync.stream(s, "echo a; echo b >&2; printf c", { line_mode = true })
    local got = {}
    for stream, line in p:iter() do got[#got + 1] = stream .. ":" .. line end
    table.sort(got)
    assert.same({ "stderr:b\n", "stdout:a\n", "stdout:c" }, got)
    assert.equal(0, p.exit_status)
  end)
end)

describe("xssh.luv: streamed output", function()
  it("gives output as it arrives: the command waits for a file the test makes after the first line", function()
    local d = E.tmpdir()
    local got = {}
    local main = xluv.spawn(function()
      local s <close> = xluv.connect(kw())
      local p = xluv.stream(s, "echo first; echo oops >&2; " .. wait_cmd(d .. "/go") .. "; echo second")
      for stream, data in p:iter() do
        got[#got + 1] = stream .. ":" .. data
        -- the command goes on only once the test has seen its first line
        if stream == "stdout" and data:find("first", 1, true) and not exists(d .. "/go") then touch(d .. "/go") end
      end
      return p:wait()
    end)
    run_loop({ main })
    local all = table.concat(got, "|")
    assert.equal(0, main.result.exit_status, all) -- 7: the first line only came at the end
    local out = {}
    for _, g in ipairs(got) do if g:sub(1, 7) == "stdout:" then out[#out + 1] = g:sub(8) end end
    assert.equal("first\nsecond\n", table.concat(out))
    assert.is_truthy(all:find("stderr:oops\n", 1, true))
    assert.equal(getmetatable(main.result), xssh.RunResult)
  end)

  it("line_mode: whole lines, the last unterminated one at the end", function()
    local d = E.tmpdir()
    local lines = {}
    local main = xluv.spawn(function()
      local s <close> = xluv.connect(kw())
      -- "tw" is held back until "o\n" completes it (after the test has seen "one")
      local p = xluv.stream(s, "printf 'one\\ntw'; " .. wait_cmd(d .. "/go") .. "; printf 'o\\nthree'", { line_mode = true })
      for stream, line in p:iter() do
        lines[#lines + 1] = line
        if line == "one\n" then touch(d .. "/go") end
      end
      return p.exit_status
    end)
    run_loop({ main })
    assert.same({ "one\n", "two\n", "three" }, lines)
    assert.equal(0, main.result)
  end)

  it("max_output: a stream never holds more untaken, and nothing is lost", function()
    local parts, most = {}, 0
    local main = xluv.spawn(function()
      local s <close> = xluv.connect(kw())
      local p = xluv.stream(s, "seq 1 100000", { max_output = 4096 })
      for _, data in p:iter() do
        parts[#parts + 1] = data
        if #data > most then most = #data end
      end
      return p.exit_status
    end)
    run_loop({ main })
    assert.equal(0, main.result)
    local want = {}
    for i = 1, 100000 do want[i] = i .. "\n" end
    assert.is_true(table.concat(parts) == table.concat(want))
    assert.is_true(most <= 4096, tostring(most)) -- each take: what the op held, at most max_output
  end)

  it("leaving the iteration early cancels the command; the session runs the next one", function()
    local d = E.tmpdir()
    local main = xluv.spawn(function()
      local s <close> = xluv.connect(kw())
      local p = xluv.stream(s, "echo first; " .. wait_cmd(d .. "/never") .. "; echo never")
      local seen
      for _, data in p:iter() do
        seen = data
        break -- the for's to-be-closed value cancels the command
      end
      assert.equal("first\n", seen)
      assert.is_true(p.cancelled)
      -- a task cancelled while it waits inside the iteration: the same
      local p2 = xluv.stream(s, "echo first; " .. wait_cmd(d .. "/never"))
      local seen2
      local reader = xluv.spawn(function()
        for _, data in p2:iter() do seen2 = data end
      end)
      while not seen2 do xluv.sleep(0.01) end -- it has the first line and waits for more
      assert(reader:cancel())
      assert.is_true(p2.cancelled)
      return xluv.run(s, "echo again")
    end)
    run_loop({ main })
    assert.same({ 0, "again\n" }, { main.result.exit_status, main.result.stdout })
  end)
end)

describe("xssh.luv: local forwarding", function()
  it("two connections through one forward at once and a run on the same session; EOF both ways; close refuses", function()
    local srv, echo_port, echo_conns = echo_server()
    local fw
    local payload = { string.rep("a", 200000), string.rep("b", 150000) }
    local got, stats, refused = {}, nil, nil
    -- count the waits in the several-socket form (the forward's listener, connections, session)
    local yield, several = coroutine.yield, 0
    coroutine.yield = function(...)
      if select("#", ...) >= 5 and type(select(5, ...)) == "table" then several = several + 1 end
      return yield(...)
    end
    local main = xluv.spawn(function()
      local s <close> = xluv.connect(kw())
      fw = xluv.forward_local(s, "127.0.0.1", echo_port)
      assert.equal("integer", math.type(fw.port))
      local half = {}
      local clients = {}
      for i = 1, 2 do
        clients[i] = xluv.spawn(function()
          local c = assert(tcp_connect(fw.port))
          local p = payload[i]
          tcp_write(c, p:sub(1, 1000))
          local first = tcp_read_n(c, 1000)
          half[i] = true
          -- both connections are open and relayed before either goes on
          while not (half[1] and half[2]) do xluv.sleep(0.01) end
          tcp_write(c, p:sub(1001))
          tcp_shutdown(c) -- EOF towards the destination ...
          local rest = {}
          while true do
            local data = tcp_read(c)
            if not data then break end -- ... and its EOF back
            rest[#rest + 1] = data
          end
          c:close()
          return first .. table.concat(rest)
        end)
      end
      -- a command on the same session while both connections are open
      while not (half[1] and half[2]) do xluv.sleep(0.01) end
      local r = xluv.run(s, "echo beside")
      for i = 1, 2 do got[i] = clients[i]:wait() end
      stats = table.pack(fw:stats())
      fw:close()
      local c, err = tcp_connect(fw.port)
      if c then c:close() end
      refused = err
      srv:close() -- (the loop ends when nothing is left)
      return r
    end)
    local ok, err = pcall(run_loop, { main })
    coroutine.yield = yield
    assert(ok, err)
    assert.is_true(several > 0)
    assert.same({ 0, "beside\n" }, { main.result.exit_status, main.result.stdout })
    assert.is_true(got[1] == payload[1])
    assert.is_true(got[2] == payload[2])
    assert.equal(2, echo_conns())
    -- accepted, active, failed, bytes_out, bytes_in
    assert.equal(2, stats[1])
    assert.equal(0, stats[3])
    assert.equal(#payload[1] + #payload[2], stats[4])
    assert.equal(#payload[1] + #payload[2], stats[5])
    assert.equal("ECONNREFUSED", refused)
    assert.is_true(fw.task.done)
    assert.is_true(fw.task.ok, tostring(fw.task.error))
  end)
end)

describe("xssh.luv: a forward whose destination refuses", function()
  it("counts each connection as failed and closes it; the forward and the session go on", function()
    local probe = uv.new_tcp()
    assert(probe:bind("127.0.0.1", 0))
    local dead_port = probe:getsockname().port
    probe:close() -- nothing listens there now
    local stats, fw
    local main = xluv.spawn(function()
      local s <close> = xluv.connect(kw())
      fw = xluv.forward_local(s, "127.0.0.1", dead_port)
      for _ = 1, 2 do
        local c = assert(tcp_connect(fw.port)) -- accepted locally ...
        local err, data = xluv.await(function(cb)
          c:read_start(function(e, d) c:read_stop(); cb(e, d) end)
        end)
        assert(data == nil, "data from a refused destination") -- ... then closed (EOF or reset)
        c:close()
      end
      local r = xluv.run(s, "echo still")
      stats = table.pack(fw:stats())
      fw:close()
      return r
    end)
    run_loop({ main })
    assert.equal("still\n", main.result.stdout)
    assert.same({ 2, 0, 2, 0, 0 }, { stats[1], stats[2], stats[3], stats[4], stats[5] })
    assert.is_true(fw.task.ok, tostring(fw.task.error))
  end)
end)

describe("xssh.luv: a blocking call on a session while a call of another task is suspended on it", function()
  it("is a clear error (BadUse), not a hang; the suspended call and the session go on", function()
    -- In a child lua5.4 under timeout(1): a hang fails this test instead of stopping the suite.
    -- The session goes through a proxy on the child's loop that can hold the server's bytes:
    -- while it does, the runner's channel open cannot complete, so the runner is suspended
    -- mid-request (the session's channel-open state taken) whatever the machine's speed.
    local d = E.tmpdir()
    E.write(d .. "/child.lua", string.format([[
      local uv, xluv = require "luv", require "xssh.luv"
      local host, port, user, key, d = %q, %d, %q, %q, %q
      -- the proxy: client <-> sshd; hold = true keeps the server's bytes until release()
      local hold, held, to_client, upstream = false, {}, nil, nil
      local srv = uv.new_tcp()
      assert(srv:bind("127.0.0.1", 0))
      assert(srv:listen(4, function()
        local c, up = uv.new_tcp(), uv.new_tcp()
        srv:accept(c)
        to_client, upstream = c, up
        up:connect(host, port, function(err)
          assert(not err, err)
          c:read_start(function(_, data) if data then up:write(data) else up:shutdown() end end)
          up:read_start(function(_, data)
            if not data then c:shutdown() return end
            if hold then held[#held + 1] = data else c:write(data) end
          end)
        end)
      end))
      local pport = srv:getsockname().port
      local function release()
        hold = false
        if #held > 0 then to_client:write(table.concat(held)) end
        held = {}
      end
      local function body()
        -- (the proxy's port is not in the known_hosts: a scratch one, the key accepted as new)
        local s <close> = xluv.connect{ host = "127.0.0.1", port = pport, user = user, key = key,
          known_hosts = d .. "/known_hosts", agent = false, options = { StrictHostKeyChecking = "accept-new" } }
        local calls = { sftp_init = function() return s:sftp_init() end, run = function() return s:run("echo blocking") end }
        for _, call in ipairs({ "sftp_init", "run" }) do
          hold = true
          -- the runner runs until its first wait: its channel open, whose answer is held
          local runner = xluv.spawn(xluv.run, s, "echo async")
          local ok, err = pcall(calls[call])
          print(call, ok, ok or err.class, ok or (#tostring(err.message) > 0))
          release()
          print("runner", runner:wait().stdout:sub(1, -2))
        end
        -- the session goes on (through the loop: a blocking call would wait for the proxy)
        print("after", xluv.run(s, "echo again").stdout:sub(1, -2), #xluv.listdir(xluv.sftp(s), d))
      end
      local main = xluv.spawn(function()
        local ok, err = pcall(body)
        srv:close() -- (the loop ends when nothing is left)
        for _, h in ipairs({ to_client, upstream }) do if not h:is_closing() then h:close() end end
        assert(ok, err)
      end)
      uv.run()
      assert(main.ok, tostring(main.error))
    ]], E.host, E.port, E.user, E.key, d))
    local p = assert(io.popen(string.format("LUA_PATH='%s' LUA_CPATH='%s' timeout 60 lua5.4 '%s/child.lua' 2>&1",
      package.path, package.cpath, d)))
    local out = p:read("a")
    local ok, _, status = p:close()
    assert(ok, "child failed (124: it hung): " .. tostring(status) .. "\n" .. out)
    assert.equal(table.concat({ "sftp_init\tfalse\tBadUseError\ttrue", "runner\tasync",
      "run\tfalse\tBadUseError\ttrue", "runner\tasync", "after\tagain\t2", "" }, "\n"), out)
  end)
end)

describe("xssh.luv: two calls on one session, input for one read by the other", function()
  it("the call whose input another call's op read into libssh2's queue still gets it (no wait for a keepalive)", function()
    -- B streams a command; while B's task is busy elsewhere (not waiting on the socket), A's op
    -- reads the socket and with it B's last output (queued in libssh2 for B's channel). Without
    -- the extra wake B would wait for bytes that already came: here, with a session timeout of
    -- an hour (which bounds the dead-peer probe of quiet waits) and no keepalive, forever; the
    -- child runs under timeout(1), so that would fail the test instead of stopping the suite.
    local d = E.tmpdir()
    E.write(d .. "/child.lua", string.format([[
      local uv, xluv = require "luv", require "xssh.luv"
      local d = %q
      local function exists(p) local f = io.open(p); if f then f:close() end; return f ~= nil end
      local function wait_cmd(p)
        return string.format("n=0; while [ ! -e %%s ]; do n=$((n+1)); [ $n -gt 300 ] && exit 7; sleep 0.2; done", p)
      end
      local main = xluv.spawn(function()
        local s <close> = xluv.connect{ host = %q, port = %d, user = %q, key = %q, known_hosts = %q,
          agent = false, timeout = 3600, options = { ServerAliveInterval = 0 } }
        local a = xluv.spawn(xluv.run, s, wait_cmd(d .. "/go_a") .. "; echo a")
        local p = xluv.stream(s, "echo x; " .. wait_cmd(d .. "/go_b") .. "; echo y; touch " .. d .. "/y_written")
        for _, data in p:iter() do
          io.write(data)
          if data == "x\n" then
            io.open(d .. "/go_b", "w"):close()
            -- B's command has written y (and ends) before A's command goes on and A's op reads
            while not exists(d .. "/y_written") do xluv.sleep(0.02) end
            io.open(d .. "/go_a", "w"):close()
            io.write(a:wait().stdout) -- B's task waits here, not on the socket
          end
        end
        print(p.exit_status)
      end)
      uv.run()
      assert(main.ok, tostring(main.error))
    ]], d, E.host, E.port, E.user, E.key, E.known_hosts))
    local p = assert(io.popen(string.format("LUA_PATH='%s' LUA_CPATH='%s' timeout 60 lua5.4 '%s/child.lua' 2>&1",
      package.path, package.cpath, d)))
    local out = p:read("a")
    local ok, _, status = p:close()
    assert(ok, "child failed (124: it hung): " .. tostring(status) .. "\n" .. out)
    assert.equal("x\na\ny\n0\n", out)
  end)
end)

describe("docs/async-lua-ruby.md", function()
  it("runs the streaming, listing and forwarding example", function()
    local here = debug.getinfo(1, "S").source:gsub("^@", ""):match("^(.*)/[^/]*$")
    local f = assert(io.open(here .. "/../../../docs/async-lua-ruby.md"))
    local doc = f:read("a")
    f:close()
    local code = assert(doc:match("```lua\n(%-%- streaming, listing, forwarding\n.-)```"))
    local d = E.tmpdir()
    E.write(d .. "/one", "1")
    E.write(d .. "/three", "333")
    local path = d .. "/example2.lua"
    E.write(path, code)
    local cmd = string.format("export LUA_PATH='%s' LUA_CPATH='%s'; lua5.4 '%s' '%s' '%s' '%s@%s:%d' '%s' 2>&1",
      package.path, package.cpath, path, E.key, E.known_hosts, E.user, E.host, E.port, d)
    local p = assert(io.popen(cmd))
    local out = p:read("a")
    local ok, _, status = p:close()
    assert.is_true(ok, out .. tostring(status))
    local want = table.concat({
      "stdout line 1", "stdout line 2", "stdout line 3", "exit\t0",
      "listing\texample2.lua=" .. #code .. " one=1 three=3",
      "through the forward\tping\tand\tbeside", "connections\t1", "" }, "\n")
    -- stderr's line may come anywhere among stdout's
    local err_line = "stderr oops\n"
    local at = out:find(err_line, 1, true)
    assert.is_truthy(at, out)
    assert.equal(want, out:sub(1, at - 1) .. out:sub(at + #err_line))
  end)
end)
