#!/usr/bin/env bash
# Run a test program built with -DXSSH_SANITIZE=... and fail if ANY process it
# starts reports a sanitizer finding. Criterion runs each test in a worker
# process and a report there (or LeakSanitizer's at the worker's exit) need not
# change the runner's exit code, so every process writes its reports to its own
# file (log_path=DIR/KIND.PID) and any such file fails the run.
#   run.sh asan|tsan PROGRAM [args...]
set -u
kind=$1; shift
here=$(cd "$(dirname "$0")" && pwd)
logdir=$(mktemp -d /tmp/xssh-san.XXXXXX)
case $kind in
asan)
  # detect_leaks: LeakSanitizer at each process's exit; halt_on_error is ASan's default
  export ASAN_OPTIONS="log_path=$logdir/asan:detect_leaks=1:fast_unwind_on_malloc=0:malloc_context_size=30:strict_init_order=1:detect_stack_use_after_return=1:check_initialization_order=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
  export LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
  export UBSAN_OPTIONS="log_path=$logdir/ubsan:print_stacktrace=1:halt_on_error=1:suppressions=$here/ubsan.supp${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
  ;;
tsan)
  export TSAN_OPTIONS="log_path=$logdir/tsan:suppressions=$here/tsan.supp:second_deadlock_stack=1:history_size=4${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
  ;;
*)
  echo "run.sh: first argument must be asan or tsan" >&2
  exit 2
  ;;
esac
# Reports that a runtime prints to stderr anyway (UBSan inside an ASan build
# does) are caught in the program's own output.
"$@" 2>&1 | tee "$logdir/output"
rc=${PIPESTATUS[0]}
reports=$(cd "$logdir" && ls | grep -v '^output$')
printed=$(grep -c -E 'runtime error:|ERROR: (Address|Leak|Thread|UndefinedBehavior)Sanitizer|WARNING: ThreadSanitizer' "$logdir/output")
if [ -n "$reports" ] || [ "$printed" -gt 0 ]; then
  for f in $reports; do echo "==== $f"; cat "$logdir/$f"; done
  rm -rf "$logdir"
  echo "sanitizer ($kind): reports from $(echo "$reports" | grep -c .) process(es), $printed in the output"
  exit 1
fi
rm -rf "$logdir"
echo "sanitizer ($kind): no reports (exit $rc)"
exit $rc
