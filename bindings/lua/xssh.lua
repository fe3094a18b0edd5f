-- SPDX-License-Identifier: BSD-3-Clause
--- xssh: SSH2 client for Lua 5.4 (C core over libssh2, one SWIG definition).
--
--   local xssh = require "xssh"
--   local s <close> = xssh.connect{host = "example.org", user = "me", key = "~/.ssh/id_ed25519"}
--
-- This file is the thin Lua layer over the SWIG module `xssh_core`: it
-- re-exports the classes and constants, turns flag results into booleans and
-- comma lists into tables, and adds xssh.connect{...}. Everything else is the
-- generated module. Errors are raised as error objects (see xssh.errors):
--   local ok, err = pcall(s.userauth_password, s, "me", "bad")
--   err.code, err.name, err.message, err.class, err:is("AuthenticationError"), tostring(err)
-- XSSH_EAGAIN (xssh.EAGAIN, -37) is returned, never raised.
local core = require "xssh_core"

local M = {}
M.core = core

-- everything of the generated module: classes, functions, XSSH_* constants
for k, v in pairs(core) do
  if type(k) == "string" and k:sub(1, 1) ~= "_" then M[k] = v end
end
-- short constant names (xssh.EAGAIN, xssh.HOSTKEY_HASH_SHA1, ...) and the
-- libssh2 names ssh2-python uses (LIBSSH2_ERROR_*, LIBSSH2_HOSTKEY_*, ...)
for k, v in pairs(core) do
  if type(k) == "string" and type(v) == "number" and k:sub(1, 5) == "XSSH_" then
    local short = k:sub(6)
    if M[short] == nil then M[short] = v end
    if short:match("^E") and v < 0 and v > -100 then
      M["LIBSSH2_ERROR_" .. (short == "EAGAIN" and short or short:sub(2))] = v
    elseif short:match("^BLOCK_") then
      M["LIBSSH2_SESSION_" .. short] = v
    elseif short:match("^HOSTKEY_HASH_") or short:match("^HOSTKEY_TYPE_") or short:match("^METHOD_")
        or short:match("^KNOWNHOST_") or short:match("^FLAG_") or short:match("^CHANNEL_")
        or short:match("^FXF?_") or short:match("^SFTP_") then
      M["LIBSSH2_" .. short] = v
    elseif short:match("^EXTENDED_DATA_") then
      M["LIBSSH2_CHANNEL_" .. short] = v
    end
  end
end
M.LIBSSH2_ERROR_NONE = 0
M.LIBSSH2_ERROR_BANNER_NONE = M.LIBSSH2_ERROR_BANNER_RECV
M.LIBSSH2_ERROR_PUBLICKEY_UNRECOGNIZED = M.LIBSSH2_ERROR_AUTHENTICATION_FAILED

--- the library version ("0.1.0"); xssh.core.version() is the function
M.version = core.version()
M._VERSION = "xssh " .. M.version

--- Error classes by name (SSH2Error, AuthenticationError, ...), built from
-- the C error table; class:is(name) and err:is(name_or_class) test the hierarchy.
M.errors = core.errors

--- True when v is an xssh error object (optionally: of class cls or a subclass).
function M.is_error(v, cls)
  if type(v) ~= "table" then return false end
  local mt = getmetatable(v)
  if type(mt) ~= "table" or type(rawget(mt, "class")) ~= "string" or M.errors[mt.class] ~= mt then
    return false
  end
  return cls == nil or v:is(cls)
end

--- Raise the error object for a failing code (EAGAIN and codes >= 0 are returned).
M.check = core.check

-- an argument error raised as an xssh error object (InvalidArgumentError)
local function arg_error(msg, level)
  local e = core.error_object(core.XSSH_EARG)
  e.message = msg
  error(e, (level or 1) + 1)
end

