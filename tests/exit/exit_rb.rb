# SPDX-License-Identifier: BSD-3-Clause
# frozen_string_literal: true

# exit_rb.rb MODE HELPER: every kind of xssh object alive, traffic flowing, then leave by MODE:
#
#   exit        exit 7: at_exit, then the finalisers of every object, then exit()
#   exit_bang   exit! 7: _exit at once (no at_exit, no finaliser, no atexit handler)
#   end         the script ends (exit code 0)
#   gc_exit     drop every object, parents first, GC, then exit 7
#   close_exit  close every session held, check no forward runs, then exit 7
#
# Alive: session S with channels mid-command (the helper's sink and stream), an SFTP handle,
# a listener, a local and a remote forward each carrying a live connection, a 2-hop ProxyJump
# chain S -> H2 -> T whose `cat /dev/zero` a Ruby thread reads, and a second target T2 through
# the same hops, disconnected (its hops live on). Setup failures exit 2. Reads $XSSH_TEST_ENV.
require 'xssh'

mode, helper = ARGV
env = File.readlines(ENV.fetch('XSSH_TEST_ENV'), chomp: true).filter_map { |l| l.split('=', 2) if l.include?('=') }.to_h
HOST = env['XSSH_TEST_HOST']
PORT = Integer(env['XSSH_TEST_PORT'])
USER = env['XSSH_TEST_USER']
KEY = env['XSSH_TEST_KEY_ED25519']
KH = env['XSSH_TEST_KNOWN_HOSTS']

def fail!(msg)
  warn "exit_rb: #{msg}"
  exit! 2
end

def hop(via = nil)
  s = Xssh::Session.new
  via ? s.connect_via(via, HOST, PORT, 30_000) : s.connect(HOST, PORT, 30_000)
  s.verify_host(HOST, PORT, Xssh::HOSTKEY_STRICT, KH)
  s.userauth_publickey_fromfile(USER, KEY, nil)
  s
end

def start(s, cmd)
  ch = s.open_session
  ch.execute(cmd)
  ch
end

def read_line(ch)
  line = +''
  until line.end_with?("\n")
    n, d = ch.read(1)
    fail!('the helper ended early') if n <= 0
    line << d
  end
  line
end

def wait_for(what)
  6000.times do # a condition the helper forces; bounded so a broken setup fails
    return if yield

    sleep 0.01
  end
  fail!("#{what} never happened")
end

def traffic(f)
  st = f.stats
  st.bytes_out + st.bytes_in > 0
end

$s = hop
$sink = start($s, "exec python3 #{helper} sink")
sink_port = Integer(read_line($sink))
$l = $s.forward_local('127.0.0.1', 0, '127.0.0.1', sink_port)
$r = $s.forward_remote('127.0.0.1', 0, '127.0.0.1', sink_port)
$listener = $s.forward_listen(0)
$streamer = start($s, "exec python3 #{helper} stream #{$l.port} #{$r.port}")
read_line($streamer)
$sftp = $s.sftp_init
$fh = $sftp.open(helper, Xssh::FXF_READ, 0)
h2 = hop($s)
$t = hop(h2)
$t2 = hop(h2)
h2 = nil # the chain keeps the hop alive
$zero = start($t, 'exec cat /dev/zero')
$streamed = 0
Thread.new(start($t, 'exec cat /dev/zero')) do |ch|
  loop do
    n, = ch.read(65_536)
    break if n <= 0

    $streamed += n
  end
rescue Xssh::Error
  nil # the session was closed under us: a clean error
end
$t2.disconnect # closed target, hops alive: the reported crash
wait_for('traffic through the local forward') { traffic($l) }
wait_for('traffic through the remote forward') { traffic($r) }
wait_for('traffic through the ProxyJump chain') { $streamed.positive? }

case mode
when 'exit' then exit 7
when 'exit_bang' then exit! 7
when 'end' then nil
when 'gc_exit'
  $s = $t = $t2 = $sftp = $l = $listener = $sink = $r = $fh = $streamer = $zero = nil
  GC.start
  exit 7
when 'close_exit'
  $t.close
  $s.disconnect
  if $l.is_running || $r.is_running
    warn 'exit_rb: a forward runs after its session was closed'
    exit! 97
  end
  exit 7
else fail!("unknown mode #{mode}")
end
