#!/usr/bin/env bash
# Every benchmark, one after the other; each rewrites its section of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
for b in benchmarks/bench_*.py; do
  echo "== $b"
  extra=()
  if [ "$b" = benchmarks/bench_io.py ]; then extra=(--write-doc); fi  # it only prints unless asked
  .venv/bin/python "$b" "${extra[@]}"
done
