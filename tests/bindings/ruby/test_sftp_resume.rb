# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

require_relative 'xssh_test_helper'

# Resumed SFTP transfers (get/put/get_tree/put_tree with resume: true) through
# the Ruby binding, against the real sshd: a transfer is cut midway -
# deterministically, by its progress block returning :cancel once enough bytes
# went - then resumed; the result is byte-exact and the resumed attempt moved
# only the rest (it starts where the first stopped).
class TestSFTPResume < Minitest::Test
  T = XsshTest
  SIZE = (4 * 1024 * 1024) + 12_345
  CUT = 1024 * 1024

  def setup
    @s = T.connect
    @sftp = @s.sftp_init
    @dir = T.tmpdir('resume')
  end

  def teardown
    @sftp&.finish
    @s&.finish
  end

  def body(len, seed)
    block = (0..255).map { |i| ((i * 131) + seed) & 0xff }.pack('C*')
    (block * ((len / 256) + 1))[0, len]
  end

  # the block given to first is cut by its progress; second resumes
  def cut_then_resume(data, dst, atomic)
    last = nil
    assert_raises(Xssh::CancelledError) do
      yield(lambda do |done, _total|
        last = done
        done >= CUT ? :cancel : nil
      end)
    end
    assert_operator last, :>=, CUT
    refute File.exist?(dst) if atomic
    calls = []
    moved = yield(->(done, _total) { calls << done })
    assert File.binread(dst) == data, 'bytes differ after resume'
    assert_operator calls.first, :>, 0, 'the resumed attempt started at 0'
    assert_operator moved, :<, data.bytesize
    assert_equal data.bytesize - calls.first, moved
    assert_equal data.bytesize, calls.last
    refute File.exist?("#{dst}.xssh-part")
  end

  [false, true].each do |atomic|
    define_method("test_get_cut_then_resumed_atomic_#{atomic}") do
      data = body(SIZE, 7)
      File.binwrite(File.join(@dir, 'remote.bin'), data)
      cut_then_resume(data, File.join(@dir, 'local.bin'), atomic) do |prog|
        @sftp.get(File.join(@dir, 'remote.bin'), File.join(@dir, 'local.bin'), atomic: atomic, resume: true,
                                                                                  progress: prog)
      end
    end

    define_method("test_put_cut_then_resumed_atomic_#{atomic}") do
      data = body(SIZE, 3)
      File.binwrite(File.join(@dir, 'local.bin'), data)
      cut_then_resume(data, File.join(@dir, 'remote.bin'), atomic) do |prog|
        @sftp.put(File.join(@dir, 'local.bin'), File.join(@dir, 'remote.bin'), atomic: atomic, resume: true,
                                                                                  progress: prog)
      end
    end
  end

  %i[put_tree get_tree].each do |m|
    define_method("test_#{m}_cut_then_resumed") do
      FileUtils.mkdir_p(File.join(@dir, 'src/sub'))
      files = { 'small' => body(1000, 1), 'sub/big' => body(SIZE, 5), 'sub/zz' => body(70_000, 9) }
      files.each { |rel, d| File.binwrite(File.join(@dir, 'src', rel), d) }
      src = File.join(@dir, 'src')
      dst = File.join(@dir, 'dst')
      assert_raises(Xssh::CancelledError) do
        @sftp.public_send(m, src, dst, files_in_flight: 1, resume: true) { |p| p.bytes_done >= CUT ? :cancel : nil }
      end
      partial = File.size(File.join(dst, 'sub/big'))
      # the cut came while the big file moved (files in flight learn of it at their
      # next report, so how much of it is there depends on the machine): some of it is there
      assert_operator partial, :>, 0
      st = @sftp.public_send(m, src, dst, files_in_flight: 1, resume: true)
      files.each { |rel, d| assert File.binread(File.join(dst, rel)) == d, rel }
      assert_operator st.bytes, :<=, files.values.sum(&:bytesize) - partial
    end
  end
end
