-- SPDX-License-Identifier: BSD-3-Clause
-- A wrong argument type names the function and the parameter in Lua's words
-- (issue 13, "Error edges"), for EVERY method of every class: each method is
-- called with a boolean (no xssh parameter takes one) and the error must read
-- "xssh.<Class>:<method>: bad argument #<n> '<parameter>' (<what> expected, got boolean)".
-- The methods are found in SWIG's class tables, so one added later is checked too.
local xssh = require "xssh"
local E = require "xssh_test_env"

-- methods that take any value by design (with why); the test fails if one disappears
local ANY_VALUE = {
  ["Session:run"] = "options table; the command is checked below",
  ["Agent:get_identities"] = "takes no argument (Lua passes extra ones silently)",
  ["MultiOp:entries"] = "takes no argument (Lua passes extra ones silently)",
}

local function instances()
  local s = E.session()
  local ch = s:open_session()
  local sftp = s:sftp_init()
  local fh = sftp:open(E.tmpdir() .. "/argerr", xssh.FXF_WRITE | xssh.FXF_CREAT, 384)
  local kh = s:knownhost_init()
  kh:readfile(E.known_hosts)
  local multi = xssh.core.Multi()
  local op = multi:add_host_run(E.host, nil, "true")
  op:cancel() -- done at once: its result is readable
  return {
    Session = s, Channel = ch, SFTP = sftp, SFTPHandle = fh, KnownHost = kh,
    KnownHostEntry = kh:get(0), Agent = s:agent_init(), SFTPAttributes = sftp:stat("/"),
    Forward = s:forward_local(nil, 0, "127.0.0.1", 9), Options = xssh.core.Options(),
    Multi = multi, MultiOp = op,
  }, s
end

-- call obj:m(true, true, ...) with 1..8 arguments until the arity fits;
-- returns the error, or nil when every call was accepted
local function wrong_call(obj, f)
  for n = 1, 8 do
    local args = {}
    for i = 1, n do args[i] = true end
    local ok, err = pcall(f, obj, table.unpack(args, 1, n))
    if ok then return nil end
    if not (type(err) == "string" and err:find("arguments?, got %d+$")) then return err end
  end
  return nil
end

describe("argument errors", function()
  it("every method names itself and the parameter", function()
    local objs, s = instances()
    local failures, checked = {}, 0
    for cname, obj in pairs(objs) do
      local fns = xssh.core._class_metatable(cname)[".fn"]
      for m, f in pairs(fns) do
        local key = cname .. ":" .. m
        if type(m) == "string" and type(f) == "function" and m:sub(1, 2) ~= "__" and not ANY_VALUE[key] then
          local err = wrong_call(obj, f)
          if err ~= nil then
            checked = checked + 1
            local msg = tostring(err)
            local want = "^[^:]*:?%d*:? ?xssh%." .. cname .. ":[%w_]+: bad argument #%d+ '[%w_]+' %(.+ expected, got boolean%)$"
            if type(err) ~= "string" or not msg:find(want) then
              failures[#failures + 1] = key .. ": " .. msg
            end
          end
        end
      end
    end
    table.sort(failures)
    assert.same({}, failures)
    assert.truthy(checked >= 80, "the reflection found " .. checked .. " methods")
    s:close()
  end)

  it("speaks Lua: parameter names, the position after self, no value shown", function()
    local s = xssh.Session()
    local function msg(...) local ok, e = pcall(...); assert.is_false(ok); return tostring(e) end
    assert.matches("xssh.Session:connect: bad argument #2 'port' %(integer expected, got string%)$",
      msg(s.connect, s, "h", "x"))
    assert.matches("xssh.Session:connect: bad argument #1 'host' %(string expected, got table%)$",
      msg(s.connect, s, {}, 22))
    assert.matches("xssh.Session:connect: bad self %(xssh.Session expected, got number%)$", msg(s.connect, 3, "h"))
    assert.matches("xssh.Session:connect_via: bad argument #1 'jump' %(xssh.Session expected, got number%)$",
      msg(s.connect_via, s, 3, "h"))
    assert.matches("xssh.Session:connect: expected 1 to 3 arguments, got 0$", msg(s.connect, s))
    assert.matches("xssh.Session:handshake: bad argument #1 'sock'", msg(s.handshake, s, {}))
    assert.matches("xssh.Session:userauth_keyboard_interactive_responses: bad argument #2 'responses'",
      msg(s.userauth_keyboard_interactive_responses, s, "u", { 1 }))
    assert.matches("xssh.strerror: bad argument #1 'code' %(integer expected, got string%)$", msg(xssh.strerror, "x"))
    assert.matches("xssh.connect: bad argument #2 'options' %(xssh.Options expected, got boolean%)$",
      msg(xssh.core.connect, "h", true))
    assert.matches("xssh.log_set: bad argument #1 'callback' %(function or nil expected, got number%)$",
      msg(xssh.core.log_set, 1, 3))
    local o = xssh.core.Options()
    assert.matches("xssh.Options:set_prompt_callback: bad argument #1 'callback' %(function or nil expected, got string%)$",
      msg(o.set_prompt_callback, o, "x"))
    -- a secret of the wrong type never appears in the message
    assert.is_nil(msg(s.userauth_password, s, "u", { "hunter2-secret" }):find("hunter2", 1, true))
    local rs <close> = E.session()
    assert.matches("xssh.Session:run: bad argument #1 'command' %(string expected, got boolean%)$", msg(rs.run, rs, true))
  end)
end)
