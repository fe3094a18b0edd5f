# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

# Xssh.connect like `ssh` (issue 13): each test runs in a scratch HOME whose
# ~/.ssh holds only what the test writes, without $SSH_AUTH_SOCK unless the
# test starts its own ssh-agent; the real sshd of the harness.
require_relative 'xssh_test_helper'
require 'logger'
require 'stringio'
require 'timeout'

class TestConnect < Minitest::Test
  T = XsshTest

  def setup
    @saved_env = ENV.to_h.slice('HOME', 'SSH_AUTH_SOCK')
    @home = T.tmpdir('home')
    @ssh = File.join(@home, '.ssh')
    FileUtils.mkdir_p(@ssh, mode: 0o700)
    ENV['HOME'] = @home
    ENV.delete('SSH_AUTH_SOCK')
  end

  def teardown
    Xssh.logger = nil
    %w[HOME SSH_AUTH_SOCK].each { |k| @saved_env.key?(k) ? ENV[k] = @saved_env[k] : ENV.delete(k) }
  end

  def write_config(text)
    File.write(File.join(@ssh, 'config'), text)
  end

  # "Host <alias>" block for the test sshd; extra lines appended
  def host_block(name, *extra, user: T::USER)
    (["Host #{name}", "  HostName #{T::HOST}", "  Port #{T::PORT}", "  User #{user}",
      "  UserKnownHostsFile #{T::KNOWN_HOSTS}"] + extra.map { |l| "  #{l}" }).join("\n") + "\n"
  end

  def copy_key(src, name)
    dst = File.join(@ssh, name)
    FileUtils.cp(src, dst)
    File.chmod(0o600, dst)
    dst
  end

  # a Logger writing into a String, at DEBUG (xssh's TRACE included)
  def capture_log
    io = StringIO.new
    logger = Logger.new(io)
    logger.level = Logger::DEBUG
    Xssh.logger = logger
    io
  end

  def test_host_alias_with_only_the_config_file
    write_config(host_block('myhost', "IdentityFile #{T::KEY}"))
    r = Xssh.resolve('myhost')
    assert_equal T::PORT.to_s, r['port']
    assert_equal T::USER, r['user']
    assert_equal T::HOST, r['hostname']
    assert_equal T::KEY, Array(r['identityfile']).first
    out = Xssh.connect('myhost') { |s| s.run('echo alias').stdout }
    assert_equal "alias\n", out
    # explicit arguments win over the file; config: 'none' reads no file
    e = assert_raises(Xssh::Error) { Xssh.connect('myhost', port: 1, timeout: 5) }
    refute_kind_of Xssh::AuthenticationError, e
    assert_raises(Xssh::Error) { Xssh.connect('myhost', config: 'none', timeout: 5) }
  end

  def test_no_arguments_through_an_ssh_agent
    write_config(host_block('agenthost'))
    sock = File.join(T.tmpdir('agent'), 'agent.sock')
    out = IO.popen(['ssh-agent', '-a', sock, '-s'], &:read)
    pid = Integer(out[/SSH_AGENT_PID=(\d+)/, 1])
    begin
      ENV['SSH_AUTH_SOCK'] = sock
      add = IO.popen({ 'SSH_AUTH_SOCK' => sock }, ['ssh-add', T::KEY], err: %i[child out], &:read)
      assert $?.success?, "ssh-add: #{add}"
      log = capture_log
      assert Xssh.connect('agenthost', &:authenticated?)
      assert_match(/agent/, log.string)
      # agent: false is IdentityAgent none: no key is left
      e = assert_raises(Xssh::AuthenticationError) { Xssh.connect('agenthost', agent: false) }
      assert_match(/no agent key/, e.message)
    ensure
      Process.kill('TERM', pid)
      Timeout.timeout(30) { Process.wait(pid) } rescue nil # rubocop:disable Style/RescueModifier -- not our child when -s forked
    end
  end

  def test_only_a_default_key_file
    write_config(host_block('defkey'))
    copy_key(T::KEY, 'id_ed25519')
    Xssh.connect('defkey') { |s| assert_equal "def\n", s.run('echo def').stdout }
  end

  def test_proxy_jump_from_the_config
    write_config(host_block('jumphost') + host_block('behind', 'ProxyJump jumphost') +
                 "Host *\n  IdentityFile #{T::KEY}\n")
    log = capture_log
    Xssh.connect('behind') { |s| assert_equal "far\n", s.run('echo far').stdout }
    assert_match(/ProxyJump hop 1 of 1/, log.string)
  end

  def test_encrypted_key_with_and_without_the_passphrase_callback
    write_config(host_block('enc', "IdentityFile #{T::KEY_ENCRYPTED}"))
    e = assert_raises(Xssh::AuthenticationError) { Xssh.connect('enc') }
    assert_includes e.message, "#{T::KEY_ENCRYPTED}: encrypted, no passphrase given"
    asked = []
    cb = lambda do |keyfile|
      asked << keyfile
      T::PASSPHRASE
    end
    Xssh.connect('enc', passphrase_callback: cb) { |s| assert s.authenticated? }
    assert_equal [T::KEY_ENCRYPTED], asked
    # nil skips the key; a wrong one says so
    e = assert_raises(Xssh::AuthenticationError) { Xssh.connect('enc', passphrase_callback: ->(_) {}) }
    assert_includes e.message, 'encrypted'
    e = assert_raises(Xssh::AuthenticationError) { Xssh.connect('enc', passphrase_callback: ->(_) { 'wrong' }) }
    assert_match(/wrong passphrase/, e.message)
    # what the callback raises is raised by connect
    e = assert_raises(IOError) { Xssh.connect('enc', passphrase_callback: ->(_) { raise IOError, 'no tty' }) }
    assert_equal 'no tty', e.message
    assert_raises(TypeError) { Xssh.connect('enc', passphrase_callback: ->(_) { 42 }) }
    e = assert_raises(TypeError) { Xssh.connect('enc', passphrase_callback: 'not callable') }
    assert_match(/set_passphrase_callback: callback: expected callable/, e.message)
  end

  # the callables stay in place across GC.compact (pinned), and threads
  # connecting at once each get their own callback and their own errors
  def test_callbacks_survive_compaction_and_threads
    write_config(host_block('enc', "IdentityFile #{T::KEY_ENCRYPTED}"))
    o = Xssh::Options.new
    o.set_passphrase_callback(->(_) { T::PASSPHRASE.dup })
    GC.verify_compaction_references(double_heap: true, toward: :empty) if GC.respond_to?(:verify_compaction_references)
    GC.compact if GC.respond_to?(:compact)
    s = Xssh::Native.connect('enc', o)
    assert s.authenticated?
    s.finish
    results = Array.new(4) do |i|
      Thread.new do
        if i.even?
          Xssh.connect('enc', passphrase_callback: ->(_) { GC.start; T::PASSPHRASE }) { |t| t.run('echo t').stdout }
        else
          begin
            Xssh.connect('enc', passphrase_callback: ->(_) { raise KeyError, "thread #{i}" })
          rescue KeyError => e
            e.message
          end
        end
      end
    end.map { |t| t.join(120)&.value }
    assert_equal ["t\n", 'thread 1', "t\n", 'thread 3'], results
  end

  # a callback that replaces itself on the same Options and forces a GC while the connect
  # (which took the callbacks at its start) is still running: no freed callable is ever called
  def test_a_callback_replacing_itself_during_the_connect
    k1 = copy_key(T::KEY_ENCRYPTED, 'enc1')
    k2 = copy_key(T::KEY_ENCRYPTED, 'enc2')
    write_config(host_block('enc', "IdentityFile #{k1}", "IdentityFile #{k2}", 'IdentitiesOnly yes'))
    o = Xssh::Options.new
    calls = []
    install = lambda do
      o.set_passphrase_callback(lambda do |k|
        calls << [:first, k]
        o.set_passphrase_callback(->(k2_) { calls << [:other, k2_]; T::PASSPHRASE.dup })
        GC.start
        nil # skip this key
      end)
    end
    install.call
    GC.start
    s = Xssh::Native.connect('enc', o)
    assert s.authenticated?
    s.finish
    assert_equal [[:first, k1], [:other, k2]], calls
  end

  def test_prompt_callback_answers_keyboard_interactive
    skip 'the harness made no password account (not root)' if T::PW_USER.empty?
    write_config(host_block('kbd', 'PubkeyAuthentication no', 'PreferredAuthentications keyboard-interactive',
                            user: T::PW_USER))
    prompts = []
    cb = lambda do |name, instruction, prompt, echo|
      prompts << [name, instruction, prompt, echo]
      T::PASSWORD
    end
    Xssh.connect('kbd', prompt_callback: cb) { |s| assert_equal "#{T::PW_USER}\n", s.run('id -un').stdout }
    refute_empty prompts
    assert_match(/assword/, prompts.first[2])
    assert_equal false, prompts.first[3]
    # giving up (nil) fails the method, with the reason
    e = assert_raises(Xssh::AuthenticationError) { Xssh.connect('kbd', prompt_callback: ->(*) {}) }
    assert_match(/keyboard-interactive/, e.message)
  end

  def test_no_usable_credentials_fail_fast_naming_what_was_tried
    write_config(host_block('nocred', "IdentityFile #{T::KEY_UNAUTHORIZED}"))
    t0 = T.monotonic
    e = assert_raises(Xssh::AuthenticationError) { Xssh.connect('nocred') }
    elapsed = T.monotonic - t0
    # no wait for a timeout (the session timeout is 30 s): ~0.05 s; room for a busy machine
    assert_operator elapsed, :<, 10.0, 'an authentication failure is reported at once'
    assert_includes e.message, "#{T::KEY_UNAUTHORIZED}: refused by the server"
    assert_includes e.message, 'password: no password or prompt callback given'
    refute_predicate e.message, :empty?
  end

  def test_logging_captured_without_secrets
    skip 'the harness made no password account (not root)' if T::PW_USER.empty?
    write_config(host_block('logged', "IdentityFile #{T::KEY_ENCRYPTED}") +
                 host_block('pw', 'PubkeyAuthentication no', user: T::PW_USER))
    log = capture_log
    # the log callable is held by C only: it survives collection and compaction
    3.times { GC.start(full_mark: true, immediate_sweep: true) }
    GC.compact if GC.respond_to?(:compact)
    Xssh.connect('logged', passphrase: T::PASSPHRASE) { |s| s.run('true') }
    Xssh.connect('pw', password: T::PASSWORD) { |s| s.run('true') }
    Xssh.connect('logged', passphrase_callback: ->(_) { T::PASSPHRASE }) { |s| s.run('true') }
    text = log.string
    assert_match(/INFO -- xssh: logged: authenticated as '#{T::USER}'/, text)
    assert_match(/DEBUG -- xssh: pw: /, text)
    refute_includes text, T::PASSWORD
    refute_includes text, T::PASSPHRASE
    refute_includes text, File.read(T::KEY_ENCRYPTED).lines[1].strip
    # records of xssh's own threads (a forward server) arrive at a later call, never crash
    write_config(host_block('fwd', "IdentityFile #{T::KEY}"))
    Xssh.connect('fwd') do |s|
      s.forward_local(nil, 0, '127.0.0.1', 9) do |f|
        Socket.tcp('127.0.0.1', f.port) do |c| # the forward closes it (port 9: nothing listens), bounded
          c.read_nonblock(16) if c.wait_readable(30)
        rescue EOFError, SystemCallError, IO::WaitReadable
          nil
        end
      end
      Xssh::Native.log_flush
    end
    # silent again: nothing more is written
    Xssh.logger = nil
    size = log.string.size
    Xssh.connect('fwd') { |s| s.run('true') }
    assert_equal size, log.string.size
  end

  # a record made on a thread Ruby does not know (as xssh's forward threads)
  # is queued, then delivered in order by the next xssh call; the queue is bounded
  def test_records_of_other_threads_are_queued_then_delivered
    log = capture_log
    Xssh::Native._log_from_foreign_thread(Xssh::LOG_INFO, 'far', 'first')
    Xssh::Native._log_from_foreign_thread(Xssh::LOG_WARNING, 'far', 'second')
    assert_equal '', log.string
    Xssh.version # any call
    assert_match(/INFO -- xssh: far: first\n.*WARN -- xssh: far: second\n\z/, log.string)
    1100.times { |i| Xssh::Native._log_from_foreign_thread(Xssh::LOG_INFO, 'far', "r#{i + 1}") }
    Xssh::Native.log_flush
    lines = log.string.lines.drop(2)
    assert_match(/WARN -- xssh: xssh: 76 log records dropped/, lines[0])
    assert_match(/far: r77\n\z/, lines[1])
    assert_match(/far: r1100\n\z/, lines[-1])
    assert_equal 1025, lines.size
  end

  def test_a_raising_logger_never_breaks_a_connect
    write_config(host_block('raising', "IdentityFile #{T::KEY}"))
    bad = Logger.new(StringIO.new)
    def bad.add(*) = raise('logger down')
    Xssh.logger = bad
    _, err = capture_io { Xssh.connect('raising') { |s| assert s.authenticated? } }
    assert_match(/the log callback raised RuntimeError: logger down/, err)
    # changing the hook from inside a record is refused (it would wait for itself), never a hang
    reentrant = Logger.new(StringIO.new)
    def reentrant.add(*) = Xssh.logger = nil
    Xssh.logger = reentrant
    _, err = capture_io { Xssh.connect('raising') { |s| assert s.authenticated? } }
    assert_match(/the log hook cannot be changed from inside a log record/, err)
  end

  # a logger is checked when it is set, not warned about at every record
  def test_logger_assignment_rejects_a_non_logger
    Xssh.logger = nil
    ['x', 42, Object.new].each do |bad|
      e = assert_raises(ArgumentError) { Xssh.logger = bad }
      assert_match(/\AXssh\.logger=: expected a Logger \(responding to #add/, e.message)
    end
    assert_nil Xssh.logger
    # the level methods are enough
    write_config(host_block('lm', "IdentityFile #{T::KEY}"))
    got = []
    lm = Object.new
    %i[debug info warn error].each { |m| lm.define_singleton_method(m) { |text| got << [m, text] } }
    Xssh.logger = lm
    Xssh.connect('lm') { |s| assert s.authenticated? }
    Xssh.logger = nil
    refute_empty got
    assert(got.all? { |m, t| %i[debug info warn error].include?(m) && t.is_a?(String) })
  ensure
    Xssh.logger = nil
  end

  # wrong arguments name Xssh.connect and the keyword, never an internal call
  def test_wrong_arguments_name_connect_and_the_keyword
    [
      [{ proxy_jump: [%w[h x]] }, TypeError, /\AXssh\.connect: proxy_jump: expected a hop port as an Integer, got String/],
      [{ proxy_jump: [['h', 0]] }, ArgumentError, /\AXssh\.connect: proxy_jump: a hop port is 1\.\.65535, got 0/],
      [{ timeout: Float::INFINITY }, ArgumentError, /\AXssh\.connect: timeout: expected finite seconds >= 0/],
      [{ timeout: Float::NAN }, ArgumentError, /\AXssh\.connect: timeout: expected finite seconds >= 0/],
      [{ timeout: -1 }, ArgumentError, /\AXssh\.connect: timeout: expected finite seconds >= 0/],
      [{ agent: 1 }, TypeError, /\AXssh\.connect: agent: expected true, false or an agent socket path/],
      [{ key: "a\0b" }, ArgumentError, /\AXssh\.connect: key: expected a path \(String or Pathname\) without a null byte/],
      [{ key: 1 }, TypeError, /\AXssh\.connect: key: expected a path/]
    ].each do |kw, exc, re|
      e = assert_raises(exc, kw.inspect) { Xssh.connect('127.0.0.1', **kw) }
      assert_match re, e.message
    end
  end

  def test_keywords_and_options
    write_config(host_block('kw', "IdentityFile #{T::KEY_UNAUTHORIZED}"))
    # explicit keywords win: key: is tried as ssh -i is, and the options Hash passes any keyword
    Xssh.connect('kw', key: T::KEY, options: { 'Compression' => true, 'ServerAliveInterval' => 30 }) do |s|
      assert s.authenticated?
    end
    assert_raises(ArgumentError) { Xssh.connect('kw', known_host: T::KNOWN_HOSTS) } # a misspelt keyword
    e = assert_raises(Xssh::InvalidArgumentError) { Xssh.connect('kw', options: { 'Bogus' => 1 }) }
    assert_match(/Bogus/i, e.message)
    e = assert_raises(TypeError) { Xssh.connect('kw', port: '22') }
    assert_equal 'Xssh.connect: port: expected Integer, got String', e.message
    # paths are literal: a space and a "%" (no %-token) in key: and known_hosts:
    odd = File.join(@home, 'my keys %d')
    FileUtils.mkdir_p(odd)
    key = copy_key(T::KEY, 'k')
    FileUtils.mv(key, File.join(odd, 'id 100%'))
    FileUtils.cp(T::KNOWN_HOSTS, File.join(odd, 'known %h'))
    Xssh.connect('kw', key: File.join(odd, 'id 100%'), known_hosts: [File.join(odd, 'known %h')], agent: false,
                       options: { 'IdentitiesOnly' => true }) { |s| assert s.authenticated? }
    # host_key_policy :off: no verification, nothing learnt
    empty = File.join(@home, 'kh-empty')
    File.write(empty, '')
    assert_raises(Xssh::KnownHostCheckNotFoundError) { Xssh.connect('kw', key: T::KEY, known_hosts: empty) }
    Xssh.connect('kw', key: T::KEY, known_hosts: empty, host_key_policy: :off) { |s| assert s.authenticated? }
    assert_equal '', File.read(empty)
  end
end
