# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

# A blocking call on the session a fiber-scheduler call waits on (Ruby 3's
# fiber scheduler, Debian's ruby-async; docs/async-lua-ruby.md): the blocking
# call reads the waiting call's output into libssh2's queue, so the waiting
# op's socket stays quiet. The C core makes that op runnable and writes the
# Multi's wake-up descriptor (listed by Multi#fds with the sockets: the
# scheduler's driver waits on it too); the waiting call then finishes at once
# instead of at the dead-peer probe (docs/multi.md, "Wake-ups across the multis
# of a thread").
#
# No timing: the order is forced with marker files. The waiting command reads
# its stdin first (the op writes it only after the server answered its exec
# request: from then on it holds nothing a blocking call needs), prints only
# after the blocking command started (m1), and the blocking command ends only
# after the waiting command has printed and exited (m2, then its process is
# gone): everything of the waiting command's channel comes before the end of
# the blocking command's and is read by the blocking call. The session has no
# keepalive and a one-hour timeout (no probe wakes the op). A woken op is done
# within a reactor turn; one that is not would wait for its own 20 s timeout
# (whose timer wakes it too): the test bounds the wait at 10 s (a failure
# bound, not a measurement: with the fix it takes a few ms).
require_relative 'xssh_test_helper'
begin
  require 'async'
rescue LoadError
  nil
end

class TestFiberKick < Minitest::Test
  T = XsshTest
  BOUND = 300 # iterations of 0.2 s in a remote wait loop (60 s): far beyond a loaded machine's needs
  WATCH = 6000 # iterations of a 0.01 s scheduler sleep in a local watch loop
  OP_TIMEOUT = 20 # s: the waiting call's own timeout (its timer would wake it)
  BOUND_S = 10 # s: the waiting call must be done well before that timer

  def setup
    raise 'ruby-async (the async gem) is required for these tests' unless defined?(Async)

    @dir = T.tmpdir('fiber-kick')
  end

  def path(name)
    File.join(@dir, name)
  end

  # a shell loop waiting (bounded) until path exists
  def wait_cmd(file)
    "n=0; while [ ! -e #{file} ]; do n=$((n+1)); [ $n -gt #{BOUND} ] && exit 7; sleep 0.2; done"
  end

  # a shell loop waiting (bounded) until the process whose pid is in file is gone (reaped)
  def wait_gone_cmd(file)
    "p=$(cat #{file}); n=0; while kill -0 $p 2>/dev/null; do n=$((n+1)); [ $n -gt #{BOUND} ] && exit 8; " \
      'sleep 0.2; done'
  end

  # wait (bounded, yielding to the reactor) until the block is true
  def until_true(task, what)
    WATCH.times do
      return if yield

      task.sleep(0.01)
    end
    flunk "never happened: #{what}"
  end

  def connect(&blk)
    T.connect(agent: false, timeout: 3600, options: { 'ServerAliveInterval' => '0' }, &blk)
  end

  def waiting_cmd
    "read x; echo $$ > #{path('pid')}; touch #{path('m0')}; #{wait_cmd(path('m1'))}; seq 1 3000; " \
      "exec touch #{path('m2')}"
  end

  def blocking_cmd
    "touch #{path('m1')}; #{wait_cmd(path('m2'))}; #{wait_gone_cmd(path('pid'))}; echo b"
  end

  def expected
    (1..3000).map { |i| "#{i}\n" }.join
  end

  def test_blocking_run_in_a_blocking_fiber_reading_a_waiting_runs_output
    Async do |task|
      connect do |s|
        waiter = task.async { s.run(waiting_cmd, stdin: "go\n", timeout: OP_TIMEOUT) }
        until_true(task, 'the waiting command started and read its stdin') { File.exist?(path('m0')) }
        # the newcomer's case: a blocking call on the same session and thread
        b = Fiber.new(blocking: true) { s.run(blocking_cmd, timeout: 120) }.resume
        assert_equal "b\n", b.stdout
        assert_equal 0, b.exit_status
        refute waiter.finished?, 'the waiting call ran while the thread was blocked'
        r = bounded_wait(task, waiter)
        assert_equal 0, r.exit_status
        assert_equal expected, r.stdout
        assert_equal "again\n", s.run('echo again').stdout
      end
    end.wait
  end

  def test_blocking_channel_reads_reading_a_waiting_runs_output
    # the same with the blocking channel calls (open, execute, read to the end)
    Async do |task|
      connect do |s|
        waiter = task.async { s.run(waiting_cmd, stdin: "go\n", timeout: OP_TIMEOUT) }
        until_true(task, 'the waiting command started and read its stdin') { File.exist?(path('m0')) }
        out = Fiber.new(blocking: true) do
          ch = s.open_session
          ch.execute(blocking_cmd)
          data = ch.read_all
          ch.close
          data
        end.resume
        assert_equal "b\n", out
        r = bounded_wait(task, waiter)
        assert_equal 0, r.exit_status
        assert_equal expected, r.stdout
      end
    end.wait
  end

  private

  # the waiter's result; fails when it is not done within BOUND_S (nothing woke it)
  def bounded_wait(task, waiter)
    task.with_timeout(BOUND_S) { waiter.wait }
  rescue Async::TimeoutError
    flunk 'the waiting call was not woken: its output had been read by the blocking call, ' \
          "its socket stayed quiet #{BOUND_S} s"
  end
end
