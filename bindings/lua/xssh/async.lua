-- SPDX-License-Identifier: BSD-3-Clause
-- (plain "--" comments: scripts/gen-api-docs.py reads "---" blocks as functions of the xssh module)
--
-- xssh.async: connect, run, streamed output, SFTP start-up/get/put/listing and
-- local port forwarding as coroutine calls over the C multi interface
-- (capi/include/xssh/multi.h; docs/async-lua-ruby.md).
--
-- Called inside a coroutine driven by an adapter (xssh.luv), each call makes a
-- Multi holding its one op and, instead of blocking, yields what the op waits
-- for. The yield protocol (what an adapter implements):
--
--   one socket (or none):
--     coroutine.yield(xssh.async.WAIT, fd, events, timeout_ms)
--       fd: the socket (-1: none), events: xssh.POLL_IN/POLL_OUT bits,
--       timeout_ms: when the op's timer is due (-1: none). Resume with the
--       events that became ready on fd (0: the timer ran out).
--   several sockets at once (a forward's listener, connections and session; a
--   ProxyJump chain):
--     coroutine.yield(xssh.async.WAIT, fd1, events1, timeout_ms, fds)
--       the first four values as above (the first socket), fds = the list of
--       every socket {{fd1, events1}, {fd2, events2}, ...}. An adapter that
--       knows the fifth value waits on all of them at once and resumes with
--       (ready1, ready): ready1 the events of fd1 (0: none), ready a table
--       {[fd] = events} of the sockets that became ready (empty: the timer ran
--       out). An adapter that ignores it resumes with one integer (fd1's
--       events): the call then waits on the other sockets one after the other
--       (fd2 ... with timeout 0), as before this form existed.
--
-- Any event loop can drive these coroutines; xssh.luv is the adapter for luv
-- (libuv). Outside a coroutine (or in one that cannot yield) the calls block,
-- driving the multi with Multi:perform_all / Multi:wait.
--
-- Cancellation: closing the coroutine (coroutine.close, what an adapter's
-- task:cancel() does) runs a to-be-closed guard that cancels the op
-- (xssh_multi_op_cancel) and drives the cancellation to its end (at most
-- CANCEL_DRIVE_MS, blocking): a command's channel is closed, a transfer's
-- temporary file removed, the session stays usable; a cancelled connect leaves
-- no session. A coroutine merely dropped without closing is cancelled when the
-- garbage collector frees its Multi (xssh_multi_unref cancels what is left).
local xssh = require("xssh")
local core = xssh.core or require("xssh_core")

local M = {}
M.WAIT = setmetatable({}, { __name = "xssh.async.WAIT", __tostring = function() return "xssh.async.WAIT" end })
M.CANCEL_DRIVE_MS = 5000

local SOCKET_TIMEOUT, OP_DONE = core.XSSH_SOCKET_TIMEOUT, core.XSSH_OP_DONE
-- xssh_multi_op_opts.max_output without a limit: XSSH_MULTI_OUTPUT_ALL = (size_t)-1
-- (the binding converts the Lua integer -1 to that size_t)
local OUTPUT_ALL = core.XSSH_MULTI_OUTPUT_ALL or -1
local STDOUT, STDERR = core.XSSH_STREAM_STDOUT or 0, core.XSSH_STREAM_STDERR or 1

local function in_coroutine()
  local _, main = coroutine.running()
  return not main and coroutine.isyieldable()
end
M.in_coroutine = in_coroutine

local function arg_error(message, level)
  local e = core.error_object(core.XSSH_EARG)
  e.message = message
  error(e, level + 1)
end

-- cancel op (when not done) and drive the cancellation to its end, blocking
local function cancel_op(m, op)
  if op:state() ~= OP_DONE then
    op:cancel()
    m:perform_all(M.CANCEL_DRIVE_MS)
  end
end

-- a to-be-closed value cancelling op when the coroutine is closed (or an error
-- is raised) while it waits; g.armed = false before a normal return that
-- leaves the op running
local function guard(m, op)
  return setmetatable({ armed = true }, { __close = function(g) if g.armed then cancel_op(m, op) end end })
end

