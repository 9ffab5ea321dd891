#!/usr/bin/env bash
# Runs the product: the Voila gallery of workbooks on http://localhost:8866,
# offline, from the shipped data. Makes .venv and installs the app on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[app]'
exec .venv/bin/infer-econ serve "$@"
