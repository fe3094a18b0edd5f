# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

# Under Ruby 3's fiber scheduler (the `async` gem) an error of the C core names
# the Ruby method the user called (issue 17, a newcomer's findings): an
# operation added on a closed session said "xssh_multi_add_run: the session is
# closed" (the C function). Against the test sshd; nothing depends on timing
# (the session is closed before the calls, the port is held busy).
require_relative 'xssh_test_helper'
require 'socket'
begin
  require 'async'
rescue LoadError
  nil
end

class TestFiberNames < Minitest::Test
  T = XsshTest

  def setup
    raise 'ruby-async (the async gem) is required for these tests' unless defined?(Async)

    @dir = T.tmpdir('fiber-names')
    @up = File.join(@dir, 'up')
    File.binwrite(@up, 'data')
  end

  def reactor(&blk)
    Async(&blk).wait
  end

  # every scheduler form, called on a closed session (and an SFTP of it)
  def closed_calls(sess, sftp)
    {
      'Xssh::Session#run' => -> { sess.run('true') },
      'Xssh::Session#stream' => -> { sess.stream('true') { nil } },
      'Xssh::Session#sftp' => -> { sess.sftp },
      'Xssh::Session#sftp_init' => -> { sess.sftp_init },
      'Xssh::Session#forward_local' => -> { sess.forward_local('127.0.0.1', 0, '127.0.0.1', 22).close },
      'Xssh::SFTP#listdir' => -> { sftp.listdir(@dir) },
      'Xssh::SFTP#entries' => -> { sftp.entries(@dir) },
      'Xssh::SFTP#each_entry' => -> { sftp.each_entry(@dir) { nil } },
      'Xssh::SFTP#get' => -> { sftp.get(@up, File.join(@dir, 'down')) },
      'Xssh::SFTP#put' => -> { sftp.put(@up, File.join(@dir, 'r')) }
    }
  end

  def test_calls_on_a_closed_session_name_the_method_and_keep_the_error
    failures = reactor do
      s = T.connect(agent: false)
      sf = s.sftp_init
      s.disconnect
      closed_calls(s, sf).filter_map do |meth, call|
        begin
          call.call
          "#{meth}: no error"
        rescue Xssh::Error => e
          want = "#{meth}: the session is closed"
          next nil if e.is_a?(Xssh::ClosedError) && e.code == Xssh::ECLOSED && e.name == 'XSSH_ECLOSED' &&
                      e.message == want && e.sftp_status.zero?

          "#{meth}: #{e.class}: #{e.message}"
        end
      end
    end
    assert_equal [], failures
    refute File.exist?(File.join(@dir, 'down')), 'get on a closed session left a file'
  end

  def test_stream_outside_a_scheduler_names_the_method_too
    s = T.connect(agent: false)
    s.disconnect
    e = assert_raises(Xssh::ClosedError) { s.stream('true') { nil } }
    assert_equal 'Xssh::Session#stream: the session is closed', e.message
  end

  def test_a_port_that_cannot_be_bound_names_forward_local_the_address_and_the_cause
    busy = TCPServer.new('127.0.0.1', 0)
    port = busy.addr[1]
    reactor do
      T.connect(agent: false) do |s|
        e = assert_raises(Xssh::ConnectError) { s.forward_local('127.0.0.1', port, '127.0.0.1', 22) }
        assert_equal Xssh::ECONNECT, e.code
        assert_match(/\AXssh::Session#forward_local: cannot listen on 127\.0\.0\.1:#{port}: \S/, e.message)
        assert_equal "ok\n", s.run('echo ok').stdout # the session is still usable
      end
    end
  ensure
    busy&.close
  end

  def test_sftp_status_errors_and_path_errors_name_the_method
    reactor do
      T.connect(agent: false) do |s|
        sf = s.sftp
        e = assert_raises(Xssh::SFTPError) { sf.listdir(File.join(@dir, 'missing')) }
        assert_equal 2, e.sftp_status
        refute_includes e.message, 'xssh_'
        # a path of the wrong type names the method called (not an internal helper)
        { listdir: -> { sf.listdir(5) }, entries: -> { sf.entries(5) }, each_entry: -> { sf.each_entry(5) { nil } } }
          .each do |meth, call|
          te = assert_raises(TypeError) { call.call }
          assert_match(/\AXssh::SFTP##{meth}: path: expected a path/, te.message)
        end
      end
    end
  end

  # an op's failure keeps its error (class, code, name, sftp_status) and names the method once,
  # also where the C core's text names a C function (the op's caller: xssh_multi_op_opts.caller)
  def test_an_op_error_keeps_the_error_and_names_the_method_once
    missing = File.join(@dir, 'missing')
    errs = reactor do
      T.connect(agent: false) do |s|
        sf = s.sftp
        { 'Xssh::SFTP#get' => assert_raises(Xssh::SFTPError) { sf.get(missing, File.join(@dir, 'down')) },
          'Xssh::SFTP#put' => assert_raises(Xssh::SFTPError) { sf.put(@up, File.join(missing, 'r')) } }
      end
    end
    errs.each do |meth, e|
      assert_equal [Xssh::ESFTP_NO_SUCH_FILE, 'XSSH_ESFTP_NO_SUCH_FILE', 2], [e.code, e.name, e.sftp_status], meth
      assert_instance_of Xssh::ERROR_CLASSES_BY_CODE.fetch(e.code), e
      assert e.message.start_with?("#{meth}: "), e.message
      assert_equal 1, e.message.scan('Xssh::SFTP#').size, e.message
      refute_includes e.message, 'xssh_'
    end
    refute File.exist?(File.join(@dir, 'down')), 'a failed get left a file'
  end

  # ---- every error an op ends with names the method, also those the C core words itself ----

  # wait (cooperatively) until the remote command created path; bounded only on failure
  def wait_marker(path)
    60_000.times do
      return if File.exist?(path)

      sleep 0.01
    end
    flunk "the command never created #{path}"
  end

  def test_a_session_closed_while_an_op_waits_names_the_method
    got = reactor do
      %w[run stream].to_h do |meth|
        marker = File.join(@dir, "started-#{meth}")
        cmd = "touch #{marker}; sleep 30"
        s = T.connect(agent: false)
        waiter = Async do
          meth == 'run' ? s.run(cmd) : s.stream(cmd) { nil }
          nil
        rescue Xssh::Error => e
          [e] # (async 1.x: a task whose value is an exception raises it from #wait)
        end
        wait_marker(marker)
        s.disconnect # closed underneath while the op waits
        [meth, waiter.wait&.first]
      end
    end
    got.each do |meth, e|
      label = "Xssh::Session##{meth}: "
      assert_kind_of Xssh::ClosedError, e, meth
      assert_equal Xssh::ECLOSED, e.code
      assert e.message.start_with?(label), e.message
      assert_equal 1, e.message.scan('Xssh::Session#').size, e.message
      assert_includes e.message.delete_prefix(label), 'closed' # the C core's text follows
    end
  end

  def test_a_timeout_names_the_method
    errs = reactor do
      T.connect(agent: false) do |s|
        e1 = assert_raises(Xssh::Timeout) { s.run('sleep 30', timeout: 1) }
        e2 = assert_raises(Xssh::Timeout) { s.stream('sleep 30', timeout: 1) { nil } }
        assert_equal "ok\n", s.run('echo ok').stdout # usable after both
        { 'run' => e1, 'stream' => e2 }
      end
    end
    errs.each do |meth, e|
      assert_equal Xssh::ETIMEOUT, e.code
      assert e.message.start_with?("Xssh::Session##{meth}: run 'sleep 30': timed out"), e.message
    end
  end

  def test_a_connect_failure_names_connect
    closed = Socket.new(:INET, :STREAM)
    closed.bind(Addrinfo.tcp('127.0.0.1', 0)) # bound, never listening: refused
    port = closed.local_address.ip_port
    e, = reactor do
      [assert_raises(Xssh::ConnectError) { Xssh.connect('127.0.0.1', port: port, user: T::USER, agent: false) }]
    end
    assert_equal Xssh::ECONNECT, e.code
    assert e.message.start_with?('Xssh.connect: '), e.message
    assert_equal 1, e.message.scan('Xssh.connect').size, e.message
    assert_includes e.message, port.to_s
  ensure
    closed&.close
  end

  # ---- argument errors of forward_local name the method and the argument (scheduler and blocking) ----

  FORWARD_ARGS = [
    [[nil, 'x', '127.0.0.1', 22], TypeError, 'bind_port: expected Integer, got String'],
    [[nil, 0, '127.0.0.1', 'x'], TypeError, 'dest_port: expected Integer, got String'],
    [[5, 0, '127.0.0.1', 22], TypeError, 'bind_host: expected String or nil, got Integer'],
    [[nil, 0, 7, 22], TypeError, 'dest_host: expected a non-empty String, got Integer'],
    [[nil, 0, nil, 22], Xssh::InvalidArgumentError, 'dest_host: expected a non-empty String, got nil'],
    [[nil, 0, '', 22], Xssh::InvalidArgumentError, 'dest_host: expected a non-empty String, got an empty String'],
    [[nil, 70_000, 'h', 22], Xssh::InvalidArgumentError, 'bind_port: expected 0..65535 (0: any free port), got 70000'],
    [[nil, 0, 'h', 0], Xssh::InvalidArgumentError, 'dest_port: expected 1..65535, got 0']
  ].freeze

  def forward_arg_failures(sess)
    FORWARD_ARGS.filter_map do |args, cls, text|
      sess.forward_local(*args).close
      "#{args.inspect}: no error"
    rescue StandardError => e
      want = "Xssh::Session#forward_local: #{text}"
      next nil if e.instance_of?(cls) && e.message == want

      "#{args.inspect}: #{e.class}: #{e.message}"
    end
  end

  def test_forward_local_argument_errors_name_the_method_and_argument
    failures = reactor { T.connect(agent: false) { |s| forward_arg_failures(s) } }
    assert_equal [], failures
    assert_equal [], T.connect(agent: false) { |s| forward_arg_failures(s) } # the blocking form says the same
  end
end
