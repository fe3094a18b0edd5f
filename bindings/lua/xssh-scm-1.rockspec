-- LuaRocks: from the repository root,
--   luarocks --lua-version=5.4 make bindings/lua/xssh-scm-1.rockspec            (system-wide, as root)
--   luarocks --lua-version=5.4 make --tree ~/lua bindings/lua/xssh-scm-1.rockspec  (a local tree;
--     then eval "$(luarocks --lua-version=5.4 path --tree ~/lua)")
-- (Debian's luarocks defaults to Lua 5.1: --lua-version=5.4 is required.)
-- CMake builds the SWIG module with the system's SWIG, libssh2 and OpenSSL and links
-- libxssh into it statically (XSSH_STATIC_MODULES): the rock holds xssh_core.so, the Lua
-- layer (xssh.lua) and the LuaCATS annotations (xssh_annotations.lua, generated from
-- the C headers' comments), nothing else.
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
    XSSH_EXAMPLES = "OFF",
    XSSH_STATIC_MODULES = "ON",
    XSSH_INSTALL_C = "OFF",
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
