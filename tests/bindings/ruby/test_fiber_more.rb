# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

# Directory listing, SFTP start, streaming output, local forwarding and
# mid-transfer cancellation under Ruby 3's fiber scheduler (the `async` gem,
# Debian's ruby-async 1.30) against the test sshd; docs/async-lua-ruby.md.
# Nothing depends on timing: output arriving before the command ends is proven
# by a command that waits for a file the test creates only once it has that
# output; overlap by connections held open at once; a transfer is stopped once
# its first bytes reached the destination directory (watched with a bounded loop
# of short scheduler sleeps).
require_relative 'xssh_test_helper'
require 'socket'
require 'open3'
require 'rbconfig'
begin
  require 'async'
rescue LoadError
  nil
end

class TestFiberMore < Minitest::Test
  T = XsshTest
  BOUND = 300 # iterations of 0.2 s in a remote wait loop (60 s): far beyond a loaded machine's needs
  WATCH = 6000 # iterations of a 0.01 s scheduler sleep in a local watch loop
  DOC = File.expand_path('../../../docs/async-lua-ruby.md', __dir__)

  def setup
    raise 'ruby-async (the async gem) is required for these tests' unless defined?(Async)

    @dir = T.tmpdir('fiber-more')
  end

  def connect(&blk)
    T.connect(agent: false, &blk)
  end

  # a shell loop waiting (bounded) until path exists
  def wait_cmd(path)
    "n=0; while [ ! -e #{path} ]; do n=$((n+1)); [ $n -gt #{BOUND} ] && exit 7; sleep 0.2; done"
  end

  # run the block inside a reactor; its value (an exception is raised here)
  def reactor(&blk)
    Async(&blk).wait
  end

  # wait (bounded, yielding to the reactor) until the block is true
  def until_true(task, what)
    WATCH.times do
      return if yield

      task.sleep(0.01)
    end
    flunk "never happened: #{what}"
  end

  # ---- listing and SFTP start ----

  def test_sftp_start_and_listdir_through_the_scheduler
    Dir.mkdir(File.join(@dir, 'sub'))
    File.binwrite(File.join(@dir, 'a.txt'), 'abc')
    File.binwrite(File.join(@dir, 'b.bin'), 'x' * 70_000)
    reactor do |task|
      connect do |s|
        # another fiber's command on the same session runs meanwhile
        other = task.async { s.run('echo other') }
        s.sftp do |sf|
          assert_kind_of Xssh::SFTP, sf
          assert_same s, sf.session
          assert_equal %w[a.txt b.bin sub], sf.listdir(@dir).sort
          assert_equal %w[a.txt b.bin sub], sf.entries(@dir).sort
          ents = sf.each_entry(@dir).to_a
          assert_equal %w[a.txt b.bin sub], ents.map(&:first).sort
          name, longentry, attrs = ents.find { |n, _, _| n == 'b.bin' }
          assert_equal 'b.bin', name
          assert_includes longentry, 'b.bin'
          assert_equal 70_000, attrs.filesize
          assert attrs.file?
          assert ents.find { |n, _, _| n == 'sub' }[2].directory?
          # the blocking form's shape
          blocking = sf.opendir(@dir) { |d| d.readdir.to_a }.reject { |n, _, _| %w[. ..].include?(n) }
          assert_equal blocking.map { |n, l, a| [n, l, a.filesize] }.sort, ents.map { |n, l, a| [n, l, a.filesize] }.sort
          e = assert_raises(Xssh::SFTPError) { sf.listdir(File.join(@dir, 'missing')) }
          assert_kind_of Xssh::SFTPNoSuchFileError, e
          assert_includes e.message, 'missing'
          assert_equal [], sf.listdir(File.join(@dir, 'sub'))
        end
        assert_equal "other\n", other.wait.stdout
      end
    end
  end

  # ---- streaming ----

  def test_stream_delivers_output_before_the_command_ends
    flag = File.join(@dir, 'flag')
    got = []
    r = reactor do
      connect do |s|
        s.stream("echo first; #{wait_cmd(flag)}; echo second; echo err >&2") do |stream, data|
          got << [stream, data]
          File.write(flag, '') if data.include?('first') # the command goes on only now
        end
      end
    end
    assert_kind_of Xssh::RunResult, r
    assert_equal 0, r.exit_status, 'the command never saw the flag: output did not arrive before it ended'
    assert_equal "first\nsecond\n", got.select { |st, _| st == :stdout }.map(&:last).join
    assert_equal "err\n", got.select { |st, _| st == :stderr }.map(&:last).join
    assert got.all? { |_, d| d.encoding == Encoding::BINARY }
  end

  def test_stream_line_mode_and_enumerator
    cmd = "printf 'one\\ntwo\\n'; printf 'thr'; printf 'ee\\nfour'; printf 'e1\\ne2\\n' >&2; exit 3"
    pieces, r = reactor do
      connect do |s|
        ps = []
        res = s.stream(cmd, line_mode: true) { |st, d| ps << [st, d] }
        [ps, res]
      end
    end
    assert_equal 3, r.exit_status
    assert_equal ["one\n", "two\n", "three\n", 'four'], pieces.select { |st, _| st == :stdout }.map(&:last)
    assert_equal ["e1\n", "e2\n"], pieces.select { |st, _| st == :stderr }.map(&:last)
    # without a block: an Enumerator of [stream, data]
    lines = reactor { connect { |s| s.stream('echo a; echo b', line_mode: true).to_a } }
    assert_equal [[:stdout, "a\n"], [:stdout, "b\n"]], lines
    # outside a scheduler: the same calls, blocking
    res = connect { |s| s.stream('echo x; echo y >&2').to_a }
    assert_equal [[:stderr, "y\n"], [:stdout, "x\n"]], res.sort
    connect do |s|
      s.stream("echo first; #{wait_cmd(File.join(@dir, 'never'))}") { break } # cancels the command
      assert_equal "z\n", s.run('echo z').stdout
    end
  end

  def test_stream_stopped_mid_command_leaves_the_session_usable
    reactor do |task|
      connect do |s|
        # break out of the block
        seen = []
        s.stream("echo first; #{wait_cmd(File.join(@dir, 'never'))}") do |_, d|
          seen << d
          break
        end
        assert_equal ["first\n"], seen
        assert_equal "again\n", s.run('echo again').stdout
        # the fiber stopped from outside while it waits for more output
        first = false
        runner = task.async do
          s.stream("echo first; #{wait_cmd(File.join(@dir, 'never'))}") { first = true }
        end
        until_true(task, 'the first line') { first }
        runner.stop
        assert runner.stopped?
        assert_equal "still\n", s.run('echo still').stdout
        # a timeout around a stream
        assert_raises(Async::TimeoutError) do
          task.with_timeout(0.5) { s.stream(wait_cmd(File.join(@dir, 'never'))) { nil } }
        end
        assert_equal 0, s.run('true').exit_status
      end
    end
  end

  # ---- forwarding ----

  # an echo server in the same reactor: echoes until EOF, then closes
  def echo_server(task)
    server = TCPServer.new('127.0.0.1', 0)
    t = task.async do
      loop do
        c = server.accept
        task.async do
          loop do
            c.write(c.readpartial(65_536))
          rescue EOFError
            break
          end
          c.close
        end
      end
    end
    [server, t]
  end

  def test_forward_local_two_connections_and_a_run_on_the_same_session
    reactor do |task|
      server, echo = echo_server(task)
      connect do |s|
        fwd = s.forward_local(nil, 0, '127.0.0.1', server.addr[1])
        assert_kind_of Xssh::FiberForward, fwd
        assert fwd.running?
        assert_operator fwd.port, :>, 0
        payloads = [Random.new(1).bytes(200_000), Random.new(2).bytes(150_000)]
        socks = payloads.map { TCPSocket.new('127.0.0.1', fwd.port) }
        # both connections open at once, each echoing
        socks.each_with_index do |c, i|
          c.write(payloads[i][0, 1000])
          back = +''
          back << c.readpartial(65_536) while back.bytesize < 1000
          assert_equal payloads[i][0, 1000], back
        end
        assert_equal 2, fwd.stats.active
        assert_equal "run\n", s.run('echo run').stdout # the same session, meanwhile
        readers = socks.each_with_index.map do |c, i|
          task.async do
            w = task.async do
              c.write(payloads[i][1000..])
              c.close_write # EOF passed on to the destination
            end
            back = +''
            loop do
              back << c.readpartial(65_536)
            rescue EOFError # the destination's EOF passed back
              break
            end
            w.wait
            c.close
            back
          end
        end
        readers.each_with_index { |rd, i| assert_equal payloads[i].bytesize - 1000, rd.wait.bytesize }
        st = fwd.stats
        assert_equal [2, 0], [st.accepted, st.failed]
        assert_equal payloads.sum(&:bytesize), st.bytes_out
        assert_equal payloads.sum(&:bytesize), st.bytes_in
        port = fwd.port
        fwd.close
        refute fwd.running?
        assert_nil fwd.error
        assert_raises(Errno::ECONNREFUSED) { TCPSocket.new('127.0.0.1', port) }
        assert_equal "after\n", s.run('echo after').stdout
        # block form
        s.forward_local('127.0.0.1', 0, '127.0.0.1', server.addr[1]) do |f|
          c = TCPSocket.new('127.0.0.1', f.port)
          c.write('ping')
          c.close_write
          assert_equal 'ping', c.read
          c.close
        end
      end
      echo.stop
      server.close
    end
  end

  # ---- mid-transfer cancellation ----

  # 16 GiB, sparse: nothing to write up front, far too long to end before the watcher sees its
  # first bytes, even on a loaded machine where one Multi#socket_action was seen to move a
  # transfer on for seconds (hundreds of MB) before the other fibers ran again
  SPARSE = 16 << 30

  # start the transfer in a task, stop it once a file in dst_dir has bytes
  def stop_mid_transfer(task, dst_dir)
    t = yield
    until_true(task, "the first bytes in #{dst_dir}") do
      Dir.children(dst_dir).any? { |n| File.size?(File.join(dst_dir, n)) }
    end
    refute t.finished?, 'the transfer ended before it could be stopped'
    t.stop
    assert t.stopped?
  end

  def test_cancel_mid_transfer_leaves_no_file_and_session_usable
    src_dir = T.tmpdir('src')
    dst_dir = T.tmpdir('dst')
    big = File.join(src_dir, 'big')
    File.open(big, 'wb') { |f| f.truncate(SPARSE) }
    small = File.join(src_dir, 'small')
    File.binwrite(small, 'small file')
    reactor do |task|
      connect do |s|
        s.sftp do |sf|
          stop_mid_transfer(task, dst_dir) { task.async { sf.get(big, File.join(dst_dir, 'got')) } }
          assert_equal [], Dir.children(dst_dir), 'a cancelled get left a file behind'
          stop_mid_transfer(task, dst_dir) { task.async { sf.put(big, File.join(dst_dir, 'put')) } }
          assert_equal [], Dir.children(dst_dir), 'a cancelled put left a file behind'
          # the session and the SFTP object go on
          assert_equal "ok\n", s.run('echo ok').stdout
          assert_equal 10, sf.put(small, File.join(dst_dir, 'small'))
          assert_equal 10, sf.get(File.join(dst_dir, 'small'), File.join(dst_dir, 'back'))
          assert_equal 'small file', File.binread(File.join(dst_dir, 'back'))
          assert_equal %w[back small], sf.listdir(dst_dir).sort
        end
      end
    end
  end

  # ---- one session, several fibers ----

  def test_sftp_start_while_another_fiber_runs_a_command
    started = File.join(@dir, 'started')
    go = File.join(@dir, 'go')
    reactor do |task|
      connect do |s|
        runner = task.async { s.run("touch #{started}; #{wait_cmd(go)}; echo ran") }
        until_true(task, 'the command started') { File.exist?(started) }
        opener = task.async { s.sftp { |sf| sf.listdir(@dir).sort } }
        File.write(go, '')
        assert_equal "ran\n", runner.wait.stdout
        assert_equal %w[go started], opener.wait
      end
    end
  end

  # A TCP proxy to the sshd in the same reactor that can hold the server's bytes:
  # with hold set, a chunk from the server waits (held_chunks counts them) until released.
  class StallProxy
    def initialize(task)
      @task = task
      @server = TCPServer.new('127.0.0.1', 0)
      @hold = false
      @held_chunks = 0
      @release = Thread::Queue.new
      @accept = task.async do
        loop do
          c = @server.accept
          u = TCPSocket.new(T::HOST, T::PORT)
          pump(c, u, false)
          pump(u, c, true)
        end
      end
    end

    attr_reader :held_chunks

    def port
      @server.addr[1]
    end

    def hold!
      @hold = true
    end

    def release!
      @hold = false
      @release.push(true)
    end

    def stop
      @accept.stop
      @server.close
    end

    private

    def pump(from, to, server_side)
      @task.async do
        loop do
          data = from.readpartial(65_536)
          if server_side && @hold
            @held_chunks += 1
            @release.pop while @hold
          end
          to.write(data)
        end
      rescue EOFError, IOError, SystemCallError
        begin
          to.close_write
        rescue IOError, SystemCallError
          nil
        end
      end
    end
  end

  # The documented hang: a blocking call on a session while another fiber's
  # operation is suspended on it in the middle of a request (here: opening its
  # channel, the server's answer held back by a proxy). The blocking call
  # raises at once (the C core's XSSH_EBAD_USE) instead of hanging; the
  # scheduler forms (Session#sftp now being one) simply wait their turn.
  def test_blocking_call_beside_a_suspended_op_raises_and_scheduler_forms_wait
    reactor do |task|
      px = StallProxy.new(task)
      Xssh.connect('127.0.0.1', port: px.port, user: T::USER, key: T::KEY, known_hosts: T::KNOWN_HOSTS,
                                agent: false, options: { 'HostKeyAlias' => "[#{T::HOST}]:#{T::PORT}" }) do |s|
        px.hold!
        runner = task.async { s.run('echo ran') } # opens its channel; the answer is held
        until_true(task, "the server's answer to the channel open") { px.held_chunks.positive? }
        e = assert_raises(Xssh::BadUseError) { s.open_session } # blocking, no scheduler form
        assert_match(/suspended/, e.message)
        e = assert_raises(Xssh::BadUseError) { Fiber.new(blocking: true) { s.sftp }.resume }
        assert_match(/suspended/, e.message)
        opener = task.async { s.sftp { |sf| sf.listdir(@dir) } } # the scheduler form
        refute runner.finished?
        px.release!
        assert_equal "ran\n", runner.wait.stdout
        assert_equal [], opener.wait
        assert_equal "fine\n", s.run('echo fine').stdout
      end
      px.stop
    end
  end

  # ---- cooperation while connecting through a hop ----

  # ProxyJump: the target is a TCP relay to the sshd running in the same
  # reactor; were any wait of the connect blocking the thread, the relay could
  # not move a byte and the connect would end in its timeout instead. (Waits on
  # several sockets at once are proven by the forwarding test: the driver waits
  # on the listener, the connections and the session while the echo server of
  # the same reactor must run.)
  def test_proxy_jump_connect_lets_a_relay_in_the_same_reactor_run
    reactor do |task|
      relay = TCPServer.new('127.0.0.1', 0)
      relayed = 0
      rt = task.async do
        loop do
          c = relay.accept
          relayed += 1
          task.async do
            u = TCPSocket.new(T::HOST, T::PORT)
            [[c, u], [u, c]].map do |from, to|
              task.async do
                loop { to.write(from.readpartial(65_536)) }
              rescue EOFError, IOError, SystemCallError
                begin
                  to.close_write
                rescue IOError, SystemCallError
                  nil
                end
              end
            end.each(&:wait)
            c.close
            u.close
          end
        end
      end
      hop = "#{T::USER}@#{T::HOST}:#{T::PORT}"
      Xssh.connect('127.0.0.1', port: relay.addr[1], user: T::USER, key: T::KEY, known_hosts: T::KNOWN_HOSTS,
                                agent: false, proxy_jump: [hop], timeout: 60,
                                options: { 'HostKeyAlias' => "[#{T::HOST}]:#{T::PORT}" }) do |s|
        # two commands of two fibers on the one session (the C core runs them in turn)
        a = task.async { s.run('echo a') }
        b = task.async { s.run('echo b') }
        assert_equal ["a\n", "b\n"], [a.wait.stdout, b.wait.stdout]
      end
      assert_equal 1, relayed
      rt.stop
      relay.close
    end
  end

  # ---- a scheduler other than async's ----

  # A minimal Fiber::SchedulerInterface (after Ruby's own test scheduler): IO.select
  # over the IOs its fibers wait for, timers, block/unblock.
  class ToyScheduler
    def initialize
      @readable = {}
      @writable = {}
      @timers = {} # fiber => deadline
      @ready = []
      @blocked = 0
      @urgent_r, @urgent_w = IO.pipe
    end

    def now
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end

    def run
      guard = 0
      while @readable.any? || @writable.any? || @timers.any? || @ready.any? || @blocked.positive?
        raise 'ToyScheduler: no progress' if (guard += 1) > 1_000_000

        timeout = @ready.any? ? 0 : @timers.values.min&.then { |t| [t - now, 0].max }
        r, w, = IO.select(@readable.keys + [@urgent_r], @writable.keys, [], timeout)
        @urgent_r.read_nonblock(64, exception: false) if r&.delete(@urgent_r)
        wake = (r || []).map { |io| @readable[io] } + (w || []).map { |io| @writable[io] }
        t = now
        wake += @timers.select { |_, d| d <= t }.keys
        wake += @ready
        @ready = []
        wake.uniq.each { |f| f.resume if f.alive? }
      end
    end

    def io_wait(io, events, timeout)
      f = Fiber.current
      @readable[io] = f if events.anybits?(IO::READABLE)
      @writable[io] = f if events.anybits?(IO::WRITABLE)
      @timers[f] = now + timeout if timeout
      Fiber.yield
      ready = 0
      ready |= IO::READABLE if events.anybits?(IO::READABLE) && IO.select([io], nil, nil, 0)
      ready |= IO::WRITABLE if events.anybits?(IO::WRITABLE) && IO.select(nil, [io], nil, 0)
      ready.zero? ? false : ready
    ensure
      @readable.delete(io)
      @writable.delete(io)
      @timers.delete(f)
    end

    def kernel_sleep(duration = nil)
      block(:sleep, duration)
      true
    end

    def block(_blocker, timeout = nil)
      f = Fiber.current
      @timers[f] = now + timeout if timeout
      @blocked += 1
      Fiber.yield
    ensure
      @blocked -= 1
      @timers.delete(f)
    end

    def unblock(_blocker, fiber)
      @ready << fiber
      @urgent_w.write_nonblock('.', exception: false)
    end

    def fiber(&blk)
      Fiber.new(blocking: false, &blk).tap(&:resume)
    end

    def close
      run
    end
  end

  # the same calls under another scheduler (the driver's generic wait: IO.select on
  # the sockets and its kick pipe)
  def test_calls_under_another_scheduler
    File.binwrite(File.join(@dir, 'f'), 'data')
    out = Thread.new do
      res = {}
      Fiber.set_scheduler(ToyScheduler.new)
      Fiber.schedule do
        connect do |s|
          a = Fiber.schedule { res[:a] = s.run('echo a').stdout }
          res[:b] = s.run('echo b').stdout
          res[:lines] = s.stream("echo 1; echo 2 >&2; echo 3", line_mode: true).to_a
          s.sftp { |sf| res[:ls] = sf.listdir(@dir) }
          s.forward_local(nil, 0, T::HOST, T::PORT) do |f|
            res[:banner] = TCPSocket.open('127.0.0.1', f.port, &:gets)
          end
          s.stream("echo first; #{wait_cmd(File.join(@dir, 'never'))}") { break } # cancelled
          res[:after] = s.run('echo after').stdout
          res[:a_alive] = a.alive?
        end
      end
      Fiber.set_scheduler(nil) # runs the scheduler until every fiber is done
      res
    end.value
    assert_equal "a\n", out[:a]
    assert_equal "b\n", out[:b]
    assert_equal [[:stdout, "1\n"], [:stdout, "3\n"], [:stderr, "2\n"]], out[:lines].sort_by { |st, d| [st == :stderr ? 1 : 0, d] }
    assert_equal ['f'], out[:ls]
    assert_match(/\ASSH-2\.0-/, out[:banner])
    assert_equal "after\n", out[:after]
    refute out[:a_alive]
  end

  # ---- the documentation's example ----

  def test_doc_example_runs
    code = File.read(DOC).scan(/^```ruby\n(.*?)^```/m).map(&:first).find { |c| c.include?('forward_local') }
    refute_nil code, 'docs/async-lua-ruby.md has no Ruby example using forward_local'
    path = File.join(@dir, 'example.rb')
    File.write(path, code)
    work = File.join(@dir, 'work')
    Dir.mkdir(work)
    args = [T::KEY, T::KNOWN_HOSTS, "#{T::USER}@#{T::HOST}:#{T::PORT}", work]
    out, err, st = Open3.capture3(RbConfig.ruby, *$LOAD_PATH.flat_map { |d| ['-I', d] }, path, *args)
    assert st.success?, err
    refute_includes out, 'failed:'
    assert_equal ['stdout: line 1', 'stdout: line 2', 'stdout: line 3'], out.lines(chomp: true).grep(/\Astdout:/)
    assert_includes out, "stderr: oops\n"
    assert_includes out, "exit status: 0\n"
    assert_includes out, %(listing: ["copy.txt", "hello.txt"]\n)
    assert_includes out, "meanwhile: hi\n"
    assert_match(/^through the tunnel: SSH-2\.0-/, out)
    assert_includes out, "connections: 1\n"
  end
end
