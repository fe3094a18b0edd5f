# SPDX-License-Identifier: BSD-3-Clause
# net-ssh / net-sftp peer client for bench/run (same flow as libssh2_client.c; see there).
# Host key checked against $BENCH_KNOWN_HOSTS (verify_host_key: :always), only the
# ed25519 key $BENCH_KEY, no agent, no ssh_config.
begin
  require 'net/ssh'
rescue LoadError => e
  warn "SKIP: #{e.message}"
  exit 77
end

HOST = ENV.fetch('BENCH_HOST')
PORT = Integer(ENV.fetch('BENCH_PORT'))
USER = ENV.fetch('BENCH_USER')
KEY = ENV.fetch('BENCH_KEY')
KH = ENV.fetch('BENCH_KNOWN_HOSTS')

def connect
  Net::SSH.start(HOST, USER, port: PORT, keys: [KEY], keys_only: true, use_agent: false, config: false,
                             user_known_hosts_file: KH, global_known_hosts_file: '/dev/null',
                             verify_host_key: :always, non_interactive: true)
end

def run(ssh, cmd)
  out = +''
  status = nil
  ch = ssh.open_channel do |c|
    c.exec(cmd) do |_, ok|
      raise "exec failed: #{cmd}" unless ok
      c.on_data { |_, data| out << data }
      c.on_request('exit-status') { |_, data| status = data.read_long }
    end
  end
  ch.wait
  [out, status]
end

def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)
def cpu = Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID)
def rss_kib = File.foreach('/proc/self/status').find { |l| l.start_with?('VmRSS:') }.split[1].to_i

w = ARGV[0]
a = ARGV[1..]
case w
when 'echo'
  ssh = connect
  out, status = run(ssh, a[0])
  $stdout.write(out)
  $stdout.flush
  ssh.close
  exit status
when 'exec'
  n = Integer(a[0])
  ssh = connect
  ok = 0
  t0 = now
  c0 = cpu
  n.times do |i|
    out, status = run(ssh, "echo #{i}")
    ok += 1 if status.zero? && out == "#{i}\n"
  end
  puts format('BENCH ok=%d loop_s=%.6f loop_cpu_s=%.6f', ok, now - t0, cpu - c0)
  ssh.close
when 'sftp_get', 'sftp_put'
  begin
    require 'net/sftp'
  rescue LoadError => e
    warn "SKIP: #{e.message}"
    exit 77
  end
  ssh = connect
  t0 = now
  sftp = Net::SFTP::Session.new(ssh).connect!
  if w == 'sftp_get'
    sftp.download!(a[0], a[1])
  else
    sftp.upload!(a[0], a[1])
  end
  sftp.close_channel
  puts format('BENCH xfer_s=%.6f', now - t0)
  ssh.close
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
  ss.each(&:close)
else
  abort "netssh_client: unknown workload #{w}"
end
