#!/usr/bin/env bash
# Build the one-folder desktop bundle (dist/gtzcomposer/) from a lean virtualenv holding only the
# app's dependencies (no TensorFlow, Keras or librosa), then self-test it from a clean HOME and print
# its size and largest components.  Takes 1.5-10 min on 2 cores.  Linux/macOS; on Windows run the
# same steps by hand (see docs/runtime.md).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=build/bundle-venv
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q ".[build]"
exec "$VENV/bin/python" build_installer.py --selftest "$@"
