# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

# SFTP and SCP idioms over the generated classes (swig/sftp.i, swig/scp.i):
#
#   s.sftp_init do |sftp|
#     sftp.put('local.bin', '/tmp/remote.bin') { |done, total| print "\r#{done}/#{total}" }
#     sftp.open('/tmp/remote.bin') { |f| f.each { |chunk| ... } }     # closed at block end
#     sftp.opendir('/tmp') { |d| d.each { |name, longentry, attrs| ... } }
#   end
#
# Whole-file transfers (get, put, get_buffer, put_buffer, get_fd, put_fd,
# Session#scp_get, Session#scp_put) keep many requests in flight in C with the
# GVL released; a block receives progress (done, total) (total is nil when
# unknown). Returning :cancel from the block cancels (Xssh::CancelledError);
# an exception raised by the block cancels the transfer and is re-raised by the
# call; break/throw out of the block cancel it too. Remote errors are
# Xssh::SFTPError subclasses (SFTPNoSuchFileError, SFTPPermissionDeniedError,
# SFTPFileAlreadyExistsError, ...) whose message names the remote path and
# whose #sftp_status is the SFTP status code.
module Xssh
  # a descriptor argument: Integer or an IO (flushed first)
  def self.fd_arg(io, name = :io, recv = self)
    return io if io.is_a?(Integer)
    raise arg_type_error(recv, name, 'an Integer descriptor or an IO', io) unless io.respond_to?(:fileno)

    io.flush if io.respond_to?(:flush)
    io.fileno
  end

  # the progress callable of a transfer: the block, or a progress: keyword
  def self.progress_arg(kw, blk, recv = self)
    raise ArgumentError, 'xssh: give progress as a block or as progress:, not both' if kw && blk
    raise arg_type_error(recv, :progress, 'a callable (responding to call)', kw) if kw && !kw.respond_to?(:call)

    kw || blk
  end

  # Progress of SFTP#put_tree / #get_tree (counters cumulative): regular files
  # done and found, bytes done and of all files, and the file this report is
  # about (path relative to the tree, the file system's bytes) with its bytes
  # done and size.
  TreeProgress = Struct.new(:files_done, :files_total, :bytes_done, :bytes_total, :path, :file_done, :file_total)
  # What SFTP#put_tree / #get_tree did: regular files transferred, directories
  # created (or existing and used), links recreated, bytes transferred.
  TreeStats = Struct.new(:files, :directories, :symlinks, :bytes)

  # the progress callable of a tree transfer: called with the C layer's seven
  # values, it hands the block one Xssh::TreeProgress
  def self.tree_progress_arg(kw, blk, recv = self)
    fn = progress_arg(kw, blk, recv)
    return nil unless fn

    ->(*a) { fn.call(TreeProgress.new(*a)) }
  end

  # symlinks: :follow / :copy / :skip or an Xssh::SYMLINKS_* number
  def self.symlinks_arg(v, recv = self)
    case v
    when :follow then SYMLINKS_FOLLOW
    when :copy then SYMLINKS_COPY
    when :skip then SYMLINKS_SKIP
    when Integer then v
    else raise arg_type_error(recv, :symlinks, ':follow, :copy, :skip or an Xssh::SYMLINKS_* Integer', v)
    end
  end

  # Close obj unless closed already; never raises (used by the block forms).
  def self.quiet_close(obj)
    obj.close
    nil
  rescue Xssh::Error
    nil
  end

  if const_defined?(:SFTP, false)
    class Session
      alias native_sftp_init sftp_init
      # Start the SFTP subsystem: an SFTP (Xssh::EAGAIN in non-blocking mode).
      # With a block, yields it and closes it at the block's end (its value is returned).
      def sftp_init
        sf = native_sftp_init
        return sf if sf.is_a?(Integer)

        sf.instance_variable_set(:@session, self)
        return sf unless block_given?

        begin
          yield sf
        ensure
          Xssh.quiet_close(sf)
        end
      end
      alias sftp sftp_init
    end

    class SFTP
      # The Session that started this subsystem.
      attr_reader :session

      %i[get put get_buffer put_buffer get_fd put_fd put_tree get_tree open opendir stat lstat setstat statvfs mkdir rmdir
         unlink rename rename_ex symlink readlink realpath].each do |m|
        alias_method :"native_#{m}", m
      end

      # Download remote into the local path; returns the byte count.
      # atomic: write a temporary local file renamed into place only when complete.
      # resume: continue from what local (with atomic: local + ".xssh-part") holds;
      # the count is then what this call moved. max_in_flight: most bytes requested
      # at once (0: grows from the measured round trip).
      def get(remote, local, atomic: false, chunk_size: 0, mode: 0, resume: false, max_in_flight: 0, progress: nil, &blk)
        native_get(Xssh.progress_arg(progress, blk, self), Xssh.path_arg(remote, :remote, self), Xssh.path_arg(local, :local, self),
                   atomic ? 1 : 0, chunk_size, mode, resume ? 1 : 0, max_in_flight)
      end

      # Upload the local file to remote; returns the byte count. atomic: a
      # temporary remote name renamed into place at the end. mode: permission
      # bits of the created file (0: 0644). resume, max_in_flight: as for get;
      # channels: SFTP channels carrying parts of the file at once (0: automatic).
      def put(local, remote, atomic: false, chunk_size: 0, mode: 0, resume: false, max_in_flight: 0, channels: 0,
              progress: nil, &blk)
        native_put(Xssh.progress_arg(progress, blk, self), Xssh.path_arg(local, :local, self), Xssh.path_arg(remote, :remote, self),
                   atomic ? 1 : 0, chunk_size, mode, resume ? 1 : 0, max_in_flight, channels)
      end

      # The whole remote file as a binary String.
      def get_buffer(remote, progress: nil, &blk)
        native_get_buffer(Xssh.progress_arg(progress, blk, self), Xssh.path_arg(remote, :remote, self))
      end
      alias get_bytes get_buffer
      alias read_file get_buffer

      # Write data (a String) to the remote file; returns the byte count.
      def put_buffer(data, remote, atomic: false, mode: 0, progress: nil, &blk)
        raise Xssh.arg_type_error(self, :data, 'String', data, :put_buffer) unless data.is_a?(String)

        native_put_buffer(Xssh.progress_arg(progress, blk, self), data, Xssh.path_arg(remote, :remote, self), atomic ? 1 : 0, mode)
      end
      alias put_bytes put_buffer
      alias write_file put_buffer

      # Download remote into an open descriptor (Integer or IO), from its current position.
      def get_fd(remote, io, chunk_size: 0, progress: nil, &blk)
        native_get_fd(Xssh.progress_arg(progress, blk, self), Xssh.path_arg(remote, :remote, self), Xssh.fd_arg(io, :io, self), chunk_size)
      end

      # Upload from an open descriptor (Integer or IO), from its current position to its end.
      def put_fd(io, remote, atomic: false, chunk_size: 0, mode: 0, progress: nil, &blk)
        native_put_fd(Xssh.progress_arg(progress, blk, self), Xssh.fd_arg(io, :io, self), Xssh.path_arg(remote, :remote, self),
                      atomic ? 1 : 0, chunk_size, mode)
      end

      # Upload the local directory tree local_dir into remote_dir (created when
      # missing, merged into when it exists), files_in_flight files at once
      # (0: 8); returns an Xssh::TreeStats. preserve: copy permission bits and
      # times. symlinks: :follow (default; what a link points to, a directory
      # entered once so loops end), :copy (the link itself), :skip, or an
      # Xssh::SYMLINKS_* number. atomic, chunk_size, mode, resume: the per-file
      # options of #put. The block (or progress:) receives an Xssh::TreeProgress
      # when each file starts, as it goes and when it is done; :cancel cancels
      # (Xssh::CancelledError). Errors name the path concerned.
      def put_tree(local_dir, remote_dir, preserve: false, symlinks: :follow, files_in_flight: 0, atomic: false,
                   chunk_size: 0, mode: 0, resume: false, progress: nil, &blk)
        TreeStats.new(*native_put_tree(Xssh.tree_progress_arg(progress, blk, self), Xssh.path_arg(local_dir, :local_dir, self),
                                       Xssh.path_arg(remote_dir, :remote_dir, self), preserve ? 1 : 0,
                                       Xssh.symlinks_arg(symlinks, self), files_in_flight, atomic ? 1 : 0, chunk_size,
                                       mode, resume ? 1 : 0))
      end

      # Download the remote directory tree remote_dir into local_dir (created when
      # missing); options, progress and result as #put_tree. Names the server
      # lists are checked: "." and ".." skipped, an empty name or one holding
      # "/" refused (nothing is written outside local_dir through a name).
      def get_tree(remote_dir, local_dir, preserve: false, symlinks: :follow, files_in_flight: 0, atomic: false,
                   chunk_size: 0, mode: 0, resume: false, progress: nil, &blk)
        TreeStats.new(*native_get_tree(Xssh.tree_progress_arg(progress, blk, self), Xssh.path_arg(remote_dir, :remote_dir, self),
                                       Xssh.path_arg(local_dir, :local_dir, self), preserve ? 1 : 0,
                                       Xssh.symlinks_arg(symlinks, self), files_in_flight, atomic ? 1 : 0, chunk_size,
                                       mode, resume ? 1 : 0))
      end

      # Open a file: an SFTPHandle. flags: FXF_* bits (default FXF_READ);
      # mode: permission bits of a created file. With a block, yields the
      # handle and closes it at the block's end (the block's value is returned).
      def open(path, flags = Xssh::FXF_READ, mode = 0o644)
        f = native_open(Xssh.path_arg(path, :path, self), flags, mode)
        return f if f.is_a?(Integer)

        f.instance_variable_set(:@sftp, self)
        return f unless block_given?

        begin
          yield f
        ensure
          Xssh.quiet_close(f)
        end
      end

      # Open a directory: an SFTPHandle whose each/readdir yield the entries;
      # with a block, closed at the block's end.
      def opendir(path)
        d = native_opendir(Xssh.path_arg(path, :path, self))
        return d if d.is_a?(Integer)

        d.instance_variable_set(:@sftp, self)
        d.instance_variable_set(:@directory, true)
        return d unless block_given?

        begin
          yield d
        ensure
          Xssh.quiet_close(d)
        end
      end

      # The names in a directory (without "." and ".."), as Strings.
      def listdir(path = '.')
        opendir(path) { |d| d.readdir.map(&:first).reject { |n| ['.', '..'].include?(n) } }
      end
      alias entries listdir

      # Each entry of a directory: [name, longentry, attrs], "." and ".." left
      # out as in #listdir (an Enumerator without a block). SFTPHandle#readdir
      # gives every entry the server sends.
      def each_entry(path = '.', &blk)
        return enum_for(:each_entry, path) unless blk

        opendir(path) { |d| d.each { |e| yield e unless ['.', '..'].include?(e[0]) } }
        self
      end

      %i[stat lstat statvfs rmdir unlink readlink realpath].each do |m|
        define_method(m) { |path| send(:"native_#{m}", Xssh.path_arg(path, :path, self, m)) }
      end

      def setstat(path, attrs)
        native_setstat(Xssh.path_arg(path, :path, self), attrs)
      end

      def mkdir(path, mode = 0o755)
        native_mkdir(Xssh.path_arg(path, :path, self), mode)
      end

      def rename(src, dst)
        native_rename(Xssh.path_arg(src, :src, self), Xssh.path_arg(dst, :dst, self))
      end

      # rename_ex(src, dst, flags) or ssh2-python's rename_ex(src, src_len, dst, dst_len, flags)
      def rename_ex(src, *args)
        case args.size
        when 2 then native_rename_ex(Xssh.path_arg(src, :src, self), 0x7fffffff, Xssh.path_arg(args[0], :dst, self), 0x7fffffff, args[1])
        when 4 then native_rename_ex(Xssh.path_arg(src, :src, self), args[0], Xssh.path_arg(args[1], :dst, self), args[2], args[3])
        else
          raise ArgumentError, "Xssh::SFTP#rename_ex: wrong number of arguments (given #{args.size + 1}, expected 3 " \
                               'as (src, dst, flags) or 5 as (src, src_len, dst, dst_len, flags))'
        end
      end

      # symlink(target, linkpath): a link at linkpath pointing to target.
      def symlink(target, linkpath)
        native_symlink(Xssh.path_arg(target, :target, self), Xssh.path_arg(linkpath, :linkpath, self))
      end

      # true when path exists (stat succeeds); other errors raise.
      def exist?(path)
        stat(path)
        true
      rescue Xssh::SFTPNoSuchFileError, Xssh::SFTPNoSuchPathError
        false
      end

      # Close unless closed already; never raises.
      def finish
        Xssh.quiet_close(self)
      end

      def inspect
        '#<Xssh::SFTP>'
      end
    end

    class SFTPHandle
      include Enumerable

      # The SFTP that opened this handle.
      attr_reader :sftp

      alias native_read read
      # Read up to size bytes: [count, bytes]; count 0 at end of file,
      # Xssh::EAGAIN in non-blocking mode when nothing arrived yet.
      def read(size = 2 * 1024 * 1024)
        native_read(size)
      end

      # true for a handle from SFTP#opendir
      def directory?
        @directory ? true : false
      end

      # Each chunk (binary String) until end of file; an Enumerator without a block.
      def each_chunk(size = 2 * 1024 * 1024)
        return enum_for(:each_chunk, size) unless block_given?

        loop do
          n, data = read(size)
          raise Xssh::Error, 'xssh: each_chunk needs a blocking session' if n == Xssh::EAGAIN
          break if n <= 0

          yield data
        end
        self
      end

      # Each directory entry as [name, longentry, attrs] (SFTPAttributes);
      # an Enumerator without a block. In non-blocking mode it stops early when
      # the server has not answered yet (the next call resumes).
      def readdir
        return enum_for(:readdir) unless block_given?

        loop do
          r = readdir_next
          break if r.is_a?(Integer)

          name, longentry, attrs = r
          break if name.nil? || name.empty?

          yield [name, longentry, attrs]
        end
        self
      end
      alias each_entry readdir

      # A directory handle yields its entries ([name, longentry, attrs]), a
      # file handle its chunks (binary Strings).
      def each(&blk)
        return enum_for(:each) unless blk

        directory? ? readdir(&blk) : each_chunk(&blk)
      end

      # The rest of the file as one binary String.
      def read_all
        buf = String.new(encoding: Encoding::BINARY)
        each_chunk { |c| buf << c }
        buf
      end

      alias native_write write
      # Write data; [count, written] as in ssh2-python (count is Xssh::EAGAIN in
      # non-blocking mode when not all was taken: resume from written).
      def write(data)
        raise Xssh.arg_type_error(self, :data, 'String', data, :write) unless data.is_a?(String)

        native_write(data)
      end

      # file << data (blocking): writes everything, returns self
      def <<(data)
        data = data.to_s
        off = 0
        while off < data.bytesize
          n, written = write(off.zero? ? data : data.byteslice(off..))
          raise Xssh::Error, 'xssh: << needs a blocking session' if n == Xssh::EAGAIN && written.zero?

          off += written
        end
        self
      end

      # Close unless closed already; never raises.
      def finish
        Xssh.quiet_close(self)
      end

      def inspect
        "#<Xssh::SFTPHandle #{path.inspect}>"
      rescue Xssh::Error
        '#<Xssh::SFTPHandle closed>'
      end
    end

    class SFTPAttributes
      FIELDS = %i[flags filesize permissions uid gid atime mtime].freeze

      # The attributes as a Hash (:flags, :filesize, :permissions, :uid, :gid, :atime, :mtime).
      def to_h
        FIELDS.to_h { |f| [f, send(f)] }
      end

      # ssh2-python-like spelling
      alias size filesize

      # True when the permissions say directory.
      def directory?
        (permissions & Xssh::SFTP_S_IFMT) == Xssh::SFTP_S_IFDIR
      end

      # True when the permissions say regular file.
      def file?
        (permissions & Xssh::SFTP_S_IFMT) == Xssh::SFTP_S_IFREG
      end

      # True when the permissions say symbolic link.
      def symlink?
        (permissions & Xssh::SFTP_S_IFMT) == Xssh::SFTP_S_IFLNK
      end

      def inspect
        format('#<Xssh::SFTPAttributes filesize=%d permissions=%o uid=%d gid=%d atime=%d mtime=%d>',
               filesize, permissions, uid, gid, atime, mtime)
      end
    end

    class SFTPStatVFS
      # The statistics as a Hash of their fields (:f_bsize, :f_frsize, :f_blocks, ...).
      def to_h
        %i[f_bsize f_frsize f_blocks f_bfree f_bavail f_files f_ffree f_favail f_fsid f_flag f_namemax]
          .to_h { |f| [f, send(f)] }
      end
    end
  end

  if const_defined?(:FileInfo, false)
    class FileInfo
      # The file information as a Hash of its fields (:st_size, :st_mode, :st_atime, ...).
      def to_h
        %i[st_size st_mode st_atime st_mtime st_ctime st_uid st_gid].to_h { |f| [f, send(f)] }
      end

      def inspect
        format('#<Xssh::FileInfo st_size=%d st_mode=%o st_mtime=%d>', st_size, st_mode, st_mtime)
      end
    end
  end

  class Session
    if method_defined?(:scp_get)
      alias native_scp_get scp_get
      alias native_scp_put scp_put

      # Download a remote file over SCP into the local path; returns the byte
      # count. Progress, cancel and atomic as in SFTP#get.
      def scp_get(remote, local, atomic: false, chunk_size: 0, mode: 0, progress: nil, &blk)
        native_scp_get(Xssh.progress_arg(progress, blk, self), Xssh.path_arg(remote, :remote, self), Xssh.path_arg(local, :local, self),
                       atomic ? 1 : 0, chunk_size, mode)
      end

      # Upload the local file over SCP; returns the byte count.
      def scp_put(local, remote, atomic: false, chunk_size: 0, mode: 0, progress: nil, &blk)
        native_scp_put(Xssh.progress_arg(progress, blk, self), Xssh.path_arg(local, :local, self), Xssh.path_arg(remote, :remote, self),
                       atomic ? 1 : 0, chunk_size, mode)
      end
    end

    if method_defined?(:scp_recv2)
      %i[scp_recv2 scp_recv].each do |m|
        alias_method :"native_#{m}", m
        # [Channel, FileInfo] (ssh2-python shape); read st_size bytes from the channel.
        define_method(m) do |path|
          r = send(:"native_#{m}", Xssh.path_arg(path, :path, self, m))
          r[0].instance_variable_set(:@session, self) if r.is_a?(Array)
          r
        end
      end
      alias native_scp_send64 scp_send64
      # A Channel to write exactly size bytes to, then "\0" (ssh2-python shape).
      def scp_send64(path, mode, size, mtime = 0, atime = 0)
        ch = native_scp_send64(Xssh.path_arg(path, :path, self), mode, size, mtime, atime)
        ch.instance_variable_set(:@session, self) unless ch.is_a?(Integer)
        ch
      end
    end
  end
end
