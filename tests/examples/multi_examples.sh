#!/bin/bash
# Runs examples/c/fanout and examples/c/epoll_loop against the many-hosts fixture
# (tests/harness/many_hosts.py): every good host answers, a refused port and an
# unknown host key are reported with their phase, the exit status says so.
# usage: multi_examples.sh FANOUT EPOLL_LOOP [WRAPPER...]
set -u
fanout=$1 epoll=$2
shift 2
wrap=("$@")
env_sh=$(dirname "$XSSH_MANY_HOSTS_ENV")/hosts.sh
. "$env_sh"
fail() { echo "FAIL: $*"; exit 1; }
opts=(-o "IdentityFile=$XSSH_MANY_KEY" -o IdentitiesOnly=yes -o IdentityAgent=none
      -o "UserKnownHostsFile=$XSSH_MANY_KNOWN_HOSTS" -o GlobalKnownHostsFile=/dev/null
      -o StrictHostKeyChecking=yes -o BatchMode=yes)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
read -r -a good <<<"$XSSH_MANY_GOOD"
read -r -a refused <<<"$XSSH_MANY_REFUSED"

# fanout, hosts from a file: all good -> exit 0, one "exit 0" line per host, output prefixed
printf '%s\n' "# the many-hosts fixture" "${good[@]}" >"$tmp/hosts"
"${wrap[@]}" "$fanout" -f "$tmp/hosts" "${opts[@]}" -p 20 -- 'echo hi-$((40+2))' >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 0 ] || { cat "$tmp/out"; fail "fanout on good hosts exited $rc"; }
[ "$(grep -c ': exit 0$' "$tmp/out")" -eq "${#good[@]}" ] || { cat "$tmp/out"; fail "fanout: not one 'exit 0' per host"; }
[ "$(grep -c ' out: hi-42$' "$tmp/out")" -eq "${#good[@]}" ] || { cat "$tmp/out"; fail "fanout: output missing"; }
grep -q "^${#good[@]} hosts, 0 failed$" "$tmp/out" || fail "fanout: summary"

# fanout, hosts from argv, mixed: non-zero exit, refused port, unknown host key -> exit 1
"${wrap[@]}" "$fanout" "${opts[@]}" -- 'exit 3' "${good[0]}" "${refused[0]}" "$XSSH_MANY_UNKNOWN_HOSTKEY" >"$tmp/out2" 2>&1
rc=$?
[ $rc -eq 1 ] || { cat "$tmp/out2"; fail "fanout on mixed hosts exited $rc"; }
grep -q "^${good[0]}: exit 3$" "$tmp/out2" || { cat "$tmp/out2"; fail "fanout: exit 3 not reported"; }
grep -q "^${refused[0]}: FAILED in connect: .*refused" "$tmp/out2" || { cat "$tmp/out2"; fail "fanout: refused"; }
grep -q "^$XSSH_MANY_UNKNOWN_HOSTKEY: FAILED in hostkey: " "$tmp/out2" || { cat "$tmp/out2"; fail "fanout: host key"; }
"${wrap[@]}" "$fanout" -- 2>/dev/null; [ $? -eq 2 ] || fail "fanout: usage error is not exit 2"

# epoll_loop: 20 good hosts from a caller's epoll loop
"${wrap[@]}" "$epoll" "${opts[@]}" -- 'echo via-epoll' "${good[@]:0:20}" >"$tmp/out3" 2>&1
rc=$?
[ $rc -eq 0 ] || { cat "$tmp/out3"; fail "epoll_loop exited $rc"; }
[ "$(grep -c ': exit 0: via-epoll$' "$tmp/out3")" -eq 20 ] || { cat "$tmp/out3"; fail "epoll_loop: results"; }
"${wrap[@]}" "$epoll" "${opts[@]}" -- 'true' "${refused[0]}" >"$tmp/out4" 2>&1
[ $? -eq 1 ] || { cat "$tmp/out4"; fail "epoll_loop on a refused port"; }
grep -q "FAILED in connect" "$tmp/out4" || { cat "$tmp/out4"; fail "epoll_loop: refused not reported"; }
echo "multi examples: ok"
