# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

require_relative 'xssh_test_helper'

# Sizes at the API edge and SFTP append through the Ruby binding: read sizes are
# clamped to Xssh::IO_MAX before anything is allocated (a Bignum saturates),
# negative sizes raise ArgumentError, window adjustments stay within the SSH
# uint32, and APPEND handles write at the end of the file on the harness
# OpenSSH sshd and on tests/harness/offset_sftp_server.py (honours offsets).
class TestSizes < Minitest::Test
  T = XsshTest
  THREE_MIB = 3 << 20
  OFFSET_SERVER = File.expand_path('../../harness/offset_sftp_server.py', __dir__)

  def setup
    @s = T.connect
  end

  def teardown
    @s&.finish
  end

  # RLIMIT_AS = what the process maps now + 1 GiB: allocating gigabytes fails
  def with_address_space_limit
    vm = File.read('/proc/self/status')[/^VmSize:\s+(\d+)/, 1].to_i * 1024
    soft, hard = Process.getrlimit(:AS)
    Process.setrlimit(:AS, vm + (1 << 30), hard)
    yield
  ensure
    Process.setrlimit(:AS, soft, hard)
  end

  def drain(size)
    total = 0
    100_000.times do
      n, data = yield size
      assert_operator n, :>=, 0
      break if n.zero?

      assert_operator n, :<=, Xssh::IO_MAX
      assert_equal 'A' * n, data
      total += n
    end
    total
  end

  def test_channel_read_huge_sizes
    [2**32, 2**33, 2**70].each do |size|
      [[0, :read], [1, :read_stderr]].each do |stream, meth|
        ch = @s.open_session
        ch.execute("head -c #{THREE_MIB} /dev/zero | tr '\\0' A#{stream == 1 ? ' >&2' : ''}")
        total = with_address_space_limit { drain(size) { |n| ch.public_send(meth, n) } }
        assert_equal THREE_MIB, total, "#{meth}(#{size})"
        ch.close
      end
    end
    assert_equal "alive\n", @s.run('echo alive').stdout
  end

  def test_channel_read_negative_size
    ch = @s.open_session
    ch.execute('echo hi')
    [-1, -2**70].each do |bad|
      e = assert_raises(ArgumentError) { ch.read(bad) }
      assert_match(/size must be >= 0/, e.message)
    end
    assert_raises(TypeError) { ch.read('x') }
    assert_equal [3, "hi\n"], ch.read(100)
    ch.close
  end

  def test_window_adjust_limits
    ch = @s.open_session
    e = assert_raises(Xssh::InvalidArgumentError) { ch.receive_window_adjust(2**32, 1) }
    assert_match(/4294967295/, e.message)
    w = ch.receive_window_adjust(2**32 - 1, 1)
    assert_operator w, :<=, 2**32 - 1
    assert_operator w, :>, 2**31
    ch.execute("head -c #{THREE_MIB} /dev/zero | tr '\\0' A")
    assert_equal THREE_MIB, drain(2**33) { |n| ch.read(n) }
    ch.close
    assert_equal "alive\n", @s.run('echo alive').stdout
  end

  def test_sftp_read_huge_size
    dir = T.tmpdir('sizes')
    p = File.join(dir, 'big')
    File.binwrite(p, 'A' * THREE_MIB)
    @s.sftp_init do |sftp|
      sftp.open(p) do |f|
        assert_raises(ArgumentError) { f.read(-5) }
        assert_equal THREE_MIB, with_address_space_limit { drain(2**33) { |n| f.read(n) } }
      end
    end
  end

  def append_checks(sftp, remote, local)
    File.binwrite(local, 'hello ')
    [1, 2].each do |i|
      sftp.open(remote, Xssh::FXF_WRITE | Xssh::FXF_APPEND) do |f|
        assert_equal 6 + (5 * (i - 1)), f.tell64
        f.write('world')
        assert_equal 6 + (5 * i), f.tell64
      end
    end
    assert_equal 'hello worldworld', File.binread(local)
    File.delete(local)
    sftp.open(remote, Xssh::FXF_WRITE | Xssh::FXF_APPEND | Xssh::FXF_CREAT, 0o600) { |f| f.write('new') }
    assert_equal 'new', File.binread(local)
  end

  def test_sftp_append_openssh
    p = File.join(T.tmpdir('sizes'), 'append')
    @s.sftp_init { |sftp| append_checks(sftp, p, p) }
  end

  def test_sftp_append_offset_honouring_server
    root = T.tmpdir('offset-root')
    io = IO.popen(['/usr/bin/python3', OFFSET_SERVER, '--root', root, '--lifetime', '120'], 'r+')
    begin
      line = io.gets.to_s
      assert_match(/\A\d+\n\z/, line, 'offset_sftp_server.py did not start (needs python3-asyncssh)')
      Xssh.connect('127.0.0.1', port: Integer(line), user: 'any', password: 'any', host_key_policy: :off,
                                timeout: 20) do |s|
        s.sftp_init do |sftp|
          File.binwrite(File.join(root, 'plain'), 'hello ')
          sftp.open('/plain', Xssh::FXF_WRITE) { |f| f.write('HE') }
          assert_equal 'HEllo ', File.binread(File.join(root, 'plain')), 'the server writes at the offset'
          append_checks(sftp, '/append', File.join(root, 'append'))
        end
      end
    ensure
      io.close_write # the server exits when its stdin closes
      io.close
    end
  end
end
