#!/usr/bin/env bash
# The benchmark, one command from a clean clone: installs what it needs (the project's
# venv, wrk from Debian, Prism pinned from npm into bench/.prism), then runs
# bench/bench.py, which prints one report ending in the targets table (issue 22's targets,
# each with yes or no, then the earlier ones) and writes bench/results/latest.{md,json};
# it runs bench/scale.py (evaluations filters at 100,000 records; bench/results/scale.{md,json}),
# bench/mockserver_vs_serve.py (per call through requests) and bench/saves.py (GETs during
# --persist saves) for it. Then bench/to_docs.py writes both reports into
# docs/explanation/performance.md (between its bench: and scale: markers; the rest of the
# page is not touched).
# Everything runs on 127.0.0.1, one server under load at a time, each load bounded in time.
# Arguments go to bench.py: `bench/run.sh --help` lists them (--duration, --rounds, --only,
# --skip-prism, --skip-scale, --skip-extras, --profile). A full run takes about 10 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  exec "${PYTHON:-python3}" bench/bench.py --help
fi
PRISM_VERSION=5.16.0

bash scripts/install-test-deps.sh >/dev/null
command -v wrk >/dev/null || bash scripts/install-system-deps.sh
if [ ! -x bench/.prism/node_modules/.bin/prism ] && [[ " $* " != *" --skip-prism "* ]]; then
  mkdir -p bench/.prism
  [ -f bench/.prism/package.json ] || echo '{"name": "auralytik-mock-bench", "private": true}' > bench/.prism/package.json
  npm install --prefix bench/.prism --no-audit --no-fund --loglevel=error "@stoplight/prism-cli@$PRISM_VERSION"
fi
rm -f bench/results/latest.md bench/results/scale.md   # so the page gets this run's tables only
.venv/bin/python bench/bench.py "$@"
exec .venv/bin/python bench/to_docs.py
