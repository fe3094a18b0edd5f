#!/usr/bin/env bash
# copy_checkout.sh <dest>: the checkout's files (tracked and untracked, not ignored: what
# a fresh clone of this commit plus the working changes holds, no build directories) into
# <dest>, so an install test builds from a clean tree outside the checkout.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dest=$1
mkdir -p "$dest"
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$root" && git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do
     [ -e "$f" ] && printf '%s\0' "$f"; done | tar --null -T - -cf -) | tar -C "$dest" -xf -
else
  tar -C "$root" --exclude='./build*' --exclude='./.git' -cf - . | tar -C "$dest" -xf -
fi
