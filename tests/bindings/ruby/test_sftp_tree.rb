# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

require_relative 'xssh_test_helper'

# SFTP directory trees (SFTP#put_tree / #get_tree) through the Ruby binding,
# against the real sshd (on this machine: the remote tree is checked with a
# local walk): 1,000 files byte- and structure-exact, preserve on/off, link
# modes, progress totals, errors naming the path.
class TestSFTPTree < Minitest::Test
  T = XsshTest
  OLD = 1_000_000_000 # 2001: far from now
  MODES = [0o600, 0o640, 0o644, 0o755].freeze

  def setup
    @s = T.connect
    @sftp = @s.sftp_init
    @dir = T.tmpdir('tree')
  end

  def teardown
    @sftp&.finish
    @s&.finish
  end

  def data(idx, len)
    (format('%06d', idx) * ((len / 6) + 1))[0, len]
  end

  # nfiles files (mostly 0-8 KiB, every 100th ~1 MiB) in nested directories with
  # spaces, UTF-8 and bytes that are not UTF-8 in their names; modes, times in
  # 2001; an empty directory; a link to a file and a link that loops (..)
  def make_tree(root, nfiles)
    dirs = ['a', 'with space', "d\u00e9j\u00e0 \u65e5\u672c", "raw\xFF".b].flat_map do |d|
      ['', '/sub', '/sub/deeper'].map { |s| File.join(root.b, d.b) + s.b }
    end
    dirs.each { |d| FileUtils.mkdir_p(d) }
    FileUtils.mkdir_p(File.join(root, 'empty'))
    total = 0
    nfiles.times do |i|
      n = if i % 100 == 7 then (1 << 20) + (i * 1000)
          elsif (i % 17).zero? then 0
          else (i * 7919) % 8192
          end
      name = if i % 10 == 3 then format("file %04d \u20ac.txt", i).b
             elsif i % 10 == 5 then "f\xFE".b + format('%04d', i)
             else format('f%04d', i)
             end
      p = File.join(dirs[i % dirs.size], name)
      File.binwrite(p, data(i, n))
      File.chmod(MODES[i % 4], p)
      File.utime(OLD + i, OLD + i, p)
      total += n
    end
    File.symlink('a/f0000', File.join(root, 'link to file'))
    File.symlink('..', File.join(root, 'a/sub/loop'))
    (dirs + [File.join(root, 'empty')]).sort.reverse_each { |d| File.utime(OLD, OLD + 5, d) }
    [nfiles, total]
  end

  # {relative path => [type, size, mode, mtime, target or bytes]}
  def walk(root)
    base = root.b
    out = {}
    Dir.glob('**/*', File::FNM_DOTMATCH, base: base).each do |rel|
      next if rel.end_with?('/.') || rel == '.'

      p = File.join(base, rel)
      st = File.lstat(p)
      out[rel.b] = if st.symlink? then [:l, 0, 0, 0, File.readlink(p)]
                   elsif st.directory? then [:d, 0, st.mode & 0o7777, st.mtime.to_i, nil]
                   else [:f, st.size, st.mode & 0o7777, st.mtime.to_i, File.binread(p)]
                   end
    end
    out
  end

  def assert_same_tree(a, b, modes_and_times: true)
    wa = walk(a)
    wb = walk(b)
    assert_equal wa.keys.sort, wb.keys.sort
    wa.each do |k, va|
      vb = wb[k]
      assert_equal [va[0], va[1]], [vb[0], vb[1]], k
      assert va[4] == vb[4], "contents of #{k.inspect}"
      next unless modes_and_times && va[0] != :l

      assert_equal va[2], vb[2], "mode of #{k.inspect}"
      assert_equal va[3], vb[3], "mtime of #{k.inspect}"
    end
    wa
  end

  def test_put_get_1000_files_preserve_copy_links_progress
    nfiles, nbytes = make_tree(File.join(@dir, 'src'), 1000)
    calls = []
    st = @sftp.put_tree(File.join(@dir, 'src'), File.join(@dir, 'remote'), preserve: true, symlinks: :copy,
                                                                              files_in_flight: 4, atomic: true) do |p|
      calls << p
      nil
    end
    assert_equal Xssh::TreeStats.new(nfiles, 14, 2, nbytes), st
    assert_instance_of Xssh::TreeProgress, calls.last
    assert_equal [nfiles, nfiles, nbytes, nbytes], calls.last.to_a[0, 4]
    calls.each_cons(2) { |x, y| assert y.files_done >= x.files_done && y.bytes_done >= x.bytes_done }
    assert_equal nfiles, calls.map(&:path).uniq.size
    w = assert_same_tree(File.join(@dir, 'src'), File.join(@dir, 'remote'))
    assert_equal :d, w['empty'][0]
    assert_equal 'a/f0000', w['link to file'][4]
    last = nil
    st = @sftp.get_tree(File.join(@dir, 'remote'), File.join(@dir, 'back'), preserve: true,
                                                                           symlinks: Xssh::SYMLINKS_COPY,
                                                                           progress: ->(p) { last = p })
    assert_equal [nfiles, 14, 2, nbytes], st.to_a
    assert_equal [nfiles, nbytes], [last.files_done, last.bytes_total]
    wb = assert_same_tree(File.join(@dir, 'src'), File.join(@dir, 'back'))
    assert_equal :d, wb["raw\xFF".b][0] # names that are not UTF-8 come back as the same bytes
  end

  def test_preserve_off_defaults
    make_tree(File.join(@dir, 'src'), 30)
    @sftp.put_tree(File.join(@dir, 'src'), File.join(@dir, 'remote'), symlinks: :copy)
    @sftp.get_tree(File.join(@dir, 'remote'), File.join(@dir, 'back'), symlinks: :copy)
    assert_same_tree(File.join(@dir, 'src'), File.join(@dir, 'back'), modes_and_times: false)
    walk(File.join(@dir, 'back')).each do |k, v|
      next if v[0] == :l

      assert_equal(v[0] == :d ? 0o755 : 0o644, v[2], k)
      assert_operator v[3], :>, OLD + 100_000, k
    end
  end

  def test_symlinks_follow_and_skip
    nfiles, = make_tree(File.join(@dir, 'src'), 20)
    %i[put_tree get_tree].each do |m|
      dst = File.join(@dir, "follow-#{m}")
      st = @sftp.public_send(m, File.join(@dir, 'src'), dst, symlinks: :follow)
      assert_equal [nfiles + 1, 0], [st.files, st.symlinks] # the link to a file became a file
      refute File.symlink?(File.join(dst, 'link to file'))
      assert_equal File.binread(File.join(@dir, 'src/a/f0000')), File.binread(File.join(dst, 'link to file'))
      refute File.exist?(File.join(dst, 'a/sub/loop')) # the loop is not entered twice
      dst = File.join(@dir, "skip-#{m}")
      st = @sftp.public_send(m, File.join(@dir, 'src'), dst, symlinks: :skip)
      assert_equal nfiles, st.files
      assert(walk(dst).values.none? { |v| v[0] == :l })
    end
    assert_raises(TypeError) { @sftp.put_tree(File.join(@dir, 'src'), File.join(@dir, 'x'), symlinks: 'sideways') }
  end

  def test_errors_name_the_path
    missing = File.join(@dir, 'no such dir')
    e = assert_raises(Xssh::FileError) { @sftp.put_tree(missing, File.join(@dir, 'r')) }
    assert_includes e.message, missing
    e = assert_raises(Xssh::SFTPNoSuchFileError) { @sftp.get_tree(missing, File.join(@dir, 'l')) }
    assert_includes e.message, missing
    FileUtils.mkdir_p([File.join(@dir, 'src/sub'), File.join(@dir, 'remote'), File.join(@dir, 'back')])
    File.binwrite(File.join(@dir, 'src/sub/f'), 'x')
    File.binwrite(File.join(@dir, 'remote/sub'), 'in the way')
    File.binwrite(File.join(@dir, 'back/sub'), 'in the way')
    e = assert_raises(Xssh::SFTPFileAlreadyExistsError) { @sftp.put_tree(File.join(@dir, 'src'), File.join(@dir, 'remote')) }
    assert_includes e.message, File.join(@dir, 'remote/sub')
    assert_includes e.message, 'in the way'
    e = assert_raises(Xssh::FileError) { @sftp.get_tree(File.join(@dir, 'src'), File.join(@dir, 'back')) }
    assert_includes e.message, File.join(@dir, 'back/sub')
  end

  def test_progress_cancel_raise_break
    make_tree(File.join(@dir, 'big'), 30)
    seen = nil
    assert_raises(Xssh::CancelledError) do
      @sftp.put_tree(File.join(@dir, 'big'), File.join(@dir, 'c1'), files_in_flight: 1) do |p|
        seen = p
        p.files_done >= 3 ? :cancel : nil
      end
    end
    assert_equal [3, 31], [seen.files_done, seen.files_total]
    boom = Class.new(StandardError)
    assert_raises(boom) { @sftp.get_tree(File.join(@dir, 'big'), File.join(@dir, 'c2')) { raise boom } }
    n = 0
    r = @sftp.get_tree(File.join(@dir, 'big'), File.join(@dir, 'c3')) do
      n += 1
      break :left if n == 4
    end
    assert_equal :left, r
    assert_raises(TypeError) { @sftp.put_tree(File.join(@dir, 'big'), File.join(@dir, 'c4'), progress: 5) }
  end

  def test_permission_denied_names_the_path
    skip 'no password account (not running as root)' if T::PW_USER.empty?
    s = T.session
    s.userauth_password(T::PW_USER, T::PASSWORD)
    sf = s.sftp_init
    top = Dir.mktmpdir('xssh-rb-tree-', '/tmp')
    begin
      File.chmod(0o755, top)
      FileUtils.mkdir_p(File.join(top, 't/secret'))
      File.binwrite(File.join(top, 't/secret/f'), 's')
      File.chmod(0o755, File.join(top, 't'))
      File.chmod(0o700, File.join(top, 't/secret'))
      e = assert_raises(Xssh::SFTPPermissionDeniedError) { sf.get_tree(File.join(top, 't'), File.join(@dir, 'copy')) }
      assert_includes e.message, File.join(top, 't/secret')
      e = assert_raises(Xssh::SFTPPermissionDeniedError) { sf.put_tree(File.join(top, 't'), File.join(top, 't/newdir')) }
      assert_includes e.message, File.join(top, 't/newdir')
    ensure
      FileUtils.rm_rf(top)
      sf.finish
      s.finish
    end
  end
end
