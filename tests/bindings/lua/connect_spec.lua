-- SPDX-License-Identifier: BSD-3-Clause
-- xssh.connect like `ssh` (issue 13). Lua cannot change its own environment,
-- so each case runs in a fresh lua5.4 whose HOME is a scratch directory (its
-- ~/.ssh holds only what the case writes) and whose SSH_AUTH_SOCK is empty
-- unless the case starts its own ssh-agent; the real sshd of the harness.
local xssh = require "xssh"
local E = require "xssh_test_env"

-- a scratch HOME with ~/.ssh/config = config
local function home_with(config)
  local home = E.tmpdir()
  assert(os.execute("mkdir -m 700 '" .. home .. "/.ssh'"))
  E.write(home .. "/.ssh/config", config)
  return home
end

-- "Host <name>" block for the test sshd, extra lines appended
local function host_block(name, extra, user)
  local t = { "Host " .. name, "  HostName " .. E.host, "  Port " .. E.port, "  User " .. (user or E.user),
              "  UserKnownHostsFile " .. E.known_hosts }
  for _, l in ipairs(extra or {}) do t[#t + 1] = "  " .. l end
  return table.concat(t, "\n") .. "\n"
end

-- run code in a child lua5.4 with HOME=home (and env, e.g. "SSH_AUTH_SOCK=x");
-- xssh and E (the secrets it needs, as literals: the child must not load
-- xssh_test_env, which empties the scratch space) are there; the output is
-- returned, a failure raises with it
local function run(home, code, env)
  local pre = string.format('local xssh = require "xssh"; local E = { passphrase = %q, password = %q }\n',
                            E.passphrase, E.password)
  local ok, out = E.run_lua(pre .. code, string.format("HOME='%s' SSH_AUTH_SOCK='' %s ", home, env or ""))
  assert(ok, out)
  return out
end

describe("xssh.connect like ssh", function()
  it("connects by a Host alias with only ~/.ssh/config", function()
    local home = home_with(host_block("myhost", { "IdentityFile " .. E.key }))
    local out = run(home, [[
      local r = xssh.resolve("myhost")
      print(r.port, r.user, r.hostname)
      local s <close> = xssh.connect("myhost")
      io.write(s:run("echo alias").stdout)
      -- explicit options win over the file; config = "none" reads no file
      assert(not pcall(xssh.connect, { host = "myhost", port = 1, timeout = 5 }))
      assert(not pcall(xssh.connect, { host = "myhost", config = "none", timeout = 5 }))
    ]])
    assert.equal(string.format("%d\t%s\t%s\nalias\n", E.port, E.user, E.host), out)
  end)

  it("connects with no arguments through an ssh-agent", function()
    local home = home_with(host_block("agenthost"))
    local sock = E.tmpdir() .. "/agent.sock"
    local p = assert(io.popen(string.format("ssh-agent -a '%s' -s", sock)))
    local pid = assert(p:read("a"):match("SSH_AGENT_PID=(%d+)"))
    p:close()
    local ok, out = pcall(function()
      assert(os.execute(string.format("SSH_AUTH_SOCK='%s' ssh-add '%s' 2>/dev/null", sock, E.key)))
      return run(home, [[
        local s <close> = xssh.connect("agenthost")
        print(s:userauth_authenticated())
        local ok, err = pcall(xssh.connect, { host = "agenthost", agent = false })
        print(ok, err:is("AuthenticationError"), err.message:find("no agent key", 1, true) ~= nil)
      ]], "SSH_AUTH_SOCK='" .. sock .. "'")
    end)
    os.execute("kill " .. pid)
    assert(ok, out)
    assert.equal("true\nfalse\ttrue\ttrue\n", out)
  end)

  it("connects with only a default key file", function()
    local home = home_with(host_block("defkey"))
    assert(os.execute(string.format("cp '%s' '%s/.ssh/id_ed25519' && chmod 600 '%s/.ssh/id_ed25519'", E.key, home, home)))
    assert.equal("def\n", run(home, [[
      local s <close> = xssh.connect("defkey")
      io.write(s:run("echo def").stdout)
    ]]))
  end)

  it("follows ProxyJump from the config", function()
    local home = home_with(host_block("jumphost") .. host_block("behind", { "ProxyJump jumphost" })
                           .. "Host *\n  IdentityFile " .. E.key .. "\n")
    local out = run(home, [[
      local seen = {}
      xssh.set_logger(function(level, host, message) seen[#seen + 1] = message end, "debug")
      local s <close> = xssh.connect("behind")
      io.write(s:run("echo far").stdout)
      for _, m in ipairs(seen) do if m:find("ProxyJump hop 1 of 1", 1, true) then print("hop logged") break end end
    ]])
    assert.equal("far\nhop logged\n", out)
  end)

  it("asks the passphrase callback for an encrypted key; without it says so", function()
    local home = home_with(host_block("enc", { "IdentityFile " .. E.key_encrypted }))
    local out = run(home, string.format([[
      local ok, err = pcall(xssh.connect, "enc")
      print(ok, err.class, err.message:find("%s: encrypted, no passphrase given", 1, true) ~= nil)
      local asked = {}
      local s <close> = xssh.connect{ host = "enc", passphrase_callback = function(keyfile)
        asked[#asked + 1] = keyfile
        return E.passphrase
      end }
      print(s:userauth_authenticated(), asked[1])
      -- nil skips the key, a wrong one says so, an error is raised by connect
      ok, err = pcall(xssh.connect, { host = "enc", passphrase_callback = function() return nil end })
      print(ok, err.class)
      ok, err = pcall(xssh.connect, { host = "enc", passphrase_callback = function() return "wrong" end })
      print(ok, err.message:find("wrong passphrase", 1, true) ~= nil)
      ok, err = pcall(xssh.connect, { host = "enc", passphrase_callback = function() error("no tty", 0) end })
      print(ok, err)
    ]], E.key_encrypted))
    assert.equal(table.concat({
      "false\tAuthenticationError\ttrue",
      "true\t" .. E.key_encrypted,
      "false\tAuthenticationError",
      "false\ttrue",
      "false\tno tty", "" }, "\n"), out)
  end)

  it("survives a callback replacing itself on its Options and collecting garbage mid-connect", function()
    -- two encrypted keys: the first call replaces the callback and collects, then skips its key;
    -- the connect (which took the callbacks at its start) asks again for the second key
    local dir = E.tmpdir()
    local k1, k2 = dir .. "/enc1", dir .. "/enc2"
    for _, k in ipairs({ k1, k2 }) do
      assert(os.execute(string.format("cp '%s' '%s' && chmod 600 '%s'", E.key_encrypted, k, k)))
    end
    local home = home_with(host_block("enc", { "IdentityFile " .. k1, "IdentityFile " .. k2, "IdentitiesOnly yes" }))
    local out = run(home, [[
      local o = xssh.core.Options()
      local calls = {}
      o:set_passphrase_callback(function(k)
        calls[#calls + 1] = "first " .. k
        o:set_passphrase_callback(function(k2) calls[#calls + 1] = "other " .. k2; return E.passphrase end)
        collectgarbage(); collectgarbage()
        return nil
      end)
      collectgarbage()
      local s <close> = xssh.core.connect("enc", o)
      print(s:userauth_authenticated(), table.concat(calls, ","))
    ]])
    assert.equal("true\tfirst " .. k1 .. ",other " .. k2 .. "\n", out)
  end)

  it("answers keyboard-interactive with the prompt callback", function()
    if E.pw_user == "" then pending("the harness made no password account (not root)") return end
    local home = home_with(host_block("kbd", { "PubkeyAuthentication no", "PreferredAuthentications keyboard-interactive" },
                                      E.pw_user))
    local out = run(home, [[
      local prompts = {}
      local s <close> = xssh.connect{ host = "kbd", prompt_callback = function(name, instruction, prompt, echo)
        prompts[#prompts + 1] = { prompt, echo }
        return E.password
      end }
      io.write(s:run("id -un").stdout)
      print(#prompts > 0, prompts[1][1]:find("assword") ~= nil, prompts[1][2])
      local ok, err = pcall(xssh.connect, { host = "kbd", prompt_callback = function() return nil end })
      print(ok, err:is("AuthenticationError"))
    ]])
    assert.equal(E.pw_user .. "\ntrue\ttrue\tfalse\nfalse\ttrue\n", out)
  end)

  it("fails at once with no usable credentials, naming what was tried", function()
    local home = home_with(host_block("nocred", { "IdentityFile " .. E.key_unauthorized }))
    local out = run(home, [[
      local clock = os.clock
      local t0 = os.time()
      local ok, err = pcall(xssh.connect, "nocred")
      print(ok, err.class)
      print(err.message)
    ]])
    local first, msg = out:match("^([^\n]*)\n(.*)\n$")
    assert.equal("false\tAuthenticationError", first)
    assert.truthy(msg:find(E.key_unauthorized .. ": refused by the server", 1, true), msg)
    assert.truthy(msg:find("password: no password or prompt callback given", 1, true), msg)
  end)

  it("fails at once, with no timeout wait (timed in C-side terms: the child's own wall clock)", function()
    local home = home_with(host_block("nocred", { "IdentityFile " .. E.key_unauthorized }))
    local out = run(home, [[
      local p = io.popen("date +%s.%N")
      local t0 = tonumber(p:read("a")) p:close()
      local ok = pcall(xssh.connect, "nocred")
      p = io.popen("date +%s.%N")
      local t1 = tonumber(p:read("a")) p:close()
      print(ok, t1 - t0 < 10.0) -- no wait for the 30 s timeout; room for a busy machine
    ]])
    assert.equal("false\ttrue\n", out)
  end)

  it("captures logging with no secret in it", function()
    if E.pw_user == "" then pending("the harness made no password account (not root)") return end
    local home = home_with(host_block("logged", { "IdentityFile " .. E.key_encrypted })
                           .. host_block("pw", { "PubkeyAuthentication no" }, E.pw_user)
                           .. host_block("fwd", { "IdentityFile " .. E.key }))
    local out = run(home, [[
      local lines = {}
      xssh.set_logger(function(level, host, message)
        assert(math.type(level) == "integer" and type(host) == "string" and type(message) == "string")
        lines[#lines + 1] = level .. " " .. host .. ": " .. message
      end, "trace")
      do local s <close> = xssh.connect{ host = "logged", passphrase = E.passphrase } end
      do local s <close> = xssh.connect{ host = "pw", password = E.password } end
      do local s <close> = xssh.connect{ host = "logged", passphrase_callback = function() return E.passphrase end } end
      -- a forward server's thread logs too: delivered at a later call, on this state
      do
        local s <close> = xssh.connect("fwd")
        local f <close> = s:forward_local(nil, 0, "127.0.0.1", 9)
        local c = io.popen("exec 3<>/dev/tcp/127.0.0.1/" .. f:port() .. " && timeout 10 cat <&3; true")
        c:read("a") c:close()
        xssh.log_flush()
      end
      local text = table.concat(lines, "\n")
      assert(text:find("authenticated as", 1, true), text)
      assert(text:find(" logged: ", 1, true) and text:find(" pw: ", 1, true), text)
      assert(not text:find(E.password, 1, true), "password logged")
      assert(not text:find(E.passphrase, 1, true), "passphrase logged")
      -- an error in the logger never breaks a connect; nil silences
      xssh.set_logger(function() error("logger down") end, "debug")
      do local s <close> = xssh.connect("fwd") end
      -- changing the hook from inside a record is refused, never a hang
      local refused
      xssh.set_logger(function() if refused == nil then refused = select(2, pcall(xssh.set_logger, nil)) end end, "debug")
      do local s <close> = xssh.connect("fwd") end
      assert(tostring(refused):find("cannot be changed from inside a log record", 1, true), tostring(refused))
      xssh.set_logger(function(level, host, message) lines[#lines + 1] = message end, "debug")
      local n = #lines
      xssh.set_logger(nil)
      do local s <close> = xssh.connect("fwd") end
      print(#lines == n, "ok")
    ]])
    assert.matches("true\tok\n$", out)
  end)

  it("queues records of other threads, then delivers them in order at the next call (bounded)", function()
    local got = {}
    xssh.set_logger(function(level, host, message) got[#got + 1] = host .. ": " .. message end, "debug")
    xssh.core._log_from_foreign_thread(xssh.LOG_INFO, "far", "first")
    xssh.core._log_from_foreign_thread(xssh.LOG_WARNING, "far", "second")
    assert.same({}, got)
    xssh.core.strerror(0) -- any call
    assert.same({ "far: first", "far: second" }, got)
    for i = 1, 1100 do xssh.core._log_from_foreign_thread(xssh.LOG_INFO, "far", "r" .. i) end
    xssh.log_flush()
    assert.equal(2 + 1 + 1024, #got)
    assert.equal(": xssh: 76 log records dropped (queue of 1024 full)", got[3])
    assert.equal("far: r77", got[4])
    assert.equal("far: r1100", got[#got])
    xssh.set_logger(nil)
  end)

  it("closes a Lua state with a logger installed (the hook goes with it)", function()
    local home = home_with(host_block("fwd", { "IdentityFile " .. E.key }))
    local out = run(home, [[
      xssh.set_logger(function() end, "trace")
      local s = xssh.connect("fwd")
      local f = s:forward_local(nil, 0, "127.0.0.1", 9)
      print("closing")
      os.exit(0, true) -- lua_close: finalizers run, the log sentinel removes the hook
    ]])
    assert.equal("closing\n", out)
  end)

  it("rejects unknown option names, suggesting the right one", function()
    local err = E.fails(xssh.connect, { host = "h", known_host = "x" })
    assert.equal("InvalidArgumentError", err.class)
    assert.equal("xssh.connect: unknown option 'known_host' (did you mean 'known_hosts'?)", err.message)
    err = E.fails(xssh.connect, { host = "h", frobnicate = 1 })
    assert.equal("xssh.connect: unknown option 'frobnicate'", err.message)
    err = E.fails(xssh.connect, "h", nil, nil, { pasword = "x" })
    assert.matches("did you mean 'password'", err.message)
    -- ssh_config keywords go through options = {...}; an unknown one is named by C
    err = E.fails(xssh.connect, { host = "h", options = { Bogus = 1 } })
    assert.equal("InvalidArgumentError", err.class)
    assert.matches("Bogus", err.message)
    assert.equal("InvalidArgumentError", E.fails(xssh.connect, { host = "h", port = "22" }).class)
    assert.equal("InvalidArgumentError", E.fails(xssh.connect, { host = "h", passphrase_callback = 1 }).class)
  end)

  it("takes paths literally (a space, a '%')", function()
    local d = E.tmpdir() .. "/my keys %d"
    assert(os.execute(string.format("mkdir -p '%s' && cp '%s' '%s/id 100%%' && chmod 600 '%s/id 100%%' && cp '%s' '%s/known %%h'",
                                    d, E.key, d, d, E.known_hosts, d)))
    local s <close> = xssh.connect{ host = E.host, port = E.port, user = E.user, key = d .. "/id 100%",
                                    known_hosts = { d .. "/known %h" }, agent = false, config = "none" }
    assert.is_true(s:userauth_authenticated())
  end)

  it("keeps the positional form and host_key_policy 'off' (no verification, nothing learnt)", function()
    local d = E.tmpdir()
    E.write(d .. "/empty", "")
    local err = E.fails(xssh.connect, E.host, E.port, E.user, { key = E.key, known_hosts = d .. "/empty" })
    assert.equal("KnownHostCheckNotFoundError", err.class)
    local s <close> = xssh.connect(E.host, E.port, E.user, { key = E.key, known_hosts = d .. "/empty",
                                                             host_key_policy = "off" })
    assert.is_true(s:userauth_authenticated())
    assert.equal("", E.read(d .. "/empty"))
  end)
end)
