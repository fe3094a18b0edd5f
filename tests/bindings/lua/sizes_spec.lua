-- SPDX-License-Identifier: BSD-3-Clause
-- Sizes at the API edge through the Lua module: read sizes are clamped to
-- xssh.IO_MAX before anything is allocated (a float beyond 2^63 saturates),
-- negative sizes fail clearly, window adjustments stay within the SSH uint32;
-- and an APPEND handle writes at the end of the file.
local xssh = require "xssh"
local E = require "xssh_test_env"

local THREE_MIB = 3 << 20

local function drain(read, size)
  local total = 0
  for _ = 1, 100000 do
    local n, data = read(size)
    assert.truthy(n >= 0)
    if n == 0 then break end
    assert.truthy(n <= xssh.IO_MAX)
    assert.is_true(data == string.rep("A", n))
    total = total + n
  end
  return total
end

describe("sizes", function()
  it("read(2^33) in a process limited to 1 GiB of address space", function()
    -- the limit makes an attempt to allocate the requested size fail
    local ok, out = E.run_lua([[
      local xssh = require "xssh"
      local E = require "xssh_test_env"
      local s = E.session()
      for _, size in ipairs({ 2^32, 1 << 33, 2^70 }) do
        for _, how in ipairs({ "read", "read_stderr" }) do
          local ch = s:open_session()
          ch:execute("head -c 3145728 /dev/zero | tr '\\0' A" .. (how == "read" and "" or " >&2"))
          local total = 0
          for _ = 1, 100000 do
            local n = ch[how](ch, size)
            if n == 0 then break end
            total = total + n
          end
          assert(total == 3145728, how .. "(" .. size .. "): " .. total)
          ch:close()
        end
      end
      print("ok")
    ]], "prlimit --as=1073741824 ")
    assert.is_true(ok, out)
    assert.truthy(out:find("ok", 1, true), out)
  end)

  it("channel reads: huge sizes clamp, negative and non-integer sizes fail", function()
    local s <close> = E.session()
    local ch = s:open_session()
    ch:execute("head -c " .. THREE_MIB .. " /dev/zero | tr '\\0' A")
    assert.equal(THREE_MIB, drain(function(n) return ch:read(n) end, 1 << 33))
    ch:close()
    ch = s:open_session()
    ch:execute("echo hi")
    local err = E.fails(ch.read, ch, -1)
    assert.truthy(tostring(err):find("size must be >= 0", 1, true), tostring(err))
    E.fails(ch.read, ch, 1.5)
    E.fails(ch.read, ch, 0 / 0)
    local n, data = ch:read(100)
    assert.equal(3, n)
    assert.equal("hi\n", data)
    ch:close()
  end)

  it("window adjustments stay within 2^32-1", function()
    local s <close> = E.session()
    local ch = s:open_session()
    assert.equal("InvalidArgumentError", E.fails(ch.receive_window_adjust, ch, 1 << 32, 1).class)
    local w = ch:receive_window_adjust((1 << 32) - 1, 1)
    assert.truthy(w <= (1 << 32) - 1 and w > (1 << 31))
    assert.equal(w, ch:window_read())
    ch:execute("head -c " .. THREE_MIB .. " /dev/zero | tr '\\0' A")
    assert.equal(THREE_MIB, drain(function(n) return ch:read(n) end, 1 << 33))
    ch:close()
    assert.equal("alive\n", s:run("echo alive").stdout)
  end)

  it("SFTP read sizes and APPEND handles", function()
    local s <close> = E.session()
    local sftp = s:sftp_init()
    local d = E.tmpdir()
    E.write(d .. "/big", string.rep("A", THREE_MIB))
    do
      local f <close> = sftp:open(d .. "/big", xssh.LIBSSH2_FXF_READ, 0)
      E.fails(f.read, f, -5)
      assert.equal(THREE_MIB, drain(function(n) return f:read(n) end, 1 << 33))
    end
    local p = d .. "/append"
    E.write(p, "hello ")
    for i = 1, 2 do
      local f <close> = sftp:open(p, xssh.LIBSSH2_FXF_WRITE | xssh.LIBSSH2_FXF_APPEND, 0)
      assert.equal(6 + 5 * (i - 1), f:tell64())
      f:write("world")
      assert.equal(6 + 5 * i, f:tell64())
    end
    assert.equal("hello worldworld", E.read(p))
  end)
end)
