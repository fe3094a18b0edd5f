-- LuaRocks: `luarocks make bindings/lua/xssh-scm-1.rockspec` from the repository root
-- builds libxssh and the SWIG module with the system's SWIG, libssh2 and CMake.
rockspec_format = "3.0"
package = "xssh"
version = "scm-1"
source = {
  url = "git+file://.",
}
description = {
  summary = "SSH2 client over libssh2: sessions, channels, SFTP (C core, SWIG bindings)",
  detailed = [[
xssh is an SSH2 client library in C over libssh2 with one SWIG interface
generating its Python, Lua and Ruby modules. `local xssh = require "xssh"`;
errors are raised as error objects (code, name, message, class); handles are
collected by __gc and support Lua 5.4's to-be-closed variables.
]],
  license = "BSD-3-Clause",
}
dependencies = {
  "lua >= 5.4",
}
external_dependencies = {
  LIBSSH2 = { header = "libssh2.h" },
}
build = {
  type = "cmake",
  variables = {
    CMAKE_BUILD_TYPE = "Release",
    CMAKE_INSTALL_PREFIX = "$(PREFIX)",
    XSSH_PYTHON = "OFF",
    XSSH_RUBY = "OFF",
    XSSH_LUA = "ON",
    XSSH_TESTS = "OFF",
    XSSH_LUA_CMOD = "$(LIBDIR)",
    XSSH_LUA_LMOD = "$(LUADIR)",
  },
}
test_dependencies = {
  "busted",
}
test = {
  type = "busted",
  flags = { "tests/bindings/lua" },
}
