#!/usr/bin/env bash
# A throwaway Kubernetes control plane on 127.0.0.1 for end-to-end tests:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok (fake
# nodes whose pods become Ready, so Deployments really roll out), all run as
# local processes by `kwokctl --runtime binary` from the binaries that
# scripts/tools.sh provides. Nothing is downloaded.
#
#   scripts/cluster.sh up [name] [--real-node]  start (idempotent); last stdout line = kubeconfig path
#   scripts/cluster.sh kubeconfig [name]  print the kubeconfig path
#   scripts/cluster.sh status [name]      exit 0 if the cluster answers and its nodes are Ready
#   scripts/cluster.sh down [name]        stop every process and remove every file of it
#                                         (and its real node, if it has it)
#
# Default name: tsstack. Env: TS_STACK_CACHE (cache root), TS_CLUSTER_TIMEOUT
# (seconds to wait for readiness, default 180), TS_CLUSTER_NODES (fake nodes;
# default 2, or 0 with a real node), TS_CLUSTER_REAL_NODE=1 (same as --real-node).
#
# --real-node: the cluster also gets this machine's real node (scripts/node.sh:
# kubelet + containerd + runc + CNI + kube-proxy, node name <name>-node), so
# pods really run the locally built pytorch/torchserve:0.12.0-cpu image and
# Services route from this host. Needs root; the first run builds the image
# (~2 min) and imports it (~2 min), later runs take seconds. One real node per
# machine: asking for it while another cluster holds it fails and names that
# cluster. kwok manages only the fake nodes (annotation kwok.x-k8s.io/node=fake),
# never the real node or its pods. A cluster you bring yourself (KUBECONFIG)
# needs none of this.
#
# What the cluster has: RBAC + the default admission plugins (as a real
# cluster: pods need the namespace's `default` ServiceAccount, which the
# controller manager creates), every default controller of
# kube-controller-manager (PV binder, service accounts, deployments, ...),
# fake nodes with cpu 32 / memory 128Gi / pods 110. LoadBalancer Services never
# get an address, and no container really runs (except on the real node).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${TS_STACK_CACHE:-$HOME/.cache/torchserve-stack}"
TIMEOUT="${TS_CLUSTER_TIMEOUT:-180}"

# kwokctl keeps everything of a cluster under $KWOK_WORKDIR/clusters/<name>
# (pki, kubeconfig, pids, logs, etcd data); its default is ~/.kwok.
export KWOK_WORKDIR="$CACHE/kwok"

log() { printf '[cluster %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[cluster] ERROR: %s\n' "$*" >&2; exit 1; }

cmd="${1:-}"
[ $# -gt 0 ] && shift
NAME=tsstack
REAL_NODE="${TS_CLUSTER_REAL_NODE:-0}"
for a in "$@"; do
  case "$a" in
    --real-node) REAL_NODE=1 ;;
    -*) die "unknown option $a" ;;
    *) NAME="$a" ;;
  esac
done
[ "$REAL_NODE" = 1 ] && NODES="${TS_CLUSTER_NODES:-0}" || NODES="${TS_CLUSTER_NODES:-2}"
REAL_NODE_NAME="$NAME-node"
[[ "$NAME" =~ ^[a-z0-9]([a-z0-9-]*[a-z0-9])?$ ]] || die "bad cluster name '$NAME' (lowercase letters, digits, '-')"
CDIR="$KWOK_WORKDIR/clusters/$NAME"
KUBECONFIG_PATH="$CDIR/kubeconfig.yaml"
# What `up` created (fake node count), for `status` without options.
SETTINGS="$CDIR/torchserve-stack.conf"
if [ "$cmd" = status ] && [ -f "$SETTINGS" ]; then
  NODES="$(sed -n 's/^fake_nodes=//p' "$SETTINGS")"
fi

use_tools() {
  local p
  p="$("$SCRIPT_DIR/tools.sh" --path etcd kube kwok)" || die "tools missing: run scripts/tools.sh first"
  export PATH="${p:+$p:}$PATH"
  local b
  for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok kwokctl; do
    command -v "$b" >/dev/null || die "$b not found on PATH after scripts/tools.sh --path"
  done
}

kc() { kubectl --kubeconfig "$KUBECONFIG_PATH" --request-timeout=10s "$@"; }

# API server answers /readyz and every fake node is Ready.
healthy() {
  [ -f "$KUBECONFIG_PATH" ] || return 1
  kc get --raw /readyz >/dev/null 2>&1 || return 1
  local n ready
  n=$(kc get nodes -l kwok.x-k8s.io/node=fake -o name 2>/dev/null | wc -l)
  [ "$n" -ge "$NODES" ] || return 1
  ready=$(kc get nodes -l kwok.x-k8s.io/node=fake \
    -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null | grep -c '^True$' || true)
  [ "$ready" -ge "$NODES" ]
}

