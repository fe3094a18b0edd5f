#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Parallel OpenSSH `ssh` processes, fanout workload of bench/run (bench/fanout.py):
#   openssh_fanout.sh xargs|pssh fanout HOSTSFILE KEY KNOWN_HOSTS
# xargs: `xargs -P <hosts>`: one `ssh ... true` per host, all at once.
# pssh:  Debian's parallel-ssh (package pssh) with -p <hosts>.
# Same ssh options for both: no config file, BatchMode, the key only, strict host keys
# against KNOWN_HOSTS. Prints `BENCH ok=<hosts that exited 0> run_s=<s>`; exit 1 if any failed.
mode=$1; hf=$3; key=$4; kh=$5
[ "$2" = fanout ] && [ -n "$kh" ] || { echo "usage: $0 xargs|pssh fanout HOSTSFILE KEY KNOWN_HOSTS" >&2; exit 2; }
n=$(grep -c . "$hf")
out=$(mktemp -d "${TMPDIR:-/tmp}/fanout.XXXXXX") || exit 1
trap 'rm -rf "$out"' EXIT
opts="-F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o IdentityAgent=none -o ConnectTimeout=120
 -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$kh -o GlobalKnownHostsFile=/dev/null -i $key"
t0=$(date +%s.%N)
case $mode in
xargs)
  # each line user@127.0.0.1:port -> ssh -p port user@127.0.0.1 true; a marker file per success
  sed 's/^\(.*\):\([0-9]*\)$/\2 \1/' "$hf" |
    xargs -P "$n" -L 1 sh -c 'ssh '"$(echo $opts)"' -p "$0" "$1" true && touch "'"$out"'/$0"'
  ;;
pssh)
  PSSH=$(command -v parallel-ssh || command -v pssh) || { echo "SKIP: parallel-ssh not installed (apt-get install pssh)" >&2; exit 77; }
  # pssh's host syntax is [user@]host[:port]: the file is used as it is; -x: ssh arguments
  "$PSSH" -h "$hf" -p "$n" -t 300 -x "$(echo $opts)" true >"$out/pssh.log" 2>&1
  for h in $(sed -n 's/.*\[SUCCESS\] \([^ ]*\).*/\1/p' "$out/pssh.log"); do touch "$out/ok.$h"; done
  ;;
*) echo "unknown mode $mode" >&2; exit 2;;
esac
t1=$(date +%s.%N)
ok=$(ls "$out" | grep -vc '^pssh.log$')
[ "$ok" = "$n" ] || { echo "$((n - ok)) of $n hosts failed" >&2; [ -f "$out/pssh.log" ] && grep -v SUCCESS "$out/pssh.log" | head -5 >&2; }
echo "BENCH ok=$ok run_s=$(awk "BEGIN { printf \"%.4f\", $t1 - $t0 }")"
[ "$ok" = "$n" ]
