#!/usr/bin/env bash
# The README's start command: installs what is missing, builds the page module, assembles the site
# and serves it on http://127.0.0.1:8080 (PORT=N for another port; PORT=0 picks a free one).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export CELLDROP_BUILD=${CELLDROP_BUILD:-$ROOT/build}

bash scripts/setup.sh
bash scripts/build.sh wasm site
# serve.mjs prints "CellDrop is running at http://127.0.0.1:PORT/app/" once it listens.
exec node scripts/serve.mjs --root "$CELLDROP_BUILD/site" --port "${PORT:-8080}"
