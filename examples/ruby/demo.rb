# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

# xssh demo (Ruby): connect (host key verified), authenticate, run
# `echo me; exit 2`, print the output and the exit status.
#
# Reads the server from XSSH_TEST_* variables (scripts/demo.sh sets them) or ARGV:
#   ruby -I build/ruby -I bindings/ruby/lib examples/ruby/demo.rb HOST PORT USER KEY KNOWN_HOSTS
require 'xssh'

if ARGV.size >= 5
  host, port, user, key, known_hosts = ARGV
else
  host, port, user, key, known_hosts =
    ENV.values_at('XSSH_TEST_HOST', 'XSSH_TEST_PORT', 'XSSH_TEST_USER', 'XSSH_TEST_KEY_ED25519', 'XSSH_TEST_KNOWN_HOSTS')
end

puts "xssh #{Xssh::Native.version}"
begin
  Xssh.connect(host, port: Integer(port), user: user, key: key, known_hosts: known_hosts) do |s|
    puts "host key #{s.hostkey_fingerprint} verified; authenticated as #{user}"
    r = s.run('echo me; exit 2')
    puts "stdout: #{r.stdout.chomp} | exit status: #{r.exit_status}"
  end
rescue Xssh::Error => e
  # class, symbolic name, detailed message
  warn "failed: #{e.class}: #{e.message} [#{e.name}]"
  exit 1
end
