# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

# ssh -L in Ruby: forward a free local port to DEST_HOST:DEST_PORT through the server.
#
#   ruby -I build/ruby -I bindings/ruby/lib examples/ruby/local_forward.rb \
#        HOST PORT USER KEY KNOWN_HOSTS DEST_HOST DEST_PORT [SECONDS]
require 'xssh'

if ARGV.size < 7
  warn "usage: #{$PROGRAM_NAME} HOST PORT USER KEY KNOWN_HOSTS DEST_HOST DEST_PORT [SECONDS]"
  exit 2
end
host, port, user, key, known_hosts, dest_host, dest_port = ARGV[0, 7]
seconds = Integer(ARGV[7] || 30)
begin
  Xssh.connect(host, port: Integer(port), user: user, key: key, known_hosts: known_hosts) do |s|
    # the forward runs on a thread inside the library; the block form stops it at the end
    s.forward_local('127.0.0.1', 0, dest_host, Integer(dest_port)) do |fwd|
      puts "forwarding 127.0.0.1:#{fwd.port} -> #{dest_host}:#{dest_port} for #{seconds} s"
      $stdout.flush
      sleep seconds
      puts fwd.stats.to_h
    end
  end
rescue Xssh::Error => e
  warn "failed: #{e.class}: #{e.message} [#{e.name}]"
  exit 1
end
