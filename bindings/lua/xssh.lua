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

-- the closest name in the set (keys) to name (for "did you mean"), within 2 edits
local function closest_in(set, name)
  local best, bestd = nil, 3
  for k in pairs(set) do
    local a, b = name, k
    local prev = {}
    for j = 0, #b do prev[j] = j end
    for i = 1, #a do
      local cur = { [0] = i }
      for j = 1, #b do
        cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a:sub(i, i) == b:sub(j, j) and 0 or 1))
      end
      prev = cur
    end
    if prev[#b] < bestd or (prev[#b] == bestd and best and k < best) then best, bestd = k, prev[#b] end
  end
  return best
end

-- every key of the options table opts must be in the set allowed (name = true):
-- else an InvalidArgumentError "fname: unknown option 'x' (did you mean 'y'?)"
-- at level (counted from the caller of check_options)
local function check_options(fname, opts, allowed, level)
  for k in pairs(opts) do
    if type(k) ~= "string" or not allowed[k] then
      local hint = type(k) == "string" and closest_in(allowed, k)
      arg_error(string.format("%s: unknown option '%s'%s", fname, tostring(k),
                              hint and (" (did you mean '" .. hint .. "'?)") or ""), (level or 1) + 1)
    end
  end
end

-- hosts must be a sequence (keys 1..n, no holes): else an InvalidArgumentError naming fname
local function check_sequence(fname, name, t, level)
  local top = 0
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 then
      arg_error(string.format("%s: %s must be a list (keys 1..n), not a table with key %s", fname, name,
                              type(k) == "string" and ("'" .. k .. "'") or tostring(k)), (level or 1) + 1)
    end
    if k > top then top = k end
  end
  for i = 1, top do
    if t[i] == nil then
      arg_error(string.format("%s: %s must be a list without holes: %s[%d] is nil but %s[%d] is set", fname, name,
                              name, i, name, top), (level or 1) + 1)
    end
  end
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
local TRANSFER_BASIC = { progress = true, atomic = true, mode = true }
local TRANSFER_CHUNK = { progress = true, atomic = true, mode = true, chunk_size = true }
local TRANSFER_SFTP = { progress = true, atomic = true, mode = true, chunk_size = true, resume = true,
  max_in_flight = true, channels = true }
local TREE_KEYS = { progress = true, preserve = true, symlinks = true, files_in_flight = true, atomic = true,
  chunk_size = true, mode = true, resume = true }
local function transfer(orig, with_chunk, fname)
  if not orig then return nil end
  local allowed = with_chunk == "sftp" and TRANSFER_SFTP or with_chunk and TRANSFER_CHUNK or TRANSFER_BASIC
  return function(self, a, b, opts)
    opts = opts or {}
    if type(opts) ~= "table" then arg_error(fname .. ": transfer options must be a table", 2) end
    check_options(fname, opts, allowed, 2)
    if with_chunk == "sftp" then
      return orig(self, opts.progress, a, b, opts.atomic and 1 or 0, opts.chunk_size or 0, opts.mode or 0,
                  opts.resume and 1 or 0, opts.max_in_flight or 0, opts.channels or 0)
    end
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
  fn.scp_get = transfer(fn.scp_get, true, "Session:scp_get")
  --- s:scp_put(local, remote [, opts]) -> bytes copied
  fn.scp_put = transfer(fn.scp_put, true, "Session:scp_put")
end

fn = methods("SFTP")
if fn then
  --- sftp:get(remote, local [, {progress=function(done, total) end, atomic=, chunk_size=, mode=,
  -- resume=, max_in_flight=}]) -> bytes copied; progress returning true cancels (CancelledError),
  -- an error it raises cancels and is re-raised by get; total is nil when unknown
  fn.get = transfer(fn.get, "sftp", "SFTP:get")
  --- sftp:put(local, remote [, opts]) -> bytes copied; opts also channels= (parallel SFTP channels)
  fn.put = transfer(fn.put, "sftp", "SFTP:put")
  local get_buffer, put_buffer = fn.get_buffer, fn.put_buffer
  --- sftp:get_buffer(remote [, {progress=}]) -> the whole file as a string (alias get_bytes)
  if get_buffer then
    fn.get_buffer = function(self, remote, opts)
      opts = opts or {}
      if type(opts) ~= "table" then arg_error("SFTP:get_buffer: options must be a table", 2) end
      check_options("SFTP:get_buffer", opts, { progress = true }, 2)
      return get_buffer(self, opts.progress, remote)
    end
    fn.get_bytes = fn.get_buffer
  end
  --- sftp:put_buffer(data, remote [, {progress=, atomic=, mode=}]) -> bytes written (alias put_bytes)
  fn.put_buffer = transfer(put_buffer, false, "SFTP:put_buffer")
  fn.put_bytes = fn.put_buffer
  -- directory trees: the generated calls take the progress function first and
  -- return (files, directories, symlinks, bytes)
  local symlink_modes = {follow = M.SYMLINKS_FOLLOW, copy = M.SYMLINKS_COPY, skip = M.SYMLINKS_SKIP}
  local function tree(orig, fname)
    if not orig then return nil end
    return function(self, a, b, opts)
      opts = opts or {}
      if type(opts) ~= "table" then arg_error(fname .. ": tree options must be a table", 2) end
      check_options(fname, opts, TREE_KEYS, 2)
      local sl = opts.symlinks or 0
      if type(sl) == "string" then
        sl = symlink_modes[sl]
        if not sl then arg_error("symlinks must be \"follow\", \"copy\", \"skip\" or an xssh.SYMLINKS_* number", 2) end
      end
      local files, dirs, links, bytes = orig(self, opts.progress, a, b, opts.preserve and 1 or 0, sl,
        opts.files_in_flight or 0, opts.atomic and 1 or 0, opts.chunk_size or 0, opts.mode or 0,
        opts.resume and 1 or 0)
      return {files = files, directories = dirs, symlinks = links, bytes = bytes}
    end
  end
  --- sftp:put_tree(local_dir, remote_dir [, {progress=function(p) end, preserve=, symlinks=,
  -- files_in_flight=, atomic=, chunk_size=, mode=, resume=}]) -> {files=, directories=, symlinks=, bytes=}
  -- Uploads a directory tree (remote_dir created when missing, merged into otherwise), several
  -- files at once (files_in_flight, 0: 8). preserve: copy permission bits and times. symlinks:
  -- "follow" (default: what a link points to; a directory is entered once, so loops end),
  -- "copy" (the link itself) or "skip". atomic/chunk_size/mode/resume: per-file options as in
  -- put. progress(p) gets a table {files_done, files_total, bytes_done, bytes_total, path,
  -- file_done, file_total} (path relative to the tree) when each file starts, as it goes and
  -- when it is done; returning true cancels (CancelledError), an error it raises cancels and
  -- is re-raised. Errors name the path concerned.
  fn.put_tree = tree(fn.put_tree, "SFTP:put_tree")
  --- sftp:get_tree(remote_dir, local_dir [, opts]) -> {files=, directories=, symlinks=, bytes=}
  -- Downloads a remote tree (local_dir created when missing); options as put_tree. Names the
  -- server lists are checked: "." and ".." skipped, an empty name or one holding "/" refused.
  fn.get_tree = tree(fn.get_tree, "SFTP:get_tree")
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
  local RUN_KEYS = { stdin = true, timeout = true, idle_timeout = true, merge_stderr = true, pty = true }
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
    check_options("Session:run", opts, RUN_KEYS, 2)
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
-- xssh.connect: one mapping of a Lua table onto the C xssh_connect
---------------------------------------------------------------------------
local POLICIES = {
  strict = core.XSSH_HOSTKEY_STRICT,
  accept_new = core.XSSH_HOSTKEY_ACCEPT_NEW,
  ["accept-new"] = core.XSSH_HOSTKEY_ACCEPT_NEW,
  off = core.XSSH_HOSTKEY_OFF,
}
M.HOSTKEY_POLICIES = POLICIES

-- the options xssh.connect takes, each a function(o, value, set) mapping it onto ssh_config keywords
local CONNECT = {}
local function typed(name, want, v)
  local ok = (want == "integer" and math.type(v) == "integer") or (want ~= "integer" and type(v) == want)
  if not ok then arg_error(string.format("xssh.connect: %s must be a%s %s, not %s", name,
                                         want == "integer" and "n" or "", want, type(v)), 4) end
  return v
end
-- a path as one literal ssh_config word: quoted when it holds a space, "%" doubled
-- where ssh expands %-tokens (IdentityFile, UserKnownHostsFile, IdentityAgent)
local function path_word(name, v, tokens)
  typed(name, "string", v)
  if tokens ~= false then v = v:gsub("%%", "%%%%") end
  return v:find("[ \t]") and ('"' .. v .. '"') or v
end
CONNECT.host = function() end -- the first argument
CONNECT.config = function(v, set) set("ConfigFile", path_word("config", v, false)) end
CONNECT.port = function(v, set) set("Port", tostring(typed("port", "integer", v))) end
CONNECT.user = function(v, set) set("User", typed("user", "string", v)) end
CONNECT.key = function(v, set)
  if type(v) == "table" then
    for _, k in ipairs(v) do set("IdentityFile", path_word("key", k)) end
  else
    set("IdentityFile", path_word("key", v))
  end
end
CONNECT.passphrase = function(v, set) set("Passphrase", typed("passphrase", "string", v)) end
CONNECT.password = function(v, set) set("Password", typed("password", "string", v)) end
CONNECT.agent = function(v, set)
  if v == false then set("IdentityAgent", "none")
  elseif type(v) == "string" then set("IdentityAgent", path_word("agent", v))
  elseif v ~= true then typed("agent", "boolean", v) end
end
CONNECT.known_hosts = function(v, set, t)
  if t.host_key_policy ~= "off" and t.host_key_policy ~= core.XSSH_HOSTKEY_OFF then
    local files = {}
    for i, f in ipairs(type(v) == "table" and v or { v }) do files[i] = path_word("known_hosts", f) end
    set("UserKnownHostsFile", table.concat(files, " "))
  end
end
CONNECT.host_key_policy = function(v, set)
  local p = type(v) == "string" and POLICIES[v] or (math.type(v) == "integer" and v) or nil
  if p == nil then
    arg_error("xssh.connect: host_key_policy must be 'strict', 'accept_new' or 'off', not '" .. tostring(v) .. "'", 3)
  end
  if p == core.XSSH_HOSTKEY_OFF then -- no verification: nothing read, nothing learnt
    set("StrictHostKeyChecking", "no")
    set("UserKnownHostsFile", "/dev/null")
    set("GlobalKnownHostsFile", "/dev/null")
  else
    set("StrictHostKeyChecking", p == core.XSSH_HOSTKEY_ACCEPT_NEW and "accept-new" or "yes")
  end
end
CONNECT.timeout = function(v, set)
  if type(v) ~= "number" or v < 0 then arg_error("xssh.connect: timeout must be seconds >= 0", 3) end
  if v > 0 then set("ConnectTimeout", tostring(math.ceil(v))) end
  set("Timeout", tostring(v))
end
-- proxy_jump: "hop1,hop2", or a list of "[user@]host[:port]", {host, port} or {host=, port=, user=}
local HOP_KEYS = { host = true, port = true, user = true }
local function hop_text(hop)
  if type(hop) == "string" then return hop end
  if type(hop) ~= "table" then arg_error("xssh.connect: proxy_jump: a hop must be a string or a table, not " .. type(hop), 4) end
  local host, port, user = hop.host or hop[1], hop.port or hop[2], hop.user
  for k in pairs(hop) do
    if type(k) == "string" and not HOP_KEYS[k] then
      arg_error("xssh.connect: proxy_jump: unknown hop option '" .. k .. "' (a hop is {host=, port=, user=}; "
        .. "its other options come from ~/.ssh/config Host blocks)", 4)
    end
  end
  if type(host) ~= "string" or host == "" then arg_error("xssh.connect: proxy_jump: a hop needs a host", 4) end
  if port ~= nil and math.tointeger(tonumber(port)) == nil then
    arg_error("xssh.connect: proxy_jump: bad port in hop '" .. host .. "'", 4)
  end
  return (user and (user .. "@") or "") .. host .. (port and (":" .. math.tointeger(tonumber(port))) or "")
end
CONNECT.proxy_jump = function(v, set)
  local hops = v
  if type(v) ~= "table" or v.host ~= nil or math.type(v[2]) == "integer" then hops = { v } end
  local texts = {}
  for i, hop in ipairs(hops) do texts[i] = hop_text(hop) end
  set("ProxyJump", table.concat(texts, ","))
end
-- any other ssh_config keyword: {Compression = true, ServerAliveInterval = 15, IdentityFile = {"a", "b"}}
CONNECT.options = function(v, set)
  if type(v) ~= "table" then arg_error("xssh.connect: options must be a table of ssh_config keywords", 3) end
  for name, value in pairs(v) do
    local list = type(value) == "table" and value or { value }
    for _, x in ipairs(list) do
      set(tostring(name), x == true and "yes" or x == false and "no" or tostring(x))
    end
  end
end
CONNECT.passphrase_callback = function() end -- set on the Options below
CONNECT.prompt_callback = function() end

-- the closest known option name (for "did you mean"), within 2 edits
local function closest(name) return closest_in(CONNECT, name) end

-- connect's options (a table) mapped onto a new Options; shared by xssh.connect
-- and xssh.run_many/put_many/get_many
local function connect_options(opts)
  local o = core.Options()
  local function set(name, value) o:set(name, value) end
  -- a fixed order: the explicit keywords first, then options = {...}
  for _, k in ipairs({ "config", "port", "user", "key", "passphrase", "password", "agent", "host_key_policy",
                       "known_hosts", "timeout", "proxy_jump", "options" }) do
    if opts[k] ~= nil then CONNECT[k](opts[k], set, opts) end
  end
  for _, k in ipairs({ "passphrase_callback", "prompt_callback" }) do
    local f = opts[k]
    if f ~= nil and type(f) ~= "function" then arg_error("xssh.connect: " .. k .. " must be a function", 2) end
  end
  if opts.passphrase_callback then o:set_passphrase_callback(opts.passphrase_callback) end
  if opts.prompt_callback then o:set_prompt_callback(opts.prompt_callback) end
  return o
end

--- Connect the way OpenSSH's ssh does and return an authenticated Session
-- (the C xssh_connect, capi/include/xssh/connect.h): ~/.ssh/config (then
-- /etc/ssh/ssh_config), Host aliases, ProxyJump, known_hosts under
-- StrictHostKeyChecking, authentication by the agent, the IdentityFiles or the
-- default keys, then keyboard-interactive/password with a password or prompt_callback.
--   xssh.connect("myhost")                          -- as `ssh myhost`
--   xssh.connect{host = "h", user = "me", key = "~/.ssh/id_ed25519", options = {Compression = true}}
--   xssh.connect(host, port, user, {key = ..., ...})
-- Each option is one ssh_config(5) keyword given explicitly (it wins over the
-- files, as `ssh -o`): port (Port), user (User), key (IdentityFile: a path or
-- a list), passphrase, password, agent (nil: ssh's default $SSH_AUTH_SOCK;
-- false: IdentityAgent none; a string: the agent's socket), known_hosts
-- (UserKnownHostsFile: a path or a list), host_key_policy ("strict" = StrictHostKeyChecking yes,
-- "accept_new", "off": no verification at all), timeout (seconds: ConnectTimeout
-- and the session timeout of later calls), proxy_jump (ProxyJump: "hop1,hop2"
-- or a list of "[user@]host[:port]", {host, port}, {host=, port=, user=}),
-- config (ConfigFile: a path or "none"), options (any other keyword = value;
-- true/false are yes/no, a list gives the keyword once per value),
-- passphrase_callback = function(keyfile) return "secret" or nil end,
-- prompt_callback = function(name, instruction, prompt, echo) return answer or nil end
-- (an error either raises is raised by connect). An unknown option name is an
-- InvalidArgumentError ("did you mean ...?"). The Session has __close:
-- `local s <close> = xssh.connect{...}` disconnects at scope end.
local function connect_args(opts, port, user, more)
  if type(opts) == "string" then
    local t = {}
    if more ~= nil and type(more) ~= "table" then arg_error("xssh.connect: the 4th argument must be a table of options", 2) end
    for k, v in pairs(more or {}) do t[k] = v end
    t.host, t.port, t.user = opts, port or t.port, user or t.user
    opts = t
  end
  if type(opts) ~= "table" then arg_error("xssh.connect: expected a table of options or a host name", 2) end
  for k in pairs(opts) do
    if type(k) ~= "string" or not CONNECT[k] then
      local hint = type(k) == "string" and closest(k)
      arg_error(string.format("xssh.connect: unknown option '%s'%s", tostring(k),
                              hint and (" (did you mean '" .. hint .. "'?)") or ""), 2)
    end
  end
  local host = opts.host
  if type(host) ~= "string" or host == "" then arg_error("xssh.connect: host is required", 2) end
  return host, connect_options(opts), opts
end
function M.connect(opts, port, user, more)
  local host, o = connect_args(opts, port, user, more)
  return core.connect(host, o)
end
-- connect's argument forms -> host, Options, the options table (xssh.async.connect)
M._connect_args = connect_args

--- What applies to host, as `ssh -G host` prints it: {port = "22", ...} (keywords
-- in lower case; one given several times maps to a list). opts: config=, options={...}.
function M.resolve(host, opts)
  opts = opts or {}
  local o = core.Options()
  local function set(name, value) o:set(name, value) end
  if opts.config ~= nil then CONNECT.config(opts.config, set) end
  if opts.options ~= nil then CONNECT.options(opts.options, set) end
  local t = {}
  for line in o:resolve(host):gmatch("[^\n]+") do
    local k, v = line:match("^(%S+)%s?(.*)$")
    if k then
      if t[k] == nil then t[k] = v
      elseif type(t[k]) == "table" then t[k][#t[k] + 1] = v
      else t[k] = { t[k], v } end
    end
  end
  return t
end

---------------------------------------------------------------------------
-- logging
---------------------------------------------------------------------------
M.LOG_LEVELS = { none = 0, error = 1, warning = 2, info = 3, debug = 4, trace = 5 }

--- xssh.set_logger(function(level, host, message) end [, level]): xssh's
-- records (configuration applied, authentication attempts, host-key checks,
-- keepalives; never a secret) up to level (a number xssh.LOG_* or a name
-- "error", "warning", "info", "debug", "trace"; default "info") go to the
-- function; level is a number (xssh.LOG_ERROR .. xssh.LOG_TRACE), host the
-- connection's host ("" when none). nil silences (the default). Records made
-- while a call of this module runs on this Lua state are delivered at once;
-- those of xssh's own threads (forward servers) at the end of the next call
-- (or xssh.log_flush()): a Lua state is never touched from another thread.
function M.set_logger(fn, level)
  if fn ~= nil and type(fn) ~= "function" then
    error("xssh.set_logger: bad argument #1 'fn' (function or nil expected, got " .. type(fn) .. ")", 2)
  end
  local lv = level == nil and 3 or M.LOG_LEVELS[level] or math.tointeger(level)
  if lv == nil or lv < 0 or lv > 5 then
    error("xssh.set_logger: bad argument #2 'level' (level name or 0..5 expected, got " .. tostring(level) .. ")", 2)
  end
  core.log_set(fn, fn and lv or 0)
end
M.log_flush = core.log_flush

---------------------------------------------------------------------------
-- many hosts from one thread (docs/run_many.md): xssh.run_many, put_many,
-- get_many over the C multi interface (xssh.Multi; the loop is C's
-- Multi:perform_all, this code maps arguments and results)
---------------------------------------------------------------------------
local MultiResult = {}
MultiResult.__index = MultiResult
MultiResult.__name = "xssh.MultiResult"
function MultiResult.__tostring(r)
  if r.error then
    return string.format("xssh.MultiResult: %s failed in %s: %s", tostring(r.host), r.phase, tostring(r.error.message))
  end
  return string.format("xssh.MultiResult: %s exit_status=%s exit_signal=%s stdout=%d bytes stderr=%d bytes",
    tostring(r.host), tostring(r.exit_status), tostring(r.exit_signal), #r.stdout, #r.stderr)
end
M.MultiResult = MultiResult

-- the error object of a code and message (its class from the C error table)
local function error_for(code, message, sftp_status)
  local e = core.error_object(code)
  if message ~= nil and message ~= "" then e.message = message end
  -- an SFTP failure: the server's status, as the blocking calls' errors have it
  if sftp_status and sftp_status ~= 0 then e.sftp_status = sftp_status end
  return e
end

do
  -- (re)defined on every load: definitions over the generated methods
  local mmt = core._class_metatable("Multi")
  local fm = mmt[".fn"]
  mmt[".xssh_info_read"] = mmt[".xssh_info_read"] or fm.info_read -- the generated one, kept across reloads
  local info_read = mmt[".xssh_info_read"]
  --- The next finished op not reported yet (completion order), or nil.
  function fm.info_read(self)
    local op = info_read(self)
    if math.type(op) == "integer" then return nil end
    return op
  end
  --- Pull form: {{fd, events}, ...}, timeout_ms (while an op runs, the last entry is the
  -- multi's wake-up descriptor: an eventfd to watch for reading, never to read or close).
  function fm.fds(self)
    local v = table.pack(self:fds_swig())
    local t = {}
    for i = 2, v.n - 1, 2 do t[#t + 1] = { v[i], v[i + 1] } end
    return t, v[1]
  end
  local fo = core._class_metatable("MultiOp")[".fn"]
  --- The result table of a done op: {host=, ok=, exit_status=, exit_signal=, stdout=,
  -- stderr=, stdout_truncated=, stderr_truncated=, error= (error object or nil),
  -- phase= ("resolve" .. "disconnect", "none"), transferred= (bytes), duration= (seconds)}.
  function fo.result(self)
    local code, phase, message, host, have, status, sig, out, out_tr, err, err_tr, nbytes, dur, sftp_st = self:result_swig()
    local r = {
      host = host,
      exit_status = have ~= 0 and status or nil,
      exit_signal = (sig ~= nil and sig ~= "") and sig or nil,
      stdout = out, stderr = err,
      stdout_truncated = out_tr ~= 0, stderr_truncated = err_tr ~= 0,
      error = code ~= 0 and error_for(code, message, sftp_st) or nil,
      phase = core.phase_name(phase),
      transferred = nbytes, duration = dur / 1000,
    }
    r.ok = r.error == nil and (r.exit_status == nil or r.exit_status == 0) and r.exit_signal == nil
    return setmetatable(r, MultiResult)
  end
  --- The entries of a done listdir op: a list of {name, longentry, attrs} (also as the fields
  -- name=, longentry=, attrs=), the values of SFTPHandle:readdir_next; "." and ".." left out.
  function fo.entries(self)
    local t = {}
    for i = 0, self:entries_count_swig() - 1 do
      local name, longentry, attrs = self:entry_swig(i)
      t[#t + 1] = { name, longentry, attrs, name = name, longentry = longentry, attrs = attrs }
    end
    return t
  end
end

-- keys of a per-host table (besides host): connect's, the callbacks and the session timeout excepted
local MANY_HOST_KEYS = { port = true, user = true, key = true, passphrase = true, password = true, agent = true,
  known_hosts = true, host_key_policy = true, proxy_jump = true, config = true, options = true }
-- keys of run_many's / put_many's / get_many's options table
local MANY_KEYS = { parallelism = true, connect_timeout = true, auth_timeout = true, timeout = true,
  idle_timeout = true, stdin = true, pty = true, merge_stderr = true, max_output = true, on_output = true,
  recursive = true }
for k in pairs(MANY_HOST_KEYS) do MANY_KEYS[k] = true end

-- connect_options with errors naming fname
local function many_options(fname, t)
  local ok, o = pcall(connect_options, t)
  if ok then return o end
  if type(o) == "table" and type(o.message) == "string" then
    o.message = o.message:gsub("^xssh%.connect", fname, 1)
  end
  error(o, 0)
end

local function many_hosts(fname, hosts, opts)
  if type(hosts) ~= "table" then arg_error(fname .. ": hosts must be a list of host strings or tables", 3) end
  check_sequence(fname, "hosts", hosts, 3)
  local defaults = {}
  for k in pairs(MANY_HOST_KEYS) do defaults[k] = opts[k] end
  local out, shared = {}, nil
  for i, h in ipairs(hosts) do
    if type(h) == "string" then
      shared = shared or many_options(fname, defaults)
      out[i] = { h, shared }
    elseif type(h) == "table" then
      if type(h.host) ~= "string" then arg_error(string.format("%s: hosts[%d].host must be a string", fname, i), 3) end
      local t = {}
      for k, v in pairs(defaults) do t[k] = v end
      for k, v in pairs(h) do
        if k ~= "host" then
          if not MANY_HOST_KEYS[k] then
            local hint = type(k) == "string" and closest_in(MANY_HOST_KEYS, k)
            arg_error(string.format("%s: hosts[%d]: unknown option '%s'%s", fname, i, tostring(k),
                                    hint and (" (did you mean '" .. hint .. "'?)") or ""), 3)
          end
          t[k] = v
        end
      end
      out[i] = { h.host, many_options(string.format("%s: hosts[%d]", fname, i), t) }
    else
      arg_error(string.format("%s: hosts[%d] must be a host string or a table, not %s", fname, i, type(h)), 3)
    end
  end
  return out
end

local function many_ms(fname, name, v)
  if v == nil then return 0 end
  if type(v) ~= "number" or v ~= v or v <= 0 or v == math.huge then
    arg_error(string.format("%s: %s must be a number of seconds > 0 or nil", fname, name), 4)
  end
  return math.max(1, math.ceil(v * 1000))
end

local function many_setup(fname, opts, line_mode)
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then arg_error(fname .. ": options must be a table", 3) end
  check_options(fname, opts, MANY_KEYS, 3)
  local mo = opts.max_output
  if mo ~= nil and (math.type(mo) ~= "integer" or mo <= 0) then
    arg_error(fname .. ": max_output must be an integer > 0 or nil", 3)
  end
  if opts.stdin ~= nil and type(opts.stdin) ~= "string" then arg_error(fname .. ": stdin must be a string or nil", 3) end
  local o = core.multi_op_options(many_ms(fname, "connect_timeout", opts.connect_timeout),
    many_ms(fname, "auth_timeout", opts.auth_timeout), many_ms(fname, "timeout", opts.timeout),
    many_ms(fname, "idle_timeout", opts.idle_timeout), opts.merge_stderr and 1 or 0, opts.pty and 1 or 0, mo or 0,
    line_mode and 1 or 0, opts.recursive and 1 or 0, opts.stdin)
  local par = opts.parallelism == nil and 64 or opts.parallelism
  if math.type(par) ~= "integer" or par < 0 then
    arg_error(fname .. ": parallelism must be an integer >= 0 (0: no limit)", 3)
  end
  local m = core.Multi()
  m:set_max_running(par)
  return m, o, opts
end

-- after Ctrl-C (or any error) in the drive: how long the cancelled hosts may take to
-- clean up (a command's channel closed, a put's remote temporary file removed), ms
local CANCEL_DRIVE_MS = 5000

local function many_results(m, ops)
  local ok, err = pcall(m.perform_all, m)
  if not ok then
    -- Ctrl-C ("interrupted!"): every host still going is cancelled and driven to its
    -- end (bounded), so what each leaves behind is cleaned up before the error goes on
    for _, op in ipairs(ops) do op:cancel() end
    pcall(m.perform_all, m, CANCEL_DRIVE_MS)
    error(err, 0)
  end
  local rs = {}
  for i, op in ipairs(ops) do rs[i] = op:result() end
  return rs
end

--- xssh.run_many(hosts, command [, opts]): run command on every host concurrently
-- from this thread; a list of result tables (see MultiOp:result), one per host in
-- the order given. hosts: host strings ("host", "user@host:port", a ~/.ssh/config
-- Host alias) and/or tables {host=, plus any of connect's options: port, user, key,
-- passphrase, password, agent, known_hosts, host_key_policy, proxy_jump, config,
-- options} (a table's keys win over opts). opts: parallelism (at most this many at
-- once; 0: no limit; default 64), connect_timeout, auth_timeout, timeout (the
-- command), idle_timeout (seconds), stdin, pty, merge_stderr, max_output (bytes
-- kept per stream; default 1 MiB), on_output = function(host, stream, data) (whole
-- lines as they arrive; stream "stdout"/"stderr"; output then not kept; returning
-- true cancels that host), and connect's options for every host. Each host's
-- failure is in its result; run_many raises for wrong arguments or what on_output
-- raised: that host is cancelled (its result's error is what was raised), the
-- other hosts run to their end, then the first such error is raised (a table
-- error gets the results list as its field results).
function M.run_many(hosts, command, opts)
  local fname = "xssh.run_many"
  if type(command) ~= "string" then arg_error(fname .. ": command must be a string", 2) end
  if opts ~= nil and type(opts) ~= "table" then arg_error(fname .. ": options must be a table", 2) end
  local on_output = opts and opts.on_output
  if on_output ~= nil and type(on_output) ~= "function" then
    arg_error(fname .. ": on_output must be a function(host, stream, data) or nil", 2)
  end
  local m, o, t = many_setup(fname, opts, on_output ~= nil)
  local specs = many_hosts(fname, hosts, t)
  local ops = {}
  local raised = {} -- {index, error} in the order on_output raised them
  for i, spec in ipairs(specs) do
    local host = spec[1]
    local cb = on_output and function(_, stream, data)
      local ok, r = pcall(on_output, host, stream == core.XSSH_STREAM_STDERR and "stderr" or "stdout", data)
      if ok then return r end
      -- Ctrl-C (lua.c's hook raising "interrupted!") stops every host
      if type(r) == "string" and r:find("interrupted!$") then error(r, 0) end
      raised[#raised + 1] = { i, r } -- that host is cancelled, the others go on
      return true
    end
    ops[i] = m:add_host_run(host, spec[2], command, o, cb)
  end
  local rs = many_results(m, ops)
  if #raised == 0 then return rs end
  for _, x in ipairs(raised) do
    rs[x[1]].error, rs[x[1]].ok = x[2], false
  end
  local first = raised[1][2]
  if type(first) == "table" and first.results == nil then first.results = rs end
  error(first, 0)
end

--- xssh.put_many(hosts, local, remote [, opts]): upload the local file (opts.recursive:
-- a directory tree) to remote on every host over SFTP, concurrently; a list of result
-- tables (transferred: bytes sent). hosts and opts as run_many (timeout: seconds per transfer).
function M.put_many(hosts, lpath, rpath, opts)
  local fname = "xssh.put_many"
  if type(lpath) ~= "string" then arg_error(fname .. ": local must be a path string", 2) end
  if type(rpath) ~= "string" then arg_error(fname .. ": remote must be a path string", 2) end
  local m, o, t = many_setup(fname, opts, false)
  local ops = {}
  for i, spec in ipairs(many_hosts(fname, hosts, t)) do ops[i] = m:add_host_put(spec[1], spec[2], lpath, rpath, o) end
  return many_results(m, ops)
end

-- the per-host directory name of get_many: the host string as given, "/" made "_"
local function host_dir(host)
  local name = host:gsub("[/%z]", "_")
  if name == "" or name == "." or name == ".." then name = "_" .. name end
  return name
end

--- xssh.get_many(hosts, remote, local_dir [, opts]): download remote (opts.recursive:
-- a tree) from every host over SFTP, concurrently, each host's copy to
-- local_dir/<host>/<basename of remote> (like pssh's pslurp; <host> is the host
-- string as given, "/" made "_"; the directories are created). A list of result
-- tables (transferred: bytes received). Give each host once: the same string writes the same file.
function M.get_many(hosts, rpath, local_dir, opts)
  local fname = "xssh.get_many"
  if type(rpath) ~= "string" then arg_error(fname .. ": remote must be a path string", 2) end
  if type(local_dir) ~= "string" then arg_error(fname .. ": local_dir must be a path string", 2) end
  local m, o, t = many_setup(fname, opts, false)
  local base = rpath:gsub("/+$", ""):match("([^/]*)$")
  if base == nil or base == "" then base = "root" end
  local ops = {}
  for i, spec in ipairs(many_hosts(fname, hosts, t)) do
    local dir = local_dir .. "/" .. host_dir(spec[1])
    core.mkdir_p(dir)
    ops[i] = m:add_host_get(spec[1], spec[2], rpath, dir .. "/" .. base, o)
  end
  return many_results(m, ops)
end

return M
