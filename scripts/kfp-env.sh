#!/usr/bin/env bash
# Ensure a cached Python venv with the Kubeflow Pipelines SDK (kfp, kfp-kubernetes),
# which compiles pipelines/kubeflow/, and shellcheck, which actionlint runs on the
# workflows' scripts: the tools of the pipelines test suite.
#
#   scripts/kfp-env.sh           ensure the venv; its path is the last stdout line
#   scripts/kfp-env.sh --print   print the venv path only (installs nothing)
#
# Pins live in pipelines/kubeflow/requirements.txt. Same scheme as
# scripts/python-env.sh: the venv sits outside the repo at
#   ${TS_STACK_CACHE:-$HOME/.cache/torchserve-stack}/venv/kfp-<ver>-<hash>
# where <hash> covers the requirements file and the Python minor version (a
# changed pin gives a new venv). Wheels are kept in $CACHE/pip/wheels (the one
# sdist, kfp-server-api, is built into a wheel there once); a rebuild with all
# of them there does not ask the index (and so also works offline). A marker file written after a verified install makes a re-run
# return at once. Progress goes to stderr.
#
# Env: TS_STACK_CACHE (cache root), TS_STACK_PYTHON (interpreter, default python3;
# kfp 2.17 supports CPython 3.9-3.13).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQ="$ROOT/pipelines/kubeflow/requirements.txt"
CACHE="${TS_STACK_CACHE:-$HOME/.cache/torchserve-stack}"
PY="${TS_STACK_PYTHON:-python3}"

mode=ensure
case "${1:-}" in
  "") ;;
  --print) mode=print ;;
  -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "kfp-env.sh: unknown argument: $1 (use --print or --help)" >&2; exit 2 ;;
esac

[ -f "$REQ" ] || { echo "kfp-env.sh: missing $REQ" >&2; exit 1; }
command -v "$PY" >/dev/null 2>&1 || { echo "kfp-env.sh: $PY not found (set TS_STACK_PYTHON)" >&2; exit 1; }

kfp_version="$(sed -n 's/^kfp==\([^[:space:]#]*\).*/\1/p' "$REQ" | head -n1)"
[ -n "$kfp_version" ] || { echo "kfp-env.sh: no kfp==X pin in $REQ" >&2; exit 1; }
py_tag="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
hash="$( { cat "$REQ"; echo "python=$py_tag"; } | sha256sum | cut -c1-12)"
VENV="$CACHE/venv/kfp-$kfp_version-$hash"
MARKER="$VENV/.torchserve-stack-complete"

if [ "$mode" = print ] || [ -f "$MARKER" ]; then
  echo "$VENV"
  exit 0
fi

log() { echo "[kfp-env $(date +%H:%M:%S)] $*" >&2; }
t0=$(date +%s)

case "$py_tag" in
  3.9|3.10|3.11|3.12|3.13) ;;
  *) echo "kfp-env.sh: $PY is Python $py_tag; kfp $kfp_version needs 3.9-3.13 (set TS_STACK_PYTHON)" >&2; exit 1 ;;
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

# Wheels are kept in $WHEELS. When all of them are there, the install needs no
# index at all (fast, and offline); otherwise `pip wheel` fetches what is
# missing (building the kfp-server-api sdist once) and the install is retried.
WHEELS="$CACHE/pip/wheels"
mkdir -p "$WHEELS"
export PIP_CACHE_DIR="$CACHE/pip" PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
install_from_wheels() {
  "$VENV/bin/python" -m pip install --quiet --no-index --find-links "$WHEELS" --requirement "$REQ"
}
t1=$(date +%s)
if install_from_wheels 2>/dev/null; then
  log "installed from the kept wheels in $WHEELS"
else
  log "collecting $(grep -c '^[A-Za-z]' "$REQ") pinned packages into $WHEELS"
  "$VENV/bin/python" -m pip wheel --quiet --no-deps --find-links "$WHEELS" \
    --wheel-dir "$WHEELS" --requirement "$REQ" >&2
  install_from_wheels >&2
fi
log "install took $(( $(date +%s) - t1 ))s"

log "verifying imports"
"$VENV/bin/python" - <<'PY' >&2
import kfp, kfp.kubernetes, kfp.compiler
print("kfp", kfp.__version__)
PY
"$VENV/bin/python" -m pip check >&2
"$VENV/bin/shellcheck" --version >/dev/null

{ echo "requirements_sha256_12=$hash"; echo "python=$py_tag"; echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"; } > "$MARKER"
log "ready in $(( $(date +%s) - t0 ))s"
echo "$VENV"
