#!/usr/bin/env bash
# The suite under load: every test except the valgrind twins and the packaging
# installs (ctest -LE 'valgrind|install': pip/luarocks/gem builds, which the plain
# suite runs) while a CPU hog keeps every core busy. It must pass: a test that fails only
# because the machine is busy is a broken test (it must force its condition).
#   scripts/load.sh [ctest args...]     uses ./build (built by scripts/build.sh)
# The hog is stress-ng (Debian package stress-ng) if installed, else one busy
# shell loop per core; it is stopped however the run ends.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >/dev/null
n=$(nproc)
hogs=()
stop_hogs() {
  for p in "${hogs[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${hogs[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap stop_hogs EXIT
if command -v stress-ng >/dev/null; then
  stress-ng --cpu "$n" --timeout 7200s --quiet &
  hogs+=($!)
  echo "load.sh: stress-ng --cpu $n (pid $!)"
else
  for _ in $(seq "$n"); do
    bash -c 'while :; do :; done' &
    hogs+=($!)
  done
  echo "load.sh: $n busy loops (pids ${hogs[*]})"
fi
start=$(date +%s)
rc=0
(cd build && ctest -j"$n" --output-on-failure --timeout 1500 -LE 'valgrind|install' "$@") || rc=$?
echo "load.sh: ctest -LE 'valgrind|install' under a ${n}-core CPU hog: $(($(date +%s) - start)) s, exit $rc"
exit $rc
