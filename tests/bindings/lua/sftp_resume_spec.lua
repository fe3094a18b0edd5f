-- SPDX-License-Identifier: BSD-3-Clause
-- Resumed SFTP transfers (get/put/get_tree/put_tree with resume = true) through the Lua
-- module, against the real sshd: a transfer is cut midway - deterministically, by its
-- progress function cancelling once enough bytes went - then resumed; the result is
-- byte-exact and the resumed attempt moved only the rest (it starts where the first stopped).
local xssh = require "xssh"
local E = require "xssh_test_env"

local SIZE = 4 * 1024 * 1024 + 12345
local CUT = 1024 * 1024

local function body(n, seed)
  local t = {}
  for i = 0, 255 do t[#t + 1] = string.char((i * 131 + seed) & 0xff) end
  local block = table.concat(t)
  return string.rep(block, n // 256 + 1):sub(1, n)
end

local function write(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

local function sftp_session()
  local s = E.session()
  return s, s:sftp_init()
end

-- first(progress) is cut by its progress function; second(progress) resumes
local function cut_then_resume(first, second, data, dst, atomic)
  local last
  local ok, err = pcall(first, function(done) last = done return done >= CUT end)
  assert.is_false(ok)
  assert.is_true(xssh.is_error(err) and err:is("CancelledError"), tostring(err))
  assert(last >= CUT)
  if atomic then assert.is_false(exists(dst)) end
  local calls = {}
  local moved = second(function(done) calls[#calls + 1] = done end)
  assert(E.read(dst) == data, "bytes differ after resume")
  assert(calls[1] > 0, "the resumed attempt started at 0")
  assert(moved > 0 and moved < #data)
  assert.equal(#data - calls[1], moved)
  assert.equal(#data, calls[#calls])
  assert.is_false(exists(dst .. ".xssh-part"))
end

describe("SFTP resume", function()
  for _, atomic in ipairs({false, true}) do
    it("get cut midway then resumed, byte-exact (atomic " .. tostring(atomic) .. ")", function()
      local s, sftp = sftp_session()
      local d = E.tmpdir()
      local data = body(SIZE, 7)
      write(d .. "/remote.bin", data)
      local function go(p)
        return sftp:get(d .. "/remote.bin", d .. "/local.bin", {progress = p, atomic = atomic, resume = true})
      end
      cut_then_resume(go, go, data, d .. "/local.bin", atomic)
      s:close()
    end)

    it("put cut midway then resumed, byte-exact (atomic " .. tostring(atomic) .. ")", function()
      local s, sftp = sftp_session()
      local d = E.tmpdir()
      local data = body(SIZE, 3)
      write(d .. "/local.bin", data)
      local function go(p)
        return sftp:put(d .. "/local.bin", d .. "/remote.bin", {progress = p, atomic = atomic, resume = true})
      end
      cut_then_resume(go, go, data, d .. "/remote.bin", atomic)
      s:close()
    end)
  end

  for _, dir in ipairs({"put_tree", "get_tree"}) do
    it(dir .. " cut midway then resumed, byte-exact", function()
      local s, sftp = sftp_session()
      local d = E.tmpdir()
      assert(os.execute("mkdir -p '" .. d .. "/src/sub'"))
      local files = {small = body(1000, 1), ["sub/big"] = body(SIZE, 5), ["sub/zz"] = body(70000, 9)}
      for rel, data in pairs(files) do write(d .. "/src/" .. rel, data) end
      local ok, err = pcall(sftp[dir], sftp, d .. "/src", d .. "/dst",
                            {files_in_flight = 1, resume = true, progress = function(p) return p.bytes_done >= CUT end})
      assert.is_false(ok)
      assert.is_true(err:is("CancelledError"))
      local partial = #E.read(d .. "/dst/sub/big")
      -- the cut came while the big file moved (files in flight learn of it at their next
      -- report, so how much of it is there depends on the machine): some of it is there
      assert(partial > 0, partial)
      local st = sftp[dir](sftp, d .. "/src", d .. "/dst", {files_in_flight = 1, resume = true})
      local total = 0
      for rel, data in pairs(files) do
        assert(E.read(d .. "/dst/" .. rel) == data, rel)
        total = total + #data
      end
      assert(st.bytes <= total - partial, st.bytes)
      s:close()
    end)
  end
end)
