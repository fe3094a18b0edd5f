# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

# ssh -J in Ruby: run a command on TARGET through JUMP, every host key checked (strict).
#
#   ruby -I build/ruby -I bindings/ruby/lib examples/ruby/proxyjump.rb \
#        JUMP_HOST:JUMP_PORT TARGET_HOST TARGET_PORT USER KEY KNOWN_HOSTS [COMMAND]
require 'xssh'

if ARGV.size < 6
  warn "usage: #{$PROGRAM_NAME} JUMP_HOST:JUMP_PORT TARGET_HOST TARGET_PORT USER KEY KNOWN_HOSTS [COMMAND]"
  exit 2
end
jump, target_host, target_port, user, key, known_hosts = ARGV[0, 6]
command = ARGV[6] || 'echo hello from the far side'
begin
  status = Xssh.connect(target_host, port: Integer(target_port), user: user, key: key, known_hosts: known_hosts,
                                     proxy_jump: [jump]) do |s|
    r = s.run(command)
    $stdout.write(r.stdout)
    r.exit_status
  end
  exit(status || 255)
rescue Xssh::Error => e
  warn "failed: #{e.class}: #{e.message} [#{e.name}]"
  exit 255
end
