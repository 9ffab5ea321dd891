#!/usr/bin/env bash
# Every benchmark, one after the other; each rewrites its section of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
for b in benchmarks/bench_*.py; do
  echo "== $b"
  .venv/bin/python "$b"
done
