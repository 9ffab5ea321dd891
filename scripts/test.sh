#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine with Python 3.11+:
# makes .venv, installs the package with its app and test extras, installs
# Debian's Chromium for the browser tests when it is missing, then runs pytest:
# unit, doctest, property, notebook (nbval), browser (Voila, JupyterLab) and
# Binder tests. Extra arguments go to pytest, e.g.  bash scripts/test.sh -k catalog
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh "app,test"
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null
  else
    sudo sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium' >/dev/null
  fi
fi
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
