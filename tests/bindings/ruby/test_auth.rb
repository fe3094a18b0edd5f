# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

require_relative 'xssh_test_helper'

# Every authentication method against the real sshd, with the right and the
# wrong credentials.
class TestAuth < Minitest::Test
  T = XsshTest

  def test_publickey_fromfile_ed25519_and_ecdsa
    [T::KEY, T::KEY_ECDSA].each do |key|
      s = T.session
      assert_equal 0, s.userauth_publickey_fromfile(T::USER, key)
      assert s.authenticated?
      assert_equal true, s.userauth_authenticated
      s.disconnect
    end
  end

  def test_publickey_fromfile_with_explicit_public_key
    s = T.session
    s.userauth_publickey_fromfile(T::USER, T::KEY, nil, "#{T::KEY}.pub")
    assert s.authenticated?
  end

  def test_unauthorized_key_raises
    s = T.session
    e = assert_raises(Xssh::AuthenticationError) { s.userauth_publickey_fromfile(T::USER, T::KEY_UNAUTHORIZED) }
    assert_kind_of Xssh::SSH2Error, e
    assert_kind_of Xssh::Error, e
    assert_kind_of StandardError, e
    assert_equal Xssh::EAUTHENTICATION_FAILED, e.code
    assert_equal 'XSSH_EAUTHENTICATION_FAILED', e.name
    assert_includes e.message, T::USER
    refute s.authenticated?
    # the session is still usable after a failed attempt
    s.userauth_publickey_fromfile(T::USER, T::KEY)
    assert s.authenticated?
  end

  def test_encrypted_key
    s = T.session
    e = assert_raises(Xssh::SSH2Error) { s.userauth_publickey_fromfile(T::USER, T::KEY_ENCRYPTED, 'wrong passphrase') }
    assert_kind_of Xssh::AuthenticationError, e
    refute s.authenticated?
    s.userauth_publickey_fromfile(T::USER, T::KEY_ENCRYPTED, T::PASSPHRASE)
    assert s.authenticated?
  end

  def test_missing_key_file
    s = T.session
    e = assert_raises(Xssh::Error) { s.userauth_publickey_fromfile(T::USER, '/nonexistent/id_ed25519') }
    refute_equal 0, e.code
    refute s.authenticated?
  end

  def test_rsa_refused_with_libssh2_1_10
    skip 'libssh2 >= 1.11 signs RSA-SHA2' unless Xssh::Native.libssh2_version.start_with?('1.10')
    s = T.session
    e = assert_raises(Xssh::Error) { s.userauth_publickey_fromfile(T::USER, T::KEY_RSA) }
    assert_kind_of Xssh::AuthenticationError, e
  end

  def test_publickey_frommemory
    priv = File.binread(T::KEY)
    s = T.session
    s.userauth_publickey_frommemory(T::USER, priv)
    assert s.authenticated?
    s2 = T.session
    assert_raises(Xssh::AuthenticationError) do
      s2.userauth_publickey_frommemory(T::USER, File.binread(T::KEY_UNAUTHORIZED))
    end
  end

  def test_agent_auth
    skip 'no ssh-agent in the harness' if T::AGENT_SOCK.empty?
    old = ENV['SSH_AUTH_SOCK']
    ENV['SSH_AUTH_SOCK'] = T::AGENT_SOCK
    s = T.session
    s.agent_auth(T::USER)
    assert s.authenticated?
    Xssh.connect(T::HOST, port: T::PORT, user: T::USER, agent: true, known_hosts: T::KNOWN_HOSTS) do |s2|
      assert s2.authenticated?
    end
  ensure
    ENV['SSH_AUTH_SOCK'] = old
  end

  def test_agent_object
    skip 'no ssh-agent in the harness' if T::AGENT_SOCK.empty?
    s = T.session
    agent = s.agent_init
    assert_kind_of Xssh::Agent, agent
    agent.set_path(T::AGENT_SOCK)
    keys = nil
    agent.open do |a|
      keys = a.identities
      refute_empty keys
      pub = File.read("#{T::KEY}.pub").split[1].unpack1('m')
      key = keys.find { |k| k.blob == pub }
      refute_nil key, 'the agent holds the test key'
      assert_equal Encoding::ASCII_8BIT, key.blob.encoding
      assert_kind_of String, key.comment
      assert_equal 0, a.userauth(T::USER, key)
    end
    assert s.authenticated?
    assert_raises(Xssh::Error) { agent.identity(keys.size + 5) }
  end

  def test_agent_connect_failure
    s = T.session
    agent = s.agent_init
    agent.set_path(File.join(T::DIR, 'no-such-agent.sock'))
    assert_raises(Xssh::AgentConnectionError) { agent.connect }
  end

  def test_password
    skip 'no password account (not root)' if T::PW_USER.empty?
    s = T.session
    e = assert_raises(Xssh::AuthenticationError) { s.userauth_password(T::PW_USER, 'not-the-password') }
    assert_equal Xssh::EAUTHENTICATION_FAILED, e.code
    refute s.authenticated?
    s.userauth_password(T::PW_USER, T::PASSWORD)
    assert s.authenticated?
  end

  def test_keyboard_interactive
    skip 'no password account (not root)' if T::PW_USER.empty?
    s = T.session
    assert_raises(Xssh::AuthenticationError) { s.userauth_keyboard_interactive(T::PW_USER, 'wrong') }
    s2 = T.session
    s2.userauth_keyboard_interactive(T::PW_USER, T::PASSWORD)
    assert s2.authenticated?
    s3 = T.session
    s3.userauth_keyboard_interactive_responses(T::PW_USER, [T::PASSWORD])
    assert s3.authenticated?
  end

  def test_xssh_connect_password_and_agent
    skip 'no password account (not root)' if T::PW_USER.empty?
    Xssh.connect(T::HOST, port: T::PORT, user: T::PW_USER, password: T::PASSWORD, known_hosts: T::KNOWN_HOSTS) do |s|
      assert s.authenticated?
    end
    assert_raises(Xssh::AuthenticationError) do
      Xssh.connect(T::HOST, port: T::PORT, user: T::PW_USER, password: 'nope', known_hosts: T::KNOWN_HOSTS)
    end
  end

  def test_xssh_connect_encrypted_key
    Xssh.connect(T::HOST, port: T::PORT, user: T::USER, key: T::KEY_ENCRYPTED, passphrase: T::PASSPHRASE,
                 known_hosts: T::KNOWN_HOSTS) do |s|
      assert s.authenticated?
    end
  end
end
