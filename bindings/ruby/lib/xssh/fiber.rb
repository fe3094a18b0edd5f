# frozen_string_literal: true

# SPDX-License-Identifier: BSD-3-Clause
#
# Ruby 3 fiber scheduler support (docs/async-lua-ruby.md). When the calling
# fiber has a non-blocking Fiber.scheduler (e.g. inside an `async` gem task),
# Xssh.connect, Session#run/#stream/#sftp/#forward_local and SFTP#get/#put/
# #listdir go through the C multi interface (capi/include/xssh/multi.h), so
# other fibers of the thread run meanwhile. Without a scheduler (or in a
# blocking fiber) the calls are the usual blocking ones.
#
# One Multi per scheduler (FiberSched::Loop): every operation of every fiber of
# that thread is an op of it, so the C core's own rules hold as in one process
# loop (ops on one session run one after the other; a forward shares its
# session; a lock or data another op of the thread freed wakes the waiter).
# One driver task waits on all the sockets the Multi names at once and on its
# timer (async 1.x: one selector monitor per socket and a reactor timer, the
# first wins; another scheduler: one child fiber per socket in the scheduler's
# io_wait, the first wins and the others are stopped; never IO.select, which
# Ruby 3.1 does not hand to a scheduler), hands the readiness to
# Multi#socket_action, and wakes the fibers whose op is done (or, for a
# stream, holds output). It runs while an op is pending and ends after.
#
# No Ruby code runs on the multi's private C stacks: no output/done callbacks
# are given to the ops; results and output are read from the op by the fiber
# that waits for it.
#
# A fiber stopped while it waits (Async::Task#stop, task.with_timeout, an
# exception raised into it, break out of a stream block) cancels its op
# (xssh_multi_op_cancel) and drives the Multi until that op is done before the
# exception goes on: a command's channel is closed, a transfer's temporary file
# removed, a forward's listener and connections closed; the session stays
# usable; a connect being cancelled leaves no session. That last drive blocks
# the thread for at most CANCEL_DRIVE_MS (the server's answer to the channel close).
module Xssh
  module FiberSched
    CANCEL_DRIVE_MS = 5000

    module_function

    # true when the calling fiber should cooperate with a fiber scheduler
    def active?
      s = Fiber.scheduler
      return false if s.nil?
      return false if Fiber.current.respond_to?(:blocking?) && Fiber.current.blocking?

      s.respond_to?(:io_wait)
    end

    def events_of(ev)
      e = 0
      e |= IO::READABLE if ev.anybits?(Native::XSSH_POLL_IN)
      e |= IO::WRITABLE if ev.anybits?(Native::XSSH_POLL_OUT)
      e.zero? ? IO::READABLE : e
    end

    def poll_of(ready)
      e = 0
      e |= Native::XSSH_POLL_IN if ready.anybits?(IO::READABLE)
      e |= Native::XSSH_POLL_OUT if ready.anybits?(IO::WRITABLE)
      e |= Native::XSSH_POLL_ERR if defined?(IO::PRIORITY) && ready.anybits?(IO::PRIORITY)
      e
    end

    def async1?(sched)
      defined?(Async::Scheduler) && sched.is_a?(Async::Scheduler) && Async::VERSION.start_with?('1.') &&
        Async::Task.respond_to?(:current) && Async::Reactor.method_defined?(:register)
    end

    def now
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end

    # An error of this layer or of a drive call while label's op waits (the
    # driver failed, Multi#wait refused): the same error (class, code,
    # sftp_status) with "label: " in front. The op's own errors (its add, its
    # result) are named by the C core (the op's caller, FiberSched.opts).
    def labelled(label)
      yield
    rescue Xssh::Error => e
      raise e.exception("#{label}: #{e.message}"), cause: e.cause
    end

    # Add an op to the calling scheduler's Multi (the block gets the Multi and
    # returns the op; its options name label, the method called, as caller),
    # wait until it is done and return [op, MultiResult]; the op's error is
    # raised. A fiber stopped meanwhile cancels the op.
    def call(label, &add)
      lp = Loop.current
      op = lp.add(&add)
      begin
        labelled(label) { lp.wait(op) }
        r = op.result
      ensure
        lp.finish(op)
      end
      raise r.error if r.error

      [op, r]
    end

    # the multi's timer ran out while waiting on its sockets
    class TimerDue < StandardError; end

    # async 1.x: one wait of the driver. Each selector monitor's value calls
    # #fire when its socket is ready; a kick (the Multi changed outside the
    # driver: an op added or cancelled, output taken) queues the Wake itself on
    # the reactor (#alive?/#resume). The first of them resumes the driver; the
    # others, and any that come after the wait, do nothing.
    class Wake
      def initialize(fiber)
        @fiber = fiber
        @ready = {}
        @over = false
        @monitors = []
      end

      attr_reader :ready, :monitors

      # close the monitors now (the C core is about to be driven outside the
      # driver and may close their sockets); the driver is resumed by a kick
      def detach
        @monitors.each(&:close)
        @monitors.clear
      end

      def fire(fd, readiness)
        return if @over

        @ready[fd] = readiness if fd
        @over = true
        @fiber.resume(nil)
      end

      def over!
        @over = true
      end

      def alive?
        !@over
      end

      def resume(*)
        fire(nil, nil)
      end
    end

    # one monitor's value: which socket it is
    MonitorWake = Struct.new(:wake, :fd, :monitor) do
      def resume(*)
        wake.fire(fd, monitor.readiness)
      end
    end

    # The Multi of one fiber scheduler, its driver and the fibers waiting on its ops.
    class Loop
      LOOPS = ObjectSpace::WeakMap.new # scheduler => Loop
      Waiter = Struct.new(:queue, :output)

      # the Loop of the calling fiber's scheduler
      def self.current
        s = Fiber.scheduler
        LOOPS[s] || (LOOPS[s] = new(s))
      end

      attr_reader :multi

      def initialize(sched)
        @sched = sched
        @async1 = FiberSched.async1?(sched)
        @reactor = Async::Task.current.reactor if @async1
        @multi = Multi.new
        @multi.set_max_running(0) # every fiber's op runs (the C core orders those of one session)
        @ops = {}.compare_by_identity # op => Waiter or nil
        @driver = nil
        @failure = nil
        @wake = nil # the driver's current wait (async 1.x)
        @kick_r, @kick_w = IO.pipe unless @async1 # wakes the driver's wait (other schedulers)
      end

      # the Multi changed outside the driver (an op added or cancelled, output
      # taken): the driver's wait looks at its sockets and timer again
      def kick
        if @async1
          w = @wake
          @reactor << w if w&.alive?
        elsif @driver
          @kick_w.write_nonblock('.', exception: false)
        end
      end

      # add an op (the block gets the Multi and returns it); it runs once driven
      def add
        op = yield @multi
        @ops[op] = nil
        kick
        op
      end

      # wait (cooperatively) until op is done, or with output: true until it
      # also holds output (a pull_output run op)
      def wait(op, output: false)
        w = @ops[op]
        w = @ops[op] = Waiter.new(Thread::Queue.new, output) unless w.is_a?(Waiter)
        w.output = output
        until ready?(op, output)
          raise @failure if @failure

          start_driver
          w.queue.pop
          w.queue.clear
        end
      end

      # op is finished with: cancel it when it is not done (driving the Multi
      # until it is, blocking the thread for at most CANCEL_DRIVE_MS), forget it
      def finish(op)
        cancel_drive(op) unless op.state == Native::XSSH_OP_DONE
      ensure
        @ops.delete(op)
        drain
      end

      # take the finished ops off the Multi's completion queue (info_read until
      # nil): nothing here reads them, and each one queued keeps its op - and
      # the op its session, channel and sockets - alive for as long as the Multi
      def drain
        nil while @multi.info_read
      end

      # cancel op (a forward: stop it) and wait until it is done; cooperative
      # when the fiber can wait, else (an exception on its way) blocking
      def cancel(op)
        op.cancel
        kick
        wait(op)
      ensure
        cancel_drive(op) unless op.state == Native::XSSH_OP_DONE
      end

      # a forward op nobody waits for: driven until it is done
      def keep(op)
        @ops[op] = :kept
        start_driver
      end

      # the output a pull_output run op holds: [stdout, stderr] (binary Strings)
      def take_output(op)
        out = [op.take_output(Native::XSSH_STREAM_STDOUT), op.take_output(Native::XSSH_STREAM_STDERR)]
        kick # a throttled op reads on
        out
      end

      def ready?(op, output)
        return true if op.state == Native::XSSH_OP_DONE
        return false unless output

        a, b = op.output_pending
        a.positive? || b.positive?
      end

      private

      # end the driver's current wait before the Multi is driven elsewhere (its
      # sockets may be closed meanwhile): it looks again when it next runs
      def interrupt_wait
        if @async1
          w = @wake
          return unless w&.alive?

          w.detach
          @reactor << w
        elsif (kids = @kids)
          @kids = nil
          kids.each { |k| k.raise(StopWait) if k.alive? }
          @kids_q.push([nil, 0])
        end
      end

      def cancel_drive(op)
        op.cancel
        interrupt_wait
        deadline = FiberSched.now + (CANCEL_DRIVE_MS / 1000.0)
        until op.state == Native::XSSH_OP_DONE
          left = deadline - FiberSched.now
          break if left <= 0

          @multi.wait([(left * 1000).ceil, 200].min)
        end
        dispatch
      end

      def pending?
        @ops.each_key.any? { |op| op.state != Native::XSSH_OP_DONE }
      end

      # wake each fiber whose op is ready; forget kept ops that are done
      # (a forward dropped without close)
      def dispatch(all: false)
        drain
        @ops.delete_if { |op, w| w == :kept && op.state == Native::XSSH_OP_DONE }
        @ops.each do |op, w|
          next unless w.is_a?(Waiter) && w.queue.empty?

          w.queue.push(true) if all || ready?(op, w.output)
        end
      end

      def start_driver
        return if @driver

        @driver = true
        if @async1
          Async::Task.new(@reactor, nil) { drive }.run # a root task: stopping a caller leaves it
        else
          Fiber.schedule { drive }
        end
      end

      def drive
        while pending?
          step
          dispatch
        end
      rescue Exception => e # rubocop:disable Lint/RescueException -- the waiters are told, then it goes on
        unless e.class.name == 'Async::Stop' # the reactor is stopping: every task goes
          @failure = Xssh::Error.new("xssh: the fiber-scheduler driver failed: #{e.class}: #{e.message}")
        end
        raise
      ensure
        @driver = nil
        dispatch(all: true) # the waiters look again (and start a new driver if ops are left)
      end

      # one wait on the Multi's sockets and timer, then socket_action
      def step
        fds, ms = @multi.fds
        timeout = ms.negative? ? nil : ms / 1000.0
        if timeout&.zero?
          @multi.socket_action(Native::XSSH_SOCKET_TIMEOUT, 0)
          @async1 ? Async::Task.current.yield : @sched.kernel_sleep(0) # the other fibers run between such steps
          return
        end
        interest = Hash.new(0)
        fds.each { |fd, ev| interest[fd] |= ev }
        # no socket and no timer should not happen (an op waiting on another
        # thread's lock has the C core's 20 ms timer): look again in 0.2 s then
        timeout ||= 0.2 if interest.empty?
        ready = @async1 ? wait_async1(interest, timeout) : wait_generic(interest, timeout)
        if ready.empty?
          @multi.socket_action(Native::XSSH_SOCKET_TIMEOUT, 0)
        else
          ready.each { |fd, ev| @multi.socket_action(fd, ev) }
        end
      end

      NIO_INTEREST = { Native::XSSH_POLL_IN => :r, Native::XSSH_POLL_OUT => :w }.freeze
      NIO_READY = { r: Native::XSSH_POLL_IN, w: Native::XSSH_POLL_OUT,
                    rw: Native::XSSH_POLL_IN | Native::XSSH_POLL_OUT }.freeze

      # async 1.x (no io_select): one selector monitor per socket, registered
      # for this wait only (the C core may close a socket between waits)
      def wait_async1(interest, timeout)
        reactor = @reactor
        wake = @wake = Wake.new(Fiber.current)
        monitors = wake.monitors
        interest.each do |fd, ev|
          m = reactor.register(IO.for_fd(fd, autoclose: false),
                               NIO_INTEREST.fetch(ev & (Native::XSSH_POLL_IN | Native::XSSH_POLL_OUT), :rw), nil)
          m.value = MonitorWake.new(wake, fd, m)
          monitors << m
        end
        begin
          if timeout
            reactor.with_timeout(timeout, TimerDue) { Async::Task.yield }
          else
            Async::Task.yield
          end
        rescue TimerDue
          nil
        end
        wake.ready.transform_values { |r| NIO_READY.fetch(r, Native::XSSH_POLL_IN | Native::XSSH_POLL_OUT) }
      ensure
        wake&.over!
        @wake = nil
        wake&.detach
      end

      # another scheduler (Ruby 3.1 has no io_select hook: IO.select would
      # block the thread): one child fiber per socket and one on the kick pipe,
      # each in the scheduler's io_wait; the first ready wins, the others are
      # stopped (Fiber#raise) before this returns
      def wait_generic(interest, timeout)
        q = @kids_q = Thread::Queue.new
        waits = interest.to_a << [@kick_r.fileno, Native::XSSH_POLL_IN]
        kids = waits.map do |fd, ev|
          Fiber.schedule do
            r = @sched.io_wait(IO.for_fd(fd, autoclose: false), FiberSched.events_of(ev), timeout)
            q.push([fd, r])
          rescue StopWait
            nil
          end
        end
        @kids = kids
        first = q.pop
        @kids = nil
        kids.each { |k| k.raise(StopWait) if k.alive? }
        got = [first]
        got << q.pop until q.empty?
        ready = {}
        got.each do |fd, r|
          next unless fd && r.is_a?(Integer) && r.positive?

          if fd == @kick_r.fileno
            @kick_r.read_nonblock(64, exception: false)
          else
            ready[fd] = FiberSched.poll_of(r)
          end
        end
        ready
      end

      # stops the losing waits of wait_generic
      class StopWait < Exception; end # rubocop:disable Lint/InheritException -- not a StandardError: passes every rescue
    end

    # xssh_multi_op_opts.max_output for "keep every byte" (XSSH_MULTI_OUTPUT_ALL, (size_t)-1)
    OUTPUT_ALL = Native.const_defined?(:XSSH_MULTI_OUTPUT_ALL) ? Native::XSSH_MULTI_OUTPUT_ALL : (1 << 64) - 1

    # The options of an op; caller: the method the user called ("Xssh::Session#run"),
    # which the C core puts at the start of the op's add error and failed result
    # (xssh_multi_op_opts.caller: class, code and sftp_status kept).
    def opts(caller:, timeout_ms: 0, idle_ms: 0, connect_ms: 0, merge_stderr: false, pty: false, stdin: nil,
             pull: false, line_mode: false, max_output: 0)
      o = Native.multi_op_options(connect_ms, 0, timeout_ms, idle_ms, merge_stderr ? 1 : 0, pty ? 1 : 0, max_output,
                                  line_mode ? 1 : 0, 0, stdin)
      Native.multi_op_set_pull(o, 1) if pull
      Native.multi_op_set_caller(o, caller)
      o
    end
  end

  class << self
    alias connect_blocking connect

    # Xssh.connect; inside a fiber scheduler the connection (ssh_config,
    # ProxyJump, host key, authentication) runs through the multi interface.
    def connect(host, **kw, &blk)
      return connect_blocking(host, **kw, &blk) unless FiberSched.active?
      if kw[:passphrase_callback] || kw[:prompt_callback]
        raise ArgumentError, 'Xssh.connect: passphrase_callback/prompt_callback cannot run inside a fiber ' \
                             'scheduler (they would run on the multi\'s C stack); give passphrase:/password:'
      end
      raise arg_type_error(self, :host, 'String', host, :connect) unless host.is_a?(String)

      o = connect_options(**kw)
      t = kw[:timeout] # checked by connect_options (0: no limit)
      ms = t&.positive? ? timeout_ms(t, :timeout, self, :connect) : 0
      label = Xssh.callee(self, :connect)
      oo = FiberSched.opts(caller: label, connect_ms: ms)
      op, = FiberSched.call(label) { |m| m.add_connect(host, o, oo) }
      s = op.session
      return s unless blk

      begin
        yield s
      ensure
        s.finish
      end
    end
  end

  # Session#run inside a fiber scheduler: the multi's add_run
  module FiberSessionRun
    def run(command, stdin: nil, timeout: nil, idle_timeout: nil, merge_stderr: false, pty: false)
      unless FiberSched.active?
        return super(command, stdin: stdin, timeout: timeout, idle_timeout: idle_timeout,
                              merge_stderr: merge_stderr, pty: pty)
      end
      raise Xssh.arg_type_error(self, :command, 'String', command, :run) unless command.is_a?(String)
      raise Xssh.arg_type_error(self, :stdin, 'String or nil', stdin, :run) unless stdin.nil? || stdin.is_a?(String)

      # every byte of the output is kept, as the blocking run keeps it
      label = Xssh.callee(self, :run)
      o = FiberSched.opts(caller: label, timeout_ms: Xssh.timeout_ms(timeout, :timeout, self, :run),
                          idle_ms: Xssh.timeout_ms(idle_timeout, :idle_timeout, self, :run),
                          merge_stderr: merge_stderr, pty: pty, stdin: stdin, max_output: FiberSched::OUTPUT_ALL)
      _, r = FiberSched.call(label) { |m| m.add_run(self, command, o) }
      RunResult.new(r.stdout, r.stderr, r.exit_status, r.exit_signal)
    end
  end
  Session.prepend(FiberSessionRun)

  # Session#stream: a command's output as it arrives (pull-mode run op)
  class Session
    STREAM_NAMES = [[Native::XSSH_STREAM_STDOUT, :stdout], [Native::XSSH_STREAM_STDERR, :stderr]].freeze

    # Run command and yield (stream, data) as its output arrives: stream is
    # :stdout or :stderr, data a binary String (with line_mode: true, one line
    # per call, the last one without its newline if the command left it so; a
    # line longer than Xssh::MULTI_LINE_MAX comes in pieces). Returns a RunResult
    # whose exit_status/exit_signal are the command's (stdout/stderr are empty:
    # the output went to the block). Without a block, an Enumerator of
    # [stream, data]. stdin:, timeout:, idle_timeout:, merge_stderr:, pty: as #run.
    # Inside a fiber scheduler the command is an op of the scheduler's Multi
    # and the fiber waits cooperatively between pieces; otherwise a private
    # Multi is driven here (blocking). Leaving the block early (break, an
    # exception, the fiber stopped) cancels the command: its channel is closed,
    # the session stays usable. Output is read from the channel only as fast
    # as the block takes it (at most 1 MiB per stream waits; then the SSH
    # window holds the server back).
    def stream(command, line_mode: false, stdin: nil, timeout: nil, idle_timeout: nil, merge_stderr: false, pty: false,
               &blk)
      unless blk
        return enum_for(:stream, command, line_mode: line_mode, stdin: stdin, timeout: timeout,
                                          idle_timeout: idle_timeout, merge_stderr: merge_stderr, pty: pty)
      end
      raise Xssh.arg_type_error(self, :command, 'String', command, :stream) unless command.is_a?(String)
      raise Xssh.arg_type_error(self, :stdin, 'String or nil', stdin, :stream) unless stdin.nil? || stdin.is_a?(String)

      label = Xssh.callee(self, :stream)
      o = FiberSched.opts(caller: label, timeout_ms: Xssh.timeout_ms(timeout, :timeout, self, :stream),
                          idle_ms: Xssh.timeout_ms(idle_timeout, :idle_timeout, self, :stream),
                          merge_stderr: merge_stderr, pty: pty, stdin: stdin, pull: true, line_mode: line_mode)
      lp = FiberSched.active? ? FiberSched::Loop.current : FiberSched::Private.new
      op = lp.add { |m| m.add_run(self, command, o) }
      begin
        loop do
          FiberSched.labelled(label) { lp.wait(op, output: true) }
          done = op.state == Native::XSSH_OP_DONE
          lp.take_output(op).each_with_index do |data, i|
            next if data.empty?

            if line_mode
              data.each_line { |line| yield STREAM_NAMES[i][1], line }
            else
              yield STREAM_NAMES[i][1], data
            end
          end
          break if done # what was left is taken: the streams have ended
        end
        r = op.result
      ensure
        lp.finish(op)
      end
      raise r.error if r.error

      RunResult.new(String.new(encoding: Encoding::BINARY), String.new(encoding: Encoding::BINARY),
                    r.exit_status, r.exit_signal)
    end
  end

  module FiberSched
    # Session#stream outside a scheduler: a Multi of its own, driven here
    # (Multi#wait: the GVL is released, signals are looked at between slices)
    class Private < Loop
      def initialize # rubocop:disable Lint/MissingSuper
        @multi = Multi.new
        @ops = {}.compare_by_identity
      end

      def kick; end

      def wait(op, output: false)
        @multi.wait(200) until ready?(op, output)
      end

      private

      def dispatch(all: false); end
    end
  end

  # Session#sftp / #sftp_init and #forward_local inside a fiber scheduler
  module FiberSessionMore
    # Start the SFTP subsystem (a channel, the "sftp" subsystem, its
    # INIT/VERSION) through the scheduler's Multi (xssh_multi_add_sftp_open);
    # an SFTP, closed at the block's end with a block.
    def sftp_init(&blk)
      return super unless FiberSched.active?

      fiber_sftp_open(:sftp_init, &blk)
    end

    def sftp(&blk)
      return sftp_init(&blk) unless FiberSched.active?

      fiber_sftp_open(:sftp, &blk)
    end

    # (meth: the public method called, named in its errors)
    private def fiber_sftp_open(meth)
      label = Xssh.callee(self, meth)
      op, = FiberSched.call(label) { |m| m.add_sftp_open(self, FiberSched.opts(caller: label)) }
      sf = op.sftp
      sf.instance_variable_set(:@session, self)
      return sf unless block_given?

      begin
        yield sf
      ensure
        Xssh.quiet_close(sf)
      end
    end

    # ssh -L through the scheduler's Multi (xssh_multi_add_forward_local): the
    # listener is bound before this returns (bind_host nil: 127.0.0.1;
    # bind_port 0: any free port, see FiberForward#port); each connection is
    # carried over its own direct-tcpip channel to dest_host:dest_port as the
    # server sees it, by the scheduler's driver task, while other fibers use
    # the same session. Returns an Xssh::FiberForward (port, stats, close);
    # with a block, yields it and closes it at the block's end.
    def forward_local(bind_host, bind_port, dest_host, dest_port, &blk)
      return super unless FiberSched.active?

      Xssh.forward_args(self, :forward_local, Xssh::FORWARD_LOCAL_ARGS, [bind_host, bind_port, dest_host, dest_port])
      lp = FiberSched::Loop.current
      label = Xssh.callee(self, :forward_local)
      o = FiberSched.opts(caller: label)
      op = lp.add { |m| m.add_forward_local(self, bind_host, bind_port, dest_host, dest_port, o) }
      fwd = FiberForward.new(self, op, lp)
      lp.keep(op)
      return fwd unless blk

      begin
        yield fwd
      ensure
        fwd.close
      end
    end
  end
  Session.prepend(FiberSessionMore) if Session.method_defined?(:sftp_init) || Session.method_defined?(:forward_local)

  # A local forward run by the fiber scheduler's driver (Session#forward_local
  # inside a scheduler): the op of xssh_multi_add_forward_local.
  class FiberForward
    # The Session it forwards over.
    attr_reader :session

    def initialize(session, op, loop)
      @session = session
      @op = op
      @loop = loop
      @port = op.forward_port
      # dropped without close: the op is cancelled (its listener closed) by the driver
      ObjectSpace.define_finalizer(self, self.class.canceller(op, loop))
    end

    def self.canceller(op, loop)
      proc do
        op.cancel
        loop.kick
      end
    end

    # The local port it listens on.
    attr_reader :port
    alias local_port port

    # The counters as a ForwardStats (accepted, active, failed, bytes_out, bytes_in).
    def stats
      @op.forward_stats
    end

    # true until closed (or ended by a session failure: see #error)
    def running?
      @op.state != Native::XSSH_OP_DONE
    end
    alias is_running running?

    # Stop listening and close the open connections and their channels (the
    # fiber waits for that, cooperatively). Never raises for a forward that
    # already ended; returns nil.
    def close
      @loop.cancel(@op) if running?
      nil
    ensure
      @loop.finish(@op)
    end
    alias stop close

    # What ended the forward when it ended by itself (the session failed), or nil.
    def error
      return nil if running?

      e = @op.result.error
      e.is_a?(Xssh::CancelledError) ? nil : e
    end

    def inspect
      "#<Xssh::FiberForward 127.0.0.1:#{@port} #{running? ? 'running' : 'closed'}>"
    end
  end

  # SFTP#get/#put inside a fiber scheduler: the multi's add_sftp_get/put,
  # atomic unless atomic: false is given (a temporary name beside the
  # destination, renamed into place when complete: a transfer stopped or failed
  # half-way leaves no half-written destination; an existing file is kept).
  # mode: as the blocking forms; chunk_size:, resume:, max_in_flight:,
  # channels: and a progress block need the blocking forms (used then).
  module FiberSftpTransfer
    FIBER_KW = %i[atomic mode].freeze

    def get(remote, local, **kw, &blk)
      return super unless fiber_transfer?(kw, blk)

      fiber_transfer(:get, Xssh.path_arg(remote, :remote, self), Xssh.path_arg(local, :local, self), **kw)
    end

    def put(local, remote, **kw, &blk)
      return super unless fiber_transfer?(kw, blk)

      fiber_transfer(:put, Xssh.path_arg(local, :local, self), Xssh.path_arg(remote, :remote, self), **kw)
    end

    # The names in a directory (without "." and ".."), as Strings; inside a
    # fiber scheduler through the Multi (xssh_multi_add_sftp_listdir).
    def listdir(path = '.')
      return super unless FiberSched.active?

      fiber_listdir(path, :listdir).map(&:first)
    end

    def entries(path = '.')
      return listdir(path) unless FiberSched.active?

      fiber_listdir(path, :entries).map(&:first)
    end

    # Each entry [name, longentry, attrs], "." and ".." left out as in the
    # blocking form (inside a scheduler the whole listing is read first); an
    # Enumerator without a block.
    def each_entry(path = '.', &blk)
      return super unless FiberSched.active?
      return enum_for(:each_entry, path) unless blk

      fiber_listdir(path, :each_entry).each(&blk)
      self
    end

    private

    # (meth: the public method called, named in its errors)
    def fiber_listdir(path, meth)
      p = Xssh.path_arg(path, :path, self, meth)
      label = Xssh.callee(self, meth)
      o = FiberSched.opts(caller: label)
      op, = FiberSched.call(label) { |m| m.add_sftp_listdir(self, p, o) }
      op.entries
    end

    def fiber_transfer?(kw, blk)
      FiberSched.active? && blk.nil? && kw[:progress].nil? && (kw.keys - FIBER_KW - [:progress]).empty?
    end

    # meth: :get or :put (the public method called, named in its errors)
    def fiber_transfer(meth, a, b, atomic: true, mode: 0, progress: nil)
      raise Xssh.arg_type_error(self, :mode, 'Integer', mode, meth) unless mode.is_a?(Integer)

      _ = progress
      label = Xssh.callee(self, meth)
      o = FiberSched.opts(caller: label)
      Native.multi_op_set_transfer(o, atomic ? 1 : 0, mode)
      _, r = FiberSched.call(label) { |m| m.public_send(:"add_sftp_#{meth}", self, a, b, o) }
      r.transferred
    end
  end
end

Xssh::SFTP.prepend(Xssh::FiberSftpTransfer) if Xssh.const_defined?(:SFTP, false)
