# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

require 'securerandom'
require_relative 'xssh_test_helper'

# SCP through the Ruby binding against the real sshd (same machine): the
# ssh2-python shapes (scp_recv2 -> [Channel, FileInfo], scp_send64 -> Channel)
# and whole-file scp_get / scp_put, byte-exact, with progress blocks.
class TestSCP < Minitest::Test
  T = XsshTest

  def setup
    @s = T.connect
    @dir = T.tmpdir('scp')
  end

  def teardown
    @s&.finish
  end

  def read_exact(ch, n)
    got = String.new(encoding: Encoding::BINARY)
    while got.bytesize < n
      rc, data = ch.read([65_536, n - got.bytesize].min)
      assert_operator rc, :>, 0
      got << data
    end
    got
  end

  def test_scp_recv2_fileinfo
    p = File.join(@dir, 'f')
    data = SecureRandom.random_bytes(70_000)
    File.binwrite(p, data)
    File.chmod(0o640, p)
    File.utime(1_500_000_000, 1_600_000_000, p)
    ch, info = @s.scp_recv2(p)
    assert_instance_of Xssh::Channel, ch
    assert_instance_of Xssh::FileInfo, info
    assert_same @s, ch.session
    assert_equal data.bytesize, info.st_size
    assert_equal 0o100640, info.st_mode
    assert_equal 1_600_000_000, info.st_mtime
    assert_equal 1_500_000_000, info.st_atime
    assert_equal data.bytesize, info.to_h[:st_size]
    assert_equal data, read_exact(ch, info.st_size)
    ch.close
    e = assert_raises(Xssh::SCPProtocolError) { @s.scp_recv2(File.join(@dir, 'missing')) }
    assert_includes e.message, File.join(@dir, 'missing')
    assert_raises(TypeError) { @s.scp_recv2(nil) }
  end

  def test_scp_send64
    p = File.join(@dir, 's')
    data = SecureRandom.random_bytes(50_000)
    ch = @s.scp_send64(p, 0o640, data.bytesize, 1_400_000_000, 1_410_000_000)
    assert_instance_of Xssh::Channel, ch
    _, written = ch.write(data)
    assert_equal data.bytesize, written
    ch.write("\0")
    ch.send_eof
    ch.wait_eof
    ch.wait_closed
    assert_equal data, File.binread(p)
    assert_equal 0o640, File.stat(p).mode & 0o777
    assert_equal 1_400_000_000, File.stat(p).mtime.to_i
  end

  def test_scp_put_get_round_trip_byte_exact
    [0, 1, 30_000, 4 * 1024 * 1024 + 1].each do |size|
      data = SecureRandom.random_bytes(size)
      src = File.join(@dir, 'src')
      File.binwrite(src, data)
      File.chmod(0o751, src)
      File.utime(1_300_000_000, 1_350_000_000, src)
      remote = File.join(@dir, 'remote')
      assert_equal size, @s.scp_put(src, remote)
      assert_equal T.sha(data), T.sha(File.binread(remote)), "put #{size}"
      assert_equal 0o751, File.stat(remote).mode & 0o777
      back = File.join(@dir, 'back')
      assert_equal size, @s.scp_get(remote, back)
      assert_equal T.sha(data), T.sha(File.binread(back)), "get #{size}"
      assert_equal 1_350_000_000, File.stat(back).mtime.to_i
    end
  end

  def test_scp_progress_cancel_atomic
    size = 4 * 1024 * 1024 + 3
    src = File.join(@dir, 'src')
    File.binwrite(src, SecureRandom.random_bytes(size))
    remote = File.join(@dir, 'r')
    calls = []
    assert_equal size, @s.scp_put(src, remote) { |d, t| calls << [d, t] }
    assert_equal [0, size], calls.first
    assert_equal [size, size], calls.last
    calls.clear
    assert_equal size, @s.scp_get(remote, File.join(@dir, 'b')) { |d, t| calls << [d, t] }
    assert_equal [size, size], calls.last
    assert_raises(Xssh::CancelledError) do
      @s.scp_get(remote, File.join(@dir, 'c'), atomic: true) { |d, _| :cancel if d.positive? }
    end
    refute File.exist?(File.join(@dir, 'c'))
    dest = File.join(@dir, 'dest')
    File.binwrite(dest, 'old')
    assert_raises(ZeroDivisionError) { @s.scp_put(src, dest, atomic: true) { |d, _| 1 / 0 if d.positive? } }
    assert_equal 'old', File.binread(dest)
    assert_empty Dir.children(@dir).grep(/\Adest\./)
    e = assert_raises(Xssh::FileError) { @s.scp_put(File.join(@dir, 'no-local'), remote) }
    assert_includes e.message, 'no-local'
    assert_equal size, @s.scp_put(src, dest, atomic: true)
    assert_equal size, File.size(dest)
  end

  def test_scp_channel_outlives_session_object
    p = File.join(@dir, 'g')
    File.binwrite(p, 'xyz')
    s = T.connect
    ch, info = s.scp_recv2(p)
    s = nil # rubocop:disable Lint/UselessAssignment
    GC.start(full_mark: true, immediate_sweep: true)
    assert_equal 'xyz', read_exact(ch, info.st_size)
  end
end
