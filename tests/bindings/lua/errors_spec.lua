-- SPDX-License-Identifier: BSD-3-Clause
-- Error objects: built from the C error table, raised for real failures.
local xssh = require "xssh"
local E = require "xssh_test_env"

-- run python3 to get a free port (bound then closed) or a listener that never answers
local function free_port()
  local p = io.popen([[python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"]])
  local port = math.tointeger(tonumber(p:read("l")))
  p:close()
  return port
end

describe("error objects", function()
  it("every class of the C table, with its hierarchy", function()
    local names = { "AgentConnectionError", "AgentGetIdentityError", "AgentListIdentitiesError",
      "BannerRecvError", "BannerSendError", "BadSocketError", "BadUseError", "BufferTooSmallError",
      "ChannelClosedError", "ChannelEOFSentError", "ChannelFailure", "ChannelOutOfOrderError",
      "ChannelPacketExceeded", "ChannelRequestDenied", "ChannelUnknownError", "ChannelWindowExceeded",
      "CompressError", "DecryptError", "EncryptError", "FileError", "HostkeyInitError", "HostkeySignError",
      "InvalidPollTypeError", "InvalidRequestError", "KeyExchangeError", "KnownHostAddError",
      "KnownHostCheckFailure", "KnownHostCheckNotFoundError", "KnownHostDeleteError", "KnownHostGetError",
      "KnownHostReadFileError", "KnownHostReadLineError", "KnownHostWriteFileError",
      "KnownHostWriteLineError", "MethodNoneError", "MethodNotSupported", "OutOfBoundaryError",
      "ProtocolError", "PublicKeyInitError", "PublicKeyProtocolError", "PublickeyUnverifiedError",
      "RequestDeniedError", "SCPProtocolError", "SFTPHandleError", "SFTPProtocolError",
      "SessionHandshakeError", "SessionHostKeyError", "SessionStartupError", "SocketDisconnectError",
      "SocketRecvError", "SocketSendError", "SocketTimeout", "Timeout", "UnknownError", "ZlibError" }
    for _, n in ipairs(names) do
      local cls = xssh.errors[n]
      assert.is_table(cls, n)
      assert.equal(n, cls.class)
      assert.is_true(cls:is("SSH2Error"), n)
    end
    local X = xssh.errors
    assert.is_true(X.PasswordExpiredError:is("AuthenticationError"))
    assert.is_true(X.AgentAuthenticationError:is(X.AuthenticationError))
    assert.is_true(X.KnownHostCheckMisMatchError:is("KnownHostCheckError"))
    assert.is_true(X.KnownHostCheckError:is("KnownHostError"))
    assert.is_false(X.AgentProtocolError:is("AgentError"))
    assert.is_false(X.SSH2Error:is("AuthenticationError"))
    assert.is_nil(X.SSH2Error.parent)
    assert.equal(X.KnownHostCheckError, X.KnownHostCheckMisMatchError.parent)
  end)

  it("every code of the table maps to its class; EAGAIN is returned by check", function()
    for i = 0, xssh.err_count() - 1 do
      local code = xssh.err_code_at(i)
      local e = xssh.error_object(code)
      assert.equal(code, e.code)
      assert.equal(xssh.err_name(code), e.name)
      assert.equal(xssh.err_exception(code), e.class)
      assert.equal(xssh.errors[e.class], getmetatable(e))
      assert.is_true(xssh.is_error(e, "SSH2Error"))
    end
    assert.equal(xssh.EAGAIN, xssh.check(xssh.EAGAIN))
    assert.equal(-37, xssh.LIBSSH2_ERROR_EAGAIN)
    assert.equal(-9, xssh.LIBSSH2_ERROR_TIMEOUT)
    assert.equal(0, xssh.check(0))
    assert.equal(5, xssh.check(5))
    local err = E.fails(xssh.check, xssh.ETIMEOUT)
    assert.equal("Timeout", err.class)
    assert.equal(xssh.strerror(xssh.ETIMEOUT), err.message)
    assert.is_false(xssh.is_error("a string"))
    assert.is_false(xssh.is_error({ code = 1 }))
  end)

  it("a second load of the module shares classes and shapes methods once", function()
    local saved_x, saved_c = package.loaded.xssh, package.loaded.xssh_core
    package.loaded.xssh, package.loaded.xssh_core = nil, nil
    local x2 = require "xssh"
    package.loaded.xssh, package.loaded.xssh_core = saved_x, saved_c
    assert.are_not.equal(xssh, x2)
    assert.equal(xssh.errors.SSH2Error, x2.errors.SSH2Error)
    assert.is_true(xssh.is_error(x2.error_object(xssh.ETIMEOUT), "Timeout"))
    local s = x2.Session()
    assert.is_false(s:is_closed()) -- a boolean, not re-wrapped (0 ~= 0)
    s:close()
    assert.is_true(s:is_closed())
  end)

  it("connection failures: ConnectError, ResolveError, Timeout", function()
    local port = free_port()
    local err = E.fails(function() return xssh.Session():connect("127.0.0.1", port) end)
    assert.equal("ConnectError", err.class)
    assert.equal(xssh.ECONNECT, err.code)
    assert.truthy(err.message:find(tostring(port), 1, true))
    err = E.fails(function() return xssh.Session():connect("nonexistent.invalid", 22) end)
    assert.equal("ResolveError", err.class)
    assert.is_true(err:is("ConnectError"))
    assert.is_true(err:is("SessionError"))
    -- a listener that never answers: the handshake times out
    local p = io.popen([[python3 -c "
import socket, sys, time
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)
print(s.getsockname()[1], flush=True); time.sleep(3)"]])
    local lport = math.tointeger(tonumber(p:read("l")))
    local t0 = os.time()
    err = E.fails(function() return xssh.Session():connect("127.0.0.1", lport, 800) end)
    assert.equal("Timeout", err.class)
    assert.truthy(os.time() - t0 <= 3)
    p:close()
  end)

  it("bad arguments: error objects from C, plain errors for wrong Lua types", function()
    local s = xssh.Session()
    assert.equal("InvalidArgumentError", E.fails(s.connect, s, "", 22).class)
    assert.equal("InvalidArgumentError", E.fails(s.connect, s, "localhost", 0).class)
    assert.equal("InvalidArgumentError", E.fails(s.connect, s, nil, 22).class)
    assert.equal("NotConnectedError", E.fails(s.userauth_password, s, "u", "p").class)
    -- wrong Lua types and arities never reach C
    assert.equal("string", type(E.fails(s.connect, s, {}, 22)))
    assert.equal("string", type(E.fails(s.connect, s, "localhost", "22x")))
    assert.equal("string", type(E.fails(s.connect)))
    assert.equal("string", type(E.fails(s.userauth_publickey_frommemory, s, "u", 42)))
    assert.equal("string", type(E.fails(s.handshake, s, "not a socket")))
    assert.equal("string", type(E.fails(s.handshake, s, {})))
    -- a handle of the wrong class
    local kh = s:knownhost_init()
    assert.equal("string", type(E.fails(s.connect, kh, "localhost", 22)))
    -- a nil self is a NULL handle: a clear error, no crash
    local is_closed = xssh.core._class_metatable("Session")[".fn"].is_closed
    local nerr = E.fails(is_closed, nil)
    assert.is_true(xssh.is_error(nerr), tostring(nerr))
    s:close()
    -- xssh.connect checks its options
    assert.equal("InvalidArgumentError", E.fails(xssh.connect, {}).class)
    assert.equal("InvalidArgumentError", E.fails(xssh.connect, 42).class)
    assert.equal("InvalidArgumentError", E.fails(xssh.connect, { host = "h", port = "22" }).class)
  end)

  it("tostring gives class, message and symbolic name", function()
    local s <close> = E.raw_session()
    local err = E.fails(s.userauth_publickey_fromfile, s, E.user, E.key_unauthorized)
    local str = tostring(err)
    assert.truthy(str:find("AuthenticationError", 1, true))
    assert.truthy(str:find("XSSH_EAUTHENTICATION_FAILED", 1, true))
    assert.truthy(str:find(err.message, 1, true))
    assert.equal("integer", math.type(err.libssh2_code))
  end)

  it("EAGAIN is returned, not raised, in a non-blocking loop", function()
    local s <close> = E.raw_session()
    s:set_blocking(0)
    -- a round trip: EAGAIN (a number, not an error) until the reply is there;
    -- channel_spec's non-blocking read proves EAGAIN deterministically
    local methods
    for _ = 1, 10000000 do
      methods = s:userauth_list(E.user)
      if methods ~= xssh.EAGAIN then break end
    end
    assert.is_table(methods)
    s:set_blocking(1)
  end)
end)
