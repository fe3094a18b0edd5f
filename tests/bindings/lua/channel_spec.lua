-- SPDX-License-Identifier: BSD-3-Clause
-- Channels and Session:run through the Lua module, against the real sshd.
local xssh = require "xssh"
local E = require "xssh_test_env"

-- read a stream to its end (blocking): all bytes
local function read_all(ch, stderr)
  local parts = {}
  while true do
    local n, data
    if stderr then n, data = ch:read_stderr(4096) else n, data = ch:read(4096) end
    assert.equal("integer", math.type(n))
    if n == 0 then break end
    assert.equal(n, #data)
    parts[#parts + 1] = data
  end
  return table.concat(parts)
end

describe("Channel", function()
  it("exec, read stdout and stderr, exit status", function()
    local s <close> = E.session()
    local ch <close> = s:open_session()
    assert.matches("^xssh%.Channel: ", tostring(ch))
    assert.equal(0, ch:execute("echo me; echo oops >&2; exit 2"))
    assert.equal("me\n", read_all(ch))
    assert.equal("oops\n", read_all(ch, true))
    assert.equal(0, ch:wait_eof())
    assert.is_true(ch:eof())
    assert.equal(0, ch:close())
    assert.is_true(ch:is_closed())
    assert.equal(2, ch:get_exit_status())
    local status, have = ch:exit_status_ex()
    assert.equal(2, status)
    assert.equal(1, have)
    local name, msg, lang = ch:get_exit_signal()
    assert.equal("", name)
    assert.equal("string", type(msg))
    assert.equal("string", type(lang))
  end)

  it("read() defaults to 1024 bytes and returns count, bytes", function()
    local s <close> = E.session()
    local ch <close> = s:open_session()
    ch:execute("head -c 5000 /dev/zero")
    local n, data = ch:read()
    assert.truthy(n > 0 and n <= 1024)
    assert.equal(string.rep("\0", n), data)
  end)

  it("writes binary stdin and reads it back", function()
    local s <close> = E.session()
    local ch <close> = s:open_session()
    ch:execute("cat")
    local payload = "hello\0world\255\1" .. string.rep("x", 100000)
    local count, written = ch:write(payload)
    assert.equal(#payload, count)
    assert.equal(#payload, written)
    ch:send_eof()
    assert.equal(payload, read_all(ch))
    ch:wait_eof()
    ch:close()
    assert.equal(0, ch:get_exit_status())
  end)

  it("reports the exit signal", function()
    local s <close> = E.session()
    local ch <close> = s:open_session()
    ch:execute("kill -TERM $$")
    read_all(ch)
    ch:wait_eof()
    ch:close()
    assert.equal("TERM", (ch:get_exit_signal()))
    local _, have = ch:exit_status_ex()
    assert.equal(0, have)
  end)

  it("merged stderr with read_ex, flush_stderr", function()
    local s <close> = E.session()
    local ch = s:open_session()
    assert.equal(0, ch:handle_extended_data2(xssh.LIBSSH2_CHANNEL_EXTENDED_DATA_MERGE))
    ch:execute("echo a; echo b >&2; sleep 0.1; echo c")
    local data = {}
    while true do
      local n, chunk = ch:read_ex(10, xssh.STREAM_STDOUT)
      if n == 0 then break end
      assert.truthy(n <= 10)
      data[#data + 1] = chunk
    end
    assert.equal("a\nb\nc\n", table.concat(data))
    ch:close()
    ch = s:open_session()
    ch:execute("echo keep; echo drop >&2")
    ch:wait_eof()
    assert.equal(5, ch:flush_stderr())
    assert.equal("keep\n", read_all(ch))
    assert.equal("", read_all(ch, true))
    ch:close()
  end)

  it("pty, shell and resize", function()
    local s <close> = E.session()
    local ch <close> = s:open_session()
    ch:pty("xterm")
    ch:shell()
    ch:write("echo hi-$((6*7)); stty size\n")
    local buf = ""
    while not (buf:find("24 80", 1, true) and buf:find("hi-42", 1, true)) do
      local n, chunk = ch:read()
      assert.truthy(n > 0, buf)
      buf = buf .. chunk
    end
    ch:pty_size(120, 50)
    ch:write("stty size; exit 9\n")
    assert.truthy(read_all(ch):find("50 120", 1, true))
    ch:close()
    assert.equal(9, ch:get_exit_status())
  end)

  it("setenv, process_startup, subsystem; a refused setenv is an error object", function()
    local s <close> = E.session()
    local ch = s:open_session()
    ch:setenv("XSSH_PY_VAR", "v a l")
    ch:process_startup("exec", 'printf %s "$XSSH_PY_VAR"')
    assert.equal("v a l", read_all(ch))
    ch:close()
    ch = s:open_session()
    local err = E.fails(ch.setenv, ch, "NOT_ACCEPTED", "x")
    assert.is_true(err:is("SSH2Error"))
    ch = s:open_session()
    ch:subsystem("sftp")
    ch:write("\0\0\0\5\1\0\0\0\3") -- SSH_FXP_INIT v3
    local n, reply = ch:read(9)
    assert.equal(9, n)
    assert.equal(2, reply:byte(5)) -- SSH_FXP_VERSION
    assert.equal(3, reply:byte(9))
    ch:close()
  end)

  it("windows and signals", function()
    local s <close> = E.session()
    local ch = s:open_session()
    ch:execute("sleep 0.1")
    local window, avail, initial = ch:window_read_ex()
    assert.truthy(initial > 0)
    assert.equal(0, avail)
    assert.equal(window, ch:window_read())
    assert.truthy(ch:window_write() > 0)
    assert.truthy(ch:receive_window_adjust(65536, 1) >= window)
    local ok, err = pcall(ch.signal, ch, "INT")
    if not ok then -- libssh2 >= 1.11 only
      assert.equal("XSSH_ENOTSUPPORTED", err.name)
    end
    ch:close()
    assert.is_true(ch:is_closed())
  end)

  it("non-blocking: EAGAIN comes back as a value", function()
    local s <close> = E.session()
    s:set_blocking(0)
    local ch, saw = nil, 0
    for _ = 1, 1000000 do
      ch = s:open_session()
      if ch ~= xssh.EAGAIN then break end
      saw = saw + 1
    end
    assert.equal("userdata", type(ch))
    local rc
    repeat rc = ch:execute("sleep 0.2; echo late") until rc ~= xssh.EAGAIN
    assert.equal(0, rc)
    local got, eagain = {}, 0
    for _ = 1, 10000000 do
      local n, data = ch:read(1024)
      if n == xssh.EAGAIN then
        eagain = eagain + 1
        assert.truthy(data == nil or data == "")
      elseif n == 0 then
        break
      else
        got[#got + 1] = data
      end
    end
    assert.truthy(eagain > 0, "the read never returned EAGAIN")
    assert.equal("late\n", table.concat(got))
    s:set_blocking(1)
    ch:close()
    assert.equal(0, ch:get_exit_status())
  end)

  it("non-blocking binary round trip through cat: write resumes from written", function()
    local s <close> = E.session()
    local ch <close> = s:open_session()
    ch:execute("cat")
    local chunk = {}
    for i = 0, 255 do chunk[#chunk + 1] = string.char(i) end
    local data = string.rep(table.concat(chunk), 4096) -- 1 MiB, every byte value
    s:set_blocking(0)
    local pos, got, eof_sent = 1, {}, false
    local received = 0
    for _ = 1, 50000000 do
      if pos <= #data then
        local rc, written = ch:write(data:sub(pos, pos + 65535))
        assert.equal("integer", math.type(written))
        assert.truthy(rc == xssh.EAGAIN or rc == written)
        pos = pos + written
      elseif not eof_sent then
        eof_sent = ch:send_eof() ~= xssh.EAGAIN
      end
      local n, piece = ch:read(65536)
      if n > 0 then
        got[#got + 1] = piece
        received = received + n
      elseif n == 0 and eof_sent then
        break
      end
    end
    s:set_blocking(1)
    assert.equal(#data, received)
    assert.is_true(table.concat(got) == data)
  end)

  it("channel ops after close or on a closed session raise error objects", function()
    local s = E.session()
    local ch = s:open_session()
    ch:execute("cat")
    s:close()
    local err = E.fails(ch.write, ch, "data")
    assert.is_true(xssh.is_error(err), tostring(err))
    err = E.fails(s.open_session, s)
    assert.equal("ClosedError", err.class)
    assert.equal("string", type(E.fails(ch.read, ch, "x")))
  end)

  it("<close> closes the channel at scope end", function()
    local s <close> = E.session()
    local outer
    do
      local ch <close> = s:open_session()
      outer = ch
      ch:execute("echo hi")
    end
    assert.is_true(outer:is_closed())
    -- the session is still usable
    assert.equal("x\n", s:run("echo x").stdout)
  end)

  it("a channel outlives its session's Lua object in any collection order", function()
    for order = 1, 3 do
      local s = E.session()
      local ch1 = s:open_session()
      ch1:execute("echo one")
      local ch2 = s:open_session()
      ch2:execute("cat")
      if order == 1 then
        s = nil
        collectgarbage("collect")
        assert.equal("one\n", read_all(ch1))
        ch2:write("two")
        ch2:send_eof()
        assert.equal("two", read_all(ch2))
        ch1, ch2 = nil, nil
      elseif order == 2 then
        ch1 = nil
        collectgarbage("collect")
        s = nil
        collectgarbage("collect")
        ch2 = nil
      else
        ch2, s, ch1 = nil, nil, nil
      end
      collectgarbage("collect")
      collectgarbage("collect")
    end
  end)
end)

describe("Session:run", function()
  it("collects stdout, stderr and the exit status", function()
    local s <close> = E.session()
    local r = s:run("echo me; echo err >&2; exit 2")
    assert.equal("me\n", r.stdout)
    assert.equal("err\n", r.stderr)
    assert.equal(2, r.exit_status)
    assert.is_nil(r.exit_signal)
    assert.is_false(r.ok)
    assert.matches("exit_status=2", tostring(r))
    assert.is_true(s:run("true").ok)
  end)

  it("feeds stdin (binary) and merges stderr on request", function()
    local s <close> = E.session()
    local data = "a\0b\255" .. string.rep("z", 70000)
    assert.equal(data, s:run("cat", { stdin = data }).stdout)
    local r = s:run("echo out; echo err >&2", { merge_stderr = true })
    assert.equal("", r.stderr)
    assert.truthy(r.stdout:find("out", 1, true) and r.stdout:find("err", 1, true))
  end)

  it("runs on a pty", function()
    local s <close> = E.session()
    local r = s:run("tty", { pty = true })
    assert.matches("^/dev/pts/", r.stdout)
    assert.equal(0, r.exit_status)
  end)

  it("megabytes on both streams never deadlock", function()
    local s <close> = E.session()
    local r = s:run("head -c 2000000 /dev/zero; head -c 2000000 /dev/zero >&2")
    assert.equal(2000000, #r.stdout)
    assert.equal(2000000, #r.stderr)
  end)

  it("a signal gives exit_signal and no exit_status", function()
    local s <close> = E.session()
    local r = s:run("kill -KILL $$")
    assert.equal("KILL", r.exit_signal)
    assert.is_nil(r.exit_status)
    assert.is_false(r.ok)
  end)

  it("timeouts raise Timeout and leave the session usable", function()
    local s <close> = E.session()
    local t0 = os.time()
    local err = E.fails(s.run, s, "sleep 30", { timeout = 1 })
    assert.equal("Timeout", err.class)
    assert.truthy(os.time() - t0 < 7, "timeout=1 took " .. (os.time() - t0) .. " s")
    t0 = os.time()
    err = E.fails(s.run, s, "echo a; sleep 30", { idle_timeout = 0.8 })
    assert.equal("Timeout", err.class)
    assert.truthy(err.message:find("idle", 1, true), err.message)
    assert.truthy(os.time() - t0 < 7, "idle_timeout=0.8 took " .. (os.time() - t0) .. " s")
    assert.equal("ok\n", s:run("echo ok").stdout)
    assert.equal("InvalidArgumentError", E.fails(s.run, s, "true", { timeout = -1 }).class)
    assert.equal("InvalidArgumentError", E.fails(s.run, s, "true", { stdin = 42 }).class)
  end)
end)
