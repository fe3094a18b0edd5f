"""ssh2-python's ``ssh2.listener`` module: Listener (remote forwarding), plus
xssh's Forward (a running local or remote forward server)."""
from .core import Forward, Listener  # noqa: F401