---------------------------------------------------------------------------
-- Lua shapes over the generated methods (SWIG's per-class method tables)
---------------------------------------------------------------------------
-- The class metatables live in the Lua registry and outlive this module (a
-- second require after package.loaded.xssh = nil, busted's insulation, ...):
-- they are shaped once, marked with ".xssh_lua".
local function methods(cls)
  local mt = core._class_metatable(cls)
  if type(mt) ~= "table" or rawget(mt, ".xssh_lua") then return nil end
  rawset(mt, ".xssh_lua", true)
  return mt[".fn"]
end

-- integer flags -> booleans (0 is true in Lua); EAGAIN stays a number
local function boolean_result(fn, name)
  local orig = fn[name]
  if not orig then return end
  fn[name] = function(self, ...)
    local v = orig(self, ...)
    if v == core.XSSH_EAGAIN then return v end
    return v ~= 0
  end
end

-- "a,b,c" -> {"a", "b", "c"}
local function list_result(fn, name)
  local orig = fn[name]
  if not orig then return end
  fn[name] = function(self, ...)
    local v = orig(self, ...)
    if type(v) ~= "string" then return v end
    local t = {}
    for m in v:gmatch("[^,]+") do t[#t + 1] = m end
    return t
  end
end

-- whole-file transfers: the generated calls take the progress function first;
-- Lua takes it in an options table {progress=, atomic=, chunk_size=, mode=}
local function transfer(orig, with_chunk)
  if not orig then return nil end
  return function(self, a, b, opts)
    opts = opts or {}
    if type(opts) ~= "table" then arg_error("transfer options must be a table", 2) end
    if with_chunk then
      return orig(self, opts.progress, a, b, opts.atomic and 1 or 0, opts.chunk_size or 0, opts.mode or 0)
    end
    return orig(self, opts.progress, a, b, opts.atomic and 1 or 0, opts.mode or 0)
  end
end

local fn = methods("Session")
if fn then
  boolean_result(fn, "is_closed")
  boolean_result(fn, "get_blocking")
  boolean_result(fn, "userauth_authenticated")
  list_result(fn, "userauth_list")
  list_result(fn, "supported_algs")
  fn.startup = fn.handshake
  fn.userauth_keyboardinteractive = fn.userauth_keyboard_interactive
  --- s:scp_get(remote, local [, {progress=f, atomic=, chunk_size=, mode=}]) -> bytes copied
  fn.scp_get = transfer(fn.scp_get, true)
  --- s:scp_put(local, remote [, opts]) -> bytes copied
  fn.scp_put = transfer(fn.scp_put, true)
end

fn = methods("SFTP")
if fn then
  --- sftp:get(remote, local [, {progress=function(done, total) end, atomic=, chunk_size=, mode=}])
  -- -> bytes copied; progress returning true cancels (CancelledError), an error
  -- it raises cancels and is re-raised by get; total is nil when unknown
  fn.get = transfer(fn.get, true)
  --- sftp:put(local, remote [, opts]) -> bytes copied
  fn.put = transfer(fn.put, true)
  local get_buffer, put_buffer = fn.get_buffer, fn.put_buffer
  --- sftp:get_buffer(remote [, {progress=}]) -> the whole file as a string (alias get_bytes)
  if get_buffer then
    fn.get_buffer = function(self, remote, opts)
      return get_buffer(self, (opts or {}).progress, remote)
    end
    fn.get_bytes = fn.get_buffer
  end
  --- sftp:put_buffer(data, remote [, {progress=, atomic=, mode=}]) -> bytes written (alias put_bytes)
  fn.put_buffer = transfer(put_buffer, false)
  fn.put_bytes = fn.put_buffer
end

fn = methods("Agent")
if fn then
  --- The agent's identities as a list of PublicKey (lists them first).
  function fn.get_identities(self)
    self:list_identities()
    local ids = {}
    for i = 0, self:identity_count() - 1 do ids[#ids + 1] = self:identity(i) end
    return ids
  end
end

fn = methods("KnownHost")
if fn then
  local get = fn.get
  --- kh:get(i) -> entry i (0-based, as in C); kh:get() -> list of all entries.
  function fn.get(self, i)
    if i ~= nil then return get(self, i) end
    local t = {}
    for j = 0, self:count() - 1 do t[#t + 1] = get(self, j) end
    return t
  end
end

fn = methods("Channel")
if fn then
  boolean_result(fn, "eof")
  boolean_result(fn, "is_closed")
  -- ch:read([size=1024]) -> count, bytes (count is xssh.EAGAIN when nothing is
  -- there in non-blocking mode; 0 with "" at end of stream), as in ssh2-python;
  -- one call returns at most xssh.IO_MAX (16 MiB) bytes, whatever size asks for
  for _, name in ipairs({ "read", "read_stderr" }) do
    local orig = fn[name]
    if orig then fn[name] = function(self, size) return orig(self, size or 1024) end end
  end
  fn.handle_extended_data2 = fn.handle_extended_data
  local read_ex = fn.read_ex
  if read_ex then fn.read_ex = function(self, size, stream_id) return read_ex(self, size or 1024, stream_id or 0) end end
end

fn = methods("Forward")
if fn then boolean_result(fn, "is_running") end

-- Session:run(command [, opts]) over the generated session_run()
local RunResult = {}
RunResult.__index = RunResult
RunResult.__name = "xssh.RunResult"
function RunResult.__tostring(r)
  return string.format("xssh.RunResult: exit_status=%s exit_signal=%s stdout=%d bytes stderr=%d bytes",
    tostring(r.exit_status), tostring(r.exit_signal), #r.stdout, #r.stderr)
end
M.RunResult = RunResult

local function ms(t, what)
  if t == nil then return 0 end
  if type(t) ~= "number" or t <= 0 then arg_error("Session:run: " .. what .. " must be a number > 0 (seconds) or nil", 3) end
  return math.max(1, math.floor(t * 1000))
end

if core.session_run then
  local session_run = core.session_run
  -- (re)defined on every load: a definition, not a wrapper
  local fn_run = core._class_metatable("Session")[".fn"]
  --- Run command on a new channel; returns a RunResult table:
  -- {stdout=, stderr= (strings), exit_status= (integer, nil when none was sent),
  --  exit_signal= ("TERM", ..., nil when none), ok= (exit_status == 0)}.
  -- opts: stdin= (string, written then EOF), timeout=, idle_timeout= (seconds:
  -- raise Timeout, the session stays usable), merge_stderr=, pty= (booleans).
  -- Both streams are read concurrently in C: no deadlock however much output.
  function fn_run.run(self, command, opts)
    if type(command) ~= "string" then
      error(string.format("xssh.Session:run: bad argument #1 'command' (string expected, got %s)", type(command)), 2)
    end
    opts = opts or {}
    if type(opts) ~= "table" then arg_error("Session:run: options must be a table", 2) end
    if opts.stdin ~= nil and type(opts.stdin) ~= "string" then arg_error("Session:run: stdin must be a string", 2) end
    local out, err, status, have, sig = session_run(self, command, opts.stdin, ms(opts.timeout, "timeout"),
      ms(opts.idle_timeout, "idle_timeout"), opts.merge_stderr and 1 or 0, opts.pty and 1 or 0)
    if out == core.XSSH_EAGAIN and err == nil then return out end
    local r = {
      stdout = out,
      stderr = err,
      exit_status = have ~= 0 and status or nil,
      exit_signal = (sig ~= nil and sig ~= "") and sig or nil,
    }
    r.ok = r.exit_status == 0
    return setmetatable(r, RunResult)
  end
end

---------------------------------------------------------------------------
-- xssh.connect
---------------------------------------------------------------------------
local POLICIES = {
  strict = core.XSSH_HOSTKEY_STRICT,
  accept_new = core.XSSH_HOSTKEY_ACCEPT_NEW,
  ["accept-new"] = core.XSSH_HOSTKEY_ACCEPT_NEW,
  off = core.XSSH_HOSTKEY_OFF,
}
M.HOSTKEY_POLICIES = POLICIES

-- "~/x" -> "$HOME/x" (paths given to connect)
local function expand_home(path)
  if type(path) == "string" and path:sub(1, 2) == "~/" and os.getenv("HOME") then
    return os.getenv("HOME") .. path:sub(2)
  end
  return path
end

-- one session: connect (directly or through `via`), verify, authenticate;
-- o holds checked options (host, port, user, key, known_hosts, policy, timeout_ms, ...)
local function connect_one(o, via)
  local s = core.Session()
  local ok, err = pcall(function()
    if o.policy ~= core.XSSH_HOSTKEY_OFF then
      -- like ssh: offer first the host-key algorithms of the key types known_hosts records
      s:prefer_known_hostkeys(o.host, o.port, o.known_hosts)
    end
    if via then
      s:connect_via(via, o.host, o.port, o.timeout_ms)
    else
      s:connect(o.host, o.port, o.timeout_ms)
    end
    s:verify_host(o.host, o.port, o.policy, o.known_hosts)
    if o.timeout_ms > 0 then s:set_timeout(o.timeout_ms) end
    if o.key ~= nil then
      s:userauth_publickey_fromfile(o.user, o.key, o.passphrase)
    elseif o.password ~= nil then
      s:userauth_password(o.user, o.password)
    elseif o.agent then
      s:agent_auth(o.user)
    end
  end)
  if not ok then
    s:close()
    error(err, 0)
  end
  return s
end

-- the checked options of one connection (level: for argument errors)
local function check_opts(opts, what, level)
  local host = opts.host
  if type(host) ~= "string" or host == "" then arg_error(what .. ": host is required", level + 1) end
  local port = opts.port or 22
  if math.type(port) ~= "integer" then arg_error(what .. ": port must be an integer", level + 1) end
  local policy = opts.host_key_policy or "strict"
  if type(policy) == "string" then
    policy = POLICIES[policy]
    if not policy then
      arg_error(what .. ": host_key_policy must be 'strict', 'accept_new' or 'off', not '"
        .. tostring(opts.host_key_policy) .. "'", level + 1)
    end
  elseif math.type(policy) ~= "integer" then
    arg_error(what .. ": host_key_policy must be a string", level + 1)
  end
  local timeout = opts.timeout
  if timeout == nil then timeout = 30 end
  if type(timeout) ~= "number" or timeout < 0 then arg_error(what .. ": timeout must be seconds >= 0", level + 1) end
  return {
    host = host, port = port, policy = policy, timeout_ms = math.floor(timeout * 1000),
    user = opts.user or os.getenv("USER") or os.getenv("LOGNAME"),
    key = expand_home(opts.key), known_hosts = expand_home(opts.known_hosts),
    passphrase = opts.passphrase, password = opts.password, agent = opts.agent,
  }
end

local HOP_KEYS = { host = true, port = true, user = true, key = true, passphrase = true, password = true,
                   agent = true, known_hosts = true, host_key_policy = true, timeout = true }

--- A ProxyJump hop as connect options: "[user@]host[:port]" ("[v6]:port" too),
-- {host, port} (a list) or a table of connect options ({host=, port=, key=, ...}).
function M.parse_hop(hop)
  local d = {}
  if type(hop) == "table" then
    if hop[1] ~= nil then
      d.host, d.port = hop[1], hop[2] and math.tointeger(tonumber(hop[2])) or nil
      if hop[2] ~= nil and d.port == nil then arg_error("proxy_jump: bad port in hop {" .. tostring(hop[1]) .. ", " .. tostring(hop[2]) .. "}", 2) end
    end
    for k, v in pairs(hop) do
      if type(k) == "string" then
        if not HOP_KEYS[k] then arg_error("proxy_jump: unknown hop option '" .. k .. "'", 2) end
        d[k] = v
      end
    end
    return d
  end
  if type(hop) ~= "string" then arg_error("proxy_jump: a hop must be a string or a table, not " .. type(hop), 2) end
  local text = hop
  local user, rest = text:match("^(.*)@([^@]*)$")
  if user then d.user, text = user, rest end
  local h6, p6 = text:match("^%[(.-)%]:?(%d*)$")
  if h6 then
    d.host = h6
    if p6 ~= "" then d.port = math.tointeger(tonumber(p6)) end
  else
    local h, p = text:match("^([^:]+):(%d+)$")
    if h then
      d.host, d.port = h, math.tointeger(tonumber(p))
    else
      d.host = text
    end
  end
  return d
end

--- Connect, verify the host key and authenticate; returns a Session.
-- xssh.connect{host=, port=22, user=$USER, key=path ("~/" expands), passphrase=, password=,
--              agent=false, known_hosts=path (default ~/.ssh/known_hosts),
--              host_key_policy="strict"|"accept_new"|"off", timeout=30 (seconds, 0 = none),
--              proxy_jump={hop1, hop2, ...}}
-- or xssh.connect(host, port, user, {key=..., ...}).
-- Tries key, then password, then the agent (agent=true). The Session has
-- __close: `local s <close> = xssh.connect{...}` disconnects at scope end.
-- proxy_jump: the hops to go through, first to last (OpenSSH's -J hop1,hop2),
-- each "[user@]host[:port]", {host, port} or a table of these same options; a
-- hop uses the target's credentials, known_hosts and policy unless its table
-- overrides them, and its host key is verified the same way. Every hop stays
-- alive (in C) as long as the returned session.
function M.connect(opts, port, user, more)
  if type(opts) == "string" then
    local t = {}
    for k, v in pairs(more or {}) do t[k] = v end
    t.host, t.port, t.user = opts, port or t.port, user or t.user
    opts = t
  end
  if type(opts) ~= "table" then arg_error("xssh.connect: expected a table of options or a host name", 2) end
  local target = check_opts(opts, "xssh.connect", 2)
  local hops = opts.proxy_jump
  if hops ~= nil and type(hops) ~= "table" then hops = { hops } end
  if type(hops) == "table" and (type(hops.host) == "string" or math.type(hops[2]) == "integer") then
    hops = { hops } -- a single hop given without the list
  end
  local hop_opts = {}
  for i, hop in ipairs(hops or {}) do
    local o = {}
    for _, k in ipairs({ "user", "key", "passphrase", "password", "agent", "known_hosts", "host_key_policy", "timeout" }) do
      o[k] = opts[k]
    end
    o.port = 22
    for k, v in pairs(M.parse_hop(hop)) do o[k] = v end
    hop_opts[i] = check_opts(o, "xssh.connect: proxy_jump hop " .. i, 2)
  end
  local sessions = {}
  local ok, res = pcall(function()
    local via = nil
    for _, o in ipairs(hop_opts) do
      via = connect_one(o, via)
      sessions[#sessions + 1] = via
    end
    return connect_one(target, via)
  end)
  if not ok then
    for i = #sessions, 1, -1 do pcall(sessions[i].close, sessions[i]) end
    error(res, 2)
  end
  return res
end

return M
