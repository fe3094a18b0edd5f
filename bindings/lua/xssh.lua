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
  -- there in non-blocking mode; 0 with "" at end of stream), as in ssh2-python
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

--- Connect, verify the host key and authenticate; returns a Session.
-- xssh.connect{host=, port=22, user=$USER, key=path ("~/" expands), passphrase=, password=,
--              agent=false, known_hosts=path (default ~/.ssh/known_hosts),
--              host_key_policy="strict"|"accept_new"|"off", timeout=30 (seconds, 0 = none)}
-- or xssh.connect(host, port, user, {key=..., ...}).
-- Tries key, then password, then the agent (agent=true). The Session has
-- __close: `local s <close> = xssh.connect{...}` disconnects at scope end.
function M.connect(opts, port, user, more)
  if type(opts) == "string" then
    local t = {}
    for k, v in pairs(more or {}) do t[k] = v end
    t.host, t.port, t.user = opts, port or t.port, user or t.user
    opts = t
  end
  if type(opts) ~= "table" then arg_error("xssh.connect: expected a table of options or a host name", 2) end
  local host = opts.host
  if type(host) ~= "string" or host == "" then arg_error("xssh.connect: host is required", 2) end
  local port = opts.port or 22
  if math.type(port) ~= "integer" then arg_error("xssh.connect: port must be an integer", 2) end
  local policy = opts.host_key_policy or "strict"
  if type(policy) == "string" then
    policy = POLICIES[policy]
    if not policy then
      arg_error("xssh.connect: host_key_policy must be 'strict', 'accept_new' or 'off', not '"
        .. tostring(opts.host_key_policy) .. "'", 2)
    end
  elseif math.type(policy) ~= "integer" then
    arg_error("xssh.connect: host_key_policy must be a string", 2)
  end
  local user = opts.user or os.getenv("USER") or os.getenv("LOGNAME")
  local timeout = opts.timeout
  if timeout == nil then timeout = 30 end
  if type(timeout) ~= "number" or timeout < 0 then arg_error("xssh.connect: timeout must be seconds >= 0", 2) end
  local timeout_ms = math.floor(timeout * 1000)
  local key, known_hosts = expand_home(opts.key), expand_home(opts.known_hosts)

  local s = core.Session()
  local ok, err = pcall(function()
    s:connect(host, port, timeout_ms)
    s:verify_host(host, port, policy, known_hosts)
    if timeout_ms > 0 then s:set_timeout(timeout_ms) end
    if key ~= nil then
      s:userauth_publickey_fromfile(user, key, opts.passphrase)
    elseif opts.password ~= nil then
      s:userauth_password(user, opts.password)
    elseif opts.agent then
      s:agent_auth(user)
    end
  end)
  if not ok then
    s:close()
    error(err, 2)
  end
  return s
end

return M
