# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

# A wrong argument type names the method and the parameter in Ruby's words
# (issue 13, "Error edges"), for EVERY public method of every Xssh class:
# each method is called with an object of no expected type in each position in
# turn, and the TypeError must read "<Class>#<method>: <parameter>: expected
# <what>, got Object". The methods are found by reflection, so a method added
# later is checked too.
require_relative 'xssh_test_helper'

class TestArgErrors < Minitest::Test
  T = XsshTest
  # Not a String, Integer, handle, Array, IO, callable or path: wrong everywhere.
  class Wrong; end

  # Methods that take any value by design (listed, with why): the test fails
  # if one of them disappears, so the list stays true.
  ANY_VALUE = {
    'Session#set_blocking' => 'a truth value (true/false/1/0)',
    'Session#blocking=' => 'a truth value',
    'Session#methods' => "Object#methods' own argument when given none",
    'Session#timeout=' => 'seconds (Numeric): a NoMethodError for Wrong names the operator',
    'Session#run' => 'keyword options; the command is checked (test below)',
    'SFTPHandle#<<' => "IO#<<'s contract: any object, written as its to_s"
  }.freeze

  def instances
    s = T.auth_session
    ch = s.open_session
    sftp = s.sftp_init
    fh = sftp.open(T.tmppath('argerr'), Xssh::FXF_WRITE | Xssh::FXF_CREAT, 0o600)
    kh = s.knownhost_init
    kh.readfile(T::KNOWN_HOSTS)
    agent = s.agent_init
    multi = Xssh::Multi.new
    op = multi.add_host_run(T::HOST, nil, 'true')
    op.cancel # done at once: its result is readable
    {
      'Session' => s, 'Channel' => ch, 'SFTP' => sftp, 'SFTPHandle' => fh, 'KnownHost' => kh,
      'KnownHostEntry' => kh.get(0), 'Agent' => agent, 'SFTPAttributes' => sftp.stat('/'),
      'Listener' => nil, 'Forward' => s.forward_local(nil, 0, '127.0.0.1', 9), 'Options' => Xssh::Options.new,
      'Multi' => multi, 'MultiOp' => op, 'MultiOpOptions' => Xssh::MultiOpOptions.new
    }.compact
  end

  # the methods of cls written for it (native or Ruby layer), not Object's
  def own_methods(cls)
    cls.public_instance_methods(true).select do |m|
      owner = cls.instance_method(m).owner
      owner.name.to_s.start_with?('Xssh') && !owner.is_a?(Class) || owner <= cls && owner.name.to_s.start_with?('Xssh')
    end.sort
  end

  # call obj.m with Wrong in position i (others Wrong too): the first bad one
  # raises; returns the exception, or nil when the arity never fits
  def wrong_call(obj, m)
    (1..8).each do |n|
      obj.public_send(m, *Array.new(n) { Wrong.new })
      return nil
    rescue ArgumentError => e
      next if e.message =~ /wrong (#|number) of arguments/

      return e
    rescue StandardError => e
      return e
    end
    nil
  end

  def test_every_method_names_itself_and_the_parameter
    checked = 0
    failures = []
    instances.each do |cname, obj|
      own_methods(obj.class).each do |m|
        key = "#{cname}##{m}"
        next if ANY_VALUE.key?(key)

        arity = obj.method(m).arity
        next if arity.zero? # nothing to pass

        e = wrong_call(obj, m)
        next if e.nil? && arity.negative? # only optional arguments, all accepted as "none"

        checked += 1
        want = /\AXssh::#{Regexp.escape(cname)}##{Regexp.escape(m.to_s)}: \w+: expected .+, got .*Wrong\z/
        # an aliased method reports the name it was defined with: accept any
        # method of the same class, but a parameter must be named
        loose = /\AXssh::#{Regexp.escape(cname)}#[\w?!=]+: \w+: expected .+, got .*Wrong\z/
        ok = e.is_a?(TypeError) && (e.message =~ want || e.message =~ loose)
        failures << "#{key}: #{e.class}: #{e&.message}" unless ok
      end
    end
    assert_empty failures, failures.join("\n")
    assert_operator checked, :>=, 100, 'the reflection found the methods'
  ensure
    GC.start
  end

  def test_module_functions_name_themselves
    e = assert_raises(TypeError) { Xssh::Native.strerror(Wrong.new) }
    assert_equal 'Xssh::Native.strerror: code: expected Integer, got TestArgErrors::Wrong', e.message
    e = assert_raises(TypeError) { Xssh::Native.connect('h', Wrong.new) }
    assert_equal 'Xssh::Native.connect: options: expected Xssh::Options, got TestArgErrors::Wrong', e.message
    e = assert_raises(TypeError) { Xssh::Native.log_set(Wrong.new, 3) }
    assert_match(/\AXssh::Native.log_set: callback: expected callable/, e.message)
    e = assert_raises(TypeError) { Xssh.connect(42) }
    assert_equal 'Xssh.connect: host: expected String, got Integer', e.message
    e = assert_raises(TypeError) { Xssh.connect('h', key: 42) }
    assert_equal 'Xssh.connect: key: expected a path (String or Pathname), got Integer', e.message
  end

  def test_messages_in_rubys_words
    s = Xssh::Session.new
    e = assert_raises(TypeError) { s.connect('127.0.0.1', 'twenty-two') }
    assert_equal 'Xssh::Session#connect: port: expected Integer, got String', e.message
    e = assert_raises(TypeError) { s.connect(42, 22) }
    assert_equal 'Xssh::Session#connect: host: expected String, got Integer', e.message
    e = assert_raises(RangeError) { s.connect('h', 2**40) }
    assert_match(/\AXssh::Session#connect: port: expected Integer in the range of C int/, e.message)
    e = assert_raises(TypeError) { s.handshake(Object.new) }
    assert_match(/\AXssh::Session#handshake: sock: /, e.message)
    e = assert_raises(TypeError) { s.userauth_keyboard_interactive_responses('u', [1]) }
    assert_match(/\AXssh::Session#userauth_keyboard_interactive_responses: responses: /, e.message)
    e = assert_raises(TypeError) { s.connect_via(3, 'h') }
    assert_equal 'Xssh::Session#connect_via: jump: expected Xssh::Session, got Integer', e.message
    e = assert_raises(ArgumentError) { s.userauth_password("a\0b", 'p') }
    assert_equal 'Xssh::Session#userauth_password: username: string contains null byte', e.message
    # a secret given with the wrong type never appears in the message
    e = assert_raises(TypeError) { s.userauth_password('u', ['hunter2-secret']) }
    refute_includes e.message, 'hunter2'
  end

  def test_run_and_connect_name_themselves
    s = T.auth_session
    e = assert_raises(TypeError) { s.run(Wrong.new) }
    assert_match(/\AXssh::Session#run: command: expected String/, e.message)
    e = assert_raises(TypeError) { s.run('true', stdin: 5) }
    assert_match(/\AXssh::Session#run: stdin: expected String/, e.message)
    s.disconnect
  end
end
