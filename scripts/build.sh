#!/usr/bin/env bash
# Builds one or more of CellDrop's build trees; the README commands call it. Usage:
#   scripts/build.sh native   GCC build of the core, tests and benchmarks   -> build/native
#   scripts/build.sh wasm     Emscripten: page module, Node module, tests   -> build/wasm
#   scripts/build.sh fuzz     clang + libFuzzer + ASan/UBSan targets        -> build/fuzz
#   scripts/build.sh site     the static site (app + site/ pages + models)  -> build/site
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
JOBS=${JOBS:-$(nproc)}
# CELLDROP_BUILD moves every build tree (default build/), so several checkouts or helpers never share one.
BUILD=${CELLDROP_BUILD:-$ROOT/build}
# Emscripten 3.1.6's JS optimizer needs Debian's acorn, which Node only finds through NODE_PATH.
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}

configure() {  # dir, then the cmake arguments; reconfigures only when the tree has no cache yet
  local dir=$1; shift
  [ -f "$dir/CMakeCache.txt" ] || "$@" -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
}

for what in "$@"; do
  case $what in
    native)
      configure "$BUILD/native" cmake
      cmake --build "$BUILD/native" -j "$JOBS" ;;
    wasm)
      configure "$BUILD/wasm" emcmake cmake
      cmake --build "$BUILD/wasm" -j "$JOBS" ;;
    fuzz)
      CC=clang CXX=clang++ configure "$BUILD/fuzz" cmake -DCELLDROP_FUZZ=ON
      cmake --build "$BUILD/fuzz" -j "$JOBS" ;;
    site)
      bash "$ROOT/scripts/assemble-site.sh" ;;
    *) echo "build.sh: unknown build '$what' (native, wasm, fuzz, site)" >&2; exit 2 ;;
  esac
done
