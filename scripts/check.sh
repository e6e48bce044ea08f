#!/usr/bin/env bash
# Set up a fresh virtualenv (.venv) with the project and its dev tools, then lint, type-check and test.
# This is the README's first command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev]" -r policy-packs/nsa-cisa-hardening/requirements.txt
echo "== ruff"
.venv/bin/ruff check .
echo "== mypy"
.venv/bin/mypy components blueprint hardened_rke2
(cd policy-packs/nsa-cisa-hardening && ../../.venv/bin/mypy nsa_cisa)
echo "== pytest"
.venv/bin/python -m pytest "$@"
