# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

require 'securerandom'
require_relative 'xssh_test_helper'

# SFTP through the Ruby binding against the real sshd (on this machine: remote
# paths are checked with local File calls): path operations, error classes
# carrying the path, handles with blocks and each, whole-file transfers
# byte-exact with progress blocks, cancel by :cancel / exception / break.
class TestSFTP < Minitest::Test
  T = XsshTest

  def setup
    @s = T.connect
    @sftp = @s.sftp_init
    @dir = T.tmpdir('sftp')
  end

  def teardown
    @sftp&.finish
    @s&.finish
  end

  def test_sftp_init_block_closes_and_keeps_session
    r = @s.sftp_init do |sf|
      assert_instance_of Xssh::SFTP, sf
      assert_same @s, sf.session
      sf.realpath('.')
    end
    assert_kind_of String, r
    assert r.start_with?('/')
  end

  def test_handle_write_read_seek_with_blocks
    p = File.join(@dir, 'f.bin')
    data = SecureRandom.random_bytes(100_000)
    @sftp.open(p, Xssh::FXF_WRITE | Xssh::FXF_CREAT | Xssh::FXF_TRUNC, 0o600) do |f|
      assert_instance_of Xssh::SFTPHandle, f
      assert_equal p, f.path
      f << data
      assert_equal data.bytesize, f.tell
    end
    assert_equal data, File.binread(p)
    assert_equal 0o600, File.stat(p).mode & 0o777

    handle = nil
    chunks = @sftp.open(p) do |f|
      handle = f
      f.seek64(10)
      assert_equal [5, data.byteslice(10, 5)], f.read(5)
      f.rewind
      assert_equal data.bytesize, f.fstat.filesize
      f.each_chunk(30_000).to_a
    end
    assert_equal data, chunks.join
    assert(chunks.all? { |c| c.encoding == Encoding::BINARY })
    # the block closed the handle
    assert_raises(Xssh::Error) { handle.read(10) }

    # each on a file handle: chunks; read_all
    f = @sftp.open(p, Xssh::FXF_READ, 0)
    assert_equal data, f.read_all
    assert_equal [0, ''], f.read(10)
    f.rewind
    assert_equal data, f.each.to_a.join
    f.close
  end

  def test_readdir_each_and_listdir
    names = %w[a b c].map { |n| "#{n}#{SecureRandom.hex(2)}" }
    names.each { |n| File.binwrite(File.join(@dir, n), n) }
    Dir.mkdir(File.join(@dir, 'sub'))
    entries = @sftp.opendir(@dir) do |d|
      assert d.directory?
      d.each.to_a
    end
    by_name = entries.to_h { |name, long, attrs| [name, [long, attrs]] }
    assert_equal (names + %w[. .. sub]).sort, by_name.keys.sort
    long, attrs = by_name[names[0]]
    assert_includes long, names[0]
    assert_instance_of Xssh::SFTPAttributes, attrs
    assert_equal names[0].bytesize, attrs.filesize
    assert attrs.file?
    assert by_name['sub'][1].directory?
    assert_equal (names + ['sub']).sort, @sftp.listdir(@dir).sort
    # SFTP#each_entry leaves out "." and ".." as listdir does (the handle's readdir gives them)
    assert_equal (entries.map(&:first) - %w[. ..]).sort, @sftp.each_entry(@dir).map(&:first).sort
    # readdir with a block, names are Strings
    seen = []
    @sftp.opendir(@dir) { |d| d.readdir { |name, _l, _a| seen << name } }
    assert_equal by_name.keys.sort, seen.sort
  end

  def test_path_operations
    d = File.join(@dir, 'dir')
    assert_equal 0, @sftp.mkdir(d, 0o750)
    assert File.directory?(d)
    assert_equal 0o750, File.stat(d).mode & 0o777
    assert @sftp.stat(d).directory?
    f = File.join(d, 'f')
    assert_equal 5, @sftp.put_buffer('hello', f)
    st = @sftp.stat(f)
    assert_equal 5, st.filesize
    assert_equal File.stat(f).mtime.to_i, st.mtime
    assert_equal 5, st.to_h[:filesize]
    # setstat: permissions and times
    st.permissions = 0o100_604
    st.atime = 1_500_000_000
    st.mtime = 1_600_000_000
    st.flags = Xssh::SFTP_ATTR_PERMISSIONS | Xssh::SFTP_ATTR_ACMODTIME
    @sftp.setstat(f, st)
    assert_equal 0o604, File.stat(f).mode & 0o777
    assert_equal 1_600_000_000, File.stat(f).mtime.to_i
    # symlink / readlink / lstat / realpath
    link = File.join(d, 'link')
    @sftp.symlink(f, link)
    assert_equal f, File.readlink(link)
    assert_equal f, @sftp.readlink(link)
    assert @sftp.lstat(link).symlink?
    refute @sftp.stat(link).symlink?
    assert_equal f, @sftp.realpath(File.join(d, '.', '..', 'dir', 'f'))
    # rename, rename_ex with overwrite
    g = File.join(d, 'g')
    @sftp.rename(f, g)
    assert File.exist?(g)
    refute File.exist?(f)
    # both forms of rename_ex (OpenSSH's SFTP v3 ignores the flags: targets must not exist)
    assert_equal 0, @sftp.rename_ex(g, g.bytesize, f, f.bytesize, 0)
    assert File.exist?(f)
    assert_equal 0, @sftp.rename_ex(f, g, 0)
    assert @sftp.exist?(g)
    refute @sftp.exist?(f)
    File.binwrite(f, 'other')
    e = assert_raises(Xssh::SFTPError) { @sftp.rename(f, g) }
    assert_includes e.message, g
    @sftp.unlink(f)
    # statvfs
    vfs = @sftp.statvfs(d)
    assert_operator vfs.f_bsize, :>, 0
    assert_operator vfs.f_namemax, :>, 0
    # unlink, rmdir; Pathname arguments
    require 'pathname'
    @sftp.unlink(Pathname(link))
    @sftp.unlink(g)
    @sftp.rmdir(d)
    refute File.exist?(d)
  end

  def test_errors_classes_carry_the_path
    missing = File.join(@dir, 'nope')
    e = assert_raises(Xssh::SFTPNoSuchFileError) { @sftp.stat(missing) }
    assert_kind_of Xssh::SFTPProtocolError, e
    assert_kind_of Xssh::SFTPError, e
    assert_kind_of Xssh::Error, e
    assert_includes e.message, missing
    assert_equal 2, e.sftp_status
    assert_equal 'XSSH_ESFTP_NO_SUCH_FILE', e.name
    assert_equal Xssh::ESFTP_NO_SUCH_FILE, e.code
    assert_equal 2, @sftp.last_error
    e = assert_raises(Xssh::SFTPNoSuchFileError) { @sftp.open(missing) { flunk 'no block for a missing file' } }
    assert_includes e.message, missing
    assert_raises(Xssh::SFTPError) { @sftp.opendir(missing) }
    e = assert_raises(Xssh::SFTPNoSuchFileError) { @sftp.get(missing, File.join(@dir, 'local')) }
    assert_includes e.message, missing
    # non-empty directory
    full = File.join(@dir, 'full')
    Dir.mkdir(full)
    x = File.join(full, 'x')
    File.binwrite(x, '')
    e = assert_raises(Xssh::SFTPProtocolError) { @sftp.rmdir(full) }
    assert_includes e.message, full
    # EXCL on an existing file
    e = assert_raises(Xssh::SFTPProtocolError) do
      @sftp.open(x, Xssh::FXF_WRITE | Xssh::FXF_CREAT | Xssh::FXF_EXCL, 0o644)
    end
    assert_includes e.message, x
    # permission denied (not when running as root)
    unless Process.euid.zero?
      ro = File.join(@dir, 'ro')
      Dir.mkdir(ro, 0o500)
      begin
        assert_raises(Xssh::SFTPPermissionDeniedError) do
          @sftp.open(File.join(ro, 'f'), Xssh::FXF_WRITE | Xssh::FXF_CREAT, 0o644)
        end
      ensure
        File.chmod(0o700, ro)
      end
    end
    # wrong types
    assert_raises(TypeError) { @sftp.stat(123) }
    assert_raises(TypeError) { @sftp.setstat(x, 'not attrs') }
    assert_raises(TypeError) { @sftp.put_buffer(42, x) }
    assert_raises(TypeError) { @sftp.get(x, File.join(@dir, 'y'), progress: 42) }
    # the subsystem still works
    assert_equal 0, @sftp.stat(x).filesize
  end

  def test_closed_sftp_and_handles_raise
    sf = @s.sftp_init
    p = File.join(@dir, 'c')
    File.binwrite(p, 'c')
    fh = sf.open(p)
    assert_equal 0, sf.close
    assert_raises(Xssh::Error) { fh.read }
    assert_raises(Xssh::Error) { sf.stat(p) }
    assert_nil sf.finish
  end

  def test_put_get_4mib_byte_exact
    size = 4 * 1024 * 1024
    data = SecureRandom.random_bytes(size)
    src = File.join(@dir, 'src')
    File.binwrite(src, data)
    remote = File.join(@dir, 'remote')
    assert_equal size, @sftp.put(src, remote)
    assert_equal T.sha(data), T.sha(File.binread(remote))
    back = File.join(@dir, 'back')
    assert_equal size, @sftp.get(remote, back)
    assert_equal T.sha(data), T.sha(File.binread(back))
    got = @sftp.get_buffer(remote)
    assert_equal Encoding::BINARY, got.encoding
    assert_equal T.sha(data), T.sha(got)
    assert_equal size, @sftp.put_buffer(data.reverse, remote, atomic: true)
    assert_equal T.sha(data.reverse), T.sha(File.binread(remote))
    # boundary sizes of libssh2's 30000-byte packets
    [0, 1, 29_999, 30_000, 30_001].each do |n|
      d = SecureRandom.random_bytes(n)
      File.binwrite(src, d)
      assert_equal n, @sftp.put(src, remote)
      assert_equal n, @sftp.get(remote, back)
      assert_equal d, File.binread(back), "size #{n}"
    end
  end

  def test_get_put_fd
    data = SecureRandom.random_bytes(300_001)
    remote = File.join(@dir, 'r')
    File.binwrite(remote, data)
    local = File.join(@dir, 'l')
    File.open(local, 'wb') do |io|
      io.write('head')
      assert_equal data.bytesize, @sftp.get_fd(remote, io)
    end
    assert_equal "head#{data}", File.binread(local)
    File.open(local, 'rb') do |io|
      io.seek(4)
      assert_equal data.bytesize, @sftp.put_fd(io, File.join(@dir, 'r2'))
    end
    assert_equal data, File.binread(File.join(@dir, 'r2'))
    assert_raises(TypeError) { @sftp.get_fd(remote, 'not an io') }
  end

  def test_progress_block_reaches_total
    size = 4 * 1024 * 1024 + 3
    data = SecureRandom.random_bytes(size)
    src = File.join(@dir, 'src')
    File.binwrite(src, data)
    remote = File.join(@dir, 'r')
    calls = []
    assert_equal size, @sftp.put(src, remote) { |done, total| calls << [done, total] }
    assert_operator calls.size, :>=, 2
    assert_equal [size, size], calls.last
    assert(calls.each_cons(2).all? { |(a, _), (b, _)| a <= b }, 'done never goes back')
    assert(calls.all? { |_, t| t == size })
    calls.clear
    assert_equal size, @sftp.get(remote, File.join(@dir, 'b')) { |done, total| calls << [done, total] }
    assert_equal [size, size], calls.last
    assert_equal data, File.binread(File.join(@dir, 'b'))
    # a lambda as progress:, get_buffer / put_buffer
    seen = 0
    counter = ->(done, _total) { seen = done }
    assert_equal data, @sftp.get_buffer(remote, progress: counter)
    assert_equal size, seen
    seen = 0
    assert_equal 3, @sftp.put_buffer('abc', remote, progress: counter)
    assert_equal 3, seen
    assert_raises(ArgumentError) { @sftp.get(remote, src, progress: counter) { nil } }
  end

  class Stop < StandardError; end

  def test_progress_cancel_by_symbol_exception_and_break
    size = 4 * 1024 * 1024
    src = File.join(@dir, 'src')
    File.binwrite(src, SecureRandom.random_bytes(size))
    remote = File.join(@dir, 'r')
    @sftp.put(src, remote)

    # :cancel -> CancelledError; atomic leaves no file behind
    dest = File.join(@dir, 'c')
    e = assert_raises(Xssh::CancelledError) do
      @sftp.get(remote, dest, atomic: true) { |done, _| done.positive? ? :cancel : nil }
    end
    assert_includes e.message, remote
    refute File.exist?(dest)

    # an exception raised by the block cancels and is re-raised as itself
    calls = 0
    e = assert_raises(Stop) do
      @sftp.put(src, File.join(@dir, 'x'), atomic: true) do |done, _|
        calls += 1
        raise Stop, 'from the block' if done.positive?
      end
    end
    assert_equal 'from the block', e.message
    assert_equal 2, calls, 'the block is not called again after it raised'
    assert_empty Dir.children(@dir).grep(/\Ax\b/)

    # a block that returns other values (truthy included) does not cancel
    assert_equal size, @sftp.get(remote, File.join(@dir, 'ok')) { |done, _| done }

    # break out of the block: cancels, and get returns the break value
    r = @sftp.get(remote, File.join(@dir, 'brk'), atomic: true) { |done, _| break :stopped if done.positive? }
    assert_equal :stopped, r
    refute File.exist?(File.join(@dir, 'brk'))

    # throw through the call
    r = catch(:halt) { @sftp.get_buffer(remote) { |done, _| throw :halt, done if done.positive? } }
    assert_operator r, :>, 0

    # SCP too
    assert_raises(Stop) { @s.scp_get(remote, File.join(@dir, 's')) { |d, _| raise Stop if d.positive? } }

    # the session and subsystem still work after all that
    assert_equal size, @sftp.get(remote, File.join(@dir, 'again'))
    assert_equal 'via', @s.run('echo via').stdout.chomp
  end

  def test_progress_in_threads_runs_in_parallel_with_ruby
    size = 8 * 1024 * 1024
    remote = File.join(@dir, 'r')
    File.binwrite(remote, SecureRandom.random_bytes(size))
    ticks = 0
    ticker = Thread.new { loop { ticks += 1; sleep 0.001 } } # rubocop:disable Style/Semicolon
    progress_threads = []
    n = @sftp.get(remote, File.join(@dir, 'b')) { progress_threads << Thread.current }
    ticker.kill
    assert_equal size, n
    assert_equal [Thread.current], progress_threads.uniq, 'the block runs on the calling thread'
    assert_operator ticks, :>, 0, 'other Ruby threads ran during the transfer'
  end

  def test_gc_orders_with_open_files
    3.times do |order|
      s = T.connect
      sf = s.sftp_init
      p = File.join(@dir, "g#{order}")
      sf.put_buffer('xyz', p)
      objs = [s, sf, sf.open(p), sf.stat(p)]
      s = sf = nil
      objs.rotate!(order)
      until objs.empty?
        o = objs.shift
        o.read(3) if o.is_a?(Xssh::SFTPHandle) && order.zero?
        o = nil # rubocop:disable Lint/UselessAssignment
        GC.start(full_mark: true, immediate_sweep: true)
      end
    end
    pass
  end
  def test_resume_window_and_channels
    size = 3 * 1024 * 1024 + 17
    data = SecureRandom.random_bytes(size)
    src = File.join(@dir, 'src')
    File.binwrite(src, data)
    remote = File.join(@dir, 'r')
    half = size / 2
    # the partial remote file under its stable temporary name: only the rest moves
    File.binwrite(remote + '.xssh-part', data[0, half])
    assert_equal size - half, @sftp.put(src, remote, atomic: true, resume: true, channels: 2, max_in_flight: 1 << 20)
    assert_equal data, File.binread(remote)
    refute File.exist?(remote + '.xssh-part')
    back = File.join(@dir, 'back')
    third = size / 3
    File.binwrite(back, data[0, third])
    assert_equal size - third, @sftp.get(remote, back, resume: true, max_in_flight: 300_000)
    assert_equal data, File.binread(back)
    assert_equal size, @sftp.put(src, remote + '2', channels: 2)
    assert_equal data, File.binread(remote + '2')
  end
end
