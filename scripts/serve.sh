#!/usr/bin/env bash
# Runs the product: the Voila gallery of workbooks on http://localhost:8866,
# offline, from the shipped data. Makes .venv and installs the app on first use.
# Extra arguments go to `infer-econ serve` (e.g. --port 9000).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh "app"
exec .venv/bin/infer-econ serve "$@"
