#!/usr/bin/env bash
# Ensure a cached Python venv with TorchServe, torch-model-archiver and torch.
#
#   scripts/python-env.sh           ensure the venv; its path is the last stdout line
#   scripts/python-env.sh --print   print the venv path only (installs nothing)
#
# Pins live in scripts/requirements-serve.txt. The venv sits outside the repo:
#   ${TS_STACK_CACHE:-$HOME/.cache/torchserve-stack}/venv/torchserve-<ver>-<hash>
# where <hash> covers the requirements file and the Python minor version, so a
# changed pin gives a new venv and never mutates one in use. Downloaded wheels
# are kept in $CACHE/pip/wheels. A marker file written after a verified install makes a
# re-run return at once. Progress goes to stderr.
#
# Env: TS_STACK_CACHE (cache root), TS_STACK_PYTHON (interpreter, default python3;
# torch 1.13.1 has wheels for CPython 3.7-3.11 only).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REQ="$HERE/requirements-serve.txt"
CACHE="${TS_STACK_CACHE:-$HOME/.cache/torchserve-stack}"
PY="${TS_STACK_PYTHON:-python3}"

mode=ensure
case "${1:-}" in
  "") ;;
  --print) mode=print ;;
  -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "python-env.sh: unknown argument: $1 (use --print or --help)" >&2; exit 2 ;;
esac

[ -f "$REQ" ] || { echo "python-env.sh: missing $REQ" >&2; exit 1; }
command -v "$PY" >/dev/null 2>&1 || { echo "python-env.sh: $PY not found (set TS_STACK_PYTHON)" >&2; exit 1; }

ts_version="$(sed -n 's/^torchserve==\([^[:space:]#]*\).*/\1/p' "$REQ" | head -n1)"
[ -n "$ts_version" ] || { echo "python-env.sh: no torchserve==X pin in $REQ" >&2; exit 1; }
py_tag="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
hash="$( { cat "$REQ"; echo "python=$py_tag"; } | sha256sum | cut -c1-12)"
VENV="$CACHE/venv/torchserve-$ts_version-$hash"
MARKER="$VENV/.torchserve-stack-complete"

if [ "$mode" = print ]; then
  echo "$VENV"
  exit 0
fi

if [ -f "$MARKER" ]; then
  echo "$VENV"
  exit 0
fi

log() { echo "[python-env $(date +%H:%M:%S)] $*" >&2; }
t0=$(date +%s)

case "$py_tag" in
  3.7|3.8|3.9|3.10|3.11) ;;
  *) echo "python-env.sh: $PY is Python $py_tag; the pinned torch needs 3.7-3.11 (set TS_STACK_PYTHON)" >&2; exit 1 ;;
esac

mkdir -p "$CACHE/venv" "$CACHE/pip"
# One builder at a time per venv; others wait, then see the marker.
exec 9>"$VENV.lock"
if ! flock -n 9; then
  log "another run is building $VENV; waiting for it"
  flock 9
fi
if [ -f "$MARKER" ]; then
  echo "$VENV"
  exit 0
fi

if [ -d "$VENV" ]; then
  log "removing incomplete venv $VENV"
  rm -rf "$VENV"
fi

log "creating venv $VENV (Python $py_tag)"
"$PY" -m venv "$VENV"

# The registry's responses are not kept by pip's HTTP cache here, so the wheels
# themselves are kept: `pip download` into $CACHE/pip/wheels (files already
# there are reused), then an index-free install from that directory. With all
# wheels present a rebuild also works offline.
WHEELS="$CACHE/pip/wheels"
mkdir -p "$WHEELS"
export PIP_CACHE_DIR="$CACHE/pip" PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
log "downloading $(grep -c '^[A-Za-z]' "$REQ") pinned packages into $WHEELS (~1.8 GB when cold)"
t1=$(date +%s)
if ! "$VENV/bin/python" -m pip download --quiet --only-binary=:all: --dest "$WHEELS" \
      --requirement "$REQ" >&2; then
  log "download failed; trying the wheels already in $WHEELS"
fi
log "download step took $(( $(date +%s) - t1 ))s"
t1=$(date +%s)
"$VENV/bin/python" -m pip install --quiet --no-index --find-links "$WHEELS" \
  --only-binary=:all: --requirement "$REQ" >&2
log "pip install took $(( $(date +%s) - t1 ))s"

log "verifying imports and entry points"
"$VENV/bin/python" - <<'PY' >&2
import importlib
for m in ("torch", "ts", "ts.torch_handler.base_handler", "model_archiver", "yaml", "psutil"):
    importlib.import_module(m)
import torch, ts.version
print("torch", torch.__version__, "torchserve", ts.version.__version__)
PY
for exe in torchserve torch-model-archiver; do
  [ -x "$VENV/bin/$exe" ] || { echo "python-env.sh: $VENV/bin/$exe missing after install" >&2; exit 1; }
done

{ echo "requirements_sha256_12=$hash"; echo "python=$py_tag"; echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"; } > "$MARKER"
log "ready in $(( $(date +%s) - t0 ))s; size $(du -sh "$VENV" | cut -f1)"
if ! command -v java >/dev/null 2>&1; then
  log "note: no java on PATH; torchserve needs a Java 17 runtime"
fi
echo "$VENV"
