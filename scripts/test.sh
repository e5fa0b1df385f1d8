#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs, then runs the
# linters, the spec validators, the docs site build and every test (browser and container
# checks included; every code block of README.md and docs/ runs as one, see docs/contributing.md).
# Extra arguments go to pytest, e.g. `scripts/test.sh -k scope`.
# Inner loop (no install, no slow checks): .venv/bin/pytest -m "not slow" -q
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-deps.sh
export PATH="$PWD/.venv/bin:$PATH"

echo "== ruff"
ruff check .
ruff format --check .
echo "== mypy --strict (src)"
mypy
echo "== lint-imports (the layer contracts of pyproject.toml)"
lint-imports
echo "== openapi-spec-validator"
openapi-spec-validator openapi.yaml
echo "== spectral (spectral:oas, fail at warning)"
.cache/npm/node_modules/.bin/spectral lint openapi.yaml --ruleset .spectral.yaml --fail-severity=warn
echo "== hadolint (fail at warning)"
hadolint --no-color --failure-threshold warning Dockerfile
echo "== auralytik-mock check"
auralytik-mock check
echo "== mkdocs build --strict (the docs site, offline)"
NO_MKDOCS_2_WARNING=1 mkdocs build --strict --quiet
echo "== pytest"
pytest -q -p no:cacheprovider "$@"
