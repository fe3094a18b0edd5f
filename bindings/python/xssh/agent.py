"""ssh2-python's ``ssh2.agent`` module."""
from .core import Agent  # noqa: F401
