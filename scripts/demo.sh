#!/usr/bin/env bash
# The main job, end to end, on this machine: a local Kubernetes cluster with a
# real node (pods really run TorchServe), local Pulumi state, the dev stack
# (Pulumi.dev.yaml), and two "training runs" deployed the way a pipeline does
# (npm run deploy, the Automation API entry point).
#
#   scripts/demo.sh         set up (cached) and run the whole job; safe to run again
#   scripts/demo.sh down    remove everything it made (cluster, state, store, models);
#                           the tool, venv and image caches stay
#
# Phases, each with its elapsed time: set-up -> cluster -> deploy version 1 ->
# a prediction through the Service -> version 2 rolled out (ReplicaSets and
# pods shown as they change) -> predictions from the stable name (v2) and from
# v1's own endpoint -> a preview with nothing changed -> summary. A failing
# phase names itself, the cause and its log file.
#
# Env: TS_STACK_CACHE (cache root), TS_COMMAND_PROVIDER_FILE (see scripts/tools.sh).
set -Eeuo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Where scripts/tools.sh installs the providers (the CLI would use the passwd home, not $HOME).
export PULUMI_HOME="${PULUMI_HOME:-$HOME/.pulumi}"
cd "$ROOT"
CACHE="${TS_STACK_CACHE:-$HOME/.cache/torchserve-stack}"
DEMO="$CACHE/demo"
LOGS="$DEMO/logs"
STATE="$DEMO/state"
CLUSTER=tsstack
STACK=dev
NAMESPACE=dev
# The dev stack's store (Pulumi.dev.yaml: modelStorePath = modelStoreHostPath).
STORE=/tmp/torchserve-stack-dev/model-store
MODELS="$ROOT/.dev"
HANDLER=test/fixtures/model/handler.py

START=$SECONDS
PHASE=""
PHASE_LOG=""
PHASE_START=$SECONDS
PHASE_NO=0
declare -a TIMES=()

say() { printf '[demo %s +%4ss] %s\n' "$(date +%H:%M:%S)" "$((SECONDS - START))" "$*" >&2; }

# phase N/TOTAL NAME: starts a phase; its commands log to $PHASE_LOG.
TOTAL=8
phase() {
  end_phase
  PHASE="$1"
  PHASE_LOG="$LOGS/$(printf '%s' "$1" | tr -c 'a-zA-Z0-9\n' '-' | tr -s '-').log"
  : >"$PHASE_LOG"
  PHASE_START=$SECONDS
  PHASE_NO=$((PHASE_NO + 1))
  say "── phase $PHASE_NO/$TOTAL: $1"
}
end_phase() {
  if [ -n "$PHASE" ]; then
    TIMES+=("$PHASE|$((SECONDS - PHASE_START))")
    say "   done in $((SECONDS - PHASE_START))s"
    PHASE=""
  fi
}
failed() {
  local rc=$?
  trap - ERR
  say "FAILED in phase '$PHASE' (exit $rc): ${FAILURE:-a command failed}"
  if [ -s "$PHASE_LOG" ]; then
    say "last lines of $PHASE_LOG:"
    tail -n 25 "$PHASE_LOG" | sed 's/^/    /' >&2
  fi
  say "full log: $PHASE_LOG"
  exit "$rc"
}
# run DESCRIPTION CMD...: runs a command of the phase with its output in the phase log.
run() {
  FAILURE="$1"; shift
  "$@" >>"$PHASE_LOG" 2>&1
  FAILURE=""
}

command_provider_default() {
  # As .ci/run: the steering repo ships the Command provider beside the clone.
  local tarball="$ROOT/../shared/tools/pulumi-resource-command-v1.2.1-linux-amd64.tar.gz"
  if [ -z "${TS_COMMAND_PROVIDER_FILE:-}" ] && [ -f "$tarball" ]; then
    export TS_COMMAND_PROVIDER_FILE="$tarball"
  fi
}

