#!/usr/bin/env bash
# Run a Criterion test binary under valgrind and fail if ANY process (Criterion
# forks one per test; an error there does not change the runner's exit code)
# reports a memory error or a definite leak. Python helpers the tests start
# (tests/harness/*.py fake servers) are not traced.
#   valgrind.sh SUPPRESSIONS BINARY [args...]
set -u
supp=$1; shift
logdir=$(mktemp -d /tmp/xssh-vg.XXXXXX)
# servers, OpenSSH tools and fake servers (python) a test starts are not ours
# (and sshd cannot lower its limits under valgrind)
valgrind --trace-children=yes --trace-children-skip="*/sshd,*/ssh,*/ssh-keygen,*/ssh-keyscan,*/ssh-agent,*/ssh-add,*python*" --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
  --suppressions="$supp" --log-file="$logdir/vg.%p.log" "$@"
rc=$?
bad=$(grep -l -E "ERROR SUMMARY: [1-9]" "$logdir"/vg.*.log 2>/dev/null)
if [ -n "$bad" ]; then
  for f in $bad; do echo "==== $f"; cat "$f"; done
  rm -rf "$logdir"
  echo "valgrind: errors or definite leaks in $(echo "$bad" | wc -l) process(es)"
  exit 1
fi
n=$(ls "$logdir" | wc -l)
rm -rf "$logdir"
echo "valgrind: $n processes clean"
exit $rc
