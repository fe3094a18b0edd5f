#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The many-hosts fixture (tests/harness/many_hosts.py, ctest fixture sshd_many) checked with
# OpenSSH's own ssh client: each kind of host gives its outcome, and all the good hosts
# serve a session at the same time (a barrier only passes when every command runs at once:
# no timing involved; the loop's bound only turns a hang into a failure).
set -u
: "${XSSH_MANY_HOSTS_ENV:?run through ctest (fixture sshd_many)}"
# shellcheck disable=SC1090
. "${XSSH_MANY_HOSTS_ENV%.env}.sh"
fail=0
bad() { echo "FAIL: $*"; fail=1; }
O=(-F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes
   -o UserKnownHostsFile="$XSSH_MANY_KNOWN_HOSTS" -o ConnectTimeout=60)
# one user@127.0.0.1:port [ssh args...]
one() { local hp=$1; shift; ssh "${O[@]}" -p "${hp##*:}" "${hp%:*}" "$@"; }

read -r -a GOOD <<<"$XSSH_MANY_GOOD"
read -r -a REFUSED <<<"$XSSH_MANY_REFUSED"
N=${#GOOD[@]}
[ "$N" -ge 50 ] || bad "expected >= 50 good hosts, got $N"
[ ${#REFUSED[@]} -ge 1 ] || bad "no refused host"
[ -n "$XSSH_MANY_UNKNOWN_HOSTKEY" ] || bad "no unknown-host-key host"
[ -n "$XSSH_MANY_MISMATCH_HOSTKEY" ] || bad "no mismatching-host-key host"
python3 - "$XSSH_MANY_HOSTS" "$XSSH_MANY_GOOD" <<'EOF' || bad "hosts.json and hosts.env disagree"
import json, sys
d = json.load(open(sys.argv[1]))
assert " ".join(d["hosts"]) == sys.argv[2]
assert len(set(d["hosts"])) == len(d["hosts"]) and d["key"] and d["wrong_key"] and d["scratch_dir"]
EOF

# success, exit status, which port served it
out=$(one "${GOOD[0]}" -i "$XSSH_MANY_KEY" 'echo ${SSH_CONNECTION##* }; exit 3'); rc=$?
[ "$rc" = 3 ] || bad "exit status: got $rc, want 3"
[ "$out" = "${GOOD[0]##*:}" ] || bad "served by port '$out', want ${GOOD[0]##*:}"
# unknown host key, changed host key, refused, wrong key: refused by ssh (255) with its reason
e=$(one "$XSSH_MANY_UNKNOWN_HOSTKEY" -i "$XSSH_MANY_KEY" true 2>&1); rc=$?
[ "$rc" = 255 ] && grep -q "No ED25519 host key is known" <<<"$e" || bad "unknown host key: rc $rc: $e"
e=$(one "$XSSH_MANY_MISMATCH_HOSTKEY" -i "$XSSH_MANY_KEY" true 2>&1); rc=$?
[ "$rc" = 255 ] && grep -q "HOST IDENTIFICATION HAS CHANGED" <<<"$e" || bad "changed host key: rc $rc"
for r in "${REFUSED[@]}"; do
  e=$(one "$r" -i "$XSSH_MANY_KEY" true 2>&1); rc=$?
  [ "$rc" = 255 ] && grep -q "Connection refused" <<<"$e" || bad "refused $r: rc $rc: $e"
done
e=$(one "${GOOD[1]}" -i "$XSSH_MANY_WRONG_KEY" true 2>&1); rc=$?
[ "$rc" = 255 ] && grep -q "Permission denied" <<<"$e" || bad "wrong key: rc $rc: $e"

# every good host at once: each command waits until all N have started
B=$(mktemp -d "$XSSH_MANY_SCRATCH/barrier.XXXXXX")
chmod 777 "$B"
pids=()
for h in "${GOOD[@]}"; do
  one "$h" -i "$XSSH_MANY_KEY" \
    "touch $B/\${SSH_CONNECTION##* }; i=0; while [ \$(ls $B | wc -l) -lt $N ]; do i=\$((i+1)); [ \$i -gt 1500 ] && exit 9; sleep 0.2; done; echo ok" \
    >"$B.out.${h##*:}" 2>&1 &
  pids+=($!)
done
i=0
for p in "${pids[@]}"; do
  wait "$p"; rc=$?
  [ "$rc" = 0 ] || bad "barrier on ${GOOD[$i]}: rc $rc: $(cat "$B.out.${GOOD[$i]##*:}")"
  i=$((i+1))
done
rm -rf "$B" "$B".out.*
[ "$fail" = 0 ] && echo "many-hosts fixture: $N good hosts at once, every outcome as described"
exit $fail