pulumi_env() {
  export PULUMI_BACKEND_URL="file://$STATE" PULUMI_CONFIG_PASSPHRASE=dev
  export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
}

# predict PATH: POSTs one request through the Service's ClusterIP; prints the answer.
predict() {
  local ip port
  ip=$(kubectl -n "$NAMESPACE" get service torchserve -o jsonpath='{.spec.clusterIP}')
  port=$(kubectl -n "$NAMESPACE" get service torchserve -o jsonpath='{.spec.ports[?(@.name=="preds")].port}')
  curl -sS --fail-with-body --max-time 30 -X POST "http://$ip:$port$1" \
    -H 'Content-Type: application/json' -d '{"data": [1, 2, 3, 4]}' \
    | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.stringify(JSON.parse(s))))'
}

# deploy VERSION: one pipeline deploy of the model in .dev/model-VERSION.
deploy() {
  local version=$1
  npm run --silent deploy -- --stack "$STACK" --model-version "$version" \
    --serialized-file "$MODELS/model-$version/model.pt" --handler "$HANDLER" \
    --extra-file "$MODELS/model-$version/labels.json" \
    --summary-file "$DEMO/deploy-$version.json"
}

# watch_rollout: prints the stack's ReplicaSets and pods as they change (one line per
# change), until killed. kubectl watches one resource type at a time.
watch_rollout() {
  local selector=app.kubernetes.io/instance=torchserve version='.metadata.labels.app\.kubernetes\.io/version'
  kubectl -n "$NAMESPACE" get replicasets -l "$selector" --watch --no-headers \
    -o custom-columns="NAME:.metadata.name,VERSION:$version,DESIRED:.spec.replicas,READY:.status.readyReplicas" 2>/dev/null \
    | while IFS= read -r line; do say "   replicaset $(printf '%s' "$line" | tr -s ' ' | sed 's/<none>/0/g')"; done &
  kubectl -n "$NAMESPACE" get pods -l "$selector" --watch --no-headers \
    -o custom-columns="NAME:.metadata.name,VERSION:$version,PHASE:.status.phase,READY:.status.conditions[?(@.type==\"Ready\")].status" 2>/dev/null \
    | while IFS= read -r line; do say "   pod        $(printf '%s' "$line" | tr -s ' ')"; done &
  wait
}

