# frozen_string_literal: true

# SPDX-License-Identifier: BSD-3-Clause
#
# Ruby 3 fiber scheduler support (docs/async-lua-ruby.md). When the calling
# fiber has a non-blocking Fiber.scheduler (e.g. inside an `async` gem task),
# Xssh.connect, Session#run and SFTP#get/#put go through the C multi interface
# (capi/include/xssh/multi.h): one Multi per call, its sockets waited on with
# the scheduler's io_wait and its timer with the scheduler's timeout, so other
# fibers of the thread run meanwhile. Without a scheduler (or in a blocking
# fiber) the calls are the usual blocking ones.
#
# No Ruby code runs on the multi's private C stacks: no output/done callbacks
# are given to the ops; the result is read from the op when it is done.
#
# A fiber stopped while it waits (Async::Task#stop, Timeout.timeout, an
# exception raised into it) cancels the op (xssh_multi_op_cancel) and drives
# the cancellation to its end before the exception goes on: a command's channel
# is closed, a transfer's temporary file removed, the session stays usable; a
# connect being cancelled leaves no session. That last drive blocks the thread
# for at most CANCEL_DRIVE_MS (the server's answer to the channel close).
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

    # Drive multi m until op is done, waiting through the fiber scheduler.
    # Returns op.result (a MultiResult).
    def await(m, op)
      m.socket_action(Native::XSSH_SOCKET_TIMEOUT, 0)
      wait_loop(m, op)
      op.result
    ensure
      unless op.nil? || op.state == Native::XSSH_OP_DONE
        op.cancel
        m.perform_all(CANCEL_DRIVE_MS) # bounded: the channel close / file removal of the cancel
      end
    end

    def wait_loop(m, op)
      sched = Fiber.scheduler
      until op.state == Native::XSSH_OP_DONE
        fds, ms = m.fds
        timeout = ms.negative? ? nil : ms / 1000.0
        if fds.empty?
          # only a timer (or nothing) pending: sleep through the scheduler
          sched.kernel_sleep(timeout.nil? ? 0.2 : timeout) if timeout.nil? || timeout.positive?
          m.socket_action(Native::XSSH_SOCKET_TIMEOUT, 0)
        elsif fds.size == 1
          fd, ev = fds[0]
          ready = wait_io(sched, fd, events_of(ev), timeout)
          if ready.is_a?(Integer) && ready.positive?
            m.socket_action(fd, poll_of(ready))
          else
            m.socket_action(Native::XSSH_SOCKET_TIMEOUT, 0)
          end
        else
          # several sockets (ProxyJump): IO.select, which a scheduler with
          # io_select (Ruby >= 3.1) turns into a cooperative wait
          ios = fds.map { |fd, ev| [IO.for_fd(fd, autoclose: false), ev] }
          r = ios.select { |_, ev| ev.anybits?(Native::XSSH_POLL_IN) }.map(&:first)
          w = ios.select { |_, ev| ev.anybits?(Native::XSSH_POLL_OUT) }.map(&:first)
          rr, ww, = IO.select(r, w, nil, timeout)
          if rr.nil? && ww.nil?
            m.socket_action(Native::XSSH_SOCKET_TIMEOUT, 0)
          else
            (rr + ww).uniq.each do |io|
              e = (rr.include?(io) ? Native::XSSH_POLL_IN : 0) | (ww.include?(io) ? Native::XSSH_POLL_OUT : 0)
              m.socket_action(io.fileno, e)
            end
          end
        end
      end
    end

    # the multi's timer ran out while waiting on a socket (async 1.x form)
    class TimerDue < StandardError; end

    # wait for events on fd, at most timeout seconds (nil: no limit); the ready
    # IO events, or 0/false/nil when the timer ran out
    def wait_io(sched, fd, events, timeout)
      io = IO.for_fd(fd, autoclose: false)
      return sched.io_wait(io, events, timeout) unless async1?(sched)

      # async 1.x's Scheduler#io_wait rescues every Async::TimeoutError, its own
      # timeout's and that of an enclosing task.with_timeout alike, and reports
      # both as "not ready": a timeout around an xssh call would never fire. The
      # wait is made on an Async::Wrapper under a timer raising our own class
      # instead, so an enclosing timeout propagates.
      w = Async::Wrapper.new(io)
      begin
        if timeout
          Async::Task.current.reactor.with_timeout(timeout, TimerDue) { wait_wrapper(w, events) }
        else
          wait_wrapper(w, events)
        end
        events
      rescue TimerDue
        0
      ensure
        w.reactor = nil # drops the monitor; the descriptor stays open (the C core owns it)
      end
    end

    def wait_wrapper(w, events)
      case events
      when IO::READABLE then w.wait_readable(nil)
      when IO::WRITABLE then w.wait_writable(nil)
      else w.wait_any(nil)
      end
    end

    def async1?(sched)
      defined?(Async::Scheduler) && sched.is_a?(Async::Scheduler) && Async::VERSION.start_with?('1.') &&
        Async::Wrapper.method_defined?(:wait_any) && Async::Task.respond_to?(:current)
    end

    def opts(timeout_ms: 0, idle_ms: 0, connect_ms: 0, merge_stderr: false, pty: false, stdin: nil)
      Native.multi_op_options(connect_ms, 0, timeout_ms, idle_ms, merge_stderr ? 1 : 0, pty ? 1 : 0, 0, 0, 0, stdin)
    end

    def raise_error(r)
      raise r.error if r.error
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
      m = Multi.new
      op = m.add_connect(host, o, FiberSched.opts(connect_ms: timeout_ms(kw[:timeout])))
      FiberSched.raise_error(FiberSched.await(m, op))
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

      m = Multi.new
      op = m.add_run(self, command, FiberSched.opts(timeout_ms: Xssh.timeout_ms(timeout),
                                                    idle_ms: Xssh.timeout_ms(idle_timeout),
                                                    merge_stderr: merge_stderr, pty: pty, stdin: stdin))
      r = FiberSched.await(m, op)
      FiberSched.raise_error(r)
      RunResult.new(r.stdout, r.stderr, r.exit_status, r.exit_signal)
    end
  end
  Session.prepend(FiberSessionRun)

  # SFTP#get/#put inside a fiber scheduler: the multi's add_sftp_get/put
  # (atomic:, chunk_size:, mode:, progress: need the blocking forms).
  module FiberSftpTransfer
    def get(remote, local, **kw, &blk)
      return super unless FiberSched.active? && kw.empty? && blk.nil?

      fiber_transfer(:add_sftp_get, Xssh.path_arg(remote, :remote, self), Xssh.path_arg(local, :local, self))
    end

    def put(local, remote, **kw, &blk)
      return super unless FiberSched.active? && kw.empty? && blk.nil?

      fiber_transfer(:add_sftp_put, Xssh.path_arg(local, :local, self), Xssh.path_arg(remote, :remote, self))
    end

    private

    def fiber_transfer(meth, a, b)
      m = Multi.new
      op = m.public_send(meth, self, a, b, FiberSched.opts)
      r = FiberSched.await(m, op)
      FiberSched.raise_error(r)
      r.transferred
    end
  end
end

Xssh::SFTP.prepend(Xssh::FiberSftpTransfer) if Xssh.const_defined?(:SFTP, false)
