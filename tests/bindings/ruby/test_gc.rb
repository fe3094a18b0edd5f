# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

require 'rbconfig'
require 'open3'
require 'weakref'
require_relative 'xssh_test_helper'

# Lifetime: objects are released when Ruby collects them (the SWIG free
# functions call xssh_<obj>_unref), in any order — session before its
# children, children before the session, at interpreter exit — without crashing.
class TestGC < Minitest::Test
  T = XsshTest

  def open_fds
    Dir.children('/proc/self/fd').size
  end

  # A session with one of each child; returns them in an Array (no other reference).
  def family
    s = T.auth_session
    kh = s.knownhost_init
    kh.readfile(T::KNOWN_HOSTS)
    entry = kh.get(0)
    agent = s.agent_init
    [s, kh, entry, agent]
  end

  def full_gc
    3.times { GC.start(full_mark: true, immediate_sweep: true) }
  end

  def test_collected_sessions_close_their_sockets
    full_gc
    base = open_fds
    build = lambda do
      8.times { T.session }
      nil
    end
    build.call
    full_gc
    # conservative stack scanning may keep one or two alive
    assert_operator open_fds, :<=, base + 2, 'sessions are freed (their sockets closed) when collected'
  end

  # The children of a session nobody references any more, and a weak
  # reference to that session.
  def orphans
    objs = family
    [WeakRef.new(objs.shift), objs]
  end

  def test_session_collected_before_children
    ref, objs = orphans
    full_gc
    refute ref.weakref_alive?, 'the Session object was collected'
    kh, entry, agent = objs
    # the children hold the C session: still usable, locally and on the network
    assert_operator kh.count, :>=, 1
    assert_kind_of String, entry.name
    unless T::AGENT_SOCK.empty?
      agent.set_path(T::AGENT_SOCK)
      agent.connect
      refute_empty agent.identities
      agent.disconnect
    end
    objs = kh = entry = agent = nil # rubocop:disable Lint/UselessAssignment
    full_gc
  end

  def test_children_collected_before_session
    objs = family
    s = objs.shift
    objs.clear
    full_gc
    assert s.authenticated?
    assert_equal 0, s.disconnect
  end

  def test_every_drop_order
    4.times do |round|
      objs = family
      objs.each_index.to_a.shuffle(random: Random.new(round)).each do |i|
        objs[i] = nil
        GC.start
      end
    end
    full_gc
    assert T.auth_session.authenticated?
  end

  def test_children_of_a_closed_session
    s, kh, entry, agent = family
    s.close
    full_gc
    assert_raises(Xssh::Error) { agent.connect } unless T::AGENT_SOCK.empty?
    # local-only knownhost data stays readable or raises cleanly
    begin
      kh.count
      entry.name
    rescue Xssh::Error
      nil
    end
    s = kh = entry = agent = nil # rubocop:disable Lint/UselessAssignment
    full_gc
  end

  def test_gc_stress_across_calls_and_errors
    s = T.session
    GC.stress = true
    begin
      key, type = s.hostkey
      assert_equal Xssh::HOSTKEY_TYPE_ED25519, type
      assert_equal Encoding::ASCII_8BIT, key.encoding
      assert_raises(Xssh::AuthenticationError) { s.userauth_publickey_fromfile(T::USER, T::KEY_UNAUTHORIZED) }
      assert_equal 0, s.userauth_publickey_fromfile(T::USER, T::KEY)
      assert_equal T::FINGERPRINT, s.hostkey_fingerprint
    ensure
      GC.stress = false
    end
    GC.compact if GC.respond_to?(:compact)
    assert s.authenticated?
  end

  # Interpreter exit with everything still referenced (Ruby frees the objects
  # at exit in no particular order), and with objects dropped mid-way.
  def test_interpreter_exit_in_any_order
    script = <<~RUBY
      require 'xssh'
      env = File.readlines(ENV['XSSH_TEST_ENV'], chomp: true).to_h { |l| l.split('=', 2) }
      $keep = []
      6.times do |i|
        s = Xssh::Session.new
        s.connect(env['XSSH_TEST_HOST'], Integer(env['XSSH_TEST_PORT']))
        s.userauth_publickey_fromfile(env['XSSH_TEST_USER'], env['XSSH_TEST_KEY_ED25519'])
        kh = s.knownhost_init
        kh.readfile(env['XSSH_TEST_KNOWN_HOSTS'])
        objs = [s, kh, kh.get(0), s.agent_init]
        objs.rotate!(i)
        $keep << objs if i.even?
      end
      GC.start
      puts 'done'
    RUBY
    lib = File.dirname($LOADED_FEATURES.grep(%r{/xssh\.rb\z}).first)
    ext = File.dirname($LOADED_FEATURES.grep(%r{/xssh/native\.so\z}).first, 2)
    out, err, st = Open3.capture3(RbConfig.ruby, '-I', ext, '-I', lib, '-e', script)
    assert st.success?, "exit status #{st.inspect}: #{err}"
    assert_equal "done\n", out
    refute_match(/Segmentation|Aborted|\[BUG\]/, err)
  end
end