cmd_up() {
  mkdir -p "$LOGS" "$STATE"
  trap failed ERR
  command_provider_default

  phase "set-up (cached: tools, venv, npm, models)"
  run "scripts/tools.sh could not provide the tools" bash scripts/tools.sh
  PATH="$(bash scripts/tools.sh --path):$PATH"
  export PATH
  run "scripts/python-env.sh could not build the TorchServe venv" bash scripts/python-env.sh
  PATH="$(bash scripts/python-env.sh --print)/bin:$PATH"
  local lock; lock=$(sha256sum package-lock.json | cut -c1-16)
  if [ "$(cat node_modules/.demo-lock 2>/dev/null)" != "$lock" ]; then
    run "npm ci failed" npm ci --no-audit --no-fund --loglevel=error
    echo "$lock" >node_modules/.demo-lock
  fi
  run "the TypeScript build failed" npm run --silent build
  local v scale=1
  for v in v1 v2; do
    [ -f "$MODELS/model-$v/model.pt" ] || run "making the $v model failed" \
      "$(bash scripts/python-env.sh --print)/bin/python" test/fixtures/model/make_model.py "$MODELS/model-$v" --scale "$scale"
    scale=$((scale + 1))
  done
  say "   tools, venv, build and models ready"

  phase "cluster with a real node"
  local out
  FAILURE="scripts/cluster.sh up $CLUSTER --real-node failed"
  out=$(bash scripts/cluster.sh up "$CLUSTER" --real-node 2>>"$PHASE_LOG")
  FAILURE=""
  export KUBECONFIG="${out##*$'\n'}"
  say "   nodes: $(kubectl get nodes --no-headers | tr -s ' ' | tr '\n' ';')"

  pulumi_env
  mkdir -p "$STORE"
  phase "deploy version 1 (npm run deploy: archive, roll out, rotate)"
  run "pulumi stack select --create $STACK failed" pulumi stack select --create "$STACK" --non-interactive
  FAILURE="the v1 deploy failed (summary: $DEMO/deploy-v1.json)"
  deploy v1 2>>"$PHASE_LOG" >/dev/null
  FAILURE=""
  say "   $(summary_line "$DEMO/deploy-v1.json")"

  phase "a prediction through the Service"
  FAILURE="no answer from the Service"
  say "   POST /predictions/demo -> $(predict /predictions/demo 2>>"$PHASE_LOG")"
  FAILURE=""

  phase "version 2 (a retrained model) rolled out"
  watch_rollout &
  local watcher=$!
  FAILURE="the v2 deploy failed (summary: $DEMO/deploy-v2.json)"
  deploy v2 2>>"$PHASE_LOG" >/dev/null
  FAILURE=""
  sleep 1
  pkill -P "$watcher" 2>/dev/null || true
  kill "$watcher" 2>/dev/null || true
  wait "$watcher" 2>/dev/null || true
  say "   $(summary_line "$DEMO/deploy-v2.json")"

  phase "predictions: stable name and version 1's own endpoint"
  FAILURE="no answer from the Service"
  say "   POST /predictions/demo    -> $(predict /predictions/demo 2>>"$PHASE_LOG")"
  say "   POST /predictions/demo/v1 -> $(predict /predictions/demo/v1 2>>"$PHASE_LOG")"
  FAILURE=""

  phase "nothing changed: a pull request's preview"
  run "pulumi preview --expect-no-changes found changes" pulumi preview --stack "$STACK" --expect-no-changes --non-interactive
  say "   pulumi preview --expect-no-changes: no changes"

  phase "summary"
  end_phase
  trap - ERR
  summary
}

summary_line() { # summary-file
  node -e '
    const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(`${s.result}: ${s.modelName} ${s.modelVersion} (was ${s.previousModelVersion ?? "none"}), loaded ${s.loadedVersions.join(", ")}, rollout ${s.rolloutSeconds ?? "-"} s, run ${s.durationSeconds} s`);
  ' "$1"
}

summary() {
  local outputs
  outputs=$(pulumi stack output --stack "$STACK" --json)
  {
    echo
    echo "== torchserve-stack demo: summary"
    node -e '
      const o = JSON.parse(process.argv[1]);
      console.log(`deployed:        ${o.modelName} ${o.modelVersion} (default), loaded ${(o.loadedVersions || []).join(", ")}`);
      console.log(`prediction URL:  ${o.predictionUrl}`);
    ' "$outputs"
    echo "model store:     $STORE"
    (cd "$STORE" && find . -name .torchserve-stack -prune -o -type f -printf '                 %P  %s bytes\n' | sort)
    echo "phase times:"
    local t
    for t in "${TIMES[@]}"; do printf '                 %-60s %4ss\n' "${t%%|*}" "${t##*|}"; done
    printf '                 %-60s %4ss\n' "total" "$((SECONDS - START))"
    echo "logs:            $LOGS"
    echo "clean up:        scripts/demo.sh down"
  } >&2
}

cmd_down() {
  say "stopping the cluster and its real node"
  bash scripts/cluster.sh down "$CLUSTER" || true
  say "removing the demo's state, store and models"
  rm -rf "$STATE" "$DEMO"/deploy-*.json "$(dirname "$STORE")" "$MODELS"/model-v1 "$MODELS"/model-v2
  say "done (caches kept: tools, venv, images)"
}

case "${1:-up}" in
  up) cmd_up ;;
  down) cmd_down ;;
  *) echo "usage: scripts/demo.sh [up|down]" >&2; exit 2 ;;
esac
