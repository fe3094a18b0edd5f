# SPDX-License-Identifier: BSD-3-Clause
# xssh from Ruby, for bench/run (same flow and usage as libssh2_client.c):
# Xssh.connect (host key checked strictly against $BENCH_KNOWN_HOSTS, ed25519
# key $BENCH_KEY), then ssh2-python-style channels (open_session / execute /
# read / close / wait_closed / get_exit_status).
# A workload whose API xssh does not have (yet) exits 77 with "SKIP: reason".
begin
  require 'xssh'
rescue LoadError => e
  warn "SKIP: xssh Ruby library not loadable: #{e.message.lines.first}"
  exit 77
end

HOST = ENV.fetch('BENCH_HOST')
PORT = Integer(ENV.fetch('BENCH_PORT'))
USER = ENV.fetch('BENCH_USER')
KEY = ENV.fetch('BENCH_KEY')
KH = ENV.fetch('BENCH_KNOWN_HOSTS')
READ = 65_536

def skip(why)
  warn "SKIP: #{why}"
  exit 77
end

def need(obj, what, *names)
  names.each { |n| skip("xssh Ruby API lacks #{what}##{n}") unless obj.respond_to?(n) }
end

def connect = Xssh.connect(HOST, port: PORT, user: USER, key: KEY, known_hosts: KH)

# read to EOF; accepts read returning [size, data] as ssh2-python does, or the data alone
def run(s, cmd)
  ch = s.open_session
  ch.execute(cmd)
  out = +''
  loop do
    r = ch.read(READ)
    data = r.is_a?(Array) ? r[1] : r
    raise "read returned #{r[0]}" if r.is_a?(Array) && r[0].is_a?(Integer) && r[0].negative?
    break if data.nil? || data.empty?

    out << data
  end
  ch.close
  ch.wait_closed
  [out, ch.get_exit_status]
end

# obj.method(src, dst); while the bindings settle, also the shapes with the progress callback
# (and its user data) first, as swig/sftp.i declares it
def transfer(obj, method, src, dst)
  nils = 0
  begin
    obj.public_send(method, *([nil] * nils), src, dst)
  rescue ArgumentError => e
    raise unless e.message.include?('arguments') && nils < 2

    nils += 1
    retry
  end
end

def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)
def cpu = Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID)
def rss_kib = File.foreach('/proc/self/status').find { |l| l.start_with?('VmRSS:') }.split[1].to_i

w = ARGV[0]
a = ARGV[1..]
case w
when 'scp_get', 'scp_put'
  s = connect
  need(s, 'Session', w.to_sym)
  t0 = now
  transfer(s, w, a[0], a[1])
  puts format('BENCH xfer_s=%.6f', now - t0)
  s.disconnect
when 'sftp_get', 'sftp_put'
  s = connect
  need(s, 'Session', :sftp_init)
  t0 = now
  sftp = s.sftp_init
  op = w == 'sftp_get' ? :get : :put
  need(sftp, 'SFTP', op)
  transfer(sftp, op, a[0], a[1])
  puts format('BENCH xfer_s=%.6f', now - t0)
  s.disconnect
when 'memory'
  n = Integer(a[0])
  rss1 = 0
  ss = (0...n).map do |i|
    s = connect
    rss1 = rss_kib if i.zero?
    s
  end
  rssn = rss_kib
  puts format('BENCH sessions=%d rss1_kib=%d rssn_kib=%d per_session_kib=%.1f', ss.size, rss1, rssn,
              (rssn - rss1).to_f / [1, n - 1].max)
  ss.each(&:disconnect)
when 'echo', 'exec'
  s = connect
  need(s, 'Session', :open_session)
  if w == 'echo'
    out, status = run(s, a[0])
    $stdout.write(out)
    $stdout.flush
    s.disconnect
    exit status
  end
  n = Integer(a[0])
  ok = 0
  t0 = now
  c0 = cpu
  n.times do |i|
    out, status = run(s, "echo #{i}")
    ok += 1 if status.zero? && out == "#{i}\n"
  end
  puts format('BENCH ok=%d loop_s=%.6f loop_cpu_s=%.6f', ok, now - t0, cpu - c0)
  s.disconnect
else
  abort "xssh_client.rb: unknown workload #{w}"
end