-- One wait of m's ops inside a coroutine: yield what they wait for (the
-- protocol above), hand the readiness to m.
local function wait_once(m)
  local fds, ms = m:fds()
  if #fds <= 1 then
    local fd, ev = -1, 0
    if fds[1] then fd, ev = fds[1][1], fds[1][2] end
    local ready = coroutine.yield(M.WAIT, fd, ev, ms)
    if fd >= 0 and math.type(ready) == "integer" and ready ~= 0 then
      m:socket_action(fd, ready)
    else
      m:socket_action(SOCKET_TIMEOUT, 0)
    end
    return
  end
  local ready1, ready = coroutine.yield(M.WAIT, fds[1][1], fds[1][2], ms, fds)
  if type(ready) == "table" then
    -- an adapter of the several-socket form: every ready socket
    local any = false
    for _, p in ipairs(fds) do
      local r = ready[p[1]]
      if math.type(r) == "integer" and r ~= 0 then
        any = true
        m:socket_action(p[1], r)
      end
    end
    if not any then m:socket_action(SOCKET_TIMEOUT, 0) end
    return
  end
  -- a one-socket adapter: the first socket waited with the timer, the others
  -- looked at one after the other
  if math.type(ready1) == "integer" and ready1 ~= 0 then m:socket_action(fds[1][1], ready1) end
  for i = 2, #fds do
    local r = coroutine.yield(M.WAIT, fds[i][1], fds[i][2], 0)
    if math.type(r) == "integer" and r ~= 0 then m:socket_action(fds[i][1], r) end
  end
  m:socket_action(SOCKET_TIMEOUT, 0)
end
M.wait_once = wait_once

-- drive m until op is done: yield its waits to the adapter (or block)
local function await(m, op)
  if not in_coroutine() then
    m:perform_all()
    return op:result()
  end
  local g <close> = guard(m, op)
  m:socket_action(SOCKET_TIMEOUT, 0)
  while op:state() ~= OP_DONE do wait_once(m) end
  return op:result()
end
M.await = await

-- ---- argument checks ----------------------------------------------------------
-- A wrong argument is reported before anything starts, in the words of the other
-- Lua argument errors (xssh.Session:run, the generated methods):
-- "xssh.async.<fn>: bad argument #<n> '<name>' (<what> expected, got <type>)",
-- raised at the caller of the xssh.async function (level 3 from a checker).
local CLASSES = { "Session", "SFTP", "Channel", "SFTPHandle", "Listener", "Forward", "Multi", "MultiOp" }

-- what v is, for "got ...": an xssh object by its class, else Lua's type name
local function type_of(v)
  local mt = getmetatable(v)
  if type(v) == "userdata" and mt ~= nil then
    for _, c in ipairs(CLASSES) do
      local ok, cmt = pcall(core._class_metatable, c)
      if ok and cmt == mt then return "xssh." .. c end
    end
  end
  if v == "" then return "empty string" end
  return type(v)
end

-- level: of the xssh.async function's caller, counted from bad_arg's caller (2: it is the function)
local function bad_arg(fname, n, name, expected, v, level)
  error(string.format("%s: bad argument #%d '%s' (%s expected, got %s)", fname, n, name, expected, type_of(v)),
    (level or 2) + 1)
end

-- v must be an object of xssh class cls (a Session, an SFTP)
-- (depth: the helpers between the xssh.async function and the check, 0 or 1)
local function check_object(fname, n, name, v, cls, depth)
  if getmetatable(v) ~= core._class_metatable(cls) or type(v) ~= "userdata" then
    bad_arg(fname, n, name, "xssh." .. cls, v, 3 + (depth or 0))
  end
end

local function check_string(fname, n, name, v, nonempty, depth)
  if type(v) ~= "string" or (nonempty and v == "") then
    bad_arg(fname, n, name, nonempty and "non-empty string" or "string", v, 3 + (depth or 0))
  end
end

local function check_opts(fname, n, v, depth)
  if v ~= nil and type(v) ~= "table" then bad_arg(fname, n, "opts", "table or nil", v, 3 + (depth or 0)) end
end

local function ms(fname, name, v)
  if v == nil then return 0 end
  if type(v) ~= "number" or v ~= v or v <= 0 or v == math.huge then
    arg_error(string.format("%s: %s must be a number of seconds > 0 or nil", fname, name), 3)
  end
  return math.max(1, math.ceil(v * 1000))
end

