# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

# Ruby's fiber-scheduler form (bindings/ruby/lib/xssh/fiber.rb) against the
# test sshd: finished ops are not kept by the scheduler's Multi (no memory or
# fd growth over many calls), run keeps every byte of output as the blocking
# run does, bad timeouts are argument errors naming the method and parameter,
# and SFTP#each_entry/#entries give what the blocking forms give. No timing.
require_relative 'xssh_test_helper'
begin
  require 'async'
rescue LoadError
  nil
end

class TestFiberLeaks < Minitest::Test
  T = XsshTest

  def setup
    raise 'ruby-async (the async gem) is required for these tests' unless defined?(Async)
  end

  def connect(&blk)
    T.connect(agent: false, &blk)
  end

  def reactor(&blk)
    Async(&blk).wait
  end

  def open_fds
    GC.start
    Dir.children('/proc/self/fd').size
  end

  # every finished op was taken off the scheduler's Multi (info_read has none left)
  def assert_no_finished_ops_kept
    assert_nil Xssh::FiberSched::Loop.current.multi.info_read, 'a finished op is still queued on the Multi'
  end

  def test_connect_run_close_cycles_keep_no_fds_or_ops
    reactor do
      2.times { connect.tap { |s| s.run('true') }.close } # the first cycles may open lasting fds (the loop's own)
      base = open_fds
      25.times do
        s = connect
        assert_equal "x\n", s.run('echo x').stdout
        s.close
      end
      grown = open_fds - base
      assert_operator grown, :<=, 3, "25 connect/run/close cycles under Async left #{grown} more open fds"
      assert_no_finished_ops_kept
    end
  end

  def test_many_runs_on_one_session_keep_no_ops
    reactor do
      connect do |s|
        40.times { |i| assert_equal "#{i}\n", s.run("echo #{i}").stdout }
        assert_no_finished_ops_kept
        s.sftp do |sf|
          sf.listdir('.')
          assert_no_finished_ops_kept
        end
      end
      assert_no_finished_ops_kept
    end
  end

  def test_run_keeps_all_output_as_the_blocking_run
    cmd = 'seq 1 450000' # 3 MB (> the multi's 1 MiB default)
    blocking = connect { |s| s.run(cmd) }
    assert_operator blocking.stdout.bytesize, :>, 3_000_000
    reactor do
      connect do |s|
        r = s.run(cmd)
        assert_equal blocking.stdout.bytesize, r.stdout.bytesize
        assert_equal blocking.stdout, r.stdout
        r = s.run('head -c 3145728 /dev/zero >&2', merge_stderr: false)
        assert_equal 3_145_728, r.stderr.bytesize
      end
    end
  end

  def check_timeout_errors(s)
    e = assert_raises(TypeError) { s.run('true', timeout: 'x') }
    assert_includes e.message, 'Xssh::Session#run'
    assert_includes e.message, 'timeout'
    assert_includes e.message, 'String'
    e = assert_raises(TypeError) { s.run('true', idle_timeout: :soon) }
    assert_includes e.message, 'Xssh::Session#run: idle_timeout'
    e = assert_raises(ArgumentError) { s.run('true', timeout: -1) }
    assert_includes e.message, 'Xssh::Session#run: timeout'
    e = assert_raises(ArgumentError) { s.run('true', timeout: Float::INFINITY) }
    assert_includes e.message, 'Xssh::Session#run: timeout'
    e = assert_raises(TypeError) { s.stream('true', timeout: 'x') { nil } }
    assert_includes e.message, 'Xssh::Session#stream: timeout'
    assert_equal "ok\n", s.run('echo ok', timeout: 60).stdout # the session stays usable
  end

  def test_bad_timeout_is_an_argument_error_both_forms
    connect { |s| check_timeout_errors(s) }
    reactor { connect { |s| check_timeout_errors(s) } }
  end

  def test_each_entry_and_entries_match_the_blocking_forms
    dir = T.tmpdir('fiber-leaks')
    File.binwrite(File.join(dir, 'a.txt'), 'abc')
    Dir.mkdir(File.join(dir, 'sub'))
    blocking = connect do |s|
      s.sftp do |sf|
        [sf.listdir(dir).sort, sf.entries(dir).sort, sf.each_entry(dir).map(&:first).sort]
      end
    end
    assert_equal [%w[a.txt sub]] * 3, blocking
    fiber = reactor do
      connect do |s|
        s.sftp do |sf|
          [sf.listdir(dir).sort, sf.entries(dir).sort, sf.each_entry(dir).map(&:first).sort]
        end
      end
    end
    assert_equal blocking, fiber
  end
end
