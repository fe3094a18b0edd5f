# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

require_relative 'xssh_test_helper'

# KnownHost (the collection) and KnownHostEntry against the server's real key.
class TestKnownHost < Minitest::Test
  T = XsshTest
  KEYTYPE = Xssh::KNOWNHOST_TYPE_PLAIN | Xssh::KNOWNHOST_KEYENC_RAW | Xssh::KNOWNHOST_KEY_ED25519

  def setup
    @s = T.session
    @key, = @s.hostkey
    @kh = @s.knownhost_init
  end

  def test_readfile_entries_and_check
    assert_kind_of Xssh::KnownHost, @kh
    n = @kh.readfile(T::KNOWN_HOSTS)
    assert_operator n, :>=, 1
    assert_equal n, @kh.count
    entries = @kh.to_a
    assert_equal n, entries.size
    assert(entries.all? { |e| e.is_a?(Xssh::KnownHostEntry) })
    assert_includes entries.map(&:name), "[#{T::HOST}]:#{T::PORT}"
    entry = @kh.checkp(T::HOST, T::PORT, @key, KEYTYPE)
    assert_kind_of Xssh::KnownHostEntry, entry
    assert_equal "[#{T::HOST}]:#{T::PORT}", entry.name
    assert_equal Xssh::KNOWNHOST_KEY_ED25519, entry.typemask & Xssh::KNOWNHOST_KEY_MASK
  end

  def test_check_not_found_and_mismatch
    assert_raises(Xssh::KnownHostCheckNotFoundError) { @kh.checkp(T::HOST, T::PORT, @key, KEYTYPE) }
    other = File.read("#{T::KEY_UNAUTHORIZED}.pub").split[1].unpack1('m')
    @kh.addc("[#{T::HOST}]:#{T::PORT}", other, KEYTYPE)
    e = assert_raises(Xssh::KnownHostCheckMisMatchError) { @kh.checkp(T::HOST, T::PORT, @key, KEYTYPE) }
    assert_kind_of Xssh::KnownHostCheckError, e
  end

  def test_add_write_read_delete
    entry = @kh.addc('example.test', @key, KEYTYPE, nil, 'a comment')
    assert_kind_of Xssh::KnownHostEntry, entry
    assert_equal 'example.test', entry.name
    assert_equal 1, @kh.count
    line = @kh.writeline(entry)
    assert_match(/\Aexample\.test ssh-ed25519 \S+/, line)
    path = T.tmppath('kh-write')
    @kh.writefile(path)
    assert_includes File.read(path), 'example.test ssh-ed25519'
    kh2 = @s.knownhost_init
    assert_equal 1, kh2.readfile(path)
    assert_equal 'example.test', kh2.entries.first.name
    kh2.readline("other.test #{File.read("#{T::KEY}.pub").split[0, 2].join(' ')}")
    assert_equal 2, kh2.count
    @kh.delete(entry)
    assert_equal 0, @kh.count
    assert_raises(Xssh::KnownHostReadLineError) { kh2.readline('host-without-a-key') }
  end

  def test_readfile_missing
    assert_raises(Xssh::KnownHostReadFileError) { @kh.readfile(File.join(T::DIR, 'no-such-known-hosts')) }
  end
end
