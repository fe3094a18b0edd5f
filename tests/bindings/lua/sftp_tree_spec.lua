-- SPDX-License-Identifier: BSD-3-Clause
-- SFTP directory trees (sftp:put_tree / sftp:get_tree) through the Lua module, against
-- the real sshd (same machine: the remote tree is checked with a local walk).
local xssh = require "xssh"
local E = require "xssh_test_env"

local OLD = 1000000000 -- 2001: far from now

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
local function sh(cmd) assert(os.execute(cmd), cmd) end

local function write(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

local function data(i, n)
  return string.rep(string.format("%06d", i), n // 6 + 1):sub(1, n)
end

-- nfiles files (mostly 0-8 KiB, every 100th ~1 MiB), nested directories with spaces,
-- UTF-8 and bytes that are not UTF-8 in their names, modes 0600/0640/0644/0755, times
-- in 2001, an empty directory, a link to a file and a link that loops (..)
local function make_tree(root, nfiles)
  local dirs = {}
  for _, d in ipairs({"a", "with space", "d\xc3\xa9j\xc3\xa0 \xe6\x97\xa5\xe6\x9c\xac", "raw\xff"}) do
    for _, s in ipairs({"", "/sub", "/sub/deeper"}) do dirs[#dirs + 1] = root .. "/" .. d .. s end
  end
  sh("mkdir -p " .. q(root .. "/empty"))
  for _, d in ipairs(dirs) do sh("mkdir -p " .. q(d)) end
  local modes = {"600", "640", "644", "755"}
  local lists = {{}, {}, {}, {}}
  local total = 0
  for i = 0, nfiles - 1 do
    local n = (i % 100 == 7) and ((1 << 20) + i * 1000) or (i % 17 == 0) and 0 or (i * 7919) % 8192
    local name = (i % 10 == 3) and string.format("file %04d \xe2\x82\xac.txt", i)
      or (i % 10 == 5) and string.format("f\xfe%04d", i) or string.format("f%04d", i)
    local p = dirs[i % #dirs + 1] .. "/" .. name
    write(p, data(i, n))
    local l = lists[i % 4 + 1]
    l[#l + 1] = p
    total = total + n
  end
  for k = 1, 4 do
    write(root .. ".list", table.concat(lists[k], "\0"))
    sh("xargs -0 chmod " .. modes[k] .. " < " .. q(root .. ".list"))
  end
  sh("ln -s a/f0000 " .. q(root .. "/link to file"))
  sh("ln -s .. " .. q(root .. "/a/sub/loop"))
  sh("find " .. q(root) .. " ! -type l -print0 | xargs -0 touch -d @" .. OLD)
  os.remove(root .. ".list")
  return nfiles, total
end

-- {relative path = "type size mode mtime target"} and the bytes of each file
local function walk(root)
  local h = assert(io.popen("find " .. q(root) .. " -mindepth 1 -printf '%P\\t%y\\t%s\\t%m\\t%T@\\t%l\\0'"))
  local all = h:read("a")
  h:close()
  local out, bodies = {}, {}
  for rec in all:gmatch("([^%z]+)%z") do
    local rel, y, size, mode, t, target = rec:match("^(.-)\t(%a)\t(%d+)\t(%d+)\t(%d+)[^\t]*\t(.*)$")
    assert(rel, rec)
    if y == "l" then
      out[rel] = {y = y, target = target}
    else
      out[rel] = {y = y, size = y == "f" and tonumber(size) or 0, mode = mode, t = tonumber(t)}
      if y == "f" then bodies[rel] = E.read(root .. "/" .. rel) end
    end
  end
  return out, bodies
end

local function same(a, b, modes_and_times)
  local wa, ba = walk(a)
  local wb, bb = walk(b)
  local n = 0
  for k, va in pairs(wa) do
    n = n + 1
    local vb = wb[k]
    assert(vb, "missing in copy: " .. k)
    assert.equal(va.y, vb.y, k)
    assert.equal(va.target, vb.target, k)
    assert.equal(va.size, vb.size, k)
    assert(ba[k] == bb[k], "bytes of " .. k)
    if modes_and_times and va.y ~= "l" then
      assert.equal(va.mode, vb.mode, k)
      assert.equal(va.t, vb.t, k)
    end
  end
  for k in pairs(wb) do assert(wa[k], "extra in copy: " .. k) end
  return wa, n
end

local function sftp_session()
  local s = E.session()
  return s, s:sftp_init()
end

describe("SFTP trees", function()
  it("put_tree then get_tree: 1,000 files byte- and structure-exact, preserve, links copied, progress", function()
    local s, sftp = sftp_session()
    local d = E.tmpdir()
    local nfiles, nbytes = make_tree(d .. "/src", 1000)
    local calls, last, paths, npaths = 0, nil, {}, 0
    local monotonic = true
    local function progress(p)
      if last and (p.files_done < last.files_done or p.bytes_done < last.bytes_done) then monotonic = false end
      calls = calls + 1
      last = p
      if not paths[p.path] then paths[p.path] = true npaths = npaths + 1 end
    end
    local st = sftp:put_tree(d .. "/src", d .. "/remote", {progress = progress, preserve = true, symlinks = "copy",
                                                             files_in_flight = 4, atomic = true})
    assert.same({files = nfiles, directories = 14, symlinks = 2, bytes = nbytes}, st)
    assert.is_true(monotonic)
    assert.same({nfiles, nfiles, nbytes, nbytes}, {last.files_done, last.files_total, last.bytes_done, last.bytes_total})
    assert.equal(nfiles, npaths)
    local w = same(d .. "/src", d .. "/remote", true)
    assert.equal("d", w["empty"].y)
    assert.equal("a/f0000", w["link to file"].target)
    last, calls = nil, 0
    st = sftp:get_tree(d .. "/remote", d .. "/back", {progress = progress, preserve = true,
                                                      symlinks = xssh.SYMLINKS_COPY})
    assert.same({files = nfiles, directories = 14, symlinks = 2, bytes = nbytes}, st)
    assert.same({nfiles, nbytes}, {last.files_done, last.bytes_total})
    local wb = same(d .. "/src", d .. "/back", true)
    assert.equal("d", wb["raw\xff"].y) -- names that are not UTF-8 come back as the same bytes
    assert.equal("f", wb["with space/sub/deeper/f\xfe0005"].y)
    s:close()
  end)

  it("preserve off: default modes and new times", function()
    local s, sftp = sftp_session()
    local d = E.tmpdir()
    make_tree(d .. "/src", 30)
    sftp:put_tree(d .. "/src", d .. "/remote", {symlinks = "copy"})
    sftp:get_tree(d .. "/remote", d .. "/back", {symlinks = "copy"})
    local w = same(d .. "/src", d .. "/back", false)
    local wb = walk(d .. "/back")
    for k, v in pairs(wb) do
      if v.y ~= "l" then
        assert.equal(v.y == "d" and "755" or "644", v.mode, k)
        assert(v.t > OLD + 100000, k)
      end
    end
    assert(w)
    s:close()
  end)

  it("symlinks follow (a loop is entered once) and skip", function()
    local s, sftp = sftp_session()
    local d = E.tmpdir()
    local nfiles = make_tree(d .. "/src", 20)
    for i, f in ipairs({sftp.put_tree, sftp.get_tree}) do
      local st = f(sftp, d .. "/src", d .. "/follow" .. i, {symlinks = "follow"})
      assert.equal(0, st.symlinks)
      assert.equal(nfiles + 1, st.files)
      local w = walk(d .. "/follow" .. i)
      assert.equal("f", w["link to file"].y)
      assert.equal(E.read(d .. "/src/a/f0000"), E.read(d .. "/follow" .. i .. "/link to file"))
      assert.is_nil(w["a/sub/loop"])
      st = f(sftp, d .. "/src", d .. "/skip" .. i, {symlinks = "skip"})
      assert.equal(nfiles, st.files)
      for k, v in pairs(walk(d .. "/skip" .. i)) do assert(v.y ~= "l", k) end
    end
    assert.has_error(function() sftp:put_tree(d .. "/src", d .. "/x", {symlinks = "sideways"}) end)
    s:close()
  end)

  it("rejects unknown option names of every options table (did you mean)", function()
    local s, sftp = sftp_session()
    local d = E.tmpdir()
    local function msg(...)
      local ok, e = pcall(...)
      assert.is_false(ok)
      return type(e) == "table" and e.message or tostring(e)
    end
    local q = "%(did you mean '"
    assert.matches("SFTP:put_tree: unknown option 'bogus'", msg(sftp.put_tree, sftp, d, d .. "/x", {bogus = 1}))
    assert.matches("SFTP:get_tree: unknown option 'preserv' " .. q .. "preserve'%?%)",
      msg(sftp.get_tree, sftp, d, d .. "/x", {preserv = true}))
    assert.matches("SFTP:get: unknown option 'resum' " .. q .. "resume'", msg(sftp.get, sftp, d .. "/r", d .. "/l", {resum = true}))
    assert.matches("SFTP:put: unknown option 'chanels' " .. q .. "channels'", msg(sftp.put, sftp, d .. "/l", d .. "/r", {chanels = 2}))
    assert.matches("SFTP:put_buffer: unknown option 'atomc'", msg(sftp.put_buffer, sftp, "x", d .. "/r", {atomc = true}))
    assert.matches("SFTP:get_buffer: unknown option 'progres'", msg(sftp.get_buffer, sftp, d .. "/r", {progres = print}))
    assert.matches("Session:scp_get: unknown option 'mod'", msg(s.scp_get, s, d .. "/r", d .. "/l", {mod = 1}))
    assert.matches("Session:scp_put: unknown option 'x'", msg(s.scp_put, s, d .. "/l", d .. "/r", {x = 1}))
    assert.matches("Session:run: unknown option 'timout' " .. q .. "timeout'", msg(s.run, s, "true", {timout = 1}))
    s:close()
  end)

  it("errors name the path: missing directory, something in the way, cancel, a raising progress", function()
    local s, sftp = sftp_session()
    local d = E.tmpdir()
    local ok, err = pcall(sftp.put_tree, sftp, d .. "/no such dir", d .. "/r")
    assert.is_false(ok)
    assert.is_true(err:is("FileError"))
    assert.truthy(err.message:find(d .. "/no such dir", 1, true))
    ok, err = pcall(sftp.get_tree, sftp, d .. "/no such dir", d .. "/l")
    assert.is_true(err:is("SFTPNoSuchFileError"))
    assert.truthy(err.message:find(d .. "/no such dir", 1, true))
    sh("mkdir -p " .. q(d .. "/src/sub") .. " " .. q(d .. "/remote") .. " " .. q(d .. "/back"))
    write(d .. "/src/sub/f", "x")
    write(d .. "/remote/sub", "in the way")
    write(d .. "/back/sub", "in the way")
    ok, err = pcall(sftp.put_tree, sftp, d .. "/src", d .. "/remote")
    assert.is_true(err:is("SFTPFileAlreadyExistsError"))
    assert.truthy(err.message:find(d .. "/remote/sub", 1, true))
    assert.truthy(err.message:find("in the way", 1, true))
    ok, err = pcall(sftp.get_tree, sftp, d .. "/src", d .. "/back")
    assert.is_true(err:is("FileError"))
    assert.truthy(err.message:find(d .. "/back/sub", 1, true))
    make_tree(d .. "/big", 30)
    local seen
    ok, err = pcall(sftp.put_tree, sftp, d .. "/big", d .. "/c1",
                    {files_in_flight = 1, progress = function(p) seen = p return p.files_done >= 3 end})
    assert.is_true(err:is("CancelledError"))
    assert.same({3, 31}, {seen.files_done, seen.files_total})
    ok, err = pcall(sftp.get_tree, sftp, d .. "/big", d .. "/c2", {progress = function() error("boom") end})
    assert.is_false(ok)
    assert.truthy(tostring(err):find("boom", 1, true))
    assert.has_error(function() sftp:put_tree(d .. "/big", d .. "/c3", {progress = 5}) end)
    s:close()
  end)

  it("remote permission denied names the path", function()
    if E.pw_user == "" then pending("no password account (not running as root)") return end
    local s = E.raw_session()
    s:userauth_password(E.pw_user, E.password)
    local sftp = s:sftp_init()
    local h = assert(io.popen("mktemp -d /tmp/xssh-lua-tree-XXXXXX"))
    local top = h:read("l")
    h:close()
    sh("mkdir -p " .. q(top .. "/t/secret") .. " && echo s > " .. q(top .. "/t/secret/f") ..
       " && chmod 755 " .. q(top) .. " " .. q(top .. "/t") .. " && chmod 700 " .. q(top .. "/t/secret"))
    local ok, err = pcall(sftp.get_tree, sftp, top .. "/t", E.tmpdir() .. "/copy")
    assert.is_false(ok)
    assert.is_true(err:is("SFTPPermissionDeniedError"))
    assert.truthy(err.message:find(top .. "/t/secret", 1, true))
    ok, err = pcall(sftp.put_tree, sftp, top .. "/t", top .. "/t/newdir")
    assert.is_true(err:is("SFTPPermissionDeniedError"))
    assert.truthy(err.message:find(top .. "/t/newdir", 1, true))
    sh("rm -rf " .. q(top))
    s:close()
  end)
end)
