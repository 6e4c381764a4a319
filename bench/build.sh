#!/usr/bin/env bash
# Builds the benchmark's C parts into bench/build/ (gitignored). Needs only gcc and the kernel's uapi
# headers (linux-libc-dev). `npm run bench` calls this itself.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$here/build"
gcc -O2 -Wall -Wextra -Werror -pthread -o "$here/build/c-consumer" "$here/c-consumer.c"
