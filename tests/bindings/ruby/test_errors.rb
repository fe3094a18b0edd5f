# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

require_relative 'xssh_test_helper'

# Errors: the class tree built from the C table, the fields of a raised error,
# real failures raising their class, EAGAIN returned (non-blocking loop), and
# bad input raising (never crashing).
class TestErrors < Minitest::Test
  T = XsshTest

  # ssh2-python's 68 exception classes and their parents (API inventory 1.13).
  SSH2_PYTHON = {
    'SSH2Error' => nil,
    'AgentError' => 'SSH2Error', 'AgentConnectionError' => 'AgentError',
    'AgentGetIdentityError' => 'AgentError', 'AgentListIdentitiesError' => 'AgentError',
    'AgentProtocolError' => 'SSH2Error', 'AuthenticationError' => 'SSH2Error',
    'AgentAuthenticationError' => 'AuthenticationError', 'PasswordExpiredError' => 'AuthenticationError',
    'PublickeyUnverifiedError' => 'AuthenticationError', 'BadSocketError' => 'SSH2Error',
    'BadUseError' => 'SSH2Error', 'BufferTooSmallError' => 'SSH2Error', 'ChannelError' => 'SSH2Error',
    'ChannelClosedError' => 'ChannelError', 'ChannelEOFSentError' => 'ChannelError',
    'ChannelFailure' => 'ChannelError', 'ChannelOutOfOrderError' => 'ChannelError',
    'ChannelPacketExceeded' => 'ChannelError', 'ChannelRequestDenied' => 'ChannelError',
    'ChannelUnknownError' => 'ChannelError', 'ChannelWindowExceeded' => 'ChannelError',
    'FileError' => 'SSH2Error', 'InvalidPollTypeError' => 'SSH2Error', 'InvalidRequestError' => 'SSH2Error',
    'KnownHostError' => 'SSH2Error', 'KnownHostAddError' => 'KnownHostError',
    'KnownHostCheckError' => 'KnownHostError', 'KnownHostCheckFailure' => 'KnownHostCheckError',
    'KnownHostCheckMisMatchError' => 'KnownHostCheckError', 'KnownHostCheckNotFoundError' => 'KnownHostCheckError',
    'KnownHostDeleteError' => 'KnownHostError', 'KnownHostGetError' => 'KnownHostError',
    'KnownHostReadFileError' => 'KnownHostError', 'KnownHostReadLineError' => 'KnownHostError',
    'KnownHostWriteFileError' => 'KnownHostError', 'KnownHostWriteLineError' => 'KnownHostError',
    'MethodNoneError' => 'SSH2Error', 'OutOfBoundaryError' => 'SSH2Error', 'ProtocolError' => 'SSH2Error',
    'PublicKeyError' => 'SSH2Error', 'PublicKeyInitError' => 'PublicKeyError',
    'PublicKeyProtocolError' => 'SSH2Error', 'SFTPError' => 'SSH2Error', 'SFTPHandleError' => 'SFTPError',
    'SFTPProtocolError' => 'SFTPError', 'SessionError' => 'SSH2Error', 'BannerRecvError' => 'SessionError',
    'BannerSendError' => 'SessionError', 'CompressError' => 'SessionError', 'DecryptError' => 'SessionError',
    'EncryptError' => 'SessionError', 'HostkeyInitError' => 'SessionError', 'HostkeySignError' => 'SessionError',
    'KeyExchangeError' => 'SessionError', 'MethodNotSupported' => 'SessionError',
    'RequestDeniedError' => 'SessionError', 'SCPProtocolError' => 'SessionError',
    'SessionHandshakeError' => 'SessionError', 'SessionHostKeyError' => 'SessionError',
    'SessionStartupError' => 'SessionError', 'SocketTimeout' => 'SessionError', 'Timeout' => 'SessionError',
    'ZlibError' => 'SessionError', 'SocketDisconnectError' => 'SSH2Error', 'SocketRecvError' => 'SSH2Error',
    'SocketSendError' => 'SSH2Error', 'UnknownError' => 'SSH2Error'
  }.freeze

  def test_ssh2_python_hierarchy
    assert_equal 68, SSH2_PYTHON.size
    assert_equal StandardError, Xssh::Error.superclass
    SSH2_PYTHON.each do |name, parent|
      cls = Xssh.const_get(name, false)
      assert_operator cls, :<, Xssh::Error, name
      assert_equal "Xssh::#{name}", cls.name
      assert_equal(parent ? Xssh.const_get(parent, false) : Xssh::Error, cls.superclass, name)
    end
  end

  def test_every_table_row_maps_to_its_class
    n = Xssh::Native.err_count
    assert_operator n, :>, 60
    n.times do |i|
      code = Xssh::Native.err_code_at(i)
      next if code.zero?

      cls_name = Xssh::Native.err_exception(code)
      e = Xssh::Native.error_object(code)
      assert_kind_of Xssh::Error, e
      assert_equal "Xssh::#{cls_name}", e.class.name, "code #{code}" unless cls_name.empty?
      assert_equal code, e.code
      assert_equal Xssh::Native.err_name(code), e.name
      assert_kind_of String, e.message
      refute_empty e.message
      assert_same e.class, Xssh::ERROR_CLASSES_BY_CODE[code] unless cls_name.empty?
    end
  end

  def test_check
    assert_equal 0, Xssh.check(0)
    assert_equal Xssh::EAGAIN, Xssh.check(Xssh::EAGAIN)
    e = assert_raises(Xssh::Timeout) { Xssh.check(Xssh::ETIMEOUT) }
    assert_equal 'XSSH_ETIMEOUT', e.name
  end

  def test_connect_refused
    port = TCPServer.open('127.0.0.1', 0) { |srv| srv.addr[1] } # closed again: nothing listens
    s = Xssh::Session.new
    e = assert_raises(Xssh::ConnectError) { s.connect('127.0.0.1', port, 2000) }
    assert_kind_of Xssh::SessionError, e
    assert_equal Xssh::ECONNECT, e.code
    assert_includes e.message, port.to_s
  end

  def test_resolve_failure
    s = Xssh::Session.new
    e = assert_raises(Xssh::ResolveError) { s.connect('no-such-host.invalid', 22, 5000) }
    assert_kind_of Xssh::ConnectError, e
  end

  def test_handshake_timeout
    T.silent_server do |port|
      s = Xssh::Session.new
      s.set_timeout(300)
      t0 = T.monotonic
      e = assert_raises(Xssh::Error) { s.connect('127.0.0.1', port, 300) }
      assert_includes [Xssh::Timeout, Xssh::SocketTimeout], e.class
      assert_operator T.monotonic - t0, :<, 5
    end
  end

  def test_not_connected_and_closed
    s = Xssh::Session.new
    assert_raises(Xssh::NotConnectedError) { s.userauth_password('a', 'b') }
    assert_raises(Xssh::NotConnectedError) { s.hostkey }
    s = T.session
    s.close
    e = assert_raises(Xssh::ClosedError) { s.userauth_publickey_fromfile(T::USER, T::KEY) }
    assert_equal Xssh::ECLOSED, e.code
    assert s.closed?
  end

  def test_eagain_is_returned_in_a_non_blocking_loop
    s = T.session
    s.set_blocking(false)
    io = IO.for_fd(s.socket, autoclose: false)
    rc = nil
    spins = 0
    loop do
      rc = s.userauth_publickey_fromfile(T::USER, T::KEY)
      break unless rc == Xssh::EAGAIN

      spins += 1
      dirs = s.block_directions
      r = dirs.anybits?(Xssh::BLOCK_INBOUND) ? [io] : nil
      w = dirs.anybits?(Xssh::BLOCK_OUTBOUND) ? [io] : nil
      IO.select(r, w, nil, 5)
      flunk 'no progress' if spins > 10_000
    end
    assert_equal 0, rc
    assert_operator spins, :>, 0, 'a non-blocking auth returns EAGAIN at least once'
    assert s.authenticated?
  end

  def test_bad_arguments_raise
    s = Xssh::Session.new
    assert_raises(TypeError) { s.connect(42, 22) }
    assert_raises(TypeError) { s.connect('127.0.0.1', 'twenty-two') }
    assert_raises(ArgumentError) { s.connect }
    e = assert_raises(Xssh::InvalidArgumentError) { s.connect('', 22) }
    assert_equal Xssh::EARG, e.code
    assert_raises(TypeError) { s.handshake(Object.new) }
    assert_raises(TypeError) { s.userauth_keyboard_interactive_responses('u', [1]) }
    assert_raises(TypeError) { s.userauth_keyboard_interactive_responses('u', 'not a list') }
    assert_raises(TypeError) { s.userauth_publickey_frommemory('u', 12) }
    s = T.session
    agent = s.agent_init
    assert_raises(TypeError) { agent.userauth(T::USER, s) } # a Session is not a PublicKey
    assert_raises(Xssh::InvalidArgumentError) { agent.userauth(T::USER, nil) }
  end

  def test_released_or_unallocated_objects_raise
    s = Xssh::Session.allocate
    e = assert_raises(RuntimeError) { s.connect('127.0.0.1', T::PORT) }
    assert_equal 'ObjectPreviouslyDeleted', e.class.name # SWIG's error for a NULL handle
    assert_raises(NoMethodError, TypeError) { Xssh::Agent.new }
  end
end
