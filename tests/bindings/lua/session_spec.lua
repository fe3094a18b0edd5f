-- SPDX-License-Identifier: BSD-3-Clause
-- Sessions, host-key policies and metadata through the Lua module, against the real sshd.
local xssh = require "xssh"
local E = require "xssh_test_env"

describe("xssh.connect", function()
  it("connects strictly and exposes the session metadata", function()
    local s <close> = E.session()
    assert.is_true(s:userauth_authenticated())
    assert.is_false(s:is_closed())
    assert.is_true(s:get_blocking())
    assert.matches("^SSH%-2%.0%-OpenSSH", s:banner_get())
    assert.equal(E.fingerprint, s:hostkey_fingerprint())
    local key, ktype = s:hostkey()
    assert.equal("string", type(key))
    assert.equal(xssh.LIBSSH2_HOSTKEY_TYPE_ED25519, ktype)
    assert.equal(xssh.HOSTKEY_TYPE_ED25519, ktype)
    -- binary-safe strings: the blob starts with a 4-byte length holding NULs
    assert.equal("\0\0\0\11ssh-ed25519", key:sub(1, 15))
    assert.equal(16, #s:hostkey_hash(xssh.LIBSSH2_HOSTKEY_HASH_MD5))
    assert.equal(20, #s:hostkey_hash(xssh.LIBSSH2_HOSTKEY_HASH_SHA1))
    assert.equal(32, #s:hostkey_hash(xssh.HOSTKEY_HASH_SHA256))
    assert.truthy(s:methods(xssh.METHOD_KEX))
    local algs = s:supported_algs(xssh.LIBSSH2_METHOD_KEX)
    assert.equal("table", type(algs))
    assert.truthy(#algs > 0)
    assert.equal("integer", math.type(s:socket()))
    assert.equal(0, s:set_timeout(5000))
    assert.equal(5000, s:get_timeout())
  end)

  it("accepts positional arguments", function()
    local s <close> = xssh.connect(E.host, E.port, E.user, { key = E.key, known_hosts = E.known_hosts })
    assert.is_true(s:userauth_authenticated())
  end)

  it("handshake on a socket made elsewhere: an integer fd, or an object with getfd()", function()
    -- Lua has no sockets of its own: python3 connects and execs lua5.4 with the fd inherited
    local d = E.tmpdir()
    E.write(d .. "/hs.lua", string.format([[
      local xssh = require "xssh"
      local fd = math.tointeger(tonumber(arg[1]))
      local s = xssh.Session()
      local sock = arg[2] == "object" and { getfd = function() return fd end } or fd
      assert(s:handshake(sock) == 0)
      assert(s.startup ~= nil)
      assert(s:hostkey_fingerprint() == %q)
      s:userauth_publickey_fromfile(%q, %q)
      assert(s:userauth_authenticated() == true)
      s:disconnect()
      io.write("handshake ok ", arg[2], "\n")
    ]], E.fingerprint, E.user, E.key))
    for _, mode in ipairs({ "fd", "object" }) do
      local cmd = string.format([=[LUA_PATH='%s' LUA_CPATH='%s' python3 -c "
import os, socket, sys
s = socket.create_connection(('%s', %d)); fd = s.detach(); os.set_inheritable(fd, True)
os.execvp('lua5.4', ['lua5.4', sys.argv[1], str(fd), sys.argv[2]])" '%s/hs.lua' %s 2>&1]=],
        package.path, package.cpath, E.host, E.port, d, mode)
      local p = io.popen(cmd)
      local out = p:read("a")
      local ok = p:close()
      assert.is_true(ok == true, out)
      assert.truthy(out:find("handshake ok " .. mode, 1, true), out)
    end
  end)

  it("lists the authentication methods as a table", function()
    local s <close> = E.raw_session()
    local methods = s:userauth_list(E.user)
    assert.equal("table", type(methods))
    local set = {}
    for _, m in ipairs(methods) do set[m] = true end
    assert.is_true(set.publickey)
    assert.is_false(s:userauth_authenticated())
  end)

  it("strict: an unknown host raises KnownHostCheckNotFoundError with the fingerprint", function()
    local d = E.tmpdir()
    E.write(d .. "/known_hosts", "")
    local err = E.fails(xssh.connect, { host = E.host, port = E.port, user = E.user, key = E.key,
                                         known_hosts = d .. "/known_hosts" })
    assert.is_true(xssh.is_error(err))
    assert.equal("KnownHostCheckNotFoundError", err.class)
    assert.equal("XSSH_EHOSTKEY_UNKNOWN", err.name)
    assert.equal(xssh.EHOSTKEY_UNKNOWN, err.code)
    assert.is_true(err:is("KnownHostError"))
    assert.is_true(err:is("SSH2Error"))
    assert.truthy(err.message:find(E.fingerprint, 1, true))
    assert.truthy(tostring(err):find(E.fingerprint, 1, true))
  end)

  it("accept_new learns the key, then strict accepts it", function()
    local d = E.tmpdir()
    local kh = d .. "/sub/known_hosts"
    do
      local s <close> = E.session({ known_hosts = kh, host_key_policy = "accept_new" })
    end
    assert.truthy(#E.read(kh) > 0) -- learnt (hashed when HashKnownHosts says so, as ssh does)
    local s <close> = E.session({ known_hosts = kh })
    assert.is_true(s:userauth_authenticated())
  end)

  it("a changed host key fails under strict and accept_new", function()
    local d = E.tmpdir()
    assert(os.execute(string.format("ssh-keygen -q -t ed25519 -N '' -f '%s/k' >/dev/null", d)))
    local typ, b64 = E.read(d .. "/k.pub"):match("^(%S+) (%S+)")
    local kh = d .. "/known_hosts"
    E.write(kh, string.format("[%s]:%d %s %s\n", E.host, E.port, typ, b64))
    for _, policy in ipairs({ "strict", "accept_new" }) do
      local err = E.fails(E.session, { known_hosts = kh, host_key_policy = policy })
      assert.equal("KnownHostCheckMisMatchError", err.class)
      assert.is_true(err:is(xssh.errors.KnownHostCheckError))
      assert.truthy(err.message:find(E.fingerprint, 1, true))
    end
  end)

  it("reads hashed known_hosts files", function()
    local d = E.tmpdir()
    local kh = d .. "/known_hosts"
    E.write(kh, E.read(E.known_hosts))
    assert(os.execute(string.format("ssh-keygen -H -f '%s' >/dev/null 2>&1", kh)))
    assert.truthy(E.read(kh):find("|1|", 1, true))
    local s <close> = E.session({ known_hosts = kh })
    assert.is_true(s:userauth_authenticated())
  end)

  it("policy off skips verification; a bad policy is an argument error", function()
    local d = E.tmpdir()
    local s <close> = E.session({ known_hosts = d .. "/none", host_key_policy = "off" })
    assert.is_true(s:userauth_authenticated())
    local err = E.fails(E.session, { host_key_policy = "yolo" })
    assert.equal("InvalidArgumentError", err.class)
    assert.truthy(err.message:find("yolo", 1, true))
  end)

  it("connect expands ~/ in key and known_hosts paths, checks timeout", function()
    local ok, out = E.run_lua(string.format([[
      local xssh = require "xssh"
      local s <close> = xssh.connect{ host = %q, port = %d, user = %q, key = "~/id_ed25519",
                                       known_hosts = "~/known_hosts", timeout = 5 }
      io.write("authenticated ", tostring(s:userauth_authenticated()), "\n")
    ]], E.host, E.port, E.user), "HOME='" .. E.dir .. "' ")
    assert.is_true(ok, out)
    assert.truthy(out:find("authenticated true", 1, true), out)
    assert.equal("InvalidArgumentError", E.fails(E.session, { timeout = "soon" }).class)
  end)

  it("verify_host on a raw session, each policy as a number", function()
    local s <close> = xssh.Session()
    s:connect(E.host, E.port)
    assert.equal(0, s:verify_host(E.host, E.port, xssh.HOSTKEY_STRICT, E.known_hosts))
    local d = E.tmpdir()
    local err = E.fails(s.verify_host, s, E.host, E.port, xssh.HOSTKEY_STRICT, d .. "/missing")
    assert.equal(xssh.EHOSTKEY_UNKNOWN, err.code)
    assert.equal(0, s:verify_host(E.host, E.port, xssh.HOSTKEY_ACCEPT_NEW, d .. "/learned"))
    assert.equal(0, s:verify_host(E.host, E.port, xssh.HOSTKEY_STRICT, d .. "/learned"))
    assert.equal(0, s:verify_host(E.host, E.port, xssh.HOSTKEY_OFF))
  end)
end)

describe("text arguments", function()
  it("refuses a string with an embedded zero (C would run only its first part)", function()
    local s <close> = E.session()
    local ok, err = pcall(s.run, s, "echo a\0; echo b")
    assert.is_false(ok)
    assert.matches("embedded zero", tostring(err))
    local ch = s:open_session()
    ok, err = pcall(ch.execute, ch, "echo a\0; echo b")
    assert.is_false(ok)
    assert.matches("embedded zero", tostring(err))
    ch:close()
    assert.equal("still\n", s:run("echo still").stdout)
  end)
end)

describe("Session lifecycle", function()
  it("<close> disconnects at scope end, also when the scope fails", function()
    local outer
    do
      local s <close> = E.session()
      outer = s
      assert.is_false(s:is_closed())
    end
    assert.is_true(outer:is_closed())
    local ok = pcall(function()
      local s <close> = E.session()
      outer = s
      error("boom")
    end)
    assert.is_false(ok)
    assert.is_true(outer:is_closed())
    -- a session that never connected can be closed too
    do local s <close> = xssh.Session() end
  end)

  it("closed sessions raise ClosedError; close is idempotent", function()
    local s = E.session()
    s:disconnect()
    assert.is_true(s:is_closed())
    local calls = {
      function() return s:banner_get() end,
      function() return s:hostkey() end,
      function() return s:userauth_list("x") end,
      function() return s:set_blocking(false and 1 or 0) end,
      function() return s:keepalive_send() end,
      function() return s:agent_init() end,
    }
    for _, call in ipairs(calls) do
      local err = E.fails(call)
      assert.equal("ClosedError", err.class)
      assert.equal(xssh.ECLOSED, err.code)
    end
    assert.equal(0, s:close())
    assert.equal(0, s:close())
  end)

  it("tostring names the class", function()
    local s = xssh.Session()
    assert.matches("^xssh%.Session: ", tostring(s))
    s:close()
  end)

  it("keepalive and blocking flags", function()
    local s <close> = E.session()
    s:keepalive_config(1, 10)
    assert.equal("integer", math.type(s:keepalive_send()))
    s:set_blocking(0)
    assert.is_false(s:get_blocking())
    s:set_blocking(1)
    assert.is_true(s:get_blocking())
  end)
end)
