# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

# Tunnel idioms over the generated classes (swig/tunnel.i, swig/publickey.i):
#
#   s.direct_tcpip('db.internal', 5432) { |ch| ch.write(q); ch.read }     # closed at block end
#   s.forward_local(nil, 0, 'db.internal', 5432) { |fwd| ... fwd.port ... } # ssh -L, stopped at block end
#   s.forward_remote(nil, 0, '127.0.0.1', 8080) { |fwd| ... }              # ssh -R
#   s.forward_listen(0) { |l| ch = l.forward_accept }                      # cancelled at block end
#
# Forward servers run on a thread inside the library (the GVL plays no part);
# Forward#stop stops and joins it, and so does collecting the Forward. Every
# child (Channel, Listener, Forward) keeps its session alive in C, so the
# Ruby objects may be collected in any order. ProxyJump is
# Xssh.connect(host, proxy_jump: [...]) (see xssh.rb) over Session#connect_via.
module Xssh
  # What Forward#stats returns.
  ForwardStats = Struct.new(:accepted, :active, :failed, :bytes_out, :bytes_in)

  # yield obj, then run the finisher quietly; the block's value is returned
  def self.with_finish(obj, finisher)
    yield obj
  ensure
    begin
      obj.send(finisher)
    rescue Xssh::Error
      nil
    end
  end

  class Session
    if method_defined?(:direct_tcpip)
      alias native_direct_tcpip direct_tcpip
      alias native_direct_tcpip_ex direct_tcpip_ex
      alias native_forward_listen forward_listen
      alias native_forward_listen_ex forward_listen_ex
      alias native_forward_local forward_local
      alias native_forward_remote forward_remote
      alias native_connect_via connect_via

      # A Channel connected to host:port as seen from the server; with a block,
      # yields it and closes it at the block's end.
      def direct_tcpip(host, port, &blk)
        tunnel_child(native_direct_tcpip(host, port), :finish, &blk)
      end

      # direct_tcpip reporting shost:sport as the originator.
      def direct_tcpip_ex(host, port, shost, sport, &blk)
        tunnel_child(native_direct_tcpip_ex(host, port, shost, sport), :finish, &blk)
      end

      # A Listener for port on the server (0: any, see Listener#bound_port);
      # with a block, yields it and cancels it at the block's end.
      def forward_listen(port, &blk)
        tunnel_child(native_forward_listen(port), :forward_cancel, &blk)
      end

      # forward_listen_ex(host, port, bound_port, queue_maxsize) (ssh2-python shape;
      # bound_port is ignored: read Listener#bound_port).
      def forward_listen_ex(host, port, bound_port = 0, queue_maxsize = 0, &blk)
        tunnel_child(native_forward_listen_ex(host, port, bound_port, queue_maxsize), :forward_cancel, &blk)
      end

      # ssh -L: listen on bind_host:bind_port locally (nil: 127.0.0.1; 0: any
      # port, see Forward#port) and carry each connection to dest_host:dest_port
      # as seen from the server. With a block, yields the Forward and stops it
      # at the block's end.
      def forward_local(bind_host, bind_port, dest_host, dest_port, &blk)
        Xssh.forward_args(self, :forward_local, Xssh::FORWARD_LOCAL_ARGS, [bind_host, bind_port, dest_host, dest_port])
        tunnel_child(native_forward_local(bind_host, bind_port, dest_host, dest_port), :stop, &blk)
      end

      # ssh -R: the server listens on listen_host:listen_port (0: any, see
      # Forward#port) and each connection is carried to the local dest_host:dest_port.
      def forward_remote(listen_host, listen_port, dest_host, dest_port, &blk)
        Xssh.forward_args(self, :forward_remote, %i[listen_host listen_port dest_host dest_port],
                          [listen_host, listen_port, dest_host, dest_port])
        tunnel_child(native_forward_remote(listen_host, listen_port, dest_host, dest_port), :stop, &blk)
      end

      # Connect this (new) session to host:port through jump (an authenticated
      # Session) with the SSH handshake; verify the host key afterwards. This
      # session keeps jump alive. timeout in milliseconds (0: none).
      def connect_via(jump, host, port = 22, timeout_ms = 0)
        raise Xssh.arg_type_error(self, :jump, 'Xssh::Session', jump, :connect_via) unless jump.is_a?(Xssh::Session)

        native_connect_via(jump, host, port, timeout_ms)
      end

      def tunnel_child(obj, finisher)
        return obj if obj.is_a?(Integer) # EAGAIN

        obj.instance_variable_set(:@session, self)
        return obj unless block_given?

        Xssh.with_finish(obj, finisher) { |o| yield o }
      end
      private :tunnel_child
    end

    if method_defined?(:publickey_init)
      alias native_publickey_init publickey_init
      # The public-key subsystem (PublicKeySystem). OpenSSH's sshd does not
      # offer it: raises Xssh::PublicKeyInitError there. With a block, closes it at the end.
      def publickey_init
        pk = native_publickey_init
        return pk if pk.is_a?(Integer)
        return pk unless block_given?

        Xssh.with_finish(pk, :close) { |o| yield o }
      end
    end
  end

  if const_defined?(:Listener, false)
    class Listener
      # The Session this listener belongs to.
      attr_reader :session

      alias native_forward_accept forward_accept
      # The Channel of the next incoming connection (waits in blocking mode;
      # Xssh::EAGAIN in non-blocking mode). With a block, yields it and closes it.
      def forward_accept
        ch = native_forward_accept
        return ch if ch.is_a?(Integer)

        ch.instance_variable_set(:@session, @session)
        return ch unless block_given?

        Xssh.with_finish(ch, :finish) { |c| yield c }
      end
      alias accept forward_accept

      alias cancel forward_cancel
      alias port bound_port
    end
  end

  if const_defined?(:Forward, false)
    class Forward
      # The Session this forward belongs to.
      attr_reader :session

      alias native_stats stats
      # The counters as a ForwardStats (accepted, active, failed, bytes_out, bytes_in).
      def stats
        ForwardStats.new(*native_stats)
      end

      alias native_is_running is_running
      # true while the forward's thread runs
      def is_running # rubocop:disable Naming/PredicateName -- the C name
        native_is_running != 0
      end
      alias running? is_running

      alias native_last_error last_error
      # The last per-connection error, or nil.
      def last_error
        e = native_last_error
        e.nil? || e.empty? ? nil : e
      end
    end
  end

  if const_defined?(:PublicKeySystem, false)
    class PublicKeySystem
      alias native_add add
      # add(name, blob, overwrite = false)
      def add(name, blob, overwrite = false) # rubocop:disable Style/OptionalBooleanParameter
        native_add(name, blob, overwrite ? 1 : 0)
      end
    end
  end
end
