# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

require 'weakref'
require_relative 'xssh_test_helper'

# Channels and Session#run against the real sshd: exec, stdout/stderr, stdin,
# exit status and signal, binary data, the non-blocking loop, errors, GC, threads.
class TestChannel < Minitest::Test
  T = XsshTest

  def setup
    skip 'no channels in this build' unless defined?(Xssh::Channel) && Xssh::Channel.method_defined?(:execute)
    @s = T.auth_session
  end

  def test_exec_read_and_exit_status
    ch = @s.open_session
    assert_kind_of Xssh::Channel, ch
    assert_same @s, ch.session
    assert_equal 0, ch.execute('echo me; echo oops >&2; exit 3')
    out = ch.read_all
    assert_equal "me\n", out
    assert_equal Encoding::ASCII_8BIT, out.encoding
    n, err = ch.read_stderr
    assert_equal [5, "oops\n"], [n, err]
    assert_equal 0, ch.wait_eof
    assert ch.eof?
    assert_equal 0, ch.close
    assert_equal 0, ch.wait_closed
    assert_equal 3, ch.get_exit_status
    assert_equal [3, true], ch.exit_status_ex
    assert_equal 3, ch.exit_status
    assert_nil ch.exit_signal
  end

  def test_exit_signal
    ch = @s.open_session
    ch.execute('kill -TERM $$')
    ch.wait_eof
    ch.close
    ch.wait_closed
    assert_equal 'TERM', ch.exit_signal
    assert_equal false, ch.exit_status_ex[1]
    assert_nil ch.exit_status
  end

  def test_stdin_and_binary_data
    data = (0..255).map(&:chr).join.b * 64
    ch = @s.open_session
    ch.execute('cat')
    n, written = ch.write(data)
    assert_equal data.bytesize, n
    assert_equal data.bytesize, written
    ch.send_eof
    back = ch.read_all
    assert_equal Encoding::ASCII_8BIT, back.encoding
    assert_equal data, back
    ch.wait_closed
    assert_equal 0, ch.get_exit_status
  end

  def test_text_arguments_accept_any_string
    ch = @s.open_session
    ch.execute(+'printf %s "héllo"')
    assert_equal 'héllo'.b, ch.read_all
  end

  def test_open_session_block_closes
    seen = nil
    @s.open_session do |ch|
      seen = ch
      ch.execute('true')
    end
    assert seen.closed?
    # and a closed channel raises, never crashes
    assert_raises(Xssh::Error) { seen.execute('true') }
  end

  def test_run
    r = @s.run('echo me; exit 2')
    assert_kind_of Xssh::RunResult, r
    assert_equal "me\n", r.stdout
    assert_equal '', r.stderr
    assert_equal 2, r.exit_status
    assert_nil r.exit_signal
    refute r.success?
    r = @s.run('cat; echo err >&2', stdin: "in\n")
    assert_equal ["in\n", "err\n", 0], [r.stdout, r.stderr, r.exit_status]
    assert r.success?
    r = @s.run('echo a; echo b >&2', merge_stderr: true)
    assert_equal "a\nb\n", r.stdout.lines.sort.join
    r = @s.run('kill -KILL $$')
    assert_nil r.exit_status
    assert_equal 'KILL', r.exit_signal
    big = @s.run('head -c 300000 /dev/zero; head -c 200000 /dev/zero >&2')
    assert_equal [300_000, 200_000], [big.stdout.bytesize, big.stderr.bytesize]
  end

  def test_run_timeout_keeps_the_session
    t0 = T.monotonic
    assert_raises(Xssh::Timeout) { @s.run('sleep 10', timeout: 0.5) }
    # the timeout, plus at most the C side's close grace period (run.c: 3 s)
    assert_operator T.monotonic - t0, :<, 5
    assert_equal "ok\n", @s.run('echo ok').stdout
    assert_raises(ArgumentError) { @s.run('true', timeout: -1) }
  end

  def test_non_blocking_loop
    @s.set_blocking(false)
    io = IO.for_fd(@s.socket, autoclose: false)
    wait = lambda do
      dirs = @s.block_directions
      IO.select(dirs.anybits?(Xssh::BLOCK_INBOUND) ? [io] : nil,
                dirs.anybits?(Xssh::BLOCK_OUTBOUND) ? [io] : nil, nil, 5)
    end
    ch = wait.call while (ch = @s.open_session) == Xssh::EAGAIN
    assert_kind_of Xssh::Channel, ch
    wait.call while (rc = ch.execute('sleep 0.3; echo late')) == Xssh::EAGAIN
    assert_equal 0, rc
    out = String.new(encoding: Encoding::BINARY)
    eagains = 0
    loop do
      n, data = ch.read
      if n == Xssh::EAGAIN
        eagains += 1
        wait.call
        next
      end
      break if n.zero?

      out << data
    end
    assert_equal "late\n", out
    assert_operator eagains, :>, 0, 'reading before the output exists returns EAGAIN'
  end

  def test_errors
    assert_raises(Xssh::InvalidArgumentError) { @s.open_session.execute(nil) }
    assert_raises(TypeError) { @s.open_session.execute(42) }
    ch = @s.open_session
    ch.close
    e = assert_raises(Xssh::Error) { ch.write('x') }
    assert_kind_of Xssh::SSH2Error, e
    assert_raises(TypeError) { @s.open_session.write(42) }
  end

  def orphan_channel
    s = T.auth_session
    ch = s.open_session
    ch.remove_instance_variable(:@session) # only the C reference keeps the session alive
    [WeakRef.new(s), ch]
  end

  def test_channel_outlives_collected_session
    ref, ch = orphan_channel
    3.times { GC.start(full_mark: true, immediate_sweep: true) }
    refute ref.weakref_alive?, 'the Session object was collected'
    ch.execute('echo still here')
    assert_equal "still here\n", ch.read_all
    ch = nil # rubocop:disable Lint/UselessAssignment
    GC.start
  end

  def test_unread_channels_collected_then_session_reused
    5.times do
      ch = @s.open_session
      ch.execute('head -c 100000 /dev/zero')
    end
    GC.start(full_mark: true, immediate_sweep: true)
    assert_equal "fine\n", @s.run('echo fine').stdout
  end

  def test_two_runs_in_two_threads_take_the_time_of_one
    s2 = T.auth_session
    t0 = T.monotonic
    rs = [@s, s2].map { |s| Thread.new { s.run('sleep 1; echo done') } }.map(&:value)
    elapsed = T.monotonic - t0
    assert_equal ["done\n"] * 2, rs.map(&:stdout)
    assert_operator elapsed, :<, 1.7, "two run('sleep 1') in two threads took #{elapsed.round(2)} s"
  end
end
