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
# xssh/tunnel.rb. This file adds thin Ruby idioms only: Xssh.connect (keyword
# arguments mapped onto Xssh::Options + the C xssh_connect) and its block form,
# Xssh.logger=, constants without the XSSH_ prefix, Array shapes for comma
# lists, enumerators for agent identities and known-host entries.
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

  # "Xssh::SFTP#get" for the receiver recv and the calling method
  def self.callee(recv, label)
    cls = recv.is_a?(Module) ? "#{recv.name}." : "#{recv.class.name}#"
    "#{cls.sub('::Native::', '::')}#{label}"
  end

  # TypeError "Xssh::SFTP#get: remote: expected ..., got Integer", naming the
  # public method (recv and the caller's label) and the parameter
  def self.arg_type_error(recv, name, what, obj, meth = nil)
    meth ||= caller_locations(2, 1)[0].label
    TypeError.new("#{callee(recv, meth)}: #{name}: expected #{what}, got #{obj.class}")
  end

  # a path argument: String, Pathname or anything with to_path
  def self.path_arg(path, name = :path, recv = self, meth = nil)
    return path if path.is_a?(String)
    return path.to_path if path.respond_to?(:to_path)

    raise arg_type_error(recv, name, 'a path (String or Pathname)', path, meth)
  end

  # The arguments of a forward (Session#forward_local bind_host, bind_port,
  # dest_host, dest_port; #forward_remote listen_host, listen_port, dest_host,
  # dest_port) checked in Ruby words before the C call: names is the four
  # keyword names, the first host may be nil (127.0.0.1 / any), the first port
  # 0 (any free port). A wrong type is a TypeError, a nil or empty destination
  # host or a port out of range an Xssh::InvalidArgumentError (code EARG), each
  # naming the public method and the argument.
  def self.forward_args(recv, meth, names, hosts_ports)
    bind_host, bind_port, dest_host, dest_port = hosts_ports
    raise arg_type_error(recv, names[0], 'String or nil', bind_host, meth) unless bind_host.nil? || bind_host.is_a?(String)
    raise arg_type_error(recv, names[2], 'a non-empty String', dest_host, meth) unless dest_host.nil? || dest_host.is_a?(String)
    [[names[1], bind_port, 0], [names[3], dest_port, 1]].each do |name, port, low|
      raise arg_type_error(recv, name, 'Integer', port, meth) unless port.is_a?(Integer)
      next if port.between?(low, 65_535)

      raise arg_value_error(recv, meth, name, "expected #{low}..65535#{low.zero? ? ' (0: any free port)' : ''}, got #{port}")
    end
    return unless dest_host.nil? || dest_host.empty?

    raise arg_value_error(recv, meth, names[2], "expected a non-empty String, got #{dest_host.nil? ? 'nil' : 'an empty String'}")
  end

  # the argument names of Session#forward_local (its errors name them)
  FORWARD_LOCAL_ARGS = %i[bind_host bind_port dest_host dest_port].freeze

  # Xssh::InvalidArgumentError (code EARG) "Xssh::Session#forward_local: dest_port: expected ..."
  def self.arg_value_error(recv, meth, name, text)
    Native.error_object(Native::XSSH_EARG).exception("#{callee(recv, meth)}: #{name}: #{text}")
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

  # The version of the libssh2 xssh runs with ("1.10.0").
  def self.libssh2_version
    Native.libssh2_version
  end

  # Raise the Xssh::Error for a failing status code (returns the code otherwise).
  def self.check(code)
    Native.check(code)
  end

  # Connect the way OpenSSH's ssh does (the C xssh_connect, capi/include/xssh/connect.h):
  # ~/.ssh/config (then /etc/ssh/ssh_config; config: another file or "none"),
  # Host aliases, ProxyJump, known_hosts under StrictHostKeyChecking, and
  # authentication by the agent, the IdentityFiles or the default keys, then
  # keyboard-interactive/password when a password or prompt_callback is given.
  # Returns an authenticated Session, or with a block yields it and closes it
  # when the block ends (its value is returned).
  #
  #   Xssh.connect('myhost')                               # as `ssh myhost`
  #   Xssh.connect('example.org', user: 'me', key: '~/.ssh/id_ed25519') { |s| ... }
  #   Xssh.connect('h', options: { 'Compression' => true, 'ServerAliveInterval' => 15 })
  #
  # Every keyword is one ssh_config(5) option given explicitly (it wins over
  # the files, as `ssh -o`): port: (Port), user: (User), key: (IdentityFile; a
  # path or an Array of them), passphrase: (for every encrypted key),
  # password:, agent: (nil: ssh's default, $SSH_AUTH_SOCK; false: IdentityAgent
  # none; a String: the agent's socket), known_hosts: (UserKnownHostsFile: a path or an Array),
  # host_key_policy: (:strict = StrictHostKeyChecking yes; :accept_new; :off: no
  # verification at all, known_hosts neither read nor written), timeout: (seconds:
  # ConnectTimeout and the session timeout of later calls), proxy_jump: (ProxyJump:
  # "hop1,hop2", or an Array of "[user@]host[:port]", [host, port] or {host:, port:, user:}),
  # config: (ConfigFile: a path, or "none"), options: (any other keyword =>
  # value; true/false are yes/no, an Array gives the keyword once per value).
  # passphrase_callback: ->(keyfile) { 'secret' or nil } is asked for each
  # encrypted key; prompt_callback: ->(name, instruction, prompt, echo) { answer
  # or nil } answers keyboard-interactive prompts and the password prompt. An
  # exception raised by either is raised by connect.
  def self.connect(host, port: nil, user: nil, key: nil, passphrase: nil, password: nil, agent: nil,
                   known_hosts: nil, host_key_policy: nil, timeout: nil, proxy_jump: nil, config: nil,
                   options: nil, passphrase_callback: nil, prompt_callback: nil, &blk)
    raise arg_type_error(self, :host, 'String', host, :connect) unless host.is_a?(String)

    o = connect_options(port: port, user: user, key: key, passphrase: passphrase, password: password,
                        agent: agent, known_hosts: known_hosts, host_key_policy: host_key_policy,
                        timeout: timeout, proxy_jump: proxy_jump, config: config, options: options,
                        passphrase_callback: passphrase_callback, prompt_callback: prompt_callback)
    s = Native.connect(host, o)
    return s unless blk

    begin
      yield s
    ensure
      s.finish
    end
  end

  # connect's keywords mapped onto a new Options (shared by connect and
  # run_many/put_many/get_many); argument errors name meth (e.g. "Xssh.run_many")
  def self.connect_options(meth = nil, port: nil, user: nil, key: nil, passphrase: nil, password: nil, agent: nil,
                           known_hosts: nil, host_key_policy: nil, timeout: nil, proxy_jump: nil, config: nil,
                           options: nil, passphrase_callback: nil, prompt_callback: nil)
    o = Options.new
    set = ->(name, value) { o.set(name, value) }
    set['ConfigFile', path_word(config, :config, tokens: false)] unless config.nil?
    unless port.nil?
      raise arg_type_error(self, :port, 'Integer', port, :connect) unless port.is_a?(Integer)

      set['Port', port.to_s]
    end
    set['User', user] unless user.nil?
    Array(key).each { |k| set['IdentityFile', path_word(k, :key)] } unless key.nil?
    set['Passphrase', passphrase] unless passphrase.nil?
    set['Password', password] unless password.nil?
    case agent
    when nil, true then nil
    when false then set['IdentityAgent', 'none']
    else set['IdentityAgent', path_word(agent, :agent, what: 'true, false or an agent socket path (String or Pathname)')]
    end
    policy = host_key_policy.nil? ? nil : self.host_key_policy(host_key_policy)
    if policy == Native::XSSH_HOSTKEY_OFF # no verification: nothing read, nothing learnt
      set['StrictHostKeyChecking', 'no']
      set['UserKnownHostsFile', '/dev/null']
      set['GlobalKnownHostsFile', '/dev/null']
    else
      set['StrictHostKeyChecking', policy == Native::XSSH_HOSTKEY_ACCEPT_NEW ? 'accept-new' : 'yes'] if policy
      set['UserKnownHostsFile', Array(known_hosts).map { |f| path_word(f, :known_hosts) }.join(' ')] unless known_hosts.nil?
    end
    unless timeout.nil?
      raise arg_type_error(self, :timeout, 'Numeric seconds', timeout, :connect) unless timeout.is_a?(Numeric)
      unless timeout.real? && timeout.finite? && !timeout.negative?
        raise ArgumentError, "#{callee(self, :connect)}: timeout: expected finite seconds >= 0 (0: no limit), got #{timeout}"
      end

      set['ConnectTimeout', timeout.ceil.to_s] if timeout.positive?
      set['Timeout', timeout.to_s]
    end
    set['ProxyJump', jump_spec(proxy_jump)] unless proxy_jump.nil?
    unless options.nil?
      raise arg_type_error(self, :options, 'Hash', options, :connect) unless options.is_a?(Hash)

      options.each do |name, value|
        Array(value).each do |v|
          set[name.to_s, v == true ? 'yes' : v == false ? 'no' : v.to_s] # rubocop:disable Style/NestedTernaryOperator
        end
      end
    end
    o.set_passphrase_callback(passphrase_callback) unless passphrase_callback.nil?
    o.set_prompt_callback(prompt_callback) unless prompt_callback.nil?
    o
  rescue TypeError, ArgumentError => e
    raise if meth.nil? || !e.message.start_with?('Xssh.connect')

    raise e.class, e.message.sub(/\AXssh\.connect/, meth), e.backtrace
  end

  # what applies to host, as `ssh -G host` prints it: {"port" => "22", ...}
  # (keywords in lower case; a keyword given several times maps to an Array)
  def self.resolve(host, config: nil, options: nil)
    o = Options.new
    o.set('ConfigFile', config.to_s) unless config.nil?
    (options || {}).each { |k, v| Array(v).each { |x| o.set(k.to_s, x == true ? 'yes' : x == false ? 'no' : x.to_s) } } # rubocop:disable Style/NestedTernaryOperator
    o.resolve(host).each_line(chomp: true).each_with_object({}) do |line, h|
      k, v = line.split(' ', 2)
      h[k] = h.key?(k) ? [*h[k], v] : v
    end
  end

  # a path as one literal ssh_config word: quoted when it holds a space, "%"
  # doubled where ssh expands %-tokens (IdentityFile, UserKnownHostsFile, IdentityAgent)
  def self.path_word(path, name, tokens: true, what: 'a path (String or Pathname)')
    p = path.is_a?(String) || path.respond_to?(:to_path) ? path_arg(path, name, self, :connect) : nil
    raise arg_type_error(self, name, what, path, :connect) if p.nil?
    raise ArgumentError, "#{callee(self, :connect)}: #{name}: expected #{what} without a null byte" if p.include?("\0")

    p = p.gsub('%', '%%') if tokens
    p.match?(/[ \t]/) ? "\"#{p}\"" : p
  end

  HOP_KEYS = %i[host port user].freeze

  # a hop's port: an Integer 1..65535
  def self.hop_port(port)
    raise arg_type_error(self, :proxy_jump, 'a hop port as an Integer', port, :connect) unless port.is_a?(Integer)
    raise ArgumentError, "#{callee(self, :connect)}: proxy_jump: a hop port is 1..65535, got #{port}" unless port.between?(1, 65_535)

    port
  end

  # proxy_jump as ssh's ProxyJump text ("hop1,hop2")
  def self.jump_spec(proxy_jump)
    hops =
      case proxy_jump
      when String, Hash then [proxy_jump]
      when Array then proxy_jump.size == 2 && proxy_jump[1].is_a?(Integer) ? [proxy_jump] : proxy_jump
      else raise arg_type_error(self, :proxy_jump, 'String or Array of hops', proxy_jump, :connect)
      end
    hops.map do |hop|
      case hop
      when String then hop
      when Array then "#{hop[0]}#{hop[1] ? ":#{hop_port(hop[1])}" : ''}"
      when Hash
        h = hop.transform_keys(&:to_sym)
        unknown = h.keys - HOP_KEYS
        unless unknown.empty?
          raise ArgumentError, "Xssh.connect: proxy_jump: unknown hop keys #{unknown.inspect} (a hop is " \
                               '{host:, port:, user:}; its other options come from ~/.ssh/config Host blocks)'
        end
        raise ArgumentError, "Xssh.connect: proxy_jump: a hop needs a host: #{hop.inspect}" if h[:host].to_s.empty?

        "#{h[:user] ? "#{h[:user]}@" : ''}#{h[:host]}#{h[:port] ? ":#{hop_port(h[:port])}" : ''}"
      else raise arg_type_error(self, :proxy_jump, 'hops as Strings, [host, port] or Hashes', hop, :connect)
      end
    end.join(',')
  end

  # ---- logging ----
  # xssh's levels (Xssh::LOG_ERROR .. Xssh::LOG_TRACE) as Logger's
  LOGGER_LEVELS = { 1 => 3, 2 => 2, 3 => 1, 4 => 0, 5 => 0 }.freeze # ERROR, WARN, INFO, DEBUG, DEBUG
  # the level methods of a logger without #add, most severe first (index 3 - severity)
  LOGGER_METHODS = %i[error warn info debug].freeze

  class << self
    # The Logger xssh's records go to (nil: silent, the default).
    attr_reader :logger

    # Xssh.logger = Logger.new($stderr): xssh's records (configuration applied,
    # authentication attempts, host-key checks, keepalives; no secret ever) go
    # to logger.add(severity, "host: message", "xssh") at the logger's level at
    # the time of this call (Logger::DEBUG includes xssh's TRACE). Records made
    # on other threads (forward servers) are delivered at the next xssh call;
    # see swig/ruby/xssh_ruby_connect.swg. nil silences. A logger without #add
    # needs #debug, #info, #warn and #error (one is called per record); anything
    # else raises ArgumentError here, not a warning at every record.
    def logger=(logger)
      if logger.nil?
        Native.log_set(nil, 0)
      else
        by_add = logger.respond_to?(:add)
        unless by_add || LOGGER_METHODS.all? { |m| logger.respond_to?(m) }
          raise ArgumentError, "Xssh.logger=: expected a Logger (responding to #add, or to #{LOGGER_METHODS.map { |m| "##{m}" }.join(', ')}) " \
                               "or nil, got #{logger.class}"
        end
        lvl = logger.respond_to?(:level) ? logger.level.to_i : 0
        xlevel = { 0 => 5, 1 => 3, 2 => 2 }.fetch(lvl, lvl >= 5 ? 0 : 1)
        Native.log_set(lambda do |level, host, message|
          sev = LOGGER_LEVELS.fetch(level, 0)
          text = host.empty? ? message : "#{host}: #{message}"
          by_add ? logger.add(sev, text, 'xssh') : logger.public_send(LOGGER_METHODS.reverse[sev], text)
        end, xlevel)
      end
      @logger = logger
    end
  end

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

    # The timeout of blocking calls in seconds (Float), or nil when there is none.
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

      args = [command, stdin, Xssh.timeout_ms(timeout, :timeout, self, :run),
              Xssh.timeout_ms(idle_timeout, :idle_timeout, self, :run),
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

  # milliseconds of a timeout in seconds (nil: none); name, recv and meth name
  # the parameter and the public method in the errors: TypeError for a value
  # that is not real seconds, ArgumentError for one not finite and > 0
  def self.timeout_ms(seconds, name = :timeout, recv = self, meth = :timeout)
    return 0 if seconds.nil?
    raise arg_type_error(recv, name, 'Numeric seconds or nil', seconds, meth) unless seconds.is_a?(Numeric) && seconds.real?
    unless seconds.positive? && (!seconds.respond_to?(:finite?) || seconds.finite?)
      raise ArgumentError, "#{callee(recv, meth)}: #{name}: expected finite seconds > 0 (or nil), got #{seconds}"
    end

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

    # Every entry, as an Array of KnownHostEntry.
    alias entries to_a
  end
end

require_relative 'xssh/sftp'
require_relative 'xssh/tunnel'
require_relative 'xssh/many'
require_relative 'xssh/fiber'
