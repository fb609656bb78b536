#!/usr/bin/env bash
# Writes the tiny test model for the dev stack into .dev/model-v<SCALE>/ (model.pt, labels.json).
#   scripts/dev-model.sh [SCALE]   default 1; a different SCALE gives a model that answers differently
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$("$ROOT/scripts/python-env.sh" | tail -n1)"
SCALE="${1:-1}"
"$VENV/bin/python" "$ROOT/test/fixtures/model/make_model.py" "$ROOT/.dev/model-v$SCALE" --scale "$SCALE"
