# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

# Test helper: the real sshd started by tests/harness/sshd_harness.py (ctest
# fixture "sshd"), described by the KEY=VALUE file named in $XSSH_TEST_ENV.
require 'minitest/autorun'
require 'socket'
require 'tmpdir'
require 'xssh'

module XsshTest
  path = ENV['XSSH_TEST_ENV']
  unless path && File.file?(path)
    abort 'XSSH_TEST_ENV is not set or missing: start tests/harness/sshd_harness.py first'
  end

  RAW = File.readlines(path, chomp: true).filter_map do |line|
    k, v = line.split('=', 2)
    [k, v] if v && k.match?(/\A\w+\z/)
  end.to_h.freeze

  def self.[](key)
    RAW.fetch("XSSH_TEST_#{key.to_s.upcase}", '')
  end

  HOST = self[:host]
  PORT = Integer(self[:port])
  USER = self[:user]
  KEY = self[:key_ed25519]
  KEY_ECDSA = self[:key_ecdsa]
  KEY_RSA = self[:key_rsa]
  KEY_ENCRYPTED = self[:key_encrypted]
  PASSPHRASE = self[:key_passphrase]
  KEY_UNAUTHORIZED = self[:key_unauthorized]
  KNOWN_HOSTS = self[:known_hosts]
  FINGERPRINT = self[:hostkey_fp]
  PW_USER = self[:pw_user]
  PASSWORD = self[:password]
  AGENT_SOCK = self[:agent_sock]
  DIR = self[:dir]

  # A new Session connected (TCP + handshake) to the test sshd, not authenticated.
  def self.session
    s = Xssh::Session.new
    s.connect(HOST, PORT, 10_000)
    s
  end

  # A connected, key-authenticated Session.
  def self.auth_session
    s = session
    s.userauth_publickey_fromfile(USER, KEY)
    s
  end

  # A fresh path in a private temporary directory.
  def self.tmppath(stem)
    @tmpdir ||= Dir.mktmpdir('xssh-rb-')
    @seq = (@seq || 0) + 1
    File.join(@tmpdir, "#{stem}-#{@seq}")
  end

  # A TCP server on 127.0.0.1 that accepts connections and never speaks:
  # an SSH handshake against it blocks until the session's timeout.
  def self.silent_server
    srv = TCPServer.new('127.0.0.1', 0)
    held = []
    th = Thread.new do
      loop { held << srv.accept }
    rescue IOError, Errno::EBADF
      nil
    end
    port = srv.addr[1]
    return port unless block_given?

    begin
      yield port
    ensure
      srv.close
      th.join(1)
      held.each(&:close)
    end
  end

  def self.monotonic
    Process.clock_gettime(Process::CLOCK_MONOTONIC)
  end
end
