#!/usr/bin/env bash
# Run every check CI runs: install (with the dev tools), lint, the layer contract, all tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --dev
export QT_QPA_PLATFORM=offscreen
.venv/bin/ruff check gtzcomposer training tests benchmarks build_installer.py
.venv/bin/lint-imports
# The installed (non-editable) package must find its bundled models and resources on its own.
(cd /tmp && "$OLDPWD/.venv/bin/gtzcomposer" models >/dev/null)
.venv/bin/python -m pytest -p no:cacheprovider --cov=gtzcomposer --cov-report=term-missing:skip-covered "$@"
# The foundation's promise: core and io stay at >= 90 % line coverage.
.venv/bin/python -m coverage report --include='gtzcomposer/core/*,gtzcomposer/io/*' --fail-under=90 >/dev/null \
  || { echo "coverage of gtzcomposer/core + gtzcomposer/io fell below 90 %"; \
       .venv/bin/python -m coverage report --include='gtzcomposer/core/*,gtzcomposer/io/*'; exit 1; }