-- Every error an op ends with names the Lua function fname the user called, at
-- the start of its message, keeping the error object (its class, code,
-- sftp_status): the C core does it (xssh_multi_op_opts.caller, its rule in
-- xssh/multi.h) for the error of a failed add and the result of a failed or
-- cancelled op. o: the op's options (nil: defaults), returned with fname as caller.
local function named(fname, o)
  o = o or core.multi_op_options(0, 0, 0, 0, 0, 0, 0, 0, 0, nil)
  core.multi_op_set_caller(o, fname)
  return o
end

-- the op's result r, or its error raised (named by the C core)
local function raise_of(r)
  if r.error then error(r.error, 0) end
  return r
end

-- Each public function is made by a maker(fname, depth): fname is the name its
-- errors give (the function the user called: "xssh.async.run", or an adapter's
-- "xssh.luv.run"), depth the frames an adapter's wrapper adds between the user's
-- call and the function (0: the adapter hands the function itself out), so a
-- bad argument is reported at the user's line. M._named gives them to adapters.
local MAKERS = {}

-- xssh.async.connect(opts | host [, port, user, more]): as xssh.connect (same
-- options, same errors); an authenticated Session. passphrase_callback and
-- prompt_callback are not supported here (they would run Lua on the multi's C stack).
function MAKERS.connect(fname, depth) return function(opts, port, user, more)
  if type(opts) ~= "table" and type(opts) ~= "string" then
    bad_arg(fname, 1, "opts", "table of options or host name string", opts, 2 + depth)
  end
  if type(opts) == "string" then
    if port ~= nil and math.type(port) ~= "integer" then bad_arg(fname, 2, "port", "integer or nil", port, 2 + depth) end
    if user ~= nil and type(user) ~= "string" then bad_arg(fname, 3, "user", "string or nil", user, 2 + depth) end
    if more ~= nil and type(more) ~= "table" then bad_arg(fname, 4, "more", "table or nil", more, 2 + depth) end
  end
  local ok, host, o, t = pcall(xssh._connect_args, opts, port, user, more)
  if not ok then
    -- the option checks are xssh.connect's: name this call in their errors
    local e = host
    if xssh.is_error(e) and type(e.message) == "string" then
      e.message = e.message:gsub("^xssh%.connect:", fname .. ":")
    end
    error(e, 2 + depth)
  end
  if t.passphrase_callback or t.prompt_callback then
    arg_error(fname .. ": passphrase_callback/prompt_callback are not supported (give passphrase/password)", 2)
  end
  local m = core.Multi()
  local op = m:add_connect(host, o, named(fname, core.multi_op_options(ms(fname, "timeout", t.timeout), 0, 0,
    0, 0, 0, 0, 0, 0, nil)))
  raise_of(await(m, op))
  return op:session()
end end

local RUN_KEYS = { stdin = true, timeout = true, idle_timeout = true, merge_stderr = true, pty = true }
local STREAM_KEYS = { stdin = true, timeout = true, idle_timeout = true, merge_stderr = true, pty = true,
  line_mode = true, max_output = true }

local function run_options(fname, depth, session, command, opts, keys)
  check_object(fname, 1, "session", session, "Session", 1 + depth)
  check_string(fname, 2, "command", command, false, 1 + depth)
  check_opts(fname, 3, opts, 1 + depth)
  opts = opts or {}
  for k in pairs(opts) do
    if not keys[k] then arg_error(string.format("%s: unknown option %q", fname, tostring(k)), 3) end
  end
  if opts.stdin ~= nil and type(opts.stdin) ~= "string" then arg_error(fname .. ": stdin must be a string or nil", 3) end
  local max_output = opts.max_output or 0
  if math.type(max_output) ~= "integer" or max_output < 0 then
    arg_error(fname .. ": max_output must be an integer >= 0 (bytes) or nil", 3)
  end
  -- run keeps every byte, as Session:run does (no max_output option there)
  if not keys.max_output then max_output = OUTPUT_ALL end
  return core.multi_op_options(0, 0, ms(fname, "timeout", opts.timeout), ms(fname, "idle_timeout", opts.idle_timeout),
    opts.merge_stderr and 1 or 0, opts.pty and 1 or 0, max_output, opts.line_mode and 1 or 0, 0, opts.stdin)
end

local function run_result(r)
  local rr = { stdout = r.stdout, stderr = r.stderr, exit_status = r.exit_status, exit_signal = r.exit_signal }
  rr.ok = rr.exit_status == 0
  return setmetatable(rr, xssh.RunResult)
end

-- xssh.async.run(session, command [, opts]): as Session:run (opts: stdin,
-- timeout, idle_timeout, merge_stderr, pty); an xssh.RunResult with all of
-- the output (no 1 MiB cap: XSSH_MULTI_OUTPUT_ALL).
function MAKERS.run(fname, depth) return function(session, command, opts)
  local o = run_options(fname, depth, session, command, opts, RUN_KEYS)
  local m = core.Multi()
  local op = m:add_run(session, command, named(fname, o))
  return run_result(raise_of(await(m, op)))
end end

-- ---- streamed output --------------------------------------------------------

-- A command started by xssh.async.stream: its output as it arrives.
local Process = {}
Process.__index = Process
Process.__name = "xssh.async.Process"
M.Process = Process

local function process_record(p)
  if p.result then return p.result end
  local r = p.op:result()
  p.result = r
  p.exit_status, p.exit_signal = r.exit_status, r.exit_signal
  return r
end

-- drive until the op has output ready or is done (yield, or block outside a coroutine)
local function process_drive(p)
  local m, op = p.m, p.op
  if not in_coroutine() then
    while op:state() ~= OP_DONE do
      local o, e = op:output_pending()
      if o > 0 or e > 0 then return end
      m:wait()
    end
    return
  end
  local g <close> = guard(m, op)
  if not p.started then
    p.started = true
    m:socket_action(SOCKET_TIMEOUT, 0)
  end
  while op:state() ~= OP_DONE do
    local o, e = op:output_pending()
    if o > 0 or e > 0 then
      g.armed = false
      return
    end
    wait_once(m)
  end
end

-- the next piece of output: stream name, data; nil at the end (the op's error raised)
local function process_next(p)
  local q = p.queue
  for _ = 1, math.huge do
    if q.first <= q.last then
      local item = q[q.first]
      q[q.first] = nil
      q.first = q.first + 1
      return item[1], item[2]
    end
    if p.finished then return nil end
    local op = p.op
    local done = op:state() == OP_DONE
    local got = false
    for _, sp in ipairs({ { STDOUT, "stdout" }, { STDERR, "stderr" } }) do
      local data = op:take_output(sp[1])
      if data and #data > 0 then
        got = true
        if p.line_mode then
          for line in data:gmatch("[^\n]*\n?") do
            if line ~= "" then q.last = q.last + 1; q[q.last] = { sp[2], line } end
          end
        else
          q.last = q.last + 1
          q[q.last] = { sp[2], data }
        end
      end
    end
    if not got then
      if done then
        p.finished = true
        raise_of(process_record(p))
        return nil
      end
      process_drive(p)
    end
  end
end

-- for stream, data in p:iter() do ... end: ("stdout"|"stderr", string) as the
-- output arrives (whole lines with line_mode); leaving the loop early (break,
-- an error, the task cancelled) cancels the command. The op's error (Timeout,
-- a closed session) is raised at the end of the iteration.
function Process:iter()
  local closer = setmetatable({}, { __close = function()
    if not self.finished then self:cancel() end
  end })
  return function() return process_next(self) end, nil, nil, closer
end

-- Wait for the end of the command (output not taken by iter is dropped); an
-- xssh.RunResult with empty stdout/stderr and the exit status/signal.
function Process:wait()
  for _ = 1, math.huge do
    if self.finished then break end
    -- take (and drop) what is there so a throttled command can go on
    self.op:take_output(STDOUT)
    self.op:take_output(STDERR)
    if self.op:state() == OP_DONE then
      self.finished = true
      break
    end
    process_drive(self)
  end
  local r = raise_of(process_record(self))
  return run_result({ stdout = "", stderr = "", exit_status = r.exit_status, exit_signal = r.exit_signal })
end

-- Cancel the command (its channel is closed; the session stays usable);
-- blocks for the end of the cancellation (at most CANCEL_DRIVE_MS).
-- Returns true when it was still running.
function Process:cancel()
  if self.finished then return false end
  self.finished = true
  local running = self.op:state() ~= OP_DONE
  cancel_op(self.m, self.op)
  local r = self.op:state() == OP_DONE and process_record(self)
  -- cancelled here, or by the guard of a wait (the task cancelled mid-iteration)
  self.cancelled = running or (r and r.error and r.error.code == core.XSSH_ECANCELLED) or false
  return running
end
Process.close = Process.cancel
Process.__close = function(self) self:cancel() end

-- xssh.async.stream(session, command [, opts]): start command (opts: stdin,
-- timeout, idle_timeout, merge_stderr, pty, line_mode, max_output: bytes kept
-- untaken per stream, 0/nil: 1 MiB; when a stream holds that much the channel
-- is not read until it is taken); a Process. Nothing runs until it is iterated
-- (p:iter()) or waited for (p:wait()).
function MAKERS.stream(fname, depth) return function(session, command, opts)
  local o = run_options(fname, depth, session, command, opts, STREAM_KEYS)
  core.multi_op_set_pull(o, 1)
  local m = core.Multi()
  local op = m:add_run(session, command, named(fname, o))
  return setmetatable({ m = m, op = op, line_mode = opts and opts.line_mode and true or false,
    queue = { first = 1, last = 0 }, finished = false }, Process)
end end

-- ---- SFTP -------------------------------------------------------------------

local TRANSFER_KEYS = { atomic = true, mode = true, timeout = true }
local function transfer_options(fname, depth, sftp, a2, n2, a3, n3, opts)
  check_object(fname, 1, "sftp", sftp, "SFTP", 1 + depth)
  check_string(fname, 2, n2, a2, true, 1 + depth)
  check_string(fname, 3, n3, a3, true, 1 + depth)
  check_opts(fname, 4, opts, 1 + depth)
  opts = opts or {}
  for k in pairs(opts) do
    if not TRANSFER_KEYS[k] then arg_error(string.format("%s: unknown option %q", fname, tostring(k)), 3) end
  end
  local mode = opts.mode or 0
  if math.type(mode) ~= "integer" or mode < 0 or mode > 4095 then arg_error(fname .. ": mode must be an integer 0..07777", 3) end
  local o = core.multi_op_options(0, 0, ms(fname, "timeout", opts.timeout), 0, 0, 0, 0, 0, 0, nil)
  core.multi_op_set_transfer(o, opts.atomic == false and 0 or 1, mode)
  return o
end

-- xssh.async.get(sftp, remote, local [, opts]) / xssh.async.put(sftp, local, remote [, opts]):
-- whole-file SFTP transfers (the pipelined engine of SFTP:get/put); the byte
-- count. opts: atomic (default true: written to a temporary name beside the
-- destination and renamed into place when complete, so a failed or cancelled
-- transfer leaves no half-written destination), mode (permission bits of a
-- created file; 0: 0644), timeout (seconds).
function MAKERS.get(fname, depth) return function(sftp, remote, lpath, opts)
  local o = transfer_options(fname, depth, sftp, remote, "remote", lpath, "local", opts)
  local m = core.Multi()
  local op = m:add_sftp_get(sftp, remote, lpath, named(fname, o))
  return raise_of(await(m, op)).transferred
end end
function MAKERS.put(fname, depth) return function(sftp, lpath, remote, opts)
  local o = transfer_options(fname, depth, sftp, lpath, "local", remote, "remote", opts)
  local m = core.Multi()
  local op = m:add_sftp_put(sftp, lpath, remote, named(fname, o))
  return raise_of(await(m, op)).transferred
end end

-- xssh.async.sftp(session): start the SFTP subsystem (as Session:sftp_init)
-- without blocking; the SFTP object.
function MAKERS.sftp(fname, depth) return function(session)
  check_object(fname, 1, "session", session, "Session", depth)
  local m = core.Multi()
  local op = m:add_sftp_open(session, named(fname, nil))
  raise_of(await(m, op))
  return op:sftp()
end end

-- xssh.async.listdir(sftp, path): the entries of a remote directory ("." and
-- ".." left out), in the server's order: a list of {name=, longentry=, attrs=}
-- (attrs: an SFTPAttributes, as SFTPHandle:readdir_next gives). A missing
-- directory raises SFTPError (its sftp_status).
function MAKERS.listdir(fname, depth) return function(sftp, path)
  check_object(fname, 1, "sftp", sftp, "SFTP", depth)
  check_string(fname, 2, "path", path, true, depth)
  local m = core.Multi()
  local op = m:add_sftp_listdir(sftp, path, named(fname, nil))
  raise_of(await(m, op))
  return op:entries()
end end

-- ---- local port forwarding --------------------------------------------------

-- A local forward (xssh.async.forward_local): .port, :stats(), :close(),
-- :serve() (the driver).
local Forward = {}
Forward.__index = Forward
Forward.__name = "xssh.async.Forward"
M.Forward = Forward

-- Drive the forward until it ends (closed: returns; the session failed: that
-- error is raised). Run it in its own coroutine driven by the adapter (xssh.luv
-- does this in an internal task); outside a coroutine it blocks until the end.
function Forward:serve()
  local m, op = self.m, self.op
  self.serving = true
  if not in_coroutine() then
    m:perform_all()
  else
    local g <close> = guard(m, op)
    m:socket_action(SOCKET_TIMEOUT, 0)
    while op:state() ~= OP_DONE do wait_once(m) end
  end
  self.serving = false
  local r = op:result()
  self.ended = true
  if r.error and not self.closed then
    self.error = r.error
    error(self.error, 0)
  end
  return true
end

-- accepted, active, failed (connections), bytes_out, bytes_in (as Forward:stats
-- of the blocking tunnels)
function Forward:stats()
  return self.op:forward_stats()
end

-- Stop: the listener is closed at once (a new connection is refused), open
-- connections are closed (their channels within a 3 s grace). The serving
-- coroutine ends the cancellation: the adapter's on_close hook (set by
-- xssh.luv) resumes it at once; without a serving coroutine the cancellation is
-- driven here, blocking (at most CANCEL_DRIVE_MS). Returns false when already closed.
function Forward:close()
  if self.closed then return false end
  self.closed = true
  self.op:cancel()
  if self.on_close then
    self.on_close(self)
  elseif not self.serving then
    cancel_op(self.m, self.op)
  end
  return true
