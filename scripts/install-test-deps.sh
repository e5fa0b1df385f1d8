#!/usr/bin/env bash
# Install everything the test suite needs, on a fresh machine: a virtualenv in .venv
# with the package (editable) and its test extras. Idempotent; .ci/run and
# scripts/test.sh both call it. System tools for the browser and container checks
# are installed by scripts/install-system-deps.sh (needs root and apt).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -m pip install --quiet -e ".[test]" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import auralytik_mock, schemathesis, openapi_spec_validator, importlinter" \
  || { echo "install-test-deps: the test dependencies did not install" >&2; exit 1; }
# Node tools, pinned, in a folder git ignores: Spectral (spec lint).
NPM_DIR=.cache/npm
SPECTRAL_VERSION=6.16.3
if [ ! -x "$NPM_DIR/node_modules/.bin/spectral" ]; then
  command -v npm >/dev/null || { echo "install-test-deps: npm is needed for Spectral" >&2; exit 1; }
  mkdir -p "$NPM_DIR"
  [ -f "$NPM_DIR/package.json" ] || echo '{"name": "auralytik-mock-tools", "private": true}' > "$NPM_DIR/package.json"
  npm install --prefix "$NPM_DIR" --no-audit --no-fund --loglevel=error "@stoplight/spectral-cli@$SPECTRAL_VERSION"
fi

if [ -x scripts/install-system-deps.sh ]; then
  bash scripts/install-system-deps.sh
fi