# The owner (cluster name) of this machine's real node, or nothing.
real_node_owner() { "$SCRIPT_DIR/node.sh" owner 2>/dev/null || true; }

real_node_ready() {
  [ "$(real_node_owner)" = "$NAME" ] || return 1
  "$SCRIPT_DIR/node.sh" status >/dev/null 2>&1 || return 1
  [ "$(kc get node "$REAL_NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

# Fail early when another live cluster holds the real node. A holder whose
# control plane is gone (a run killed before its `down`, a cluster dir
# removed by hand) can never give the node back: stop its node and go on.
check_real_node_free() {
  local owner
  owner="$(real_node_owner)"
  [ -z "$owner" ] || [ "$owner" = "$NAME" ] && return 0
  if [ -n "$(pgrep -f -- "$KWOK_WORKDIR/clusters/$owner/" || true)" ]; then
    die "the real node of this machine is held by cluster '$owner' (one per machine: one kube-proxy owns the host's rules); stop it first: scripts/cluster.sh down $owner"
  fi
  log "the real node was held by cluster '$owner', whose control plane is not running: stopping that node"
  "$SCRIPT_DIR/node.sh" down >/dev/null || die "could not stop the stale real node of '$owner' (scripts/node.sh down)"
}

start_real_node() {
  log "starting the real node $REAL_NODE_NAME (scripts/node.sh; logs in ${TS_STACK_CACHE:-$HOME/.cache/torchserve-stack}/node/logs)"
  "$SCRIPT_DIR/node.sh" up --kubeconfig "$KUBECONFIG_PATH" --name "$REAL_NODE_NAME" --owner "$NAME" >/dev/null \
    || die "the real node did not come up (see above)"
}

show_logs() {
  local f
  for f in "$CDIR"/logs/*.log; do
    [ -f "$f" ] || continue
    printf -- '--- last lines of %s\n' "$f" >&2
    tail -n 15 "$f" >&2
  done
}

# Processes of this cluster: every component runs from a binary or with
# arguments under its cluster dir, so match on that path (never by name).
cluster_pids() { pgrep -f -- "$CDIR/" || true; }

node_manifest() { # index
  cat <<EOF
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$1
  annotations:
    # kwok manages (fakes) nodes carrying this annotation
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/hostname: kwok-node-$1
    kubernetes.io/os: linux
    kubernetes.io/role: agent
    node-role.kubernetes.io/agent: ""
    type: kwok
    kwok.x-k8s.io/node: fake
status:
  allocatable: {cpu: "32", memory: 128Gi, pods: "110", ephemeral-storage: 1Ti}
  capacity: {cpu: "32", memory: 128Gi, pods: "110", ephemeral-storage: 1Ti}
  nodeInfo:
    architecture: amd64
    operatingSystem: linux
    kubeletVersion: fake
    kubeProxyVersion: fake
EOF
}

cmd_up() {
  use_tools
  [ "$REAL_NODE" = 1 ] && check_real_node_free
  if healthy; then
    if [ "$REAL_NODE" = 1 ] && ! real_node_ready; then
      start_real_node
    fi
    log "cluster '$NAME' already up"
    echo "$KUBECONFIG_PATH"
    return 0
  fi
  if [ -d "$CDIR" ]; then
    # Left over (stopped, crashed, half-created): start from scratch, the
    # cluster is throwaway by design.
    log "cluster '$NAME' exists but is not healthy: recreating"
    cmd_down >/dev/null
  fi
  mkdir -p "$KWOK_WORKDIR"
  local conf="$KWOK_WORKDIR/$NAME.kwokctl.yaml" start=$SECONDS
  # Only the binary runtime, every binary given by path (kwokctl would
  # otherwise download them), every listener on 127.0.0.1 (its default is
  # 0.0.0.0, settable only in a config file).
  cat >"$conf" <<EOF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  runtime: binary
  bindAddress: 127.0.0.1
  cacheDir: $KWOK_WORKDIR/cache
  etcdBinary: $(command -v etcd)
  kubeApiserverBinary: $(command -v kube-apiserver)
  kubeControllerManagerBinary: $(command -v kube-controller-manager)
  kubeSchedulerBinary: $(command -v kube-scheduler)
  kubectlBinary: $(command -v kubectl)
  kwokControllerBinary: $(command -v kwok)
  kubeVersion: $(kube-apiserver --version | sed -n 's/^Kubernetes v//p')
  kubeAuthorization: true
  kubeAdmission: true
  disableQPSLimits: true
  quietPull: true
# kwok manages only the fake nodes (and their pods), never a real node's.
# kwokctl v0.8.0's binary runtime always starts kwok with --manage-all-nodes=true
# (pkg/kwokctl/components/kwok_controller.go: it sets the annotation selector
# only for the kind runtime), and a flag wins over the KwokConfiguration
# options manageAllNodes/manageNodesWithAnnotationSelector; a KwokConfiguration
# here also replaces kwok's defaulted one (kwok then exits: "node leases
# parallelism must be greater than 0"). So the flags are patched instead.
componentsPatches:
- name: kwok-controller
  extraArgs:
  - key: manage-all-nodes
    value: "false"
    override: true
  - key: manage-nodes-with-annotation-selector
    value: kwok.x-k8s.io/node=fake
EOF
  log "creating cluster '$NAME' (kwokctl --runtime binary; dir $CDIR)"
  # --kubeconfig "": leave ~/.kube/config alone; tests get the path instead.
  if ! kwokctl --config "$conf" --name "$NAME" create cluster --kubeconfig "" \
    --timeout "${TIMEOUT}s" --wait "${TIMEOUT}s" >"$KWOK_WORKDIR/$NAME.create.log" 2>&1; then
    cat "$KWOK_WORKDIR/$NAME.create.log" >&2
    show_logs
    die "kwokctl create cluster '$NAME' failed (see above)"
  fi
  mv "$conf" "$KWOK_WORKDIR/$NAME.create.log" "$CDIR/" 2>/dev/null || true
  [ -f "$KUBECONFIG_PATH" ] || die "kwokctl did not write $KUBECONFIG_PATH"
  echo "fake_nodes=$NODES" >"$SETTINGS"

  local i
  if [ "$NODES" -gt 0 ]; then
    for i in $(seq 0 $((NODES - 1))); do node_manifest "$i"; echo "---"; done | kc apply -f - >/dev/null \
      || { show_logs; die "could not create the fake nodes"; }
  fi

  log "waiting up to ${TIMEOUT}s for the API server, $NODES Ready nodes and the default ServiceAccount"
  local deadline=$((SECONDS + TIMEOUT))
  until healthy && kc -n default get serviceaccount default >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      kc get nodes -o wide >&2 || true
      show_logs
      die "cluster '$NAME' not ready after ${TIMEOUT}s"
    fi
    sleep 1
  done
  [ "$REAL_NODE" = 1 ] && start_real_node
  log "cluster '$NAME' ready in $((SECONDS - start))s: $(kc get --raw /version | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p' | head -n1), nodes: $(kc get nodes -o name | tr '\n' ' ')"
  echo "$KUBECONFIG_PATH"
}

cmd_down() {
  # Its real node first, while the API server still answers.
  if [ "$(real_node_owner)" = "$NAME" ]; then
    "$SCRIPT_DIR/node.sh" down || die "could not stop the real node (see above)"
  fi
  if command -v kwokctl >/dev/null || use_tools 2>/dev/null; then
    if [ -d "$CDIR" ]; then
      # delete also removes the cluster's context from a kubeconfig (default
      # ~/.kube/config, which `up` never touched; "" is refused): give it a
      # scratch file.
      local scratch; scratch=$(mktemp)
      kwokctl --name "$NAME" delete cluster --kubeconfig "$scratch" >/dev/null 2>&1 || true
      rm -f "$scratch"
    fi
  fi
  # Whatever kwokctl missed (e.g. a half-created cluster): stop by PID.
  local pids
  pids=$(cluster_pids)
  if [ -n "$pids" ]; then
    log "stopping leftover processes: $(echo $pids)"
    kill $pids 2>/dev/null || true
    local i
    for i in $(seq 1 20); do [ -z "$(cluster_pids)" ] && break; sleep 0.5; done
    pids=$(cluster_pids)
    [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
  fi
  rm -rf "$CDIR" "$KWOK_WORKDIR/$NAME.kwokctl.yaml" "$KWOK_WORKDIR/$NAME.create.log"
  [ -z "$(cluster_pids)" ] || die "processes of cluster '$NAME' still running: $(cluster_pids | tr '\n' ' ')"
  log "cluster '$NAME' is down"
}

case "$cmd" in
  up) cmd_up ;;
  down) cmd_down ;;
  kubeconfig)
    [ -f "$KUBECONFIG_PATH" ] || die "cluster '$NAME' does not exist (scripts/cluster.sh up $NAME)"
    echo "$KUBECONFIG_PATH"
    ;;
  status)
    use_tools
    healthy || die "cluster '$NAME' is not healthy"
    if [ "$(real_node_owner)" = "$NAME" ]; then
      real_node_ready || die "cluster '$NAME': its real node $REAL_NODE_NAME is not Ready"
      "$SCRIPT_DIR/node.sh" status >/dev/null || die "cluster '$NAME': its real node is degraded (scripts/node.sh status)"
    fi
    echo "cluster '$NAME' healthy: $KUBECONFIG_PATH"
    ;;
  *) die "usage: scripts/cluster.sh up|down|kubeconfig|status [name] [--real-node]" ;;
esac
