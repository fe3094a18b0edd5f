-- SPDX-License-Identifier: BSD-3-Clause
-- Lifetime: objects are released by __gc in any order (the C refcount keeps
-- the session alive for its children); interpreter shutdown never crashes.
local xssh = require "xssh"
local E = require "xssh_test_env"

local function objects()
  local s = E.session()
  local kh = s:knownhost_init()
  kh:readfile(E.known_hosts)
  local entries = kh:get()
  local ag = s:agent_init()
  local key = s:hostkey()
  local found = kh:checkp(E.host, E.port, key,
    xssh.LIBSSH2_KNOWNHOST_TYPE_PLAIN | xssh.LIBSSH2_KNOWNHOST_KEYENC_RAW | xssh.LIBSSH2_KNOWNHOST_KEY_ED25519)
  return { s = s, kh = kh, entries = entries, ag = ag, found = found }
end

describe("garbage collection", function()
  local orders = {
    { "s", "kh", "entries", "ag", "found" },
    { "found", "ag", "entries", "kh", "s" },
    { "ag", "s", "found", "entries", "kh" },
    { "entries", "s", "kh", "found", "ag" },
  }
  for i, order in ipairs(orders) do
    it("collects in order " .. i .. ": " .. table.concat(order, ","), function()
      local o = objects()
      local entry_name = o.entries[1]:name()
      for _, name in ipairs(order) do
        o[name] = nil
        collectgarbage("collect")
        collectgarbage("collect")
        -- what is still alive keeps working after its siblings (or session) went
        if o.entries then assert.equal(entry_name, o.entries[1]:name()) end
        if o.kh then assert.truthy(o.kh:count() > 0) end
        if o.found then assert.equal("string", type(o.found:name())) end
      end
    end)
  end

  it("children stay valid after the session is closed and collected", function()
    local o = objects()
    o.s:close()
    o.s = nil
    collectgarbage("collect")
    assert.equal("string", type(o.entries[1]:name()))
    local err = E.fails(o.ag.connect, o.ag)
    assert.is_true(xssh.is_error(err))
    o = nil
    collectgarbage("collect")
  end)

  it("many sessions collected without closing", function()
    for _ = 1, 20 do
      local s = E.session()
      s:knownhost_init()
      s:agent_init()
    end
    collectgarbage("collect")
    collectgarbage("collect")
    local s <close> = E.session()
    assert.is_true(s:userauth_authenticated())
  end)

  it("interpreter shutdown with live objects, and finalizers touching collected ones", function()
    local code = string.format([[
      local xssh = require "xssh"
      -- created first: finalized after the session (reverse order) and sees it collected
      local late = setmetatable({}, { __gc = function(h)
        local ok, err = pcall(h.s.is_closed, h.s)
        io.write(ok and "alive\n" or ("error:" .. tostring(err) .. "\n"))
      end })
      local s = xssh.connect{ host = %q, port = %d, user = %q, key = %q, known_hosts = %q }
      late.s = s
      local kh = s:knownhost_init()
      kh:readfile(%q)
      G_entries = kh:get()
      G_agent = s:agent_init()
      if s.open_session then
        G_chan = s:open_session()
        G_chan:execute("cat")
        G_chan:write("unread")
      end
      io.write("ready\n")
      os.exit(0, true)
    ]], E.host, E.port, E.user, E.key, E.known_hosts, E.known_hosts)
    local ok, out = E.run_lua(code)
    assert.is_true(ok, out)
    assert.truthy(out:find("ready", 1, true), out)
    -- the session was finalized first: a clear error, never a dangling pointer
    assert.truthy(out:find("error:", 1, true), out)
  end)
end)
