# SPDX-License-Identifier: BSD-3-Clause
# xssh from Ruby, fanout workload of bench/run (bench/fanout.py):
#   ruby xssh_fanout.rb fanout HOSTSFILE KEY KNOWN_HOSTS
# Xssh.run_many(hosts, 'true', ...): every host at once from one thread (the loop in C,
# the GVL released); host keys checked strictly against KNOWN_HOSTS, Ed25519 KEY.
# Prints `BENCH ok=<hosts whose true exited 0> run_s=<s> rss0_kib=<RSS before>`; exit 1 if
# any failed; exits 77 with "SKIP: reason" when Xssh.run_many is not there.
begin
  require 'xssh'
rescue LoadError => e
  warn "SKIP: xssh Ruby library not loadable: #{e.message.lines.first}"
  exit 77
end
unless Xssh.respond_to?(:run_many)
  warn 'SKIP: Xssh.run_many not built yet (branch manybind)'
  exit 77
end
_, hf, key, kh = ARGV
hosts = File.readlines(hf, chomp: true).reject { |l| l.strip.empty? }
rss0 = File.read('/proc/self/status')[/^VmRSS:\s*(\d+)/, 1].to_i
t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
results = Xssh.run_many(hosts, 'true', key: key, known_hosts: kh, max_running: 0,
                                       connect_timeout: 120, timeout: 120)
t1 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
ok = 0
first = nil
hosts.each_with_index do |h, i|
  r = results[i]
  good = r && (r.respond_to?(:ok?) ? r.ok? : true) && r.exit_status.zero? && !r.error
  if good
    ok += 1
  else
    first ||= "#{h}: #{r.inspect}"
  end
end
warn "#{hosts.size - ok} of #{hosts.size} hosts failed; first: #{first}" if first
puts format('BENCH ok=%d run_s=%.4f rss0_kib=%d', ok, t1 - t0, rss0)
exit(ok == hosts.size ? 0 : 1)
