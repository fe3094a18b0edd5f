/* SPDX-License-Identifier: BSD-3-Clause */
/* tunnel.i — direct-tcpip, Listener, forward servers (Forward), ProxyJump.
   Languages touched: all three. */
%rename("$ignore", regextarget=1, %$isfunction) "^xssh_(listener|forward)_";
%ignore xssh_session_direct_tcpip;
%ignore xssh_session_forward_listen;
%ignore xssh_session_connect_via;
%ignore xssh_forward_stats;
%include "xssh/tunnel.h"

%rename(forward_listen_ex) xssh_session::forward_listen_ex_swig;
%rename(direct_tcpip) xssh_session::direct_tcpip_swig;
%rename(forward_listen) xssh_session::forward_listen_swig;
%rename(connect_via) xssh_session::connect_via_swig;
%rename(stats) xssh_forward::stats_swig;
%{
/* (accepted, active, failed, bytes_out, bytes_in) as five outputs */
static int xssh_forward_stats_swig(xssh_forward *f, long *accepted, long *active, long *failed, long *bytes_out,
                                   long *bytes_in)
{
  xssh_forward_stats st;
  int rc = xssh_forward_get_stats(f, &st);
  if (rc == 0) {
    *accepted = (long)st.accepted; *active = (long)st.active; *failed = (long)st.failed;
    *bytes_out = (long)st.bytes_out; *bytes_in = (long)st.bytes_in;
  }
  return rc;
}
%}
struct xssh_listener {};
struct xssh_forward {};
%extend xssh_session {
  /* ssh2-python: direct_tcpip(host, port) and direct_tcpip_ex(host, port, shost, sport) */
  xssh_err direct_tcpip_swig(const char *host, int port, xssh_channel **OUT_HANDLE) {
    return xssh_session_direct_tcpip(OUT_HANDLE, $self, host, port, NULL, 0);
  }
  xssh_err direct_tcpip_ex(const char *host, int port, const char *shost, int sport, xssh_channel **OUT_HANDLE) {
    return xssh_session_direct_tcpip(OUT_HANDLE, $self, host, port, shost, sport);
  }
  /* ssh2-python: forward_listen(port), forward_listen_ex(host, port, bound_port, queue_maxsize);
     the bound port is Listener.bound_port() */
  xssh_err forward_listen_swig(int port, xssh_listener **OUT_HANDLE) {
    return xssh_session_forward_listen(OUT_HANDLE, $self, NULL, port, 0, NULL);
  }
  xssh_err forward_listen_ex_swig(const char *opt_host, int port, int bound_port, int queue_maxsize,
                                  xssh_listener **OUT_HANDLE) {
    (void)bound_port;
    return xssh_session_forward_listen(OUT_HANDLE, $self, opt_host, port, queue_maxsize, NULL);
  }
  /* forward servers (ssh -L / ssh -R) and ProxyJump */
  xssh_err forward_local(const char *opt_host, int bind_port, const char *dest_host, int dest_port,
                         xssh_forward **OUT_HANDLE) {
    return xssh_forward_local(OUT_HANDLE, $self, opt_host, bind_port, dest_host, dest_port);
  }
  xssh_err forward_remote(const char *opt_host, int listen_port, const char *dest_host, int dest_port,
                          xssh_forward **OUT_HANDLE) {
    return xssh_forward_remote(OUT_HANDLE, $self, opt_host, listen_port, dest_host, dest_port);
  }
  xssh_err connect_via_swig(xssh_session *jump, const char *host, int port = 22, int timeout_ms = 0) {
    return xssh_session_connect_via($self, jump, host, port, timeout_ms);
  }
}
%extend xssh_listener {
  ~xssh_listener() { xssh_listener_unref($self); }
  xssh_err forward_accept(xssh_channel **OUT_HANDLE) { return xssh_listener_accept($self, OUT_HANDLE); }
  xssh_err forward_cancel() { return xssh_listener_cancel($self); }
  xssh_err bound_port(int *OUTPUT);
}
%extend xssh_forward {
  ~xssh_forward() { xssh_forward_unref($self); }
  xssh_err port(int *OUTPUT);
  xssh_err stats_swig(long *OUTPUT, long *OUTPUT, long *OUTPUT, long *OUTPUT, long *OUTPUT);
  xssh_err last_error(char **OUT_TEXT);
  xssh_err is_running(int *OUTPUT);
  xssh_err stop();
}
