#!/usr/bin/env bash
# Builds the C tools (tools/*.c) into tools/build/. Idempotent and fast: a tool is rebuilt only when
# its source is newer than the binary. Tests call it before they use a tool.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p tools/build
for src in tools/*.c; do
  name=$(basename "$src" .c)
  out="tools/build/$name"
  if [ ! -x "$out" ] || [ "$src" -nt "$out" ]; then
    # Build to a temporary name and rename: parallel test files may build at the same time.
    tmp="$out.$$"
    gcc -O2 -Wall -Wextra -Werror -o "$tmp" "$src"
    mv -f "$tmp" "$out"
  fi
done
