#!/usr/bin/env bash
# Runs every libFuzzer target built by `scripts/build.sh fuzz`: first replays its committed seed corpus
# (tests/fuzz/corpus/<target>) and its regressions (tests/fuzz/regressions/<target>, inputs that once
# crashed), then fuzzes it for SECONDS (default 20). New corpus entries go to a temporary folder, so a
# run never dirties the tree. Any crash, sanitizer report, leak or timeout fails the script; the input
# that caused it is kept and its path printed, to be fixed and then committed as a regression.
#   bash scripts/fuzz.sh 60        # a minute per target, by hand
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_PER_TARGET=${1:-20}
BUILD=${CELLDROP_BUILD:-$ROOT/build}
BIN=$BUILD/fuzz/bin
TARGETS="fuzz_tiff fuzz_png fuzz_jpeg fuzz_bmp fuzz_link"
# Limits libFuzzer enforces per input: a hang of 10 s or 2 GB of memory is a bug, not slowness.
LIMITS=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048)

for target in $TARGETS; do
  exe=$BIN/$target
  if [ ! -x "$exe" ]; then
    echo "fuzz.sh: $exe is missing: run 'bash scripts/build.sh fuzz' first" >&2
    exit 1
  fi
done

failed=0
for target in $TARGETS; do
  exe=$BIN/$target
  corpus=$ROOT/tests/fuzz/corpus/$target
  regressions=$ROOT/tests/fuzz/regressions/$target
  work=$(mktemp -d "${TMPDIR:-/tmp}/celldrop-$target.XXXXXX")
  mkdir -p "$work/corpus" "$work/artifacts"
  seeds=()
  for dir in "$corpus" "$regressions"; do
    [ -d "$dir" ] && seeds+=("$dir")
  done

  echo "== $target: replaying $(find "${seeds[@]}" -type f | wc -l) committed inputs"
  mapfile -t inputs < <(find "${seeds[@]}" -type f | sort)
  if ! "$exe" "${LIMITS[@]}" -artifact_prefix="$work/artifacts/" "${inputs[@]}" >"$work/replay.log" 2>&1; then
    tail -n 40 "$work/replay.log"
    echo "fuzz.sh: $target FAILED while replaying committed inputs; log and input kept in $work" >&2
    failed=1
    continue
  fi

  echo "== $target: fuzzing for ${SECONDS_PER_TARGET} s"
  # The first folder receives new inputs (the temporary one); the committed ones are only read.
  if ! "$exe" "${LIMITS[@]}" -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 \
      -artifact_prefix="$work/artifacts/" "$work/corpus" "${seeds[@]}" >"$work/fuzz.log" 2>&1; then
    tail -n 60 "$work/fuzz.log"
    echo "fuzz.sh: $target FAILED; the input that triggered it is in $work/artifacts/ —" \
      "fix the bug, then commit that input under tests/fuzz/regressions/$target/" >&2
    failed=1
    continue
  fi
  grep -E "stat::number_of_executed_units|stat::new_units_added" "$work/fuzz.log" | tr '\n' ' '
  echo
  rm -rf "$work"
done
exit $failed
