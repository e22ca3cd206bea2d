#!/usr/bin/env bash
# Assembles CellDrop's static site, ready for any static host or scripts/serve.mjs:
#   $CELLDROP_BUILD/site/            site/* (landing page, lessons)
#   $CELLDROP_BUILD/site/app/        web/* + celldrop-app.js/.wasm and celldrop-worker.js/.wasm (the
#                                    segmentation worker's core) from $CELLDROP_BUILD/wasm
#   $CELLDROP_BUILD/site/app/build.js  the build id and file list for the service worker (web/sw.js)
#   $CELLDROP_BUILD/site/app/ort/    ONNX Runtime Web's WebAssembly build, served from the same origin
#   $CELLDROP_BUILD/site/models/     models/*.onnx + models/*.json, and index.json listing the cards
#   $CELLDROP_BUILD/site/lessons/instance-masks/media/   lesson figures, drawn now from the CLI's sample
#   $CELLDROP_BUILD/site/lessons/training/media/         the shipped models' loss curves (SVG)
#   $CELLDROP_BUILD/site/lessons/scoring/media/          the sample scored against its ground truth
#   $CELLDROP_BUILD/site/lessons/measuring/media/        the sample measured, with and without its border,
#                                                        and with a marker channel (a TIFF to download)
# The site is built in a scratch folder and swapped in at the end, so a failed run never leaves a
# half-assembled site behind for the server.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${CELLDROP_BUILD:-$ROOT/build}
OUT=$BUILD/site
WASM=$BUILD/wasm

for f in celldrop-app.js celldrop-app.wasm celldrop-worker.js celldrop-worker.wasm; do
  [ -f "$WASM/$f" ] || { echo "assemble-site: $WASM/$f is missing: run scripts/build.sh wasm first" >&2; exit 1; }
done

STAGE=$(mktemp -d "$BUILD/.site-stage.XXXXXX")
chmod 755 "$STAGE"  # mktemp makes it private; a web server must read it
trap 'rm -rf "$STAGE"' EXIT

cp -R "$ROOT/site/." "$STAGE/"
mkdir -p "$STAGE/app"
cp -R "$ROOT/web/." "$STAGE/app/"
cp "$WASM/celldrop-app.js" "$WASM/celldrop-app.wasm" "$WASM/celldrop-worker.js" "$WASM/celldrop-worker.wasm" "$STAGE/app/"
cp "$ROOT/src/api/celldrop_api.mjs" "$STAGE/app/"  # the C API's JS binding, shared with the CLI

# ONNX Runtime Web: the WebAssembly build (SIMD + threads; one build serves both thread counts) and
# the WebGPU build, whose JavaScript-bridged kernels live in the asyncify WebAssembly file.
ORT=$ROOT/node_modules/onnxruntime-web/dist
ORT_FILES=(ort.wasm.min.mjs ort-wasm-simd-threaded.mjs ort-wasm-simd-threaded.wasm
           ort.webgpu.min.mjs ort-wasm-simd-threaded.asyncify.mjs ort-wasm-simd-threaded.asyncify.wasm)
mkdir -p "$STAGE/app/ort"
for f in "${ORT_FILES[@]}"; do
  [ -f "$ORT/$f" ] || { echo "assemble-site: $ORT/$f is missing: run npm install (or scripts/setup.sh)" >&2; exit 1; }
  cp "$ORT/$f" "$STAGE/app/ort/"
done
# The WGSL post-processing shaders and their drivers, which the worker loads on the WebGPU backend.
mkdir -p "$STAGE/app/shaders"
cp "$ROOT"/shaders/*.wgsl "$ROOT"/shaders/*.mjs "$STAGE/app/shaders/"

shopt -s nullglob
models=("$ROOT"/models/*.onnx "$ROOT"/models/*.json)
if [ ${#models[@]} -gt 0 ]; then
  mkdir -p "$STAGE/models"
  cp "${models[@]}" "$STAGE/models/"
fi
# The page's model picker reads this list (always written: an empty list says "no models yet").
mkdir -p "$STAGE/models"
/usr/bin/python3 "$ROOT/scripts/model-index.py" "$STAGE/models"

# build.js, for the service worker (web/sw.js): the app's files to keep for offline use, and a build id
# that hashes every file of the app and the models, so a deploy that changes any of them gives the
# browser a new worker, which replaces the old cache. sw.js itself is not listed: the browser keeps it.
/usr/bin/python3 - "$STAGE" <<'PY'
import hashlib, json, os, sys
stage = sys.argv[1]
digest = hashlib.sha256()
app_files = []
for top in ('app', 'models'):
    for folder, dirs, files in os.walk(os.path.join(stage, top)):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(folder, name)
            rel = os.path.relpath(full, stage).replace(os.sep, '/')
            if rel == 'app/build.js':
                continue
            with open(full, 'rb') as f:
                digest.update(rel.encode() + b'\0' + hashlib.sha256(f.read()).digest())
            # The WebGPU kernels (26 MB) are cached when first used, not on every install: a
            # browser without a GPU never needs them.
            if top == 'app' and rel != 'app/sw.js' and not rel.endswith('.asyncify.wasm'):
                app_files.append(rel[len('app/'):])
build = {'id': digest.hexdigest()[:16], 'files': ['./'] + app_files}
with open(os.path.join(stage, 'app', 'build.js'), 'w', encoding='utf-8') as f:
    f.write('// Written by scripts/assemble-site.sh for sw.js: this build\'s id and the app files kept offline.\n')
    f.write('self.CELLDROP_BUILD = ' + json.dumps(build, indent=1) + ';\n')
PY

# Lesson figures: the same synthetic nuclei the app shows, with their exact ground truth, drawn by
# the CLI (the core through Node) and coloured for teaching by a small Pillow script.
/usr/bin/python3 "$ROOT/scripts/lesson-figures.py" "$STAGE"
# The training lesson's loss curves and numbers, read from the shipped models' records and cards.
/usr/bin/python3 "$ROOT/scripts/lesson-training.py" "$STAGE"
# The scoring lesson: the sample segmented by the app's first model and scored, by the CLI.
/usr/bin/python3 "$ROOT/scripts/lesson-scoring.py" "$STAGE"
# The measuring lesson: the sample segmented with a pixel size, with and without the border's objects.
/usr/bin/python3 "$ROOT/scripts/lesson-measuring.py" "$STAGE"

rm -rf "$OUT.old"
[ -d "$OUT" ] && mv "$OUT" "$OUT.old"
mv "$STAGE" "$OUT"
rm -rf "$OUT.old"
trap - EXIT
echo "assemble-site: $OUT"
