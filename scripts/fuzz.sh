#!/usr/bin/env bash
# The handler fuzz test (test/reliability/fuzz.test.ts) at a chosen size and seed, e.g.
#   bash scripts/fuzz.sh 5000000 12345
# npm test runs it with 1,000,000 packets and a fixed seed. Run after `npm run build`.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_PACKETS=${1:-5000000} FUZZ_SEED=${2:-$RANDOM$RANDOM} node --test dist/test/reliability/fuzz.test.js
