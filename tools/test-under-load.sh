#!/usr/bin/env bash
# Runs the test suite N times in a row (default 3) with two CPU-bound processes beside it, as
# on a busy machine; stops at the first failing run. Not part of CI (it takes ~3 min a run).
#   bash tools/test-under-load.sh [runs]
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
( while :; do :; done ) & hog1=$!
( while :; do :; done ) & hog2=$!
trap 'kill $hog1 $hog2 2>/dev/null' EXIT
for i in $(seq 1 "$runs"); do
  start=$(date +%s)
  if ! npx turbo run test --concurrency=1 --force; then
    echo "run $i of $runs failed (under load)"
    exit 1
  fi
  echo "run $i of $runs passed under load in $(( $(date +%s) - start )) s"
done
