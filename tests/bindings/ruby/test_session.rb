# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

require_relative 'xssh_test_helper'

# Session: connecting, handshake over a Ruby socket, host keys and host-key
# policies, options — against the real sshd.
class TestSession < Minitest::Test
  T = XsshTest

  def test_module_layout
    %i[Session Agent PublicKey KnownHost KnownHostEntry].each do |c|
      assert_same Xssh::Native.const_get(c), Xssh.const_get(c)
    end
    assert_equal Xssh::Native::XSSH_HOSTKEY_TYPE_ED25519, Xssh::HOSTKEY_TYPE_ED25519
    assert_equal(-37, Xssh::EAGAIN)
    assert_match(/\A\d+\.\d+/, Xssh.version)
    assert_match(/\A1\./, Xssh::Native.libssh2_version)
  end

  def test_connect_and_host_key
    s = T.session
    refute s.closed?
    refute s.authenticated?
    assert s.blocking?
    key, type = s.hostkey
    assert_equal Encoding::ASCII_8BIT, key.encoding
    assert_operator key.bytesize, :>, 32
    assert_equal Xssh::HOSTKEY_TYPE_ED25519, type
    assert_equal T::FINGERPRINT, s.hostkey_fingerprint
    sha256 = s.hostkey_hash(Xssh::HOSTKEY_HASH_SHA256)
    assert_equal Encoding::ASCII_8BIT, sha256.encoding
    assert_equal 32, sha256.bytesize
    assert_equal T::FINGERPRINT, "SHA256:#{[sha256].pack('m0').delete('=')}"
    assert_equal 20, s.hostkey_hash(Xssh::HOSTKEY_HASH_SHA1).bytesize
    assert_match(/OpenSSH/, s.banner_get)
    assert_kind_of Integer, s.socket
    assert_includes s.methods(Xssh::METHOD_HOSTKEY), 'ed25519'
    assert_includes s.supported_algs(Xssh::METHOD_HOSTKEY), 'ssh-ed25519'
    assert_equal %w[publickey password keyboard-interactive].sort, (s.userauth_list(T::USER) & %w[publickey password keyboard-interactive]).sort
    assert_equal 0, s.disconnect
    assert s.closed?
  end

  # C would run only the part before the NUL: Ruby's cstr conversion refuses it
  def test_text_with_an_embedded_nul_is_refused
    s = T.auth_session
    assert_raises(ArgumentError) { s.run("echo a\0; echo b") }
    ch = s.open_session
    assert_raises(ArgumentError) { ch.execute("echo a\0; echo b") }
    ch.close
    assert_equal "still\n", s.run('echo still').stdout
    s.disconnect
  end

  def test_handshake_with_a_ruby_socket
    sock = TCPSocket.new(T::HOST, T::PORT)
    s = Xssh::Session.new
    assert_equal 0, s.handshake(sock)
    assert_same sock, s.sock
    assert_equal T::FINGERPRINT, s.hostkey_fingerprint
    s.userauth_publickey_fromfile(T::USER, T::KEY)
    assert s.authenticated?
    s.disconnect
  ensure
    sock&.close
  end

  def test_handshake_with_a_descriptor
    sock = TCPSocket.new(T::HOST, T::PORT)
    s = Xssh::Session.new
    s.startup(sock.fileno)
    assert_equal sock.fileno, s.socket
    s.disconnect
  ensure
    sock&.close
  end

  def test_verify_host_strict
    s = T.session
    assert_equal 0, s.verify_host(T::HOST, T::PORT, :strict, T::KNOWN_HOSTS)
    empty = T.tmppath('kh-empty')
    File.write(empty, '')
    e = assert_raises(Xssh::KnownHostCheckNotFoundError) { s.verify_host(T::HOST, T::PORT, :strict, empty) }
    assert_kind_of Xssh::KnownHostCheckError, e
    assert_equal Xssh::EHOSTKEY_UNKNOWN, e.code
    assert_equal 'XSSH_EHOSTKEY_UNKNOWN', e.name
    assert_includes e.message, T::FINGERPRINT
    assert_equal '', File.read(empty), 'strict never writes'
  end

  def test_verify_host_accept_new_then_changed
    path = T.tmppath('kh-new')
    s = T.session
    s.verify_host(T::HOST, T::PORT, :accept_new, path)
    assert_includes File.read(path), "[#{T::HOST}]:#{T::PORT}"
    s.verify_host(T::HOST, T::PORT, 'strict', path) # learnt
    # the same host with another key: changed -> mismatch, under every checking policy
    other = File.read("#{T::KEY_UNAUTHORIZED}.pub").split[0, 2].join(' ')
    File.write(path, "[#{T::HOST}]:#{T::PORT} #{other}\n")
    assert_raises(Xssh::KnownHostCheckMisMatchError) { s.verify_host(T::HOST, T::PORT, :strict, path) }
    e = assert_raises(Xssh::KnownHostCheckMisMatchError) { s.verify_host(T::HOST, T::PORT, :accept_new, path) }
    assert_equal Xssh::EHOSTKEY_CHANGED, e.code
    assert_equal 0, s.verify_host(T::HOST, T::PORT, :off, path)
    assert_raises(ArgumentError) { s.verify_host(T::HOST, T::PORT, :sometimes, path) }
  end

  def test_xssh_connect_block_closes
    seen = nil
    value = Xssh.connect(T::HOST, port: T::PORT, user: T::USER, key: T::KEY, known_hosts: T::KNOWN_HOSTS) do |s|
      seen = s
      assert s.authenticated?
      refute s.closed?
      :block_value
    end
    assert_equal :block_value, value
    assert seen.closed?
  end

  def test_xssh_connect_block_closes_on_exception
    seen = nil
    assert_raises(RuntimeError) do
      Xssh.connect(T::HOST, port: T::PORT, user: T::USER, key: T::KEY, known_hosts: T::KNOWN_HOSTS) do |s|
        seen = s
        raise 'boom'
      end
    end
    assert seen.closed?
  end

  def test_xssh_connect_strict_policy_refuses_unknown_host
    empty = T.tmppath('kh-empty')
    File.write(empty, '')
    assert_raises(Xssh::KnownHostCheckNotFoundError) do
      Xssh.connect(T::HOST, port: T::PORT, user: T::USER, key: T::KEY, known_hosts: empty) { flunk 'no session' }
    end
    learnt = T.tmppath('kh-learn')
    Xssh.connect(T::HOST, port: T::PORT, user: T::USER, key: T::KEY, known_hosts: learnt,
                 host_key_policy: :accept_new) { |s| assert s.authenticated? }
    # learnt (hashed when HashKnownHosts says so, as ssh does): strict passes now
    refute_empty File.read(learnt)
    Xssh.connect(T::HOST, port: T::PORT, user: T::USER, key: T::KEY, known_hosts: learnt) { |s| assert s.authenticated? }
    s = Xssh.connect(T::HOST, port: T::PORT, user: T::USER, key: T::KEY, known_hosts: empty, host_key_policy: :off)
    assert s.authenticated?
    s.finish
    assert s.closed?
  end

  def test_options
    s = T.session
    s.timeout = 2.5
    assert_equal 2500, s.get_timeout
    assert_in_delta 2.5, s.timeout
    s.blocking = false
    refute s.blocking?
    s.set_blocking(true)
    assert s.blocking?
    assert_equal 0, s.keepalive_config(1, 30)
    s.close
    assert s.closed?
  end

  def test_banner_and_methods_before_connect
    s = Xssh::Session.new
    assert_equal 0, s.banner_set('SSH-2.0-xssh_ruby_test')
    assert_equal 0, s.method_pref(Xssh::METHOD_HOSTKEY, 'ssh-ed25519')
    s.connect(T::HOST, T::PORT)
    assert_equal 'ssh-ed25519', s.methods(Xssh::METHOD_HOSTKEY)
    s.close
  end
end
