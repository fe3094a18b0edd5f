#!/usr/bin/env bash
# Build the libFuzzer targets of tests/fuzz with clang (-DXSSH_FUZZ=ON, ASan+UBSan)
# and fuzz each one for a bounded time. Fails on any crash, leak, timeout or
# sanitizer report; prints one summary line per target.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 30 s, every target)
#
# Each target starts from tests/fuzz/corpus/<target>/ and tests/fuzz/regressions/<target>/
# (read only); new inputs go to a scratch directory. A failing input is saved to
# $XSSH_FUZZ_BUILD/fuzz-artifacts/<target>/ (crash-*, leak-*, timeout-*, oom-*):
# once fixed, copy it into tests/fuzz/regressions/<target>/, where ctest's
# fuzz_replay_<target> runs it in every build.
# Environment: XSSH_FUZZ_BUILD (build dir, default build-fuzz), XSSH_FUZZ_JOBS (build jobs).
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
shift || true
case "$secs" in ''|*[!0-9]*) echo "fuzz.sh: SECONDS_PER_TARGET must be a number" >&2; exit 2 ;; esac

have_libfuzzer() {
  command -v clang >/dev/null 2>&1 && ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1
}
if ! have_libfuzzer; then
  # Debian's clang; libFuzzer's runtime is in libclang-rt-dev
  if [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang libclang-rt-dev >/dev/null ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang libclang-rt-dev >/dev/null; }
  fi
  have_libfuzzer || { echo "fuzz.sh: needs clang and libFuzzer (apt-get install clang libclang-rt-dev)" >&2; exit 2; }
fi

B=${XSSH_FUZZ_BUILD:-build-fuzz}
CC=clang cmake -S . -B "$B" -DXSSH_FUZZ=ON -DXSSH_PYTHON=OFF -DXSSH_LUA=OFF -DXSSH_RUBY=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 1
cmake --build "$B" --target fuzz_all -j"${XSSH_FUZZ_JOBS:-2}" >"$B/fuzz-build.log" 2>&1 ||
  { cat "$B/fuzz-build.log"; echo "fuzz.sh: build failed" >&2; exit 1; }

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.c; do t=${f##*/fuzz_}; targets+=("${t%.c}"); done
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1:fast_unwind_on_malloc=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0}
failed=0
summary=()
for t in "${targets[@]}"; do
  bin="$B/tests/fuzz/fuzz_$t"
  [ -x "$bin" ] || { echo "fuzz.sh: no target $t" >&2; failed=1; continue; }
  art="$B/fuzz-artifacts/$t"
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/xssh-fuzz-$t.XXXXXX")
  mkdir -p "$art"
  log="$B/fuzz-$t.log"
  dirs=("$scratch")
  for d in tests/fuzz/corpus/"$t" tests/fuzz/regressions/"$t"; do [ -d "$d" ] && dirs+=("$d"); done
  maxlen=8192
  [ "$t" = session ] && maxlen=16384 # the identification preamble's limits need > 8 KiB
  "$bin" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2560 -max_len=$maxlen -print_final_stats=1 \
    -artifact_prefix="$art/" "${dirs[@]}" >"$log" 2>&1
  rc=$?
  rm -rf "$scratch"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  found=$(ls "$art" 2>/dev/null | wc -l)
  status=OK
  if [ $rc -ne 0 ] || [ "$found" -ne 0 ]; then
    status="FAILED (exit $rc; see $log)"
    failed=1
    grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz check failed|.*runtime error)' "$log" | head -5
  fi
  line=$(printf 'fuzz %-18s %8s execs %6s/s  cov %-5s ft %-5s crashes %s  %s' "$t" "${execs:-?}" "${rate:-?}" \
    "${cov:-?}" "${ft:-?}" "$found" "$status")
  echo "$line"
  summary+=("$line")
done
n_ok=$(printf '%s\n' "${summary[@]}" | grep -c ' OK$' || true)
n_bad=$(( ${#targets[@]} - n_ok ))
echo "fuzz: $n_ok passed, $n_bad failed"
exit $failed
