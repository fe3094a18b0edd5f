# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

require 'securerandom'
require_relative 'xssh_test_helper'

# Tunnels through the Ruby binding against the real sshd (loopback only), with
# a local TCP echo server run by the test: direct_tcpip, Listener
# (forward_listen / forward_accept / forward_cancel), the local and remote
# forward servers, ProxyJump through Xssh.connect(proxy_jump:), the public-key
# subsystem against OpenSSH, and GC in every order.
class TestTunnel < Minitest::Test
  T = XsshTest

  def setup
    @s = T.connect
  end

  def teardown
    @s&.finish
  end

  def test_direct_tcpip_round_trip_byte_exact
    data = SecureRandom.random_bytes(2 * 1024 * 1024 + 7)
    T.echo_server do |port|
      back = @s.direct_tcpip('127.0.0.1', port) do |ch|
        assert_instance_of Xssh::Channel, ch
        assert_same @s, ch.session
        writer = Thread.new do
          off = 0
          while off < data.bytesize
            _, n = ch.write(data.byteslice(off, 65_536))
            off += n
          end
          ch.send_eof
        end
        got = ch.read_all
        writer.join
        got
      end
      assert_equal data.bytesize, back.bytesize
      assert_equal T.sha(data), T.sha(back)
      # direct_tcpip_ex reports an originator; the echo still works
      @s.direct_tcpip_ex('127.0.0.1', port, '127.0.0.1', 5555) do |ch|
        ch.write('ping')
        ch.send_eof
        assert_equal 'ping', ch.read_all
      end
    end
  end

  def test_direct_tcpip_refused_names_the_destination
    e = assert_raises(Xssh::SSH2Error) { @s.direct_tcpip('127.0.0.1', 1) }
    assert_includes e.message, '127.0.0.1:1'
    # the session still works
    assert_equal "ok\n", @s.run('echo ok').stdout
  end

  def test_forward_listen_port_zero_and_accept
    l = @s.forward_listen_ex('127.0.0.1', 0, 0, 4)
    assert_instance_of Xssh::Listener, l
    port = l.bound_port
    assert_operator port, :>, 0
    assert_equal port, l.port
    c = TCPSocket.new('127.0.0.1', port)
    got = l.forward_accept do |ch|
      assert_same @s, ch.session
      c.write("hi\0there")
      c.close_write
      ch.read_all
    end
    assert_equal "hi\0there", got
    c.close
    # forward_cancel stops new connections
    l.forward_cancel
    assert_raises(Xssh::ClosedError) { l.forward_accept }
    # the block form cancels at its end
    outer = @s.forward_listen(0) do |ll|
      assert_operator ll.bound_port, :>, 0
      ll
    end
    assert_raises(Xssh::ClosedError) { outer.forward_accept }
  end

  def test_forward_local_eight_concurrent_connections_byte_exact
    T.echo_server do |echo|
      fwd_outer = nil
      @s.forward_local(nil, 0, '127.0.0.1', echo) do |fwd|
        fwd_outer = fwd
        assert_instance_of Xssh::Forward, fwd
        assert fwd.running?
        port = fwd.port
        assert_operator port, :>, 0
        blobs = Array.new(8) { SecureRandom.random_bytes(300_000 + rand(1000)) }
        results = blobs.map { |b| Thread.new { T.tcp_roundtrip(port, b) } }.map(&:value)
        blobs.each_with_index do |b, i|
          assert_equal b.bytesize, results[i].bytesize, "connection #{i}"
          assert_equal T.sha(b), T.sha(results[i]), "connection #{i}"
        end
        st = fwd.stats
        assert_instance_of Xssh::ForwardStats, st
        assert_equal 8, st.accepted
        assert_equal 0, st.failed
        assert_equal blobs.sum(&:bytesize), st.bytes_out
        assert_nil fwd.last_error
      end
      refute fwd_outer.running?, 'the block form stops the forward'
      assert_raises(Errno::ECONNREFUSED) { TCPSocket.new('127.0.0.1', fwd_outer.port).close }
    end
  end

  def test_forward_remote_delivers_a_server_side_connection
    T.echo_server do |echo|
      fwd = @s.forward_remote('127.0.0.1', 0, '127.0.0.1', echo)
      port = fwd.port
      assert_operator port, :>, 0
      data = SecureRandom.random_bytes(100_000)
      # the sshd runs here, so its listening port is reachable from this process
      assert_equal T.sha(data), T.sha(T.tcp_roundtrip(port, data))
      assert_operator fwd.stats.accepted, :>=, 1
      fwd.stop
      refute fwd.running?
      assert_equal 0, fwd.stop, 'stop is idempotent'
    end
  end

  def test_proxy_jump_two_hops_runs_a_command
    hop = "#{T::USER}@#{T::HOST}:#{T::PORT}"
    s = T.connect(proxy_jump: [hop, [T::HOST, T::PORT]])
    r = s.run('echo via; exit 4')
    assert_equal "via\n", r.stdout
    assert_equal 4, r.exit_status
    # the hops are held in C as long as the target, not by Ruby objects
    3.times { GC.start(full_mark: true, immediate_sweep: true) }
    assert_equal "again\n", s.run('echo again').stdout
    s.finish
    # block form, one hop as a Hash (host, port, user; the rest comes from the
    # configuration, as for `ssh -J`)
    out = T.connect(proxy_jump: [{ host: T::HOST, port: T::PORT, user: T::USER }]) do |t|
      t.run('echo hash-hop').stdout
    end
    assert_equal "hash-hop\n", out
  end

  def test_proxy_jump_unknown_hop_key_fails_under_strict
    empty = T.tmppath('kh')
    File.write(empty, '')
    assert_raises(Xssh::KnownHostCheckNotFoundError) do
      T.connect(known_hosts: empty, proxy_jump: ["#{T::HOST}:#{T::PORT}"])
    end
    # a hop's bad credentials fail the whole connect, naming the hop
    e = assert_raises(Xssh::AuthenticationError) do
      T.connect(key: T::KEY_UNAUTHORIZED, agent: false, proxy_jump: [{ host: T::HOST, port: T::PORT }])
    end
    assert_match(/ProxyJump hop/, e.message)
    # per-hop credentials live in the configuration (Host blocks), not in the hop
    e = assert_raises(ArgumentError) { T.connect(proxy_jump: [{ host: T::HOST, key: T::KEY }]) }
    assert_match(/unknown hop keys \[:key\]/, e.message)
    assert_raises(ArgumentError) { T.connect(proxy_jump: [{ hots: 'typo' }]) }
    assert_raises(TypeError) { T.connect(proxy_jump: 42) }
  end

  def test_proxy_jump_spellings
    assert_equal 'me@h:2222', Xssh.jump_spec('me@h:2222')
    assert_equal 'h:7', Xssh.jump_spec(['h', 7])
    assert_equal 'a,b', Xssh.jump_spec(%w[a b])
    assert_equal 'u@h:7,x', Xssh.jump_spec([{ host: 'h', port: 7, user: 'u' }, 'x'])
  end

  def test_connect_via_low_level
    jump = T.connect
    t = Xssh::Session.new
    t.connect_via(jump, T::HOST, T::PORT, 10_000)
    t.verify_host(T::HOST, T::PORT, :strict, T::KNOWN_HOSTS)
    t.userauth_publickey_fromfile(T::USER, T::KEY)
    jump = nil # rubocop:disable Lint/UselessAssignment
    GC.start(full_mark: true, immediate_sweep: true)
    assert_equal "low\n", t.run('echo low').stdout
    t.finish
    assert_raises(TypeError) { Xssh::Session.new.connect_via('not a session', T::HOST, T::PORT) }
  end

  def test_publickey_subsystem_is_refused_by_openssh
    e = assert_raises(Xssh::PublicKeyInitError) { @s.publickey_init }
    assert_kind_of Xssh::PublicKeyError, e
    assert_includes e.message, 'publickey'
    # the session is still usable
    assert_equal "ok\n", @s.run('echo ok').stdout
  end

  def test_gc_orders_listener_forward_session
    T.echo_server do |echo|
      3.times do |order|
        s = T.connect
        objs = [s, s.forward_listen(0), s.forward_local(nil, 0, '127.0.0.1', echo)]
        port = objs[2].port
        s = nil # rubocop:disable Lint/UselessAssignment
        objs.rotate!(order)
        until objs.empty?
          o = objs.shift
          # whatever is still referenced keeps working
          assert_equal 'x', T.tcp_roundtrip(port, 'x') if o.is_a?(Xssh::Forward)
          o = nil # rubocop:disable Lint/UselessAssignment
          GC.start(full_mark: true, immediate_sweep: true)
        end
      end
    end
    # sessions dropped with proxy-jump hops and a forward, at once
    t = T.connect(proxy_jump: ["#{T::HOST}:#{T::PORT}"])
    f = t.forward_local(nil, 0, T::HOST, T::PORT)
    t = f = nil # rubocop:disable Lint/UselessAssignment
    3.times { GC.start(full_mark: true, immediate_sweep: true) }
    pass
  end
end
