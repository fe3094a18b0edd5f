# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

# Xssh.run_many / put_many / get_many and Xssh::Multi against the many-hosts
# fixture (tests/harness/many_hosts.py; $XSSH_MANY_HOSTS). No test depends on
# timing: overlap is proven by commands that only end when all run at once, the
# GVL release by a remote command waiting for a file a Ruby thread creates.
require_relative 'xssh_test_helper'
require 'json'
require 'tmpdir'
require 'timeout'

class TestMulti < Minitest::Test
  BOUND = 1500 # iterations of 0.2 s in a remote loop: far beyond a loaded machine's needs

  def setup
    skip 'needs the sshd_many fixture' unless ENV['XSSH_MANY_HOSTS']
    @many = JSON.parse(File.read(ENV.fetch('XSSH_MANY_HOSTS')))
    @kw = { key: @many['key'], known_hosts: @many['known_hosts'], agent: false }
    @scratch = Dir.mktmpdir('rb-multi-', @many['scratch_dir'])
    File.chmod(0o777, @scratch)
  end

  def teardown
    FileUtils.rm_rf(@scratch) if @scratch
  end

  def good
    @many['hosts']
  end

  def options
    o = Xssh::Options.new
    o.set('IdentityFile', @many['key'])
    o.set('UserKnownHostsFile', @many['known_hosts'])
    o.set('IdentityAgent', 'none')
    o
  end

  def wait_for(path)
    (BOUND * 10).times do
      break if File.exist?(path)

      sleep 0.02
    end
  end

  def test_fifty_hosts_mixed_outcomes_in_one_thread
    fail_port = @many['ports'][1]
    sleep_port = @many['ports'][2]
    hosts = good[0, 45] + [{ host: good[45], key: @many['wrong_key'] }] + @many['unknown_hostkey_hosts'][0, 1] +
            @many['mismatch_hostkey_hosts'][0, 1] + @many['refused_hosts'][0, 2]
    assert_equal 50, hosts.size
    cmd = "case ${SSH_CONNECTION##* } in #{fail_port}) echo bad >&2; exit 3;; #{sleep_port}) sleep 300;; esac; echo ok"
    threads = Thread.list.size
    rs = Xssh.run_many(hosts, cmd, timeout: 3, **@kw)
    assert_equal threads, Thread.list.size
    assert_equal(hosts.map { |h| h.is_a?(String) ? h : h[:host] }, rs.map(&:host))
    rs[0, 45].each_with_index do |r, i|
      case i
      when 1 then assert_equal [false, 3, nil, "bad\n", 'none'], [r.ok?, r.exit_status, r.error, r.stderr, r.phase]
      when 2
        assert_kind_of Xssh::Timeout, r.error
        assert_equal 'command', r.phase
      else assert_equal [true, 0, "ok\n"], [r.ok?, r.exit_status, r.stdout], r.inspect
      end
    end
    assert_kind_of Xssh::AuthenticationError, rs[45].error
    assert_equal 'auth', rs[45].phase
    assert_kind_of Xssh::KnownHostCheckNotFoundError, rs[46].error
    assert_kind_of Xssh::KnownHostCheckMisMatchError, rs[47].error
    assert_equal %w[hostkey hostkey], [rs[46].phase, rs[47].phase]
    rs[48, 2].each do |r|
      assert_kind_of Xssh::ConnectError, r.error
      assert_equal 'connect', r.phase
    end
    assert_equal Encoding::BINARY, rs[0].stdout.encoding
  end

  def test_hosts_run_at_the_same_time
    n = 20
    cmd = "touch #{@scratch}/$$; i=0; while [ $(ls #{@scratch} | wc -l) -lt #{n} ]; do i=$((i+1)); " \
          "[ $i -gt #{BOUND} ] && exit 9; sleep 0.2; done; echo done"
    rs = Xssh.run_many(good[0, n], cmd, parallelism: n, **@kw)
    assert_equal([[true, "done\n"]] * n, rs.map { |r| [r.ok?, r.stdout] })
  end

  def test_parallelism_limits_the_hosts_running
    cmd = "touch #{@scratch}/$$; n=$(ls #{@scratch} | wc -l); rm #{@scratch}/$$; echo $n"
    rs = Xssh.run_many(good[0, 6], cmd, parallelism: 1, **@kw)
    assert_equal([[true, "1\n"]] * 6, rs.map { |r| [r.ok?, r.stdout] })
  end

  def test_gvl_is_released_while_hosts_run
    go = File.join(@scratch, 'go')
    started = File.join(@scratch, 'started')
    t = Thread.new do
      wait_for(started)
      FileUtils.touch(go)
    end
    cmd = "touch #{started}; i=0; while [ ! -e #{go} ]; do i=$((i+1)); [ $i -gt #{BOUND} ] && exit 9; sleep 0.2; done; echo seen"
    rs = Xssh.run_many(good[0, 1], cmd, **@kw)
    t.join
    assert_equal [true, "seen\n"], [rs[0].ok?, rs[0].stdout]
  end

  def test_thread_raise_stops_run_many
    started = File.join(@scratch, 'started')
    main = Thread.current
    t = Thread.new do
      wait_for(started)
      main.raise(Interrupt, 'stop it')
    end
    assert_raises(Interrupt) { Xssh.run_many(good[0, 3], "touch #{started}; sleep 300", **@kw) }
    t.join
  end

  # a command that prints "x", then only ends when its channel is closed (its
  # output pipe then fails): the file gone-<port> proves the op was cancelled
  # (the command would otherwise run for BOUND * 0.2 s)
  def until_closed_cmd
    "trap '' PIPE; echo x; p=${SSH_CONNECTION##* }; touch #{@scratch}/started-$p; i=0; " \
      "while [ $i -lt #{BOUND} ]; do sleep 0.2; echo t 2>/dev/null || break; i=$((i+1)); done; touch #{@scratch}/gone-$p"
  end

  def marker(kind, host)
    File.join(@scratch, "#{kind}-#{host[/:(\d+)\z/, 1]}")
  end

  # each host's command ran and has ended because its op was cancelled
  def assert_cancelled(hosts)
    hosts.each do |h|
      wait_for(marker('started', h))
      assert File.exist?(marker('started', h)), "the command on #{h} never ran: the test left run_many too early"
      wait_for(marker('gone', h))
      assert File.exist?(marker('gone', h)), "the command on #{h} still runs: its op was left running"
    end
  end

  # no command of hosts is left running (each one that started has ended); for an exit
  # whose moment the test does not choose, so a host may be cancelled before its command runs
  def assert_none_left_running(hosts)
    hosts.each do |h|
      next unless File.exist?(marker('started', h))

      wait_for(marker('gone', h))
      assert File.exist?(marker('gone', h)), "the command on #{h} still runs: its op was left running"
    end
  end

  # the run_many blocks below leave only once every host has printed a line: its command
  # runs then (leaving at the first line would cancel a host still connecting, whose command
  # never starts, so nothing would show that a running command is stopped); the lines go on
  # (a "t" each 0.2 s), so the block is called again until all have printed
  def run_many_returning(kw, hosts)
    seen = {}
    Xssh.run_many(hosts, until_closed_cmd, **kw) do |h, _s, _d|
      seen[h] = true
      return 8 if seen.size == hosts.size
    end
    :not_returned
  end

  # break / return / throw out of the block and Timeout (which throws) end
  # run_many as Ruby says, without a crash, and leave no op running
  def test_non_local_exits_from_the_block
    two = good[0, 2]
    seen = {}
    assert_equal(7, Xssh.run_many(two, until_closed_cmd, **@kw) do |h, _s, _d|
      seen[h] = true
      break 7 if seen.size == two.size
    end)
    assert_cancelled(two)
    FileUtils.rm_f(Dir[File.join(@scratch, '*-*')])
    assert_equal 8, run_many_returning(@kw, two)
    assert_cancelled(two)
    FileUtils.rm_f(Dir[File.join(@scratch, '*-*')])
    seen = {}
    assert_equal(9, catch(:x) do
      Xssh.run_many(two, until_closed_cmd, **@kw) do |h, _s, _d|
        seen[h] = true
        throw :x, 9 if seen.size == two.size
      end
    end)
    assert_cancelled(two)
    FileUtils.rm_f(Dir[File.join(@scratch, '*-*')])
    # on_output as a lambda: break leaves the lambda only (a false value goes on); throw leaves run_many
    assert_equal 10, (catch(:y) { Xssh.run_many(good[0, 1], until_closed_cmd, on_output: ->(*) { throw :y, 10 }, **@kw) })
    assert_cancelled(good[0, 1])
    GC.start
  end

  def test_timeout_stops_run_many_and_cancels_every_host
    started = good[0, 2].map { |h| File.join(@scratch, "started-#{h[/:(\d+)\z/, 1]}") }
    main = Thread.current
    # Timeout without a class throws; with a class it raises: both stop the drive
    assert_raises(Timeout::Error) { Timeout.timeout(BOUND) { start_stopper(main, started) { Xssh.run_many(good[0, 2], until_closed_cmd, **@kw) } } }
    assert_cancelled(good[0, 2])
    FileUtils.rm_f(Dir[File.join(@scratch, '*-*')])
    # Timeout's own timer: it may fire before a command runs (a loaded machine), so only
    # "nothing left running" is checked here; the forced case above proves a running one stops
    assert_raises(Timeout::Error) { Timeout.timeout(1) { Xssh.run_many(good[0, 2], until_closed_cmd, **@kw) } }
    assert_none_left_running(good[0, 2])
  end

  # the Timeout is forced once both commands run (not timed): a thread raising the
  # same throw Timeout uses, through Timeout's own machinery (a timeout of 0.01 s
  # started only once the commands run)
  # a Timeout (from Timeout.timeout's timer thread) that lands while the block runs stops
  # every host, as it does between blocks: it is not the block's own error (which would
  # cancel only the host whose output the block was reading)
  def test_timeout_raised_while_in_the_block_stops_every_host
    two = good[0, 2]
    main = Thread.current
    in_block = Queue.new
    t = Thread.new do
      in_block.pop
      main.raise(Timeout::Error, 'forced while in the block')
    end
    assert_raises(Timeout::Error) do
      Xssh.run_many(two, until_closed_cmd, **@kw) do |_h, _s, _d|
        next unless two.all? { |x| File.exist?(marker('started', x)) }

        in_block << 1
        sleep BOUND # the Timeout lands here
      end
    end
    t.join
    assert_cancelled(two)
  end

  def start_stopper(main, started)
    t = Thread.new do
      started.each { |f| wait_for(f) }
      main.raise(Timeout::Error, 'forced')
    end
    yield
  ensure
    t&.join
  end

  def test_streaming_lines_with_a_block
    got = Hash.new { |h, k| h[k] = [] }
    hosts = good[0, 4]
    rs = Xssh.run_many(hosts, "printf 'one\\ntwo\\n'; echo err >&2; printf last", **@kw) do |host, stream, data|
      got[host] << [stream, data]
      nil
    end
    assert(rs.all? { |r| r.ok? && r.stdout.empty? })
    hosts.each do |h|
      assert_equal ["one\n", "two\n", 'last'], got[h].select { |s, _| s == 'stdout' }.map(&:last)
      assert_equal ["err\n"], got[h].select { |s, _| s == 'stderr' }.map(&:last)
    end
  end

  def test_streaming_error_and_cancel
    e = assert_raises(ZeroDivisionError) { Xssh.run_many(good[0, 2], 'echo x', on_output: ->(*) { 1 / 0 }, **@kw) }
    assert_match(/divided/, e.message)
    # only the host whose callback raised is cancelled (it would sleep 300 s); the others run
    # to their end; the first exception is raised with every host's result attached
    hosts = good[0, 3]
    slow = "echo x; [ ${SSH_CONNECTION##* } = #{@many['ports'][0]} ] && sleep 300; echo y"
    e = assert_raises(ZeroDivisionError) do
      Xssh.run_many(hosts, slow, **@kw) { |h, _s, _d| 1 / 0 if h == hosts[0] }
    end
    assert_equal hosts, e.results.map(&:host)
    assert_same e, e.results[0].error
    assert(e.results[1].ok? && e.results[2].ok?, e.results.inspect)
    cmd = "echo x; [ ${SSH_CONNECTION##* } = #{@many['ports'][0]} ] && sleep 300; echo y"
    rs = Xssh.run_many(good[0, 2], cmd, on_output: ->(h, _s, _d) { h == good[0] ? :cancel : true }, **@kw)
    assert_equal Xssh::ECANCELLED, rs[0].error.code
    assert rs[1].ok?, rs[1].inspect # a true value other than :cancel goes on
  end

  def test_put_many_and_get_many_byte_exact
    data = Random.new(7).bytes(300_000) + "\0\r\n".b
    Dir.mktmpdir do |tmp|
      src = File.join(tmp, 'src.bin')
      File.binwrite(src, data)
      remote = File.join(@scratch, 'up.bin')
      rs = Xssh.put_many(good[0, 4], src, remote, **@kw)
      assert(rs.all? { |r| r.ok? && r.transferred == data.bytesize }, rs.inspect)
      assert_equal data, File.binread(remote)
      out = File.join(tmp, 'down')
      rs = Xssh.get_many(good[0, 4], remote, out, **@kw)
      assert(rs.all? { |r| r.ok? && r.transferred == data.bytesize }, rs.inspect)
      good[0, 4].each { |h| assert_equal data, File.binread(File.join(out, h, 'up.bin')) }
      # an SFTP failure carries the server's status, as the blocking calls' errors do
      r = Xssh.get_many(good[0, 1], File.join(@scratch, 'missing'), out, **@kw)[0]
      assert_kind_of Xssh::SFTPNoSuchFileError, r.error
      assert_equal 2, r.error.sftp_status
    end
  end

  def test_argument_errors_name_method_and_parameter
    h = good[0, 1]
    cases = [
      [-> { Xssh.run_many('h', 'true') }, TypeError, 'Xssh.run_many: hosts'],
      [-> { Xssh.run_many([5], 'true') }, TypeError, 'Xssh.run_many: hosts[0]'],
      [-> { Xssh.run_many([{ port: 1 }], 'true') }, TypeError, 'Xssh.run_many: hosts[0][:host]'],
      [-> { Xssh.run_many([{ host: 'h', bogus: 1 }], 'true') }, ArgumentError, 'unknown keys [:bogus]'],
      [-> { Xssh.run_many(h, 5) }, TypeError, 'Xssh.run_many: command'],
      [-> { Xssh.run_many(h, 'true', parallelism: '4') }, TypeError, 'Xssh.run_many: parallelism'],
      [-> { Xssh.run_many(h, 'true', timeout: '1') }, TypeError, 'Xssh.run_many: timeout'],
      [-> { Xssh.run_many(h, 'true', on_output: 5) }, TypeError, 'Xssh.run_many: on_output'],
      [-> { Xssh.run_many(h, 'true', port: 'x') }, TypeError, 'Xssh.run_many: port'],
      [-> { Xssh.run_many([{ host: 'h', port: 'x' }], 'true') }, TypeError, 'Xssh.run_many: hosts[0]: port'],
      [-> { Xssh.put_many(h, 5, '/tmp/x') }, TypeError, 'Xssh.put_many: local'],
      [-> { Xssh.get_many(h, '/tmp/x', 5) }, TypeError, 'Xssh.get_many: local_dir'],
      [-> { Xssh::Multi.new.add_host_run('h', nil, 5) }, TypeError, 'Xssh::Multi#add_host_run: command'],
      [-> { Xssh::Multi.new.set_socket_callback(5) }, TypeError, 'Xssh::Multi#set_socket_callback: callback']
    ]
    cases.each do |f, cls, text|
      e = assert_raises(cls) { f.call }
      assert_includes e.message, text
    end
  end

  def test_multi_own_loop_and_info_read
    m = Xssh::Multi.new
    m.set_max_running(4)
    done = []
    ops = good[0, 5].each_with_index.map do |h, i|
      m.add_host_run(h, options, "echo #{i}", nil, nil, ->(op) { done << op.result.stdout })
    end
    assert_equal [0] * 5, ops.map(&:state)
    assert_raises(Xssh::Error) { ops[0].result }
    running = 5
    10_000.times do
      break if running.zero?

      running = m.wait(60_000)
    end
    assert_equal 0, running
    assert_equal((0..4).map { |i| "#{i}\n" }.sort, done.sort)
    seen = []
    while (op = m.info_read)
      seen << op.result.stdout
    end
    assert_equal done.sort, seen.sort
  end

  def test_external_loop_socket_and_timer_callbacks
    m = Xssh::Multi.new
    watch = {}
    timer = [-1]
    m.set_socket_callback(lambda { |fd, what|
      what.zero? ? watch.delete(fd) : watch[fd] = what
      nil
    })
    m.set_timer_callback(->(ms) { timer[0] = ms })
    ops = good[0, 3].map { |h| m.add_host_run(h, options, 'echo ext') }
    running = m.socket_action(Xssh::SOCKET_TIMEOUT, 0)
    100_000.times do
      break if running.zero?

      ios = watch.to_h { |fd, what| [IO.for_fd(fd, autoclose: false), what] }
      r = ios.select { |_, w| w & Xssh::POLL_IN != 0 }.keys
      w = ios.select { |_, w2| w2 & Xssh::POLL_OUT != 0 }.keys
      t = timer[0].negative? ? 60 : timer[0] / 1000.0
      rr, ww, = IO.select(r, w, nil, t)
      if rr.nil? && ww.nil?
        running = m.socket_action(Xssh::SOCKET_TIMEOUT, 0)
      else
        (rr + ww).uniq.each do |io|
          ev = (rr.include?(io) ? Xssh::POLL_IN : 0) | (ww.include?(io) ? Xssh::POLL_OUT : 0)
          running = m.socket_action(io.fileno, ev)
        end
      end
    end
    assert_equal 0, running
    assert_equal ["ext\n"] * 3, ops.map { |op| op.result.stdout }
    assert_empty watch
  end

  def test_gc_safety
    calls = []
    m = Xssh::Multi.new
    o = Xssh::Native.multi_op_options(0, 0, 0, 0, 0, 0, 0, 1, 0, nil) # line mode
    m.add_host_run(good[0], options, 'echo gc', o, ->(_op, _s, d) { calls << d && nil }, ->(op) { calls << op.result.exit_status })
    GC.start
    GC.compact if GC.respond_to?(:compact)
    m.perform_all
    assert_equal ["gc\n", 0], calls
    # ops outlive their Multi (Ruby's GC is conservative: the Multi may or may not be freed here;
    # either way the ops stay readable and no callback runs after it is gone)
    ops = make_ops_and_drop_the_multi
    GC.start
    ops.each { |op| assert_kind_of Integer, op.state }
    ops.select { |op| op.state == 2 }.each { |op| assert_kind_of Xssh::Error, op.result.error }
  end

  def make_ops_and_drop_the_multi
    m = Xssh::Multi.new
    ops = good[0, 3].map { |h| m.add_host_run(h, options, 'sleep 300', nil, nil, ->(_op) { raise 'never called' }) }
    m.perform
    ops
  end
end
