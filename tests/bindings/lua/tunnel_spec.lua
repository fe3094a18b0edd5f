-- SPDX-License-Identifier: BSD-3-Clause
-- Tunnels through the Lua module: direct-tcpip, local/remote forwards, listeners, ProxyJump.
local xssh = require "xssh"
local E = require "xssh_test_env"

-- connect to 127.0.0.1:port from a python3 child and return what it received first
local function python_peek(port)
  local p = io.popen(string.format([[python3 -c "
import socket, sys
s = socket.create_connection(('127.0.0.1', %d), timeout=10)
sys.stdout.write(s.recv(100).decode('latin-1'))"]], port))
  local out = p:read("a")
  p:close()
  return out
end

describe("tunnels", function()
  it("direct_tcpip reaches the sshd's own banner", function()
    local s <close> = E.session()
    if not s.direct_tcpip then pending("no tunnels in this build") return end
    local ch <close> = s:direct_tcpip(E.host, E.port)
    local n, data = ch:read(100)
    assert.truthy(n > 0)
    assert.matches("^SSH%-2%.0%-", data)
  end)

  it("forward_local: a local port carried to the server, stats, <close> stops it", function()
    local s <close> = E.session()
    if not s.forward_local then pending("no tunnels in this build") return end
    local outer
    do
      local f <close> = s:forward_local(nil, 0, E.host, E.port)
      outer = f
      local port = f:port()
      assert.truthy(port > 0)
      assert.is_true(f:is_running())
      assert.matches("^SSH%-2%.0%-", python_peek(port))
      local accepted, active, failed, bytes_out, bytes_in = f:stats()
      assert.truthy(accepted >= 1)
      assert.equal("integer", math.type(active))
      assert.equal(0, failed)
      assert.equal("integer", math.type(bytes_out))
      assert.truthy(bytes_in > 0)
      assert.equal("string", type(f:last_error() or ""))
    end
    assert.is_false(outer:is_running())
  end)

  it("forward_listen + forward_accept: a connection made on the server", function()
    local s <close> = E.session()
    if not s.forward_listen then pending("no tunnels in this build") return end
    local l <close> = s:forward_listen(0)
    local port = l:bound_port()
    assert.truthy(port > 0)
    -- the connection is made, written and closed before forward_accept is called
    -- (the server's listening socket queues it; libssh2 queues its channel open),
    -- in the foreground: no sleep and no detached job whose timing decides the test
    local s2 <close> = E.session()
    local r = s2:run(string.format([[bash -c 'printf "hi\0there" > /dev/tcp/127.0.0.1/%d']], port))
    assert.equal(0, r.exit_status, r.stderr)
    local ch <close> = l:forward_accept()
    local got = {}
    while true do
      local n, data = ch:read(100)
      if n == 0 then break end
      got[#got + 1] = data
    end
    assert.equal("hi\0there", table.concat(got))
  end)

  it("connect_via: a session through a jump session", function()
    local jump <close> = E.session()
    if not jump.connect_via then pending("no tunnels in this build") return end
    local t <close> = xssh.Session()
    t:connect_via(jump, E.host, E.port)
    t:verify_host(E.host, E.port, xssh.HOSTKEY_STRICT, E.known_hosts)
    t:userauth_publickey_fromfile(E.user, E.key)
    assert.equal("via\n", t:run("echo via").stdout)
  end)

  it("xssh.connect{proxy_jump=...}: two hops run a command on the target", function()
    local hop = string.format("%s@%s:%d", E.user, E.host, E.port)
    local t = E.session({ proxy_jump = { hop, { E.host, E.port } } })
    local r = t:run("echo via; exit 4")
    assert.equal("via\n", r.stdout)
    assert.equal(4, r.exit_status)
    -- the hops live (in C) as long as the target, whatever Lua collects
    collectgarbage("collect")
    collectgarbage("collect")
    assert.equal("again\n", t:run("echo again").stdout)
    t:close()
    -- one hop as a table {host=, port=, user=} (the rest from the configuration, as ssh -J), <close> on the target
    do
      local t2 <close> = E.session({ proxy_jump = { { host = E.host, port = E.port, user = E.user } } })
      assert.equal("hop\n", t2:run("echo hop").stdout)
    end
  end)

  it("xssh.connect{proxy_jump=...}: an unknown hop key fails under strict, bad hops are argument errors", function()
    local d = E.tmpdir()
    E.write(d .. "/kh", "")
    local err = E.fails(E.session, { known_hosts = d .. "/kh", proxy_jump = { E.host .. ":" .. E.port } })
    assert.equal("KnownHostCheckNotFoundError", err.class)
    -- a hop's bad key fails the whole connect, naming the hop
    err = E.fails(E.session, { key = E.key_unauthorized, agent = false, proxy_jump = { { host = E.host, port = E.port } } })
    assert.is_true(err:is("AuthenticationError"))
    assert.matches("ProxyJump hop", err.message)
    -- per-hop credentials live in the configuration (Host blocks), not in the hop
    err = E.fails(E.session, { proxy_jump = { { host = E.host, key = E.key } } })
    assert.equal("InvalidArgumentError", err.class)
    assert.matches("unknown hop option 'key'", err.message)
    assert.equal("InvalidArgumentError", E.fails(E.session, { proxy_jump = { { hots = "typo" } } }).class)
    assert.equal("InvalidArgumentError", E.fails(E.session, { proxy_jump = { 42 } }).class)
    -- the session still works afterwards
    local s <close> = E.session()
    assert.equal("ok\n", s:run("echo ok").stdout)
  end)

  it("a forward outlives its session's Lua object", function()
    local s = E.session()
    if not s.forward_local then pending("no tunnels in this build") return end
    local f = s:forward_local(nil, 0, E.host, E.port)
    s = nil
    collectgarbage("collect")
    assert.matches("^SSH%-2%.0%-", python_peek(f:port()))
    f = nil
    collectgarbage("collect")
  end)
end)
