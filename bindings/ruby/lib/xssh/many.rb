# frozen_string_literal: true

# SPDX-License-Identifier: BSD-3-Clause
#
# Many hosts from one thread (docs/run_many.md): Xssh.run_many, put_many,
# get_many, and the Ruby shapes of Xssh::Multi / Xssh::MultiOp. The loop is the
# C multi interface (capi/include/xssh/multi.h), driven by Multi#perform_all
# without the GVL; this file only maps arguments and results.
require 'fileutils'

require 'timeout'

module Xssh
  # The outcome of one multi operation / one host of run_many, put_many,
  # get_many: host (String as given), exit_status (Integer, nil when none was
  # sent), exit_signal ("TERM" or nil), stdout/stderr (binary Strings kept; empty
  # when streamed), stdout_truncated/stderr_truncated, error (nil or the
  # Xssh::Error subclass instance of the C error table, e.g. Xssh::Timeout),
  # phase ("resolve", "connect", "handshake", "hostkey", "auth", "channel",
  # "command", "transfer", "disconnect"; "none" on success), transferred (bytes, get/put),
  # duration (Float seconds).
  MultiResult = Struct.new(:host, :exit_status, :exit_signal, :stdout, :stderr, :stdout_truncated,
                           :stderr_truncated, :error, :phase, :transferred, :duration) do
    # true when there was no error and a command exited with status 0
    def ok?
      error.nil? && (exit_status.nil? || exit_status.zero?) && exit_signal.nil?
    end
    alias_method :ok, :ok?

    def inspect
      return "#<Xssh::MultiResult #{host} failed in #{phase}: #{error.class}: #{error.message}>" if error

      "#<Xssh::MultiResult #{host} exit_status=#{exit_status.inspect} exit_signal=#{exit_signal.inspect} " \
        "stdout=#{stdout.bytesize} bytes stderr=#{stderr.bytesize} bytes>"
    end
    alias_method :to_s, :inspect
  end

  # the Xssh::Error instance for a code and message (its class from the C error table)
  def self.error_for(code, message, sftp_status = 0)
    cls = ERROR_CLASSES_BY_CODE[code] || Error
    e = cls.new(message.nil? || message.empty? ? Native.strerror(code) : message)
    e.instance_variable_set(:@code, code)
    e.instance_variable_set(:@name, Native.err_name(code))
    e.instance_variable_set(:@libssh2_code, 0)
    e.instance_variable_set(:@sftp_status, sftp_status || 0)
    e
  end

  class Multi
    alias info_read_native info_read
    # the next finished op not reported yet (completion order), or nil
    def info_read
      op = info_read_native
      op.is_a?(Integer) ? nil : op
    end

    # [[[fd, events], ...], timeout_ms] (pull form of the socket/timer interest;
    # while an op runs, the last pair is the Multi's wake-up descriptor: an
    # eventfd to watch for reading, never to read or close; docs/multi.md)
    def fds
      v = Array(fds_swig)
      [v[1..].each_slice(2).to_a, v[0]]
    end

    def inspect
      '#<Xssh::Multi>'
    end
  end

  class MultiOp
    # @!method state
    #   The op's state: Xssh::OP_QUEUED (waiting for a running slot), Xssh::OP_RUNNING or
    #   Xssh::OP_DONE (its result is readable); xssh_multi_op_state.
    #   @return [Integer]

    # the MultiResult of a done op (Xssh::BadUseError while not done)
    def result
      code, phase, message, host, have, status, sig, out, out_tr, err, err_tr, nbytes, dur, sftp_st = result_swig
      MultiResult.new(host, have.zero? ? nil : status, sig.nil? || sig.empty? ? nil : sig, out, err,
                      out_tr != 0, err_tr != 0, code.zero? ? nil : Xssh.error_for(code, message, sftp_st),
                      Native.phase_name(phase), nbytes, dur / 1000.0)
    end

    # the entries of a done listdir op: [[name, longentry, attrs], ...] as SFTPHandle#readdir
    # yields them ("." and ".." left out); Xssh::BadUseError when not done or it failed
    def entries
      (0...entries_count_swig).map { |i| entry_swig(i) }
    end

    def inspect
      "#<Xssh::MultiOp #{%w[queued running done][state] || state}>"
    end

    # a forward op's counters as a ForwardStats, as Forward#stats (xssh_multi_op_forward_stats)
    if method_defined?(:forward_stats)
      alias native_forward_stats forward_stats
      def forward_stats
        ForwardStats.new(*native_forward_stats)
      end
    end
  end

  MANY_HOST_KEYS = %i[port user key passphrase password agent known_hosts host_key_policy proxy_jump config
                      options].freeze

  # [[host String, Options], ...] in the order given
  def self.many_hosts(meth, hosts, defaults)
    raise arg_type_error(self, :hosts, 'an Array of host Strings or Hashes', hosts, meth) unless hosts.is_a?(Array)

    shared = nil
    hosts.each_with_index.map do |h, i|
      case h
      when String
        shared ||= connect_options("Xssh.#{meth}", **defaults)
        [h, shared]
      when Hash
        kw = h.transform_keys(&:to_sym)
        host = kw.delete(:host)
        raise arg_type_error(self, :"hosts[#{i}][:host]", 'String', host, meth) unless host.is_a?(String)

        unknown = kw.keys - MANY_HOST_KEYS
        unless unknown.empty?
          raise ArgumentError, "Xssh.#{meth}: hosts[#{i}]: unknown keys #{unknown.inspect} (a host Hash takes " \
                               "host: and #{MANY_HOST_KEYS.join(', ')})"
        end
        [host, connect_options("Xssh.#{meth}: hosts[#{i}]", **defaults, **kw)]
      else raise arg_type_error(self, :"hosts[#{i}]", 'a host String or Hash', h, meth)
      end
    end
  end

  def self.many_ms(meth, name, seconds)
    return 0 if seconds.nil?
    raise arg_type_error(self, name, 'Numeric seconds or nil', seconds, meth) unless seconds.is_a?(Numeric)
    unless seconds.real? && seconds.finite? && seconds.positive?
      raise ArgumentError, "Xssh.#{meth}: #{name}: expected finite seconds > 0 (or nil: no limit), got #{seconds}"
    end

    [(seconds * 1000).ceil, 1].max
  end

  def self.many_opts(meth, connect_timeout, auth_timeout, timeout, idle_timeout, merge_stderr: false, pty: false,
                     max_output: nil, line_mode: false, recursive: false, stdin: nil)
    ms = [many_ms(meth, :connect_timeout, connect_timeout), many_ms(meth, :auth_timeout, auth_timeout),
          many_ms(meth, :timeout, timeout), many_ms(meth, :idle_timeout, idle_timeout)]
    unless max_output.nil?
      raise arg_type_error(self, :max_output, 'Integer or nil', max_output, meth) unless max_output.is_a?(Integer)
      unless max_output.positive?
        raise ArgumentError, "Xssh.#{meth}: max_output: expected > 0 (or nil: 1 MiB), got #{max_output}"
      end
    end
    raise arg_type_error(self, :stdin, 'String or nil', stdin, meth) unless stdin.nil? || stdin.is_a?(String)

    o = Native.multi_op_options(*ms, merge_stderr ? 1 : 0, pty ? 1 : 0, max_output || 0, line_mode ? 1 : 0,
                                recursive ? 1 : 0, stdin)
    o
  end

  def self.many_multi(meth, parallelism)
    raise arg_type_error(self, :parallelism, 'Integer', parallelism, meth) unless parallelism.is_a?(Integer)
    if parallelism.negative?
      raise ArgumentError, "Xssh.#{meth}: parallelism: expected >= 0 (0: no limit), got #{parallelism}"
    end

    m = Multi.new
    m.set_max_running(parallelism)
    m
  end

  def self.many_path(meth, name, path)
    p = if path.is_a?(String) then path
        elsif path.respond_to?(:to_path) then path.to_path
        end
    raise arg_type_error(self, name, 'a path (String or Pathname)', path, meth) if p.nil?
    raise ArgumentError, "Xssh.#{meth}: #{name}: expected a path without a null byte" if p.include?("\0")

    p
  end

  def self.many_defaults(port, user, key, passphrase, password, agent, known_hosts, host_key_policy, proxy_jump,
                         config, options)
    { port: port, user: user, key: key, passphrase: passphrase, password: password, agent: agent,
      known_hosts: known_hosts, host_key_policy: host_key_policy, proxy_jump: proxy_jump, config: config,
      options: options }
  end

  # Drive m until every op is done; the Array of their MultiResult. When the
  # drive ends early (what a callback raised, a break/return/throw out of the
  # block, Timeout, Ctrl-C, Thread#raise/kill) the ops still queued or running
  # are cancelled and driven to their end before that goes on, so none is left
  # running (a command's channel is closed, a partial download removed).
  # stopped: an Array whose first element is set true then (the callbacks
  # check it and stay silent during that last drive).
  def self.many_drive(m, ops, stopped = [false])
    m.perform_all
    done = true
    ops.map(&:result)
  ensure
    unless done
      stopped[0] = true
      ops.each { |op| op.cancel unless op.state == Native::XSSH_OP_DONE }
      m.perform_all
    end
  end

  # Run command on every host concurrently from this thread; an Array of
  # MultiResult, one per host in the order given (docs/run_many.md).
  # hosts: host Strings ("host", "user@host:port", a ~/.ssh/config Host alias)
  # and/or Hashes {host:, plus any of connect's keywords: port:, user:, key:,
  # passphrase:, password:, agent:, known_hosts:, host_key_policy:, proxy_jump:,
  # config:, options:} (a Hash's keys win over the keywords, which apply to
  # every host). parallelism: at most this many at once (0: no limit).
  # connect_timeout:, auth_timeout:, timeout: (the command), idle_timeout: in
  # seconds (nil: defaults / no limit); stdin:, pty:, merge_stderr:;
  # max_output: bytes kept per stream (nil: 1 MiB). on_output: a callable
  # (host, stream, data) called with whole lines as they arrive (stream
  # "stdout"/"stderr"; the output is then not kept; a true return cancels that
  # host); a block works too. Each host's failure is in its result; run_many
  # raises for wrong arguments, or what on_output raised (a StandardError: that
  # host is cancelled with it as its result's error, the others run to their
  # end, then the first one is raised, every host's result in its #results).
  # The GVL is released while the hosts run; Ctrl-C / Thread#raise stop it within 0.2 s.
  def self.run_many(hosts, command, parallelism: 64, connect_timeout: nil, auth_timeout: nil, timeout: nil,
                    idle_timeout: nil, stdin: nil, pty: false, merge_stderr: false, max_output: nil, on_output: nil,
                    port: nil, user: nil, key: nil, passphrase: nil, password: nil, agent: nil, known_hosts: nil,
                    host_key_policy: nil, proxy_jump: nil, config: nil, options: nil, &blk)
    raise arg_type_error(self, :command, 'String', command, :run_many) unless command.is_a?(String)

    on_output ||= blk
    unless on_output.nil? || on_output.respond_to?(:call)
      raise arg_type_error(self, :on_output, 'a callable (host, stream, data) or nil', on_output, :run_many)
    end
    specs = many_hosts(:run_many, hosts, many_defaults(port, user, key, passphrase, password, agent, known_hosts,
                                                       host_key_policy, proxy_jump, config, options))
    o = many_opts(:run_many, connect_timeout, auth_timeout, timeout, idle_timeout, merge_stderr: merge_stderr,
                                                                                   pty: pty, max_output: max_output,
                                                                                   line_mode: !on_output.nil?,
                                                                                   stdin: stdin)
    m = many_multi(:run_many, parallelism)
    stopped = [false]
    raised = [] # [index, exception] in the order on_output raised them
    ops = specs.each_with_index.map do |(host, opts), i|
      cb = on_output && lambda { |_op, stream, data|
        next false if stopped[0]

        begin
          on_output.call(host, stream == Native::XSSH_STREAM_STDERR ? 'stderr' : 'stdout', data)
        rescue ::Timeout::Error
          # Timeout.timeout around run_many (raised into the block from its timer thread):
          # like Interrupt, it stops every host, not just the one whose output was being read
          raise
        rescue StandardError => e # that host is cancelled, the others go on (Interrupt & co stop all)
          raised << [i, e]
          :cancel
        end
      }
      m.add_host_run(host, opts, command, o, cb)
    end
    results = many_drive(m, ops, stopped)
    return results if raised.empty?

    raised.each { |i, e| results[i].error = e }
    first = raised[0][1]
    first.instance_variable_set(:@results, results)
    first.define_singleton_method(:results) { @results }
    raise first
  end

  # Upload the local file (recursive: true: a directory tree) to remote on every
  # host over SFTP, concurrently; an Array of MultiResult (transferred: bytes sent). hosts and
  # the connect keywords as run_many; timeout: seconds per transfer.
  def self.put_many(hosts, local, remote, parallelism: 64, recursive: false, connect_timeout: nil,
                    auth_timeout: nil, timeout: nil, port: nil, user: nil, key: nil, passphrase: nil,
                    password: nil, agent: nil, known_hosts: nil, host_key_policy: nil, proxy_jump: nil,
                    config: nil, options: nil)
    local = many_path(:put_many, :local, local)
    remote = many_path(:put_many, :remote, remote)
    specs = many_hosts(:put_many, hosts, many_defaults(port, user, key, passphrase, password, agent, known_hosts,
                                                       host_key_policy, proxy_jump, config, options))
    o = many_opts(:put_many, connect_timeout, auth_timeout, timeout, nil, recursive: recursive)
    m = many_multi(:put_many, parallelism)
    ops = specs.map { |host, opts| m.add_host_put(host, opts, local, remote, o) }
    many_drive(m, ops)
  end

  # the per-host directory name of get_many: the host String as given, "/" made "_"
  def self.many_host_dir(host)
    name = host.tr("/\0", '__')
    ['', '.', '..'].include?(name) ? "_#{name}" : name
  end

  # Download remote (recursive: true: a directory tree) from every host over
  # SFTP, concurrently, each host's copy to local_dir/<host>/<basename of
  # remote> (like pssh's pslurp; <host> is the host String as given, "/" made
  # "_"; the directories are created). An Array of MultiResult (transferred:
  # bytes received). Give each host once: the same host String writes the same file.
  def self.get_many(hosts, remote, local_dir, parallelism: 64, recursive: false, connect_timeout: nil,
                    auth_timeout: nil, timeout: nil, port: nil, user: nil, key: nil, passphrase: nil,
                    password: nil, agent: nil, known_hosts: nil, host_key_policy: nil, proxy_jump: nil,
                    config: nil, options: nil)
    remote = many_path(:get_many, :remote, remote)
    local_dir = many_path(:get_many, :local_dir, local_dir)
    specs = many_hosts(:get_many, hosts, many_defaults(port, user, key, passphrase, password, agent, known_hosts,
                                                       host_key_policy, proxy_jump, config, options))
    o = many_opts(:get_many, connect_timeout, auth_timeout, timeout, nil, recursive: recursive)
    base = File.basename(remote.chomp('/'))
    base = 'root' if base.empty? || base == '/'
    m = many_multi(:get_many, parallelism)
    ops = specs.map do |host, opts|
      dir = File.join(local_dir, many_host_dir(host))
      FileUtils.mkdir_p(dir)
      m.add_host_get(host, opts, remote, File.join(dir, base), o)
    end
    many_drive(m, ops)
  end

  private_class_method :many_drive, :many_hosts, :many_ms, :many_opts, :many_multi, :many_path, :many_defaults, :many_host_dir
end
