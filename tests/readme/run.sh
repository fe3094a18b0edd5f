#!/usr/bin/env bash
# README's quick start, as a test: it holds exactly two commands (set up + demo, and
# the whole test suite); CI (.ci/run) runs the same test command; the demo command
# runs (against its own throwaway sshd) and every language's demo ends well.
# The test command itself is what runs this test, so it is checked, not re-run.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
# the fenced sh blocks of the "Quick start" section
mapfile -t cmds < <(awk '/^## Quick start/{q=1; next} /^## /{q=0} q && /^```sh/{b=1; next} q && /^```/{b=0} q && b' README.md)
[ "${#cmds[@]}" -eq 2 ] || { echo "README quick start: expected 2 commands, found ${#cmds[@]}: ${cmds[*]}"; exit 1; }
demo=${cmds[0]} tests=${cmds[1]}
echo "demo command:  $demo"
echo "test command:  $tests"
# CI runs the README's test command (each of its parts, in order)
while read -r p; do
  [ -n "$p" ] || continue
  grep -qxF "$p" .ci/run || { echo ".ci/run does not run '$p' (README's test command)"; exit 1; }
done < <(echo "$tests" | sed 's/ *&& */\n/g')
out=$(bash -c "$demo" 2>&1) || { echo "$out"; echo "the README's demo command failed"; exit 1; }
echo "$out" | tail -n 40
for lang in C Python Lua Ruby; do
  echo "$out" | grep -q "== $lang demo ==" || { echo "no $lang demo ran"; exit 1; }
done
echo "README commands: OK"
