# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

# xssh for Ruby: `require 'xssh'`.
#
# The classes come from the SWIG module Xssh::Native (swig/xssh.i, built as
# xssh/native.so) and keep the C API's (and ssh2-python's) names:
# Xssh::Session, Xssh::Agent, Xssh::PublicKey, Xssh::KnownHost,
# Xssh::KnownHostEntry, Xssh::Channel, ... Errors are Xssh::Error subclasses
# built from the C error table (Xssh::SSH2Error, Xssh::AuthenticationError,
# Xssh::Timeout, ...), each with #code, #name, #message, #libssh2_code and
# #sftp_status; EAGAIN (Xssh::EAGAIN) is returned, not raised.
# Blocking calls release the GVL, so threads with their own sessions run in
# parallel. Bytes are binary Strings (ASCII-8BIT).
#
# SFTP/SCP idioms are in xssh/sftp.rb, tunnels and ProxyJump helpers in
# xssh/tunnel.rb. This file adds thin Ruby idioms only: Xssh.connect with keyword arguments
# and a block form, constants without the XSSH_ prefix, Array shapes for
# comma lists, enumerators for agent identities and known-host entries.
require 'xssh/native'

module Xssh
  # Every class of the native module, as Xssh::<Name>.
  Native.constants.each do |c|
    v = Native.const_get(c)
    const_set(c, v) if v.is_a?(Class) && !const_defined?(c, false)
  end

  # Every C constant without its prefix: XSSH_HOSTKEY_TYPE_ED25519 ->
  # Xssh::HOSTKEY_TYPE_ED25519, XSSH_EAGAIN -> Xssh::EAGAIN.
  Native.constants.grep(/\AXSSH_/).each do |c|
    short = c.to_s.sub(/\AXSSH_/, '')
    const_set(short, Native.const_get(c)) unless const_defined?(short, false)
  end

  HOST_KEY_POLICIES = {
    strict: Native::XSSH_HOSTKEY_STRICT,
    accept_new: Native::XSSH_HOSTKEY_ACCEPT_NEW,
    off: Native::XSSH_HOSTKEY_OFF
  }.freeze

  # The C policy value of :strict / :accept_new / :off (or a String, or the Integer itself).
  def self.host_key_policy(policy)
    return policy if policy.is_a?(Integer)

    HOST_KEY_POLICIES.fetch(policy.to_s.tr('-', '_').to_sym) do
      raise ArgumentError, "xssh: unknown host_key_policy #{policy.inspect} (#{HOST_KEY_POLICIES.keys.join(', ')})"
    end
  end

  # xssh's version ("0.1.0") and libssh2's.
  def self.version
    Native.version
  end

  def self.libssh2_version
    Native.libssh2_version
  end

  # Raise the Xssh::Error for a failing status code (returns the code otherwise).
  def self.check(code)
    Native.check(code)
  end

  # Connect, verify the host key and authenticate; returns the Session, or
  # with a block yields it and closes it when the block ends (its value is returned).
  #
  #   Xssh.connect(host, port: 22, user: 'me', key: '~/.ssh/id_ed25519') { |s| ... }
  #
  # host_key_policy: :strict (default; unknown or changed keys raise),
  # :accept_new (learn unknown keys into known_hosts, reject changed ones) or
  # :off. known_hosts defaults to ~/.ssh/known_hosts. Authentication uses, in
  # order: key (a private key path, with passphrase), password, the agent
  # (agent: true). timeout is in seconds (nil or 0: none).
  #
  # proxy_jump: the hops to go through, first to last (OpenSSH's -J hop1,hop2):
  # each "[user@]host[:port]", [host, port] or a Hash of these same keyword
  # arguments (host:, port:, user:, key:, known_hosts:, host_key_policy:, ...).
  # A hop uses the target's credentials, known_hosts and policy unless its
  # Hash overrides them; its host key is verified the same way. Every hop
  # stays alive (in C) as long as the returned session.
  def self.connect(host, port: 22, user: nil, key: nil, passphrase: nil, password: nil, agent: false,
                   known_hosts: nil, host_key_policy: :strict, timeout: 30, proxy_jump: nil, &blk)
    user ||= default_user
    common = { user: user, key: key, passphrase: passphrase, password: password, agent: agent,
               known_hosts: known_hosts, host_key_policy: host_key_policy, timeout: timeout }
    hops = []
    via = nil
    s = nil
    begin
      jump_hops(proxy_jump).each do |hop|
        args = common.merge(port: 22).merge(parse_hop(hop))
        hop_host = args.delete(:host)
        raise ArgumentError, "xssh: a proxy_jump hop needs a host: #{hop.inspect}" if hop_host.nil? || hop_host.to_s.empty?

        via = connect_one(hop_host.to_s, Integer(args.delete(:port)), via: via, **args)
        hops << via
      end
      s = connect_one(host, port, via: via, **common)
    rescue Exception # rubocop:disable Lint/RescueException -- close the hops on anything, then re-raise
      hops.reverse_each { |h| h.finish rescue nil } # rubocop:disable Style/RescueModifier
      raise
    end
    return s unless blk

    begin
      yield s
    ensure
      s.finish
    end
  end

  # the login name: $USER, $LOGNAME or Etc.getlogin
  def self.default_user
    ENV['USER'] || ENV['LOGNAME'] || (require('etc') && Etc.getlogin)
  end

  # proxy_jump as a list of hops (one hop may be given without the Array)
  def self.jump_hops(proxy_jump)
    case proxy_jump
    when nil then []
    when String, Hash then [proxy_jump]
    when Array
      # [host, port] alone is one hop; ["a", "b"] are two
      proxy_jump.size == 2 && proxy_jump[1].is_a?(Integer) ? [proxy_jump] : proxy_jump
    else raise TypeError, "xssh: proxy_jump must be an Array of hops, got #{proxy_jump.class}"
    end
  end

  HOP_KEYS = %i[host port user key passphrase password agent known_hosts host_key_policy timeout].freeze

  # A ProxyJump hop as connect arguments: "[user@]host[:port]" ("[v6]:port"
  # too), [host, port] or a Hash of connect keyword arguments.
  def self.parse_hop(hop)
    case hop
    when Hash
      h = hop.transform_keys(&:to_sym)
      unknown = h.keys - HOP_KEYS
      raise ArgumentError, "xssh: unknown proxy_jump hop keys #{unknown.inspect}" unless unknown.empty?

      h
    when Array
      raise ArgumentError, "xssh: a proxy_jump hop Array is [host, port], got #{hop.inspect}" unless (1..2).cover?(hop.size)

      { host: hop[0].to_s, port: Integer(hop[1] || 22) }
    when String
      d = {}
      text = hop
      if text.include?('@')
        d[:user], _, text = text.rpartition('@')
      end
      if text.start_with?('[')
        h, _, rest = text[1..].partition(']')
        d[:host] = h
        d[:port] = Integer(rest[1..]) if rest.start_with?(':')
      elsif text.count(':') == 1
        h, p = text.split(':')
        d[:host] = h
        d[:port] = Integer(p)
      else
        d[:host] = text
      end
      d
    else
      raise TypeError, "xssh: a proxy_jump hop must be a String, [host, port] or a Hash, got #{hop.class}"
    end
  end

  # One session: connect (directly or through via), verify, authenticate.
  def self.connect_one(host, port, user:, key:, passphrase:, password:, agent:, known_hosts:, host_key_policy:,
                       timeout:, via: nil)
    policy = self.host_key_policy(host_key_policy)
    timeout_ms = timeout ? (timeout * 1000).to_i : 0
    s = Session.new
    path = known_hosts && File.expand_path(known_hosts.to_s)
    begin
      # like ssh: offer first the host-key algorithms of the key types known_hosts records
      s.prefer_known_hostkeys(host, port, path) unless policy == Native::XSSH_HOSTKEY_OFF
      if via
        s.connect_via(via, host, port, timeout_ms)
      else
        s.connect(host, port, timeout_ms)
      end
      s.verify_host(host, port, policy, path)
      s.set_timeout(timeout_ms) if timeout_ms.positive?
      if key
        s.userauth_publickey_fromfile(user, File.expand_path(key.to_s), passphrase)
      elsif password
        s.userauth_password(user, password)
      elsif agent
        s.agent_auth(user)
      end
    rescue Exception # rubocop:disable Lint/RescueException -- close on anything, then re-raise
      s.close
      raise
    end
    s
  end
  private_class_method :connect_one

  class Session
    alias native_handshake handshake
    # handshake(socket_or_fd): the Session keeps the socket object alive.
    def handshake(sock)
      @sock = sock
      native_handshake(sock)
    end
    alias startup handshake

    # The socket object given to handshake, if any.
    attr_reader :sock

    alias native_userauth_list userauth_list
    # The server's authentication methods for username, as an Array of Strings.
    def userauth_list(username)
      v = native_userauth_list(username)
      v.is_a?(String) ? v.split(',').reject(&:empty?) : v
    end

    alias native_supported_algs supported_algs
    # Algorithms this libssh2 supports for a METHOD_* type, as an Array of Strings.
    def supported_algs(method_type)
      v = native_supported_algs(method_type)
      v.is_a?(String) ? v.split(',').reject(&:empty?) : v
    end

    alias native_verify_host verify_host
    # verify_host(host = nil, port = 0, policy = :strict, known_hosts = nil)
    def verify_host(host = nil, port = 0, policy = :strict, path = nil)
      native_verify_host(host, port, Xssh.host_key_policy(policy), path)
    end

    alias userauth_keyboardinteractive userauth_keyboard_interactive

    # Flags come back as true/false (an Integer 0 would be truthy in Ruby).
    alias native_is_closed is_closed
    def is_closed # rubocop:disable Naming/PredicateName -- the C/ssh2-python name
      native_is_closed != 0
    end

    alias native_userauth_authenticated userauth_authenticated
    def userauth_authenticated
      native_userauth_authenticated != 0
    end

    alias native_get_blocking get_blocking
    def get_blocking
      native_get_blocking != 0
    end

    alias native_methods methods
    # methods(method_type): the negotiated algorithm (C API / ssh2-python);
    # without an argument it stays Ruby's Object#methods.
    def methods(*args)
      args.empty? ? super() : native_methods(*args)
    end

    alias native_set_blocking set_blocking
    # set_blocking(true/false or 1/0)
    def set_blocking(blocking)
      native_set_blocking(blocking == true || (blocking.is_a?(Integer) && blocking != 0) ? 1 : 0)
    end

    # session.blocking = false
    def blocking=(blocking)
      set_blocking(blocking)
    end

    # session.timeout = seconds (nil or 0: none); session.timeout -> seconds or nil
    def timeout=(seconds)
      set_timeout(seconds ? (seconds * 1000).to_i : 0)
    end

    def timeout
      ms = get_timeout
      ms.positive? ? ms / 1000.0 : nil
    end

    # Disconnect politely (falling back to a plain close); never raises for a
    # session that is already closed. Used by the block forms.
    def finish
      return if closed?

      begin
        disconnect
      rescue Xssh::Error
        close
      end
      nil
    end
  end

  # What Session#run returns: stdout and stderr (binary Strings), exit_status
  # (Integer, nil when the process sent none, e.g. killed by a signal) and
  # exit_signal (e.g. "TERM", or nil).
  RunResult = Struct.new(:stdout, :stderr, :exit_status, :exit_signal) do
    # true when the command exited with status 0
    def success?
      exit_status == 0 # rubocop:disable Style/NumericPredicate -- nil is not a success
    end
    alias_method :ok?, :success?
  end

  class Session
    if method_defined?(:open_session)
      alias native_open_session open_session
      # A new Channel; with a block, yields it and closes it at the block's end.
      # (EAGAIN comes back as the Integer in non-blocking mode.)
      def open_session
        ch = native_open_session
        return ch if ch.is_a?(Integer)

        ch.instance_variable_set(:@session, self)
        return ch unless block_given?

        begin
          yield ch
        ensure
          ch.finish
        end
      end
    end

    # Run command on a new channel and return a RunResult. Both streams are read
    # concurrently in C; stdin (a String) is written, then EOF. timeout: total
    # seconds, idle_timeout: longest silence in seconds (either raises
    # Xssh::Timeout, the session stays usable). The GVL is released meanwhile.
    def run(command, stdin: nil, timeout: nil, idle_timeout: nil, merge_stderr: false, pty: false)
      raise Xssh.arg_type_error(self, :stdin, 'String or nil', stdin, :run) unless stdin.nil? || stdin.is_a?(String)

      args = [command, stdin, Xssh.timeout_ms(timeout), Xssh.timeout_ms(idle_timeout),
              merge_stderr ? 1 : 0, pty ? 1 : 0]
      out, err, status, have, sig =
        begin
          if respond_to?(:run_collect)
            run_collect(*args)
          elsif Native.respond_to?(:session_run)
            Native.session_run(self, *args)
          else
            raise NotImplementedError, 'xssh: this build has no Session#run'
          end
        rescue TypeError, ArgumentError => e # argument errors name this method
          raise e.class, e.message.sub(/\AXssh::(Native\.session_run|Session#run_collect):/, 'Xssh::Session#run:'),
                e.backtrace
        end
      RunResult.new(out, err, have.nil? || have == 0 ? nil : status, sig.nil? || sig.empty? ? nil : sig)
    end
  end

  # milliseconds of a timeout in seconds (nil: none)
  def self.timeout_ms(seconds)
    return 0 if seconds.nil?
    raise ArgumentError, 'xssh: timeouts must be > 0 (or nil)' unless seconds.positive?

    [(seconds * 1000).to_i, 1].max
  end

  if const_defined?(:Channel, false) && Channel.method_defined?(:read)
    class Channel
      # The Session that opened this channel (set by Session#open_session).
      attr_reader :session

      alias native_read read
      alias native_read_stderr read_stderr
      alias native_read_ex read_ex

      # Read up to size bytes of stdout: [count, bytes]; count is Xssh::EAGAIN
      # when nothing is there yet (non-blocking), 0 at EOF. One call returns at
      # most Xssh::IO_MAX (16 MiB) bytes, whatever size asks for.
      def read(size = 1024)
        native_read(size)
      end

      def read_stderr(size = 1024)
        native_read_stderr(size)
      end

      def read_ex(size = 1024, stream_id = 0)
        native_read_ex(size, stream_id)
      end

      alias native_eof eof
      # true once the server sent EOF and everything was read
      def eof
        native_eof != 0
      end
      alias eof? eof

      alias native_is_closed is_closed
      def is_closed # rubocop:disable Naming/PredicateName -- the C/ssh2-python name
        native_is_closed != 0
      end
      alias closed? is_closed

      alias native_exit_status_ex exit_status_ex
      # [status, have]: have is false until the server sent an exit status
      def exit_status_ex
        st, have = native_exit_status_ex
        [st, have != 0]
      end

      # The exit status, or nil when the server sent none.
      def exit_status
        st, have = exit_status_ex
        have ? st : nil
      end

      # The exit signal's name ("TERM"), or nil.
      def exit_signal
        name, = get_exit_signal
        name.nil? || name.empty? ? nil : name
      end

      # Everything left on stdout (blocking mode), as one binary String.
      def read_all(size = 32_768)
        buf = String.new(encoding: Encoding::BINARY)
        loop do
          n, data = read(size)
          raise Xssh::Error, 'xssh: read_all needs a blocking session' if n == Xssh::EAGAIN
          break if n <= 0

          buf << data
        end
        buf
      end

      # Close unless closed already; never raises for a dead channel.
      def finish
        close unless closed?
        nil
      rescue Xssh::Error
        nil
      end
    end
  end

  class Agent
    # The agent's identities (lists them first), as an Array of PublicKey.
    def identities
      list_identities
      Array.new(identity_count) { |i| identity(i) }
    end
    alias get_identities identities

    # Block form: Xssh::Agent#open { |agent| ... } connects, yields, disconnects.
    def open
      connect
      return self unless block_given?

      begin
        yield self
      ensure
        begin
          disconnect
        rescue Xssh::Error
          nil
        end
      end
    end
  end

  class KnownHost
    include Enumerable

    # Each entry (KnownHostEntry).
    def each
      return enum_for(:each) { count } unless block_given?

      count.times { |i| yield get(i) }
      self
    end

    alias entries to_a
  end
end

require_relative 'xssh/sftp'
require_relative 'xssh/tunnel'
