# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

require 'open3'
require 'rbconfig'
require_relative 'xssh_test_helper'

# The Ruby examples of examples/ruby run against the test sshd, as a user would
# run them (a child ruby with this process's load path).
class TestExamples < Minitest::Test
  T = XsshTest
  EXAMPLES = File.expand_path('../../../examples/ruby', __dir__)

  def ruby_cmd(script, *args)
    [RbConfig.ruby, *$LOAD_PATH.flat_map { |d| ['-I', d] }, File.join(EXAMPLES, script), *args.map(&:to_s)]
  end

  def test_proxyjump_example
    out, err, st = Open3.capture3(*ruby_cmd('proxyjump.rb', "#{T::HOST}:#{T::PORT}", T::HOST, T::PORT, T::USER,
                                            T::KEY, T::KNOWN_HOSTS, 'echo far; exit 3'))
    assert_equal "far\n", out, err
    assert_equal 3, st.exitstatus
    empty = T.tmppath('kh')
    File.write(empty, '')
    _, err, st = Open3.capture3(*ruby_cmd('proxyjump.rb', "#{T::HOST}:#{T::PORT}", T::HOST, T::PORT, T::USER,
                                          T::KEY, empty))
    assert_equal 255, st.exitstatus
    assert_includes err, 'KnownHostCheckNotFoundError'
  end

  def test_local_forward_example
    Open3.popen3(*ruby_cmd('local_forward.rb', T::HOST, T::PORT, T::USER, T::KEY, T::KNOWN_HOSTS,
                           '127.0.0.1', T::PORT, 2)) do |_in, out, err, wait|
      line = out.gets
      refute_nil line, -> { err.read }
      port = Integer(line[/127\.0\.0\.1:(\d+)/, 1])
      banner = Socket.tcp('127.0.0.1', port) { |c| c.gets }
      assert_match(/\ASSH-2\.0-/, banner)
      rest = out.read
      assert_equal 0, wait.value.exitstatus, err.read
      assert_match(/accepted.{1,4}1/, rest)
    end
  end
end
