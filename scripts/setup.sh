#!/usr/bin/env bash
# Installs what CellDrop's build and tests need, and nothing more. Idempotent and quick when all is
# present, so both README commands call it first. Sources come only from Debian's and npm's registries.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEPS="$ROOT/.deps"

# Debian packages: toolchains (GCC, clang for libFuzzer, Emscripten), stb, GoogleTest, the browser for
# end-to-end tests, and the independent readers/writers the tests check our files against.
PKGS=(cmake g++ clang libclang-rt-14-dev googletest libgtest-dev emscripten binaryen libstb-dev
      dpkg-dev xz-utils bzip2 chromium libtiff-tools python3 python3-numpy python3-tifffile
      python3-pil python3-shapely python3-scipy python3-torch python3-onnx imagej xvfb xauth fonts-dejavu-core)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# Node and npm may come from elsewhere on the machine (e.g. a newer nodejs that bundles npm); only a
# machine with neither gets Debian's.
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)

# Third-party C/C++ sources we compile ourselves (into WASM as well as natively): Dear ImGui, libtiff,
# zlib. They come from Debian's source packages, patches applied, unpacked under .deps/src.
want_src=()
[ -f "$DEPS/src/imgui/imgui.cpp" ] || want_src+=(imgui)
[ -f "$DEPS/src/tiff/libtiff/tif_dirread.c" ] || want_src+=(tiff)
[ -f "$DEPS/src/zlib/inflate.c" ] || want_src+=(zlib)

if [ ${#missing[@]} -gt 0 ] || [ ${#want_src[@]} -gt 0 ]; then
  if [ ${#want_src[@]} -gt 0 ] && [ ! -f /etc/apt/sources.list.d/celldrop-src.sources ]; then
    # apt-get source needs deb-src entries: the same mirrors and keys as the binary ones.
    sed -e 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
      > /etc/apt/sources.list.d/celldrop-src.sources
  fi
  echo "setup: apt-get update" >&2
  apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for name in "${want_src[@]}"; do
  echo "setup: fetching Debian source package $name" >&2
  work="$DEPS/dl/$name"; rm -rf "$work"; mkdir -p "$work" "$DEPS/src"
  (cd "$work" && apt-get source -qq "$name" >/dev/null 2>&1)
  dir=$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n 1)
  [ -n "$dir" ] || { echo "setup: apt-get source $name gave no source tree" >&2; exit 1; }
  rm -rf "$DEPS/src/$name"; mv "$dir" "$DEPS/src/$name"; rm -rf "$work"
done

# npm packages, pinned by package-lock.json. The stamp records the lock file's hash so a changed lock
# reinstalls and an unchanged one costs nothing.
stamp="$ROOT/node_modules/.celldrop-lock-sha256"
want=$(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: npm ci" >&2
  (cd "$ROOT" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" > "$stamp"
fi
