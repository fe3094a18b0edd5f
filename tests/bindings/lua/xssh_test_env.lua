-- SPDX-License-Identifier: BSD-3-Clause
-- Spec helper: the real sshd started by tests/harness/sshd_harness.py (ctest
-- fixture "sshd"), described by the KEY=VALUE file named in $XSSH_TEST_ENV.
local xssh = require "xssh"

local path = os.getenv("XSSH_TEST_ENV")
local f = path and io.open(path)
if not f then
  error("XSSH_TEST_ENV is not set or missing: start tests/harness/sshd_harness.py first", 0)
end
local raw = {}
for line in f:lines() do
  local k, v = line:match("^([%w_]+)=(.*)$")
  if k then raw[k] = v end
end
f:close()

local E = {
  raw = raw,
  dir = raw.XSSH_TEST_DIR,
  host = raw.XSSH_TEST_HOST,
  port = math.tointeger(tonumber(raw.XSSH_TEST_PORT)),
  user = raw.XSSH_TEST_USER,
  key = raw.XSSH_TEST_KEY_ED25519,
  key_ecdsa = raw.XSSH_TEST_KEY_ECDSA,
  key_rsa = raw.XSSH_TEST_KEY_RSA,
  key_encrypted = raw.XSSH_TEST_KEY_ENCRYPTED,
  passphrase = raw.XSSH_TEST_KEY_PASSPHRASE,
  key_unauthorized = raw.XSSH_TEST_KEY_UNAUTHORIZED,
  known_hosts = raw.XSSH_TEST_KNOWN_HOSTS,
  fingerprint = raw.XSSH_TEST_HOSTKEY_FP,
  pw_user = raw.XSSH_TEST_PW_USER or "",
  password = raw.XSSH_TEST_PASSWORD or "",
  agent_sock = raw.XSSH_TEST_AGENT_SOCK or "",
}

--- A connected, host-verified, key-authenticated session.
function E.session(opts)
  local o = { host = E.host, port = E.port, user = E.user, key = E.key, known_hosts = E.known_hosts }
  for k, v in pairs(opts or {}) do o[k] = v end
  return xssh.connect(o)
end

--- Connected and verified, not authenticated.
function E.raw_session()
  local s = xssh.Session()
  s:connect(E.host, E.port, 10000)
  s:verify_host(E.host, E.port, xssh.HOSTKEY_STRICT, E.known_hosts)
  return s
end

-- scratch space under the harness directory, emptied when a spec file loads this helper
local scratch = E.dir .. "/lua-scratch"
os.execute("rm -rf '" .. scratch .. "'")
local counter = 0
--- A fresh directory under the harness directory.
function E.tmpdir()
  counter = counter + 1
  local d = string.format("%s/%d-%d-%d", scratch, os.time(), counter, math.random(1 << 30))
  assert(os.execute("mkdir -p '" .. d .. "'"))
  return d
end

function E.read(path)
  local fh = assert(io.open(path, "rb"))
  local s = fh:read("a")
  fh:close()
  return s
end

function E.write(path, data)
  local fh = assert(io.open(path, "wb"))
  fh:write(data)
  fh:close()
end

--- pcall that returns the error object (and asserts the call failed).
function E.fails(f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected the call to fail")
  return err
end

--- Run a Lua chunk in a fresh lua5.4 (this process's module paths, same
-- XSSH_TEST_ENV), optionally with "VAR=value " assignments in front; returns ok, output.
function E.run_lua(code, envprefix)
  local d = E.tmpdir()
  E.write(d .. "/chunk.lua", code)
  local p = io.popen(string.format("LUA_PATH='%s' LUA_CPATH='%s' %slua5.4 '%s/chunk.lua' 2>&1",
                                   package.path, package.cpath, envprefix or "", d))
  local out = p:read("a")
  local ok, how, status = p:close()
  return ok == true and how == "exit" and status == 0, out
end

return E
