# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

# Test helper: the real sshd started by tests/harness/sshd_harness.py (ctest
# fixture "sshd"), described by the KEY=VALUE file named in $XSSH_TEST_ENV.
require 'minitest/autorun'
require 'socket'
require 'tmpdir'
require 'fileutils'
require 'digest'
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

  # A fresh path in a private temporary directory (removed at exit).
  def self.tmppath(stem)
    @tmpdir ||= Dir.mktmpdir('xssh-rb-').tap do |d|
      Minitest.after_run { FileUtils.rm_rf(d) }
    end
    @seq = (@seq || 0) + 1
    File.join(@tmpdir, "#{stem}-#{@seq}")
  end

  # A fresh, existing directory (the sshd runs on this machine: a local
  # directory is also a remote one).
  def self.tmpdir(stem = 'd')
    d = tmppath(stem)
    FileUtils.mkdir_p(d)
    d
  end

  # Xssh.connect to the test sshd with the ed25519 key (host key checked, strict).
  def self.connect(**kw, &blk)
    Xssh.connect(HOST, port: PORT, user: USER, key: KEY, known_hosts: KNOWN_HOSTS, **kw, &blk)
  end

  # A TCP echo server on 127.0.0.1 (a thread per connection, echoes until EOF,
  # then half-closes); yields its port and stops it afterwards.
  def self.echo_server
    srv = TCPServer.new('127.0.0.1', 0)
    workers = Queue.new
    acceptor = Thread.new do
      loop do
        c = srv.accept
        workers << Thread.new(c) do |conn|
          while (d = conn.readpartial(65_536))
            conn.write(d)
          end
        rescue EOFError, IOError, Errno::ECONNRESET, Errno::EPIPE
          nil
        ensure
          begin
            conn.close_write
          rescue IOError, SystemCallError
            nil
          end
          conn.close
        end
      end
    rescue IOError, Errno::EBADF
      nil
    end
    begin
      yield srv.addr[1]
    ensure
      srv.close
      acceptor.join(2)
      workers.size.times { workers.pop.join(2) }
    end
  end

  # Send data to 127.0.0.1:port, half-close, and return everything read back.
  def self.tcp_roundtrip(port, data, timeout: 60)
    Socket.tcp('127.0.0.1', port) do |c|
      reader = Thread.new do
        back = String.new(encoding: Encoding::BINARY)
        loop { back << c.readpartial(65_536) }
      rescue EOFError
        back
      end
      c.write(data)
      c.close_write
      raise 'tcp_roundtrip: timed out' unless reader.join(timeout)

      reader.value
    end
  end

  def self.sha(data)
    Digest::SHA256.hexdigest(data)
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
