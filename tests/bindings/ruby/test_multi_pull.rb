# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

require_relative 'xssh_test_helper'

# Xssh::Multi's pull-mode output (Native.multi_op_set_pull, MultiOp#take_output /
# #output_pending), the SFTP listdir op (#add_sftp_listdir, MultiOp#entries) and the
# sftp_open op (#add_sftp_open, MultiOp#sftp) against the test sshd. Back-pressure without
# timing: a command writing far more than max_output cannot end until its output is taken.
class TestMultiPull < Minitest::Test
  T = XsshTest

  def setup
    @s = T.connect
  end

  def teardown
    @s&.finish
  end

  def pull_options(max_output = 0, line_mode = 0)
    o = Xssh::Native.multi_op_options(0, 0, 0, 0, 0, 0, max_output, line_mode, 0, nil)
    Xssh::Native.multi_op_set_pull(o, 1)
    o
  end

  def test_backpressure_and_bytes_exact
    m = Xssh::Multi.new
    op = m.add_run(@s, 'seq 1 50000', pull_options(8192))
    m.perform
    600.times do
      break if op.output_pending[0] >= 8192 || op.state == Xssh::OP_DONE

      m.wait(100)
    end
    assert_equal Xssh::OP_RUNNING, op.state
    assert_equal [8192, 0], op.output_pending
    got = +''
    100_000.times do
      break if op.state == Xssh::OP_DONE

      d = op.take_output(0)
      assert_equal Encoding::BINARY, d.encoding
      assert_operator d.bytesize, :<=, 8192
      got << d
      d.empty? ? m.wait(1000) : m.perform
    end
    got << op.take_output(0)
    assert_equal (1..50_000).map { |i| "#{i}\n" }.join, got
    assert_equal '', op.take_output(0)
    assert_nil op.result.error
  end

  def test_line_mode_stderr_and_errors
    m = Xssh::Multi.new
    op = m.add_run(@s, "printf 'a\\nb'; printf 'e\\n' >&2", pull_options(0, 1))
    assert_equal 0, m.perform_all
    assert_equal "e\n", op.take_output(1)
    assert_equal "a\nb", op.take_output(0)
    e = assert_raises(Xssh::InvalidArgumentError) { m.add_run(@s, 'true', pull_options, proc {}) }
    assert_match(/pull_output/, e.message)
    plain = m.add_run(@s, 'true')
    assert_raises(Xssh::BadUseError) { plain.take_output(0) }
    assert_raises(Xssh::BadUseError) { plain.entries }
    assert_raises(Xssh::BadUseError) { plain.sftp }
    m.perform_all
  end

  def test_sftp_open_and_listdir
    d = T.tmpdir('multi-listdir')
    Dir.mkdir(File.join(d, 'sub'))
    File.binwrite(File.join(d, 'f.txt'), 'abc')
    File.binwrite(File.join(d, "bin-\xFF".b), '')
    m = Xssh::Multi.new
    op = m.add_sftp_open(@s)
    assert_equal 0, m.perform_all
    sftp = op.sftp
    assert_equal 3, sftp.stat(File.join(d, 'f.txt')).filesize
    ls = m.add_sftp_listdir(sftp, d)
    missing = m.add_sftp_listdir(sftp, File.join(d, 'nope'))
    assert_equal 0, m.perform_all
    ents = ls.entries
    assert_equal ["bin-\xFF".b, 'f.txt'.b, 'sub'.b].sort, ents.map { |n, _, _| n.b }.sort
    # the shape SFTPHandle#readdir yields: [name, longentry, attrs]
    blocking = sftp.opendir(d) { |h| h.readdir.to_a }.reject { |n, _, _| ['.', '..'].include?(n) }
    assert_equal blocking.map { |n, l, a| [n, l, a.filesize] }.sort_by(&:first),
                 ents.map { |n, l, a| [n, l, a.filesize] }.sort_by(&:first)
    r = missing.result
    assert_kind_of Xssh::SFTPNoSuchFileError, r.error
    assert_equal 'transfer', r.phase
    assert_raises(Xssh::BadUseError) { missing.entries }
  end
end
