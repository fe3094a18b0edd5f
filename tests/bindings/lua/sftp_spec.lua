-- SPDX-License-Identifier: BSD-3-Clause
-- SFTP and SCP through the Lua module, against the real sshd.
local xssh = require "xssh"
local E = require "xssh_test_env"

local function sftp_session()
  local s = E.session()
  if not s.sftp_init then return nil end
  return s, s:sftp_init()
end

describe("SFTP", function()
  it("files: open, write, read, seek, tell, fstat (integers), <close>", function()
    local s, sftp = sftp_session()
    if not s then pending("no SFTP in this build") return end
    local d = E.tmpdir()
    local path = d .. "/f.bin"
    local data = "bin\0ary\255" .. string.rep("x", 70000)
    do
      local f <close> = sftp:open(path, xssh.LIBSSH2_FXF_WRITE | xssh.LIBSSH2_FXF_CREAT | xssh.LIBSSH2_FXF_TRUNC,
                                  xssh.LIBSSH2_SFTP_S_IRUSR | xssh.LIBSSH2_SFTP_S_IWUSR)
      local count, written = f:write(data)
      assert.equal(#data, count)
      assert.equal(#data, written)
      assert.equal(#data, f:tell())
    end
    local f <close> = sftp:open(path, xssh.LIBSSH2_FXF_READ, 0)
    local got = {}
    while true do
      local n, chunk = f:read(8192)
      if n == 0 then break end
      got[#got + 1] = chunk
    end
    assert.is_true(table.concat(got) == data)
    f:seek64(3)
    local n, chunk = f:read(4)
    assert.equal(4, n)
    assert.equal("\0ary", chunk)
    local a = f:fstat()
    assert.equal(#data, a.filesize)
    assert.equal("integer", math.type(a.filesize))
    assert.equal("integer", math.type(a.permissions))
    assert.equal(xssh.LIBSSH2_SFTP_S_IFREG, a.permissions & xssh.LIBSSH2_SFTP_S_IFMT)
    assert.equal(0x180, a.permissions & 0x1ff) -- 0600
    assert.equal(path, f:path())
    sftp:close()
    s:close()
  end)

  it("paths: stat, mkdir, opendir/readdir_next, rename, symlink, readlink, realpath, unlink, rmdir", function()
    local s, sftp = sftp_session()
    if not s then pending("no SFTP in this build") return end
    local d = E.tmpdir()
    sftp:mkdir(d .. "/sub", 493) -- 0755
    assert.equal(xssh.LIBSSH2_SFTP_S_IFDIR, sftp:stat(d .. "/sub").permissions & xssh.LIBSSH2_SFTP_S_IFMT)
    assert.equal(5, sftp:put_buffer("hello", d .. "/sub/a"))
    sftp:rename(d .. "/sub/a", d .. "/sub/b")
    sftp:symlink("b", d .. "/sub/link")
    assert.equal("b", sftp:readlink(d .. "/sub/link"))
    assert.equal(d .. "/sub/b", sftp:realpath(d .. "/sub/./b"))
    local names = {}
    do
      local dir <close> = sftp:opendir(d .. "/sub")
      while true do
        local name, long, attrs = dir:readdir_next()
        if name == "" then break end
        names[name] = attrs.filesize
        assert.equal("string", type(long))
      end
    end
    assert.equal(5, names.b)
    assert.is_not_nil(names.link)
    local err = E.fails(sftp.stat, sftp, d .. "/sub/a")
    assert.equal("SFTPNoSuchFileError", err.class)
    assert.is_true(err:is("SFTPProtocolError") or err:is("SSH2Error"))
    assert.equal(2, err.sftp_status)
    sftp:unlink(d .. "/sub/link")
    sftp:unlink(d .. "/sub/b")
    sftp:rmdir(d .. "/sub")
    assert.equal("SFTPNoSuchFileError", E.fails(sftp.stat, sftp, d .. "/sub").class)
    s:close()
  end)

  it("whole files with progress: get/put/get_buffer, cancel, errors from the callback", function()
    local s, sftp = sftp_session()
    if not s then pending("no SFTP in this build") return end
    local d = E.tmpdir()
    local data = string.rep("ab\0", 700000)
    local calls, last_done, last_total = 0, 0, nil
    assert.equal(#data, sftp:put_bytes(data, d .. "/f", { progress = function(done, total)
      calls, last_done, last_total = calls + 1, done, total
    end }))
    assert.truthy(calls > 0)
    assert.equal(#data, last_done)
    assert.equal(#data, last_total)
    assert.is_true(sftp:get_bytes(d .. "/f") == data)
    assert.equal(#data, sftp:get(d .. "/f", d .. "/g"))
    assert.is_true(E.read(d .. "/g") == data)
    assert.equal(#data, sftp:put(d .. "/g", d .. "/h", { atomic = true }))
    local err = E.fails(sftp.get, sftp, d .. "/f", d .. "/x", { progress = function() return true end })
    assert.equal("CancelledError", err.class)
    local mine = setmetatable({}, { __tostring = function() return "mine" end })
    err = E.fails(sftp.get, sftp, d .. "/f", d .. "/x", { progress = function() error(mine) end })
    assert.equal(mine, err)
    assert.equal("string", type(E.fails(sftp.get, sftp, d .. "/f", d .. "/x", { progress = 42 })))
    -- the session still works after a cancelled transfer
    assert.is_true(sftp:get_bytes(d .. "/f") == data)
    s:close()
  end)

  it("scp_get / scp_put", function()
    local s = E.session()
    if not s.scp_get then pending("no SCP in this build") return end
    local d = E.tmpdir()
    E.write(d .. "/src", "scp\0data")
    assert.equal(8, s:scp_put(d .. "/src", d .. "/remote"))
    assert.equal(8, s:scp_get(d .. "/remote", d .. "/back"))
    assert.equal("scp\0data", E.read(d .. "/back"))
    s:close()
  end)

  it("SFTP objects outlive their session's Lua object in any order", function()
    for order = 1, 3 do
      local s, sftp = sftp_session()
      if not s then pending("no SFTP in this build") return end
      local d = E.tmpdir()
      sftp:put_buffer("x", d .. "/f")
      local f = sftp:open(d .. "/f", xssh.LIBSSH2_FXF_READ, 0)
      local a = sftp:stat(d .. "/f")
      if order == 1 then
        s, sftp = nil, nil
        collectgarbage("collect")
        assert.equal("x", select(2, f:read(10)))
        assert.equal(1, a.filesize)
      elseif order == 2 then
        f = nil
        collectgarbage("collect")
        s = nil
        collectgarbage("collect")
      else
        a, f, sftp, s = nil, nil, nil, nil
      end
      f, a, sftp, s = nil, nil, nil, nil
      collectgarbage("collect")
    end
  end)
  it("get/put take resume, max_in_flight and channels", function()
    local s, sftp = sftp_session()
    if not s then pending("no SFTP in this build") return end
    local d = E.tmpdir()
    local parts = {}
    for i = 1, 3 * 1024 do parts[i] = string.format("%04d", i % 9973) .. string.rep(string.char(i % 251), 1020) end
    local data = table.concat(parts)
    E.write(d .. "/src", data)
    local half = #data // 2
    -- the partial remote file under its stable temporary name: only the rest moves
    E.write(d .. "/r.xssh-part", data:sub(1, half))
    assert.equal(#data - half, sftp:put(d .. "/src", d .. "/r",
      { atomic = true, resume = true, channels = 2, max_in_flight = 1048576 }))
    assert.is_true(E.read(d .. "/r") == data)
    assert.is_nil(io.open(d .. "/r.xssh-part", "rb"))
    local third = #data // 3
    E.write(d .. "/back", data:sub(1, third))
    assert.equal(#data - third, sftp:get(d .. "/r", d .. "/back", { resume = true, max_in_flight = 300000 }))
    assert.is_true(E.read(d .. "/back") == data)
    assert.equal(#data, sftp:put(d .. "/src", d .. "/r2", { channels = 2 }))
    assert.is_true(E.read(d .. "/r2") == data)
  end)
end)
