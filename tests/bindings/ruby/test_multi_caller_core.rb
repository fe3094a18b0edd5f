# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

require_relative 'xssh_test_helper'

# Xssh::Native.multi_op_set_caller (xssh_multi_op_opts.caller): what the user called names the
# add errors and the result messages of failed ops; the class and code stay; setting again
# replaces it, nil or "" clears it. No timing: a command that waits forever ends by its timeout.
class TestMultiCallerCore < Minitest::Test
  T = XsshTest
  N = Xssh::Native
  X = 'Xssh::Session#run'

  def opts(timeout_ms = 0)
    N.multi_op_options(0, 0, timeout_ms, 0, 0, 0, 0, 0, 0, nil)
  end

  def bad_host_message(mul, opt)
    op = mul.add_connect('@@@', nil, opt)
    mul.perform_all(60_000)
    op.result_swig[2]
  end

  def test_set_replaced_cleared
    m = Xssh::Multi.new
    o = opts
    plain = bad_host_message(m, o)
    assert plain.start_with?("host '@@@'"), plain
    N.multi_op_set_caller(o, X)
    assert_equal "#{X}: #{plain}", bad_host_message(m, o)
    e = assert_raises(Xssh::InvalidArgumentError) { m.add_host_run('h', nil, nil, o) }
    assert_equal "#{X}: invalid argument: command is NULL", e.message
    N.multi_op_set_caller(o, 'other')
    assert_equal "other: #{plain}", bad_host_message(m, o)
    N.multi_op_set_caller(o, nil)
    assert_equal plain, bad_host_message(m, o)
    e = assert_raises(Xssh::InvalidArgumentError) { m.add_host_run('h', nil, nil, o) }
    assert_equal 'xssh_multi_add_host_run: invalid argument: command is NULL', e.message
    N.multi_op_set_caller(o, X)
    N.multi_op_set_caller(o, '')
    assert_equal plain, bad_host_message(m, o)
  end

  def test_timeout_named
    s = T.connect
    m = Xssh::Multi.new
    o = opts(300)
    N.multi_op_set_caller(o, X)
    op = m.add_run(s, 'exec sleep 3600', o)
    m.perform_all(-1)
    r = op.result_swig
    assert_equal N::XSSH_ETIMEOUT, r[0]
    assert r[2].start_with?("#{X}: run 'exec sleep 3600': timed out"), r[2]
  ensure
    s&.finish
  end
end
