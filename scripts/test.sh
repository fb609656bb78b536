#!/usr/bin/env bash
# The project's test command (README "Tests"; .ci/run calls it).
#
#   scripts/test.sh [unit|e2e|serve|pipelines|realpods ...]   default: all five suites
#
# realpods starts a local cluster with this machine's real node (scripts/cluster.sh
# --real-node: kubelet, containerd, kube-proxy; needs root) and builds the local
# TorchServe image the first time (~4 min, then cached).
#
# Installs what the tests need, each cached outside the repo and reused:
# Node 22, the Pulumi CLI and providers, a local Kubernetes control plane
# (scripts/tools.sh) and the TorchServe/archiver/torch venv
# (scripts/python-env.sh), and for the pipelines suite the Kubeflow Pipelines
# SDK + shellcheck venv (scripts/kfp-env.sh). Then lints (npm run lint:
# prettier --check and eslint), builds and runs the suites with node's test
# runner, one file at a time (the end-to-end suites share one machine).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(unit e2e serve pipelines realpods)
patterns=()
for suite in "${suites[@]}"; do
  case "$suite" in
    unit|e2e|serve|pipelines|realpods) patterns+=("bin/test/$suite/**/*.test.js") ;;
    *) echo "test.sh: unknown suite '$suite' (unit, e2e, serve, pipelines, realpods)" >&2; exit 2 ;;
  esac
done

step() { echo "[test.sh $(date +%H:%M:%S)] $*" >&2; }

# Where scripts/tools.sh installs the providers (the CLI would use the passwd home, not $HOME).
export PULUMI_HOME="${PULUMI_HOME:-$HOME/.pulumi}"
step "tools (cached): scripts/tools.sh"
bash scripts/tools.sh
PATH="$(bash scripts/tools.sh --path):$PATH"
export PATH
step "python venv (cached): scripts/python-env.sh"
bash scripts/python-env.sh >/dev/null
case " ${suites[*]} " in
  *" pipelines "*)
    step "kfp venv (cached): scripts/kfp-env.sh"
    bash scripts/kfp-env.sh >/dev/null ;;
esac
step "node $(node --version), npm ci"
npm ci --no-audit --no-fund --loglevel=error
step "lint: npm run lint (prettier --check, eslint)"
npm run --silent lint
npm run --silent build
step "running: ${suites[*]}"
node --test --test-concurrency=1 --test-reporter=spec "${patterns[@]}"
