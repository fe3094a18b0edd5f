-- SPDX-License-Identifier: BSD-3-Clause
-- (plain "--" comments: scripts/gen-api-docs.py reads "---" blocks as functions of the xssh module)
--
-- xssh.async: connect, run and SFTP get/put as coroutine calls over the C
-- multi interface (capi/include/xssh/multi.h; docs/async-lua-ruby.md).
--
-- Called inside a coroutine driven by an adapter (xssh.luv), each call makes a
-- Multi holding its one op and, instead of blocking, yields what the op waits
-- for:
--     coroutine.yield(xssh.async.WAIT, fd, events, timeout_ms)
-- fd: the socket (-1: none), events: xssh.POLL_IN/POLL_OUT bits, timeout_ms:
-- when the op's timer is due (-1: none). The adapter resumes the coroutine with
-- the events that became ready (0: the timer ran out). Any event loop can drive
-- these coroutines; xssh.luv is the adapter for luv (libuv).
--
-- Outside a coroutine (or in one that cannot yield) the calls block, driving
-- the multi with Multi:perform_all.
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

local POLL_IN, POLL_OUT = core.XSSH_POLL_IN, core.XSSH_POLL_OUT
local SOCKET_TIMEOUT, OP_DONE = core.XSSH_SOCKET_TIMEOUT, core.XSSH_OP_DONE

local function in_coroutine()
  local _, main = coroutine.running()
  return not main and coroutine.isyieldable()
end
M.in_coroutine = in_coroutine

-- drive m until op is done: yield its waits to the adapter (or block)
local function await(m, op)
  if not in_coroutine() then
    m:perform_all()
    return op:result()
  end
  local guard <close> = setmetatable({}, { __close = function()
    if op:state() ~= OP_DONE then
      op:cancel()
      m:perform_all(M.CANCEL_DRIVE_MS)
    end
  end })
  m:socket_action(SOCKET_TIMEOUT, 0)
  while op:state() ~= OP_DONE do
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
    else
      -- several sockets (a ProxyJump chain): one wait per socket, the first
      -- with the timer; every socket is acted on when its turn comes
      for i, p in ipairs(fds) do
        local ready = coroutine.yield(M.WAIT, p[1], p[2], i == 1 and ms or 0)
        if math.type(ready) == "integer" and ready ~= 0 then m:socket_action(p[1], ready) end
      end
      m:socket_action(SOCKET_TIMEOUT, 0)
    end
  end
  return op:result()
end
M.await = await

local function ms(fname, name, v)
  if v == nil then return 0 end
  if type(v) ~= "number" or v ~= v or v <= 0 or v == math.huge then
    local e = core.error_object(core.XSSH_EARG)
    e.message = string.format("%s: %s must be a number of seconds > 0 or nil", fname, name)
    error(e, 3)
  end
  return math.max(1, math.ceil(v * 1000))
end

local function raise_of(r)
  if r.error then error(r.error, 0) end
  return r
end

-- xssh.async.connect(opts | host [, port, user, more]): as xssh.connect (same
-- options, same errors); an authenticated Session. passphrase_callback and
-- prompt_callback are not supported here (they would run Lua on the multi's C stack).
function M.connect(opts, port, user, more)
  local host, o, t = xssh._connect_args(opts, port, user, more)
  if t.passphrase_callback or t.prompt_callback then
    local e = core.error_object(core.XSSH_EARG)
    e.message = "xssh.async.connect: passphrase_callback/prompt_callback are not supported (give passphrase/password)"
    error(e, 2)
  end
  local m = core.Multi()
  local op = m:add_connect(host, o, core.multi_op_options(ms("xssh.async.connect", "timeout", t.timeout), 0, 0, 0,
    0, 0, 0, 0, 0, nil))
  raise_of(await(m, op))
  return op:session()
end

-- xssh.async.run(session, command [, opts]): as Session:run (opts: stdin,
-- timeout, idle_timeout, merge_stderr, pty); an xssh.RunResult.
function M.run(session, command, opts)
  if type(command) ~= "string" then
    local e = core.error_object(core.XSSH_EARG)
    e.message = "xssh.async.run: command must be a string"
    error(e, 2)
  end
  opts = opts or {}
  if opts.stdin ~= nil and type(opts.stdin) ~= "string" then
    local e = core.error_object(core.XSSH_EARG)
    e.message = "xssh.async.run: stdin must be a string or nil"
    error(e, 2)
  end
  local m = core.Multi()
  local op = m:add_run(session, command, core.multi_op_options(0, 0, ms("xssh.async.run", "timeout", opts.timeout),
    ms("xssh.async.run", "idle_timeout", opts.idle_timeout), opts.merge_stderr and 1 or 0, opts.pty and 1 or 0,
    0, 0, 0, opts.stdin))
  local r = raise_of(await(m, op))
  local rr = { stdout = r.stdout, stderr = r.stderr, exit_status = r.exit_status, exit_signal = r.exit_signal }
  rr.ok = rr.exit_status == 0
  return setmetatable(rr, xssh.RunResult)
end

-- xssh.async.get(sftp, remote, local) / xssh.async.put(sftp, local, remote):
-- whole-file SFTP transfers (as SFTP:get/put); the byte count.
function M.get(sftp, remote, lpath)
  local m = core.Multi()
  local op = m:add_sftp_get(sftp, remote, lpath, nil)
  return raise_of(await(m, op)).transferred
end
function M.put(sftp, lpath, remote)
  local m = core.Multi()
  local op = m:add_sftp_put(sftp, lpath, remote, nil)
  return raise_of(await(m, op)).transferred
end

return M
