#!/usr/bin/env bash
# Build xssh and its C tests with sanitizers in a separate build directory and run
# them against the test sshd. Any sanitizer report, in any process (Criterion runs
# each test in a worker process), fails the run (tests/sanitize/run.sh).
#   scripts/sanitize.sh asan   ASan + LeakSanitizer + UBSan (-fno-sanitize-recover),
#                              every C test (ctest -L c)            -> build-asan/
#   scripts/sanitize.sh tsan   ThreadSanitizer, the C suites that start threads
#                              (ctest -L threads)                   -> build-tsan/
# Suppressions (each says whose problem it is): tests/sanitize/{lsan,ubsan,tsan}.supp.
# Extra arguments go to ctest, e.g. scripts/sanitize.sh tsan -R c_threads
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-}
shift || true
case $kind in
asan) dir=build-asan; san=address,undefined; label=c ;;
tsan) dir=build-tsan; san=thread; label=threads ;;
*) echo "usage: scripts/sanitize.sh asan|tsan [ctest args...]" >&2; exit 2 ;;
esac
start=$(date +%s)
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXSSH_SANITIZE=$san >/dev/null
cmake --build "$dir" -j"$(nproc)" >/dev/null
built=$(date +%s)
cd "$dir"
rc=0
ctest -j"$(nproc)" --output-on-failure --timeout 1500 -L "$label" "$@" || rc=$?
echo "sanitize.sh $kind: build $((built - start)) s, tests $(($(date +%s) - built)) s, exit $rc"
exit $rc
