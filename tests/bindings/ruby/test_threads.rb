# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

require_relative 'xssh_test_helper'

# The GVL is released around blocking C calls: two threads with two sessions
# block in parallel, and other Ruby threads keep running meanwhile.
class TestThreads < Minitest::Test
  T = XsshTest
  WAIT_MS = 1000

  # A handshake against a server that never speaks: blocks WAIT_MS, then Timeout.
  def blocking_handshake(port)
    s = Xssh::Session.new
    s.set_timeout(WAIT_MS)
    s.connect('127.0.0.1', port, WAIT_MS)
    :connected
  rescue Xssh::Timeout, Xssh::SocketTimeout
    :timeout
  end

  def test_one_blocking_call_takes_the_timeout
    T.silent_server do |port|
      t0 = T.monotonic
      assert_equal :timeout, blocking_handshake(port)
      assert_in_delta WAIT_MS / 1000.0, T.monotonic - t0, 0.5
    end
  end

  def test_two_sessions_block_in_parallel
    T.silent_server do |port|
      t0 = T.monotonic
      results = Array.new(2) { Thread.new { blocking_handshake(port) } }.map(&:value)
      elapsed = T.monotonic - t0
      assert_equal %i[timeout timeout], results
      # serialised by the GVL this would take 2 x WAIT_MS
      assert_operator elapsed, :<, 1.6 * WAIT_MS / 1000.0, "two blocking calls took #{elapsed.round(2)} s"
      assert_operator elapsed, :>=, 0.8 * WAIT_MS / 1000.0
    end
  end

  def test_other_threads_run_while_a_call_blocks
    T.silent_server do |port|
      ticks = 0
      stop = false
      ticker = Thread.new do
        until stop
          ticks += 1
          sleep 0.01
        end
      end
      assert_equal :timeout, blocking_handshake(port)
      stop = true
      ticker.join
      # ~100 ticks in 1 s when the GVL is free; ~0 if the call held it
      assert_operator ticks, :>, 30, "the ticker ran #{ticks} times during a 1 s blocking call"
    end
  end

  def test_authenticated_sessions_in_threads
    results = Array.new(4) do
      Thread.new do
        Xssh.connect(T::HOST, port: T::PORT, user: T::USER, key: T::KEY, known_hosts: T::KNOWN_HOSTS) do |s|
          [s.authenticated?, s.hostkey_fingerprint]
        end
      end
    end.map(&:value)
    assert_equal [[true, T::FINGERPRINT]] * 4, results
  end

  # The same session used from two threads: serialised by the C session lock,
  # never a deadlock with the GVL.
  def test_one_session_two_threads
    s = T.auth_session
    fps = Array.new(2) { Thread.new { Array.new(20) { s.hostkey_fingerprint }.uniq } }.map(&:value)
    assert_equal [[T::FINGERPRINT]] * 2, fps
  end
end
