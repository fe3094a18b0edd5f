-- SPDX-License-Identifier: BSD-3-Clause
-- xssh.Multi's pull-mode output (multi_op_set_pull, op:take_output, op:output_pending), the SFTP
-- listdir op (m:add_sftp_listdir, op:entries) and the sftp_open op (m:add_sftp_open, op:sftp)
-- against the test sshd. Back-pressure without timing: a command writing far more than
-- max_output cannot end until its output is taken.
local xssh = require "xssh"
local E = require "xssh_test_env"

local function pull_options(max_output, line_mode)
  local o = xssh.core.multi_op_options(0, 0, 0, 0, 0, 0, max_output or 0, line_mode or 0, 0, nil)
  xssh.core.multi_op_set_pull(o, 1)
  return o
end

describe("Multi pull output and SFTP ops", function()
  it("throttles at max_output and delivers every byte in order", function()
    local s = E.session()
    local m = xssh.Multi()
    local op = m:add_run(s, "seq 1 50000", pull_options(8192))
    m:perform()
    for _ = 1, 600 do
      if op:output_pending() >= 8192 or op:state() == xssh.OP_DONE then break end
      m:wait(100)
    end
    assert.equal(xssh.OP_RUNNING, op:state())
    local o, e = op:output_pending()
    assert.equal(8192, o)
    assert.equal(0, e)
    local got = {}
    for _ = 1, 100000 do
      if op:state() == xssh.OP_DONE then break end
      local d = op:take_output(xssh.STREAM_STDOUT or 0)
      assert.equal("string", type(d))
      assert.is_true(#d <= 8192)
      got[#got + 1] = d
      if #d > 0 then m:perform() else m:wait(1000) end
    end
    got[#got + 1] = op:take_output(0)
    local want = {}
    for i = 1, 50000 do want[#want + 1] = i .. "\n" end
    assert.equal(table.concat(want), table.concat(got))
    assert.equal("", op:take_output(0))
    assert.is_nil(op:result().error)
    assert.equal("", op:result().stdout)
    s:close()
  end)

  it("line mode and stderr; errors", function()
    local s = E.session()
    local m = xssh.Multi()
    local op = m:add_run(s, "printf 'a\\nb'; printf 'e\\n' >&2", pull_options(0, 1))
    assert.equal(0, m:perform_all())
    assert.equal("e\n", op:take_output(1))
    assert.equal("a\nb", op:take_output(0))
    local ok, err = pcall(m.add_run, m, s, "true", pull_options(), function() end)
    assert.is_false(ok)
    assert.matches("pull_output", tostring(err.message or err))
    local plain = m:add_run(s, "true")
    ok, err = pcall(plain.take_output, plain, 0)
    assert.is_false(ok)
    assert.matches("pull_output", tostring(err.message or err))
    assert.is_false(pcall(plain.entries, plain))
    assert.is_false(pcall(plain.sftp, plain))
    m:perform_all()
    s:close()
  end)

  it("sftp_open gives an SFTP for blocking calls; listdir lists entries as readdir_next", function()
    local d = E.tmpdir()
    assert(os.execute("mkdir '" .. d .. "/sub' && printf abc > '" .. d .. "/f.txt' && : > '" .. d .. "/bin-\255'"))
    local s = E.session()
    local m = xssh.Multi()
    local op = m:add_sftp_open(s)
    assert.equal(0, m:perform_all())
    local sftp = op:sftp()
    assert.equal(3, sftp:stat(d .. "/f.txt").filesize)
    local ls = m:add_sftp_listdir(sftp, d)
    local missing = m:add_sftp_listdir(sftp, d .. "/nope")
    assert.equal(0, m:perform_all())
    local names = {}
    for _, e in ipairs(ls:entries()) do
      assert.equal(e[1], e.name)
      assert.equal("string", type(e.longentry))
      names[e.name] = e.attrs.filesize
    end
    assert.same({ ["f.txt"] = 3, ["bin-\255"] = 0, sub = names.sub }, names)
    assert.is_not_nil(names.sub)
    local r = missing:result()
    assert.equal("SFTPNoSuchFileError", r.error.class)
    assert.equal("transfer", r.phase)
    assert.is_false(pcall(missing.entries, missing))
    s:close()
  end)
end)
