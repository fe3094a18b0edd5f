-- SPDX-License-Identifier: BSD-3-Clause
-- Every authentication method through the Lua module, against the real sshd.
local xssh = require "xssh"
local E = require "xssh_test_env"

describe("authentication", function()
  it("public key from file: ecdsa", function()
    local s <close> = E.raw_session()
    assert.is_false(s:userauth_authenticated())
    assert.equal(0, s:userauth_publickey_fromfile(E.user, E.key_ecdsa))
    assert.is_true(s:userauth_authenticated())
  end)

  it("encrypted key with its passphrase", function()
    local s <close> = E.raw_session()
    s:userauth_publickey_fromfile(E.user, E.key_encrypted, E.passphrase)
    assert.is_true(s:userauth_authenticated())
  end)

  it("a wrong passphrase raises KeyfileAuthFailedError (an AuthenticationError)", function()
    local s <close> = E.raw_session()
    local err = E.fails(s.userauth_publickey_fromfile, s, E.user, E.key_encrypted, "wrong")
    assert.equal("KeyfileAuthFailedError", err.class)
    assert.is_true(err:is("AuthenticationError"))
    assert.is_true(err:is("SSH2Error"))
    assert.truthy(err.message:find(E.key_encrypted, 1, true))
    assert.is_false(s:userauth_authenticated())
  end)

  it("an unauthorized key raises AuthenticationError naming the user", function()
    local s <close> = E.raw_session()
    local err = E.fails(s.userauth_publickey_fromfile, s, E.user, E.key_unauthorized)
    assert.is_true(err:is("AuthenticationError"))
    assert.equal(xssh.EAUTHENTICATION_FAILED, err.code)
    assert.equal("XSSH_EAUTHENTICATION_FAILED", err.name)
    assert.truthy(tostring(err):find(E.user, 1, true))
    assert.truthy(tostring(err):find("AuthenticationError", 1, true))
    -- the session is still usable: the right key works after the failure
    s:userauth_publickey_fromfile(E.user, E.key)
    assert.is_true(s:userauth_authenticated())
  end)

  it("an ssh-rsa key gives the clear libssh2 1.10 error", function()
    local s <close> = E.raw_session()
    local err = E.fails(s.userauth_publickey_fromfile, s, E.user, E.key_rsa)
    assert.equal("RSASHA1RefusedError", err.class)
    assert.truthy(err.message:find("1.11", 1, true))
  end)

  it("public key from memory (binary-safe string)", function()
    local s <close> = E.raw_session()
    s:userauth_publickey_frommemory(E.user, E.read(E.key))
    assert.is_true(s:userauth_authenticated())
  end)

  it("a missing key file raises FileError", function()
    local s <close> = E.raw_session()
    local err = E.fails(s.userauth_publickey_fromfile, s, E.user, "/nonexistent/key")
    assert.equal("FileError", err.class)
    assert.equal(xssh.EFILE, err.code)
  end)

  it("password, keyboard-interactive, and a wrong password", function()
    if E.password == "" then
      pending("no password account: the harness creates one only when running as root")
      return
    end
    do
      local s <close> = xssh.connect{ host = E.host, port = E.port, user = E.pw_user, password = E.password,
                                       known_hosts = E.known_hosts }
      assert.is_true(s:userauth_authenticated())
    end
    for _, method in ipairs({ "kbd", "alias", "responses" }) do
      local s <close> = xssh.Session()
      s:connect(E.host, E.port)
      if method == "kbd" then
        s:userauth_keyboard_interactive(E.pw_user, E.password)
      elseif method == "alias" then
        s:userauth_keyboardinteractive(E.pw_user, E.password)
      else
        s:userauth_keyboard_interactive_responses(E.pw_user, { E.password })
      end
      assert.is_true(s:userauth_authenticated())
    end
    local s <close> = xssh.Session()
    s:connect(E.host, E.port)
    local err = E.fails(s.userauth_password, s, E.pw_user, "wrong-password")
    assert.is_true(err:is("AuthenticationError"))
    assert.is_false(s:userauth_authenticated())
    -- responses must be strings
    local bad = E.fails(s.userauth_keyboard_interactive_responses, s, E.pw_user, { 42 })
    assert.equal("string", type(bad))
  end)

  it("the agent: identities, PublicKey fields, userauth", function()
    if E.agent_sock == "" then
      pending("the harness started no ssh-agent")
      return
    end
    local s <close> = E.raw_session()
    local a <close> = s:agent_init()
    a:set_path(E.agent_sock)
    a:connect()
    local ids = a:get_identities()
    assert.equal(1, #ids)
    local k = ids[1]
    assert.equal("\0\0\0\11ssh-ed25519", k:blob():sub(1, 15))
    assert.equal("string", type(k:comment()))
    assert.equal("integer", math.type(k:magic()))
    assert.equal(1, a:identity_count())
    assert.equal(0, a:userauth(E.user, k))
    assert.is_true(s:userauth_authenticated())
    a:disconnect()
    -- index past the end: an error object, no crash
    local err = E.fails(a.identity, a, 5)
    assert.is_true(xssh.is_error(err))
  end)

  it("an agent socket that does not exist raises an agent error", function()
    local s <close> = E.raw_session()
    local a = s:agent_init()
    a:set_path(E.dir .. "/no-such-agent.sock")
    local err = E.fails(a.connect, a)
    assert.equal("AgentConnectionError", err.class)
    assert.is_true(err:is("AgentError"))
  end)

  it("agent_auth and connect{agent=true} through SSH_AUTH_SOCK", function()
    if E.agent_sock == "" then
      pending("the harness started no ssh-agent")
      return
    end
    -- Lua cannot set environment variables: a child interpreter gets SSH_AUTH_SOCK
    local ok, out = E.run_lua(string.format([[
      local xssh = require "xssh"
      local s = xssh.Session()
      s:connect(%q, %d)
      s:agent_auth(%q)
      assert(s:userauth_authenticated() == true)
      local s2 <close> = xssh.connect{ host = %q, port = %d, user = %q, agent = true, known_hosts = %q }
      assert(s2:userauth_authenticated() == true)
      io.write("agent ok\n")
    ]], E.host, E.port, E.user, E.host, E.port, E.user, E.known_hosts), "SSH_AUTH_SOCK='" .. E.agent_sock .. "' ")
    assert.is_true(ok, out)
    assert.truthy(out:find("agent ok", 1, true), out)
    -- and with a socket that is not an agent, agent_auth fails with an error object
    ok, out = E.run_lua(string.format([[
      local xssh = require "xssh"
      local s = xssh.Session()
      s:connect(%q, %d)
      local ok, err = pcall(s.agent_auth, s, %q)
      io.write(tostring(ok), " ", tostring(xssh.is_error(err, "SSH2Error")), "\n")
    ]], E.host, E.port, E.user), "SSH_AUTH_SOCK='" .. E.dir .. "/no-agent.sock' ")
    assert.truthy(out:find("false true", 1, true), out)
  end)

  it("the publickey subsystem: OpenSSH refuses it with PublicKeyInitError", function()
    local s <close> = E.session()
    if not s.publickey_init then pending("no publickey subsystem in this build") return end
    local err = E.fails(s.publickey_init, s)
    assert.equal("PublicKeyInitError", err.class)
    assert.truthy(err.message:find("publickey", 1, true))
    assert.equal("integer", math.type(s:keepalive_send())) -- the session still works
  end)

  it("connect{key=, passphrase=}", function()
    local s <close> = E.session({ key = E.key_encrypted, passphrase = E.passphrase })
    assert.is_true(s:userauth_authenticated())
  end)
end)
