# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

# Xssh.connect / Session#run / SFTP#get/put under Ruby 3's fiber scheduler (the
# `async` gem, Debian's ruby-async) against the many-hosts fixture
# ($XSSH_MANY_HOSTS); docs/async-lua-ruby.md. No test depends on timing:
# overlap is proven by commands that only end when all 20 run at once;
# cancellation waits for a marker file the remote command creates.
require_relative 'xssh_test_helper'
require 'json'
require 'tmpdir'
require 'open3'
require 'rbconfig'
begin
  require 'async'
rescue LoadError
  nil
end

class TestFiberScheduler < Minitest::Test
  BOUND = 1500 # iterations of 0.2 s in a remote loop: far beyond a loaded machine's needs
  DOC = File.expand_path('../../../docs/async-lua-ruby.md', __dir__)

  def setup
    skip 'needs the sshd_many fixture' unless ENV['XSSH_MANY_HOSTS']
    raise 'ruby-async (the async gem) is required for these tests' unless defined?(Async)

    @many = JSON.parse(File.read(ENV.fetch('XSSH_MANY_HOSTS')))
    @kw = { key: @many['key'], known_hosts: @many['known_hosts'], agent: false }
    @scratch = Dir.mktmpdir('rb-fiber-', @many['scratch_dir'])
    File.chmod(0o777, @scratch)
  end

  def teardown
    FileUtils.rm_rf(@scratch) if @scratch
  end

  def good
    @many['hosts']
  end

  # a shell loop waiting (bounded) until path exists
  def wait_cmd(path)
    "n=0; while [ ! -e #{path} ]; do n=$((n+1)); [ $n -gt #{BOUND} ] && exit 7; sleep 0.2; done"
  end

  def test_twenty_sessions_overlap_on_one_thread
    hosts = good[0, 20]
    threads = Thread.list.size
    cmd = lambda { |i|
      "touch #{@scratch}/f#{i}; n=0; while [ $(ls #{@scratch} | wc -l) -lt 20 ]; do n=$((n+1)); " \
        "[ $n -gt #{BOUND} ] && exit 7; sleep 0.2; done; echo done #{i}"
    }
    results = Async do |task|
      hosts.each_with_index.map do |h, i|
        task.async do
          Xssh.connect(h, **@kw) { |s| s.run(cmd.call(i)) }
        end
      end.map(&:wait)
    end.wait
    assert_equal threads, Thread.list.size
    results.each_with_index do |r, i|
      assert_kind_of Xssh::RunResult, r
      assert_equal [0, "done #{i}\n"], [r.exit_status, r.stdout]
    end
  end

  def test_sftp_put_get_byte_exact_concurrently
    data = Random.new(17).bytes(300_000) # several SFTP packets (cut at 30000 bytes)
    src = File.join(@scratch, 'src.bin')
    File.binwrite(src, data)
    got = Async do |task|
      good[0, 4].each_with_index.map do |h, i|
        task.async do
          Xssh.connect(h, **@kw) do |s|
            s.sftp do |sf|
              remote = File.join(@scratch, "up#{i}.bin")
              assert_equal data.bytesize, sf.put(src, remote)
              local = File.join(@scratch, "down#{i}.bin")
              assert_equal data.bytesize, sf.get(remote, local)
              File.binread(local)
            end
          end
        end
      end.map(&:wait)
    end.wait
    got.each { |g| assert_equal data, g }
    e = Async do
      Xssh.connect(good[0], **@kw) do |s|
        s.sftp { |sf| sf.get(File.join(@scratch, 'missing'), File.join(@scratch, 'x')) }
      end
      []
    rescue Xssh::Error => err
      [err] # (a task whose value is an exception: async 1.x's wait raises it)
    end.wait.first
    assert_kind_of Xssh::SFTPError, e
  end

  def test_task_stop_cancels_run_and_session_stays_usable
    marker = File.join(@scratch, 'started')
    Async do |task|
      Xssh.connect(good[0], **@kw) do |s|
        other_ran = false
        runner = task.async do
          s.run("touch #{marker}; #{wait_cmd(File.join(@scratch, 'never'))}")
        end
        watcher = task.async do
          (BOUND * 10).times do
            break if File.exist?(marker)

            task.sleep(0.02) # yields to the reactor: the run fiber keeps going
          end
          other_ran = true
        end
        watcher.wait
        assert other_ran
        assert File.exist?(marker), 'the remote command never started'
        runner.stop
        assert runner.stopped?
        r = s.run('echo again')
        assert_equal "again\n", r.stdout
        assert_equal 0, r.exit_status
      end
    end.wait
  end

  def test_with_timeout_cancels_run_and_session_stays_usable
    Async do |task|
      Xssh.connect(good[1], **@kw) do |s|
        assert_raises(Async::TimeoutError) do
          task.with_timeout(0.5) { s.run(wait_cmd(File.join(@scratch, 'never'))) }
        end
        assert_equal "ok\n", s.run('echo ok').stdout
      end
    end.wait
  end

  def test_errors_are_xssh_exceptions
    errs = Async do |task|
      [
        -> { Xssh.connect(@many['refused_hosts'][0], **@kw) },
        -> { Xssh.connect(good[2], **@kw, key: @many['wrong_key']) },
        -> { Xssh.connect(@many['unknown_hostkey_hosts'][0], **@kw) },
        -> { Xssh.connect(good[3], **@kw) { |s| s.run(wait_cmd(File.join(@scratch, 'never')), timeout: 0.3) } }
      ].map do |f|
        task.async do
          f.call
          [nil]
        rescue Xssh::Error => e
          [e] # (a task whose value is an exception: async 1.x's wait raises it)
        end
      end.map { |t| t.wait.first }
    end.wait
    errs.each { |e| assert_kind_of Xssh::Error, e }
    assert_kind_of Xssh::Timeout, errs[3]
    assert_kind_of Xssh::AuthError, errs[1] if defined?(Xssh::AuthError)
    errs.each { |e| refute_includes e.message, 'PRIVATE KEY' }
  end

  def test_without_scheduler_calls_stay_blocking
    refute Xssh::FiberSched.active?
    host, port = good[0].split(':')
    Xssh.connect(host, port: Integer(port), **@kw) { |s| assert_equal "x\n", s.run('echo x').stdout }
    Async { assert Xssh::FiberSched.active? }.wait
  end

  def test_doc_example_runs
    code = File.read(DOC)[/^```ruby\n(.*?)^```/m, 1]
    refute_nil code
    path = File.join(@scratch, 'example.rb')
    File.write(path, code)
    args = [@many['key'], @many['known_hosts'], *good[0, 3]]
    out, err, st = Open3.capture3(RbConfig.ruby, *$LOAD_PATH.flat_map { |d| ['-I', d] }, path, *args)
    assert st.success?, err
    assert_equal 3, out.lines.size, out
    good[0, 3].each { |h| assert_includes out, "#{h}: 0 hello\n" }
  end
end
