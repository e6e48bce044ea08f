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
# The rendered host-prep scripts are linted with shellcheck (tests/components/test_host_prep.py skips
# without it).
# CI runs as root on Debian: install it from Debian's archive; elsewhere, never fail for want of it.
if ! command -v shellcheck >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && apt-get install -y -qq shellcheck >/dev/null) \
      || echo "== shellcheck: install failed; the shellcheck test will skip" >&2
  else
    echo "== shellcheck: not installed (needs root + apt-get); the shellcheck test will skip" >&2
  fi
fi
echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy components blueprint hardened_rke2 hardened_rke2_provider
(cd policy-packs/nsa-cisa-hardening && ../../.venv/bin/mypy nsa_cisa)
echo "== pytest"
.venv/bin/python -m pytest "$@"
