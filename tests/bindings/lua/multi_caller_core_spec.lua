-- SPDX-License-Identifier: BSD-3-Clause
-- xssh.core.multi_op_set_caller (xssh_multi_op_opts.caller): what the user called names the add
-- errors and the result messages of failed ops; setting again replaces it, nil or "" clears it.
-- No timing: a command that waits forever ends by its timeout.
local xssh = require "xssh"
local E = require "xssh_test_env"
local core = xssh.core

local X = "xssh.async.run"

local function opts(timeout_ms)
  return core.multi_op_options(0, 0, timeout_ms or 0, 0, 0, 0, 0, 0, 0, nil)
end

local function bad_host_message(m, o)
  local op = m:add_connect("@@@", nil, o)
  m:perform_all(60000)
  local _, _, message = op:result_swig()
  return message
end

local function add_error(m, o)
  local ok, e = pcall(function() return m:add_host_run("h", nil, nil, o) end)
  assert.is_false(ok)
  return type(e) == "table" and e.message or tostring(e)
end

describe("Multi op caller", function()
  it("names messages; replaced; nil and empty clear it", function()
    local m = xssh.Multi()
    local o = opts()
    local plain = bad_host_message(m, o)
    assert.equal("host '@@@'", plain:sub(1, 10))
    core.multi_op_set_caller(o, X)
    assert.equal(X .. ": " .. plain, bad_host_message(m, o))
    assert.truthy(add_error(m, o):find(X .. ": invalid argument: command is NULL", 1, true))
    core.multi_op_set_caller(o, "other")
    assert.equal("other: " .. plain, bad_host_message(m, o))
    core.multi_op_set_caller(o, nil)
    assert.equal(plain, bad_host_message(m, o))
    assert.truthy(add_error(m, o):find("xssh_multi_add_host_run: invalid argument: command is NULL", 1, true))
    core.multi_op_set_caller(o, X)
    core.multi_op_set_caller(o, "")
    assert.equal(plain, bad_host_message(m, o))
  end)

  it("names a timed-out run, code kept", function()
    local s = E.session()
    local m = xssh.Multi()
    local o = opts(300)
    core.multi_op_set_caller(o, X)
    local op = m:add_run(s, "exec sleep 3600", o)
    m:perform_all(-1)
    local code, _, message = op:result_swig()
    assert.equal(core.XSSH_ETIMEOUT, code)
    local want = X .. ": run 'exec sleep 3600': timed out"
    assert.equal(want, message:sub(1, #want))
    s:disconnect()
  end)
end)