end
Forward.__close = function(self) self:close() end

-- xssh.async.forward_local(session, host, port [, {bind_host=, bind_port=}]):
-- listen on bind_host:bind_port (default 127.0.0.1, any free port; bound before
-- this returns: .port) and carry each accepted connection over its own
-- direct-tcpip channel to host:port as the server sees it. Nothing is carried
-- until fw:serve() drives it (xssh.luv.forward_local starts that for you).
function MAKERS.forward_local(fname, depth) return function(session, host, port, opts)
  check_object(fname, 1, "session", session, "Session", depth)
  check_string(fname, 2, "host", host, true, depth)
  if math.type(port) ~= "integer" then bad_arg(fname, 3, "port", "integer 1..65535", port, 2 + depth) end
  if port < 1 or port > 65535 then arg_error(string.format("%s: port must be an integer 1..65535, got %d", fname, port), 2) end
  check_opts(fname, 4, opts, depth)
  opts = opts or {}
  for k in pairs(opts) do
    if k ~= "bind_host" and k ~= "bind_port" then arg_error(string.format("%s: unknown option %q", fname, tostring(k)), 2) end
  end
  local bind_host, bind_port = opts.bind_host, opts.bind_port or 0
  -- (option errors say what was given: its type, or the integer out of range)
  if bind_host ~= nil and type(bind_host) ~= "string" then
    arg_error(string.format("%s: bind_host must be a string or nil, got %s", fname, type_of(bind_host)), 2)
  end
  if math.type(bind_port) ~= "integer" or bind_port < 0 or bind_port > 65535 then
    arg_error(string.format("%s: bind_port must be an integer 0..65535 (0: any free port), got %s", fname,
      math.type(bind_port) == "integer" and tostring(bind_port) or type_of(bind_port)), 2)
  end
  local m = core.Multi()
  local op = m:add_forward_local(session, bind_host, bind_port, host, port, named(fname, nil))
  return setmetatable({ m = m, op = op, port = op:forward_port(), host = host, remote_port = port,
    closed = false, serving = false }, Forward)
end end

for name, make in pairs(MAKERS) do M[name] = make("xssh.async." .. name, 0) end

-- For adapters: the function name of this module (connect, run, stream, sftp,
-- listdir, get, put, forward_local) with its errors naming fname (e.g.
-- "xssh.luv.run"); depth: the frames the adapter's wrapper adds between its
-- caller and the function (0 when it hands the function itself out), so that
-- a bad argument is reported at the line that called the adapter.
function M._named(name, fname, depth)
  local make = MAKERS[name]
  if not make then error("xssh.async._named: no function " .. tostring(name), 2) end
  return make(fname, depth or 0)
end

return M
