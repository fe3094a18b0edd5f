#!/usr/bin/env bash
# Run a fuzz target once over every input of the given directories (no fuzzing):
#   replay.sh [--valgrind SUPPRESSIONS]... TARGET DIR...
# A libFuzzer build (XSSH_FUZZ=ON) gets the files as arguments (it runs each
# once); a plain build's driver does the same. Missing directories are skipped.
set -u
vg=()
while [ "${1:-}" = "--valgrind" ]; do
  [ ${#vg[@]} -gt 0 ] || vg=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
                             --show-leak-kinds=definite -q)
  vg+=(--suppressions="$2")
  shift 2
done
# libFuzzer builds: libssh2 1.10's own leaks (lsan.supp) are not ours
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$(dirname "$0")/lsan.supp:print_suppressions=0}
export ASAN_OPTIONS=${ASAN_OPTIONS:-fast_unwind_on_malloc=0}  # whole stacks through libssh2, so lsan.supp matches
target=$1; shift
files=()
for d in "$@"; do
  [ -d "$d" ] || continue
  while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$d" -type f ! -name '.*' -print0 | sort -z)
done
if [ ${#files[@]} -eq 0 ]; then
  echo "replay: no inputs for $target" >&2
  exit 1
fi
export XSSH_FUZZ_INPUT_TIMEOUT=${XSSH_FUZZ_INPUT_TIMEOUT:-60}
exec "${vg[@]}" "$target" "${files[@]}"
