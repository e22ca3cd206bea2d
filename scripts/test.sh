#!/usr/bin/env bash
# The README's test command: sets up, builds and runs every test CellDrop has.
#   1. GoogleTest natively (ctest)          2. the same core tests built with Emscripten, run in Node
#   3. each libFuzzer target for a bounded time, after replaying its corpus and regressions
#   4. Node tests: CLI, TIFF files from independent writers, browser end-to-end in headless Chromium
# FUZZ_SECONDS sets the per-target fuzzing time (default 20); run longer by hand with scripts/fuzz.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export CELLDROP_BUILD=${CELLDROP_BUILD:-$ROOT/build}

bash scripts/setup.sh
bash scripts/build.sh native wasm fuzz site

echo "== native tests (ctest)"
ctest --test-dir "$CELLDROP_BUILD"/native --output-on-failure
echo "== core tests under Node (Emscripten build)"
ctest --test-dir "$CELLDROP_BUILD"/wasm --output-on-failure
echo "== fuzzing (${FUZZ_SECONDS:-20} s per target)"
bash scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
echo "== Node tests: CLI, TIFF interoperability, browser end to end"
# Plain Node (its fetch is needed by playwright-core); the CLI hands the Emscripten glue its .wasm
# itself, so the toolchain notes' --no-experimental-fetch is not needed there.
node --test tests/
