#!/usr/bin/env bash
# The whole test suite: build, then every C (Criterion + valgrind), Python (pytest),
# Lua (busted) and Ruby (minitest) test against a throwaway local OpenSSH sshd.
#   scripts/test.sh [ctest args...]     e.g. scripts/test.sh -L python
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
cd build
ctest -j"$(nproc)" --output-on-failure --timeout 1500 "$@"
