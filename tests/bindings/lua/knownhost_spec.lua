-- SPDX-License-Identifier: BSD-3-Clause
-- KnownHost (collection) and KnownHostEntry through the Lua module.
local xssh = require "xssh"
local E = require "xssh_test_env"

describe("KnownHost", function()
  it("reads the harness file and lists entries", function()
    local s <close> = E.session()
    local kh = s:knownhost_init()
    local n = kh:readfile(E.known_hosts)
    assert.equal("integer", math.type(n))
    assert.truthy(n > 0)
    assert.equal(n, kh:count())
    local entries = kh:get()
    assert.equal(n, #entries)
    local want = string.format("[%s]:%d", E.host, E.port)
    local found = false
    for _, e in ipairs(entries) do
      assert.equal("string", type(e:key()))
      assert.equal("integer", math.type(e:typemask()))
      assert.equal("integer", math.type(e:magic()))
      if e:name() == want then found = true end
    end
    assert.is_true(found)
    assert.equal(entries[1]:name(), kh:get(0):name())
    -- past the end: an error object
    local err = E.fails(kh.get, kh, n + 10)
    assert.is_true(xssh.is_error(err))
  end)

  it("addc, checkp (match, mismatch, unknown), writeline, writefile, delete, readline", function()
    local s <close> = E.session()
    local key = s:hostkey()
    local kh = s:knownhost_init()
    local mask = xssh.LIBSSH2_KNOWNHOST_TYPE_PLAIN | xssh.LIBSSH2_KNOWNHOST_KEYENC_RAW
                 | xssh.LIBSSH2_KNOWNHOST_KEY_ED25519
    local added = kh:addc("myhost.example", key, mask, nil, "a comment")
    assert.equal("myhost.example", added:name())
    assert.equal(1, kh:count())
    local entry = kh:checkp("myhost.example", 22, key, mask)
    assert.equal("myhost.example", entry:name())
    -- a different key of the same type: binary string with one byte flipped
    local other = key:sub(1, -2) .. string.char(key:byte(-1) ~ 0x5a)
    local err = E.fails(kh.checkp, kh, "myhost.example", 22, other, mask)
    assert.equal("KnownHostCheckMisMatchError", err.class)
    assert.truthy(err.message:find("myhost.example", 1, true))
    err = E.fails(kh.checkp, kh, "unknown.example", 22, key, mask)
    assert.equal("KnownHostCheckNotFoundError", err.class)

    local line = kh:writeline(added)
    assert.truthy(line:find("^myhost%.example ssh%-ed25519 "))
    local d = E.tmpdir()
    kh:writefile(d .. "/kh")
    assert.truthy(E.read(d .. "/kh"):find("myhost.example", 1, true))

    kh:delete(added)
    assert.equal(0, kh:count())
    assert.equal(0, kh:readline(line))
    assert.equal(1, kh:count())
    assert.equal("KnownHostReadLineError", E.fails(kh.readline, kh, "garbage\0line").class)
    assert.equal("KnownHostReadFileError", E.fails(kh.readfile, kh, d .. "/missing").class)
  end)
end)
