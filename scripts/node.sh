#!/usr/bin/env bash
# A real Kubernetes node on this machine: containerd + runc + CNI bridge, the
# kubelet and kube-proxy, joined to a given API server, running the locally
# built images of scripts/image.sh (pytorch/torchserve:0.12.0-cpu and a pause
# image; nothing is pulled). Pods really run: their processes, cgroup limits,
# exec probes, volumes; Services route from this host to ready endpoints
# through kube-proxy (nftables mode).
#
#   scripts/node.sh up --kubeconfig PATH [--name NODE] [--owner LABEL]
#        start (idempotent for the same owner); prints the node name on stdout
#   scripts/node.sh down      stop every process it started (kubelet, kube-proxy,
#        containerd, every shim and container), unmount, remove the bridge, its
#        kube-proxy rules and kubelet state; keeps the image cache
#   scripts/node.sh status    exit 0 if the node is up (prints owner, node, kubeconfig)
#   scripts/node.sh owner     print the owner label of the node that is up (exit 1: none)
#
# One real node per machine (one kube-proxy owns the host's service rules):
# `up` for another owner fails and names the one holding it. --owner is a
# label for that message (scripts/cluster.sh passes its cluster name).
#
# Needs root. Installs what is missing from Debian (containerd runc
# containernetworking-plugins debootstrap iptables nftables conntrack iproute2 curl)
# and takes kubelet/kube-proxy/kubectl from scripts/tools.sh (--path).
#
# Where things are (machine-wide state in /run, everything else in the cache):
#   $CACHE/node/containerd     containerd root: images survive `down`
#   $CACHE/node/kubelet        kubelet root dir (removed by `down`)
#   $CACHE/node/etc            generated configs (containerd, CNI, kubelet, kube-proxy)
#   $CACHE/node/logs           containerd.log kubelet.log kube-proxy.log (kept after `down`)
#   /run/torchserve-stack-node containerd state + socket, pids, owner, saved sysctls, IPAM
#   /sys/fs/cgroup/*/torchserve-stack-node   the kubelet's cgroup root (pods: .../kubepods/...)
# CACHE=${TS_STACK_CACHE:-$HOME/.cache/torchserve-stack}.
#
# Listens on loopback only: kubelet 127.0.0.1:10250 (+ healthz :10248),
# kube-proxy 127.0.0.1:10256 (healthz) and :10249 (metrics), containerd's CRI
# streaming server on 127.0.0.1 (random port), containerd on a unix socket.
# Pods get 10.88.0.0/16 (TS_NODE_POD_CIDR) on bridge tsnode0; no cluster DNS.
#
# Env: TS_STACK_CACHE, TS_NODE_TIMEOUT (seconds to wait for each phase, default 180),
# TS_NODE_POD_CIDR (default 10.88.0.0/16).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${TS_STACK_CACHE:-$HOME/.cache/torchserve-stack}"
TIMEOUT="${TS_NODE_TIMEOUT:-180}"
POD_CIDR="${TS_NODE_POD_CIDR:-10.88.0.0/16}"
BRIDGE=tsnode0
CNI_NET=torchserve-stack

NODE_DIR="$CACHE/node"
CTRD_ROOT="$NODE_DIR/containerd"
KUBELET_ROOT="$NODE_DIR/kubelet"
POD_LOGS="$NODE_DIR/pod-logs"
ETC="$NODE_DIR/etc"
LOGS="$NODE_DIR/logs"
RUN=/run/torchserve-stack-node
CTRD_STATE="$RUN/containerd"
SOCK="$CTRD_STATE/containerd.sock"
OWNER_FILE="$RUN/owner"
# The kubelet's cgroup root (pods under <root>/kubepods in every hierarchy):
# its own, so `down` never touches another kubelet's /kubepods.
CG_ROOT=torchserve-stack-node

# Debian packages the node needs (command they provide, for the check).
PACKAGES="containerd:containerd runc:runc containernetworking-plugins:/usr/lib/cni/bridge debootstrap:debootstrap iptables:iptables nftables:nft conntrack:conntrack iproute2:ip curl:curl"
# Kernel settings the kubelet, the CNI bridge plugin or this script change; saved by
# `up` (first time only) and restored by `down`.
SYSCTLS="net/ipv4/ip_forward net/bridge/bridge-nf-call-iptables vm/overcommit_memory vm/panic_on_oom kernel/panic kernel/panic_on_oops kernel/keys/root_maxkeys kernel/keys/root_maxbytes"

log() { printf '[node %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[node] ERROR: %s\n' "$*" >&2; exit 1; }
# die_phase PHASE LOGFILE MESSAGE: shows the end of the log.
die_phase() {
  if [ -n "$2" ] && [ -f "$2" ]; then
    printf -- '--- last lines of %s\n' "$2" >&2
    tail -n 25 "$2" >&2
  fi
  die "phase '$1': $3${2:+ (log: $2)}"
}

# ---------------------------------------------------------------- helpers

pid_alive() { # name -> 0 when its recorded process runs with our config
  local f="$RUN/$1.pid" pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  [ -n "$pid" ] && [ -d "/proc/$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$NODE_DIR/"
}

start_daemon() { # name logfile cmd...
  local name="$1" logf="$2"; shift 2
  mkdir -p "$(dirname "$logf")"
  : >"$logf"
  # 9>&-: the daemons must not inherit the lock on $RUN.lock.
  setsid "$@" >>"$logf" 2>&1 </dev/null 9>&- &
  echo $! >"$RUN/$name.pid"
}

stop_daemons() { # seconds-before-SIGKILL name... : SIGTERM to all, then wait for all
  local wait="$1" name pid pids="" i left; shift
  for name in "$@"; do
    if pid_alive "$name"; then
      pid=$(cat "$RUN/$name.pid")
      kill "$pid" 2>/dev/null || true
      pids="$pids $pid"
    fi
    rm -f "$RUN/$name.pid"
  done
  [ -n "$pids" ] || return 0
  for i in $(seq 1 $((wait * 10))); do
    left=""
    for pid in $pids; do [ -d "/proc/$pid" ] && left="$left $pid"; done
    [ -n "$left" ] || return 0
    sleep 0.1
  done
  log "$* did not stop in ${wait}s: SIGKILL$left"
  kill -9 $left 2>/dev/null || true
  sleep 0.5
}

wait_for() { # phase logfile seconds description command...
  local phase="$1" logf="$2" secs="$3" what="$4"; shift 4
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die_phase "$phase" "$logf" "$what not reached in ${secs}s"
    sleep 0.5
  done
}

ctr_() { ctr --address "$SOCK" --namespace k8s.io "$@"; }
kc() { kubectl --kubeconfig "$KUBECONFIG_PATH" --request-timeout=10s "$@"; }

# Mount points below a directory, deepest first.
mounts_below() { awk -v r="$1/" 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo | sort -ru; }

unmount_below() {
  local m
  for m in $(mounts_below "$1"); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "could not unmount $m"
  done
}

oom_restricted() { ! ( echo -998 >/proc/self/oom_score_adj ) 2>/dev/null; }

# ---------------------------------------------------------------- phases of up

ensure_packages() {
  local missing="" p pkg cmd
  for p in $PACKAGES; do
    pkg="${p%%:*}" cmd="${p#*:}"
    if [ "${cmd#/}" != "$cmd" ]; then [ -e "$cmd" ] || missing="$missing $pkg"
    else command -v "$cmd" >/dev/null || missing="$missing $pkg"; fi
  done
  [ -z "$missing" ] && return 0
  [ "$(id -u)" = 0 ] || die "phase 'packages': missing$missing and not root"
  log "installing from Debian:$missing"
  mkdir -p "$LOGS"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing; } \
    >"$LOGS/apt.log" 2>&1 || die_phase packages "$LOGS/apt.log" "apt-get install$missing failed"
  # The Debian package may start a system containerd (with systemd); ours is separate.
}

ensure_tools() {
  local p
  p="$("$SCRIPT_DIR/tools.sh" --path kubenode kube)" || die "phase 'tools': kubelet/kube-proxy/kubectl missing: run scripts/tools.sh first"
  export PATH="${p:+$p:}$PATH"
  command -v kubelet >/dev/null && command -v kube-proxy >/dev/null && command -v kubectl >/dev/null \
    || die "phase 'tools': kubelet, kube-proxy or kubectl not on PATH after scripts/tools.sh --path"
}

save_sysctls() {
  [ -f "$RUN/sysctls.saved" ] && return 0
  local k
  for k in $SYSCTLS; do
    [ -f "/proc/sys/$k" ] && echo "$k=$(cat "/proc/sys/$k")"
  done >"$RUN/sysctls.saved"
}

restore_sysctls() {
  [ -f "$RUN/sysctls.saved" ] || return 0
  local line k v
  while IFS= read -r line; do
    k="${line%%=*}" v="${line#*=}"
    [ "$(cat "/proc/sys/$k" 2>/dev/null)" = "$v" ] || echo "$v" >"/proc/sys/$k" 2>/dev/null || log "could not restore $k=$v"
  done <"$RUN/sysctls.saved"
  rm -f "$RUN/sysctls.saved"
}

restore_propagation() {
  [ -f "$RUN/propagation.saved" ] || return 0
  local target prop
  # Parents before children (findmnt lists them in that order).
  while read -r target prop; do
    case "$prop" in private|slave|unbindable) ;; *) continue ;; esac
    target=$(printf '%b' "$target")  # findmnt -r escapes spaces as \x20
    [ "$(findmnt -no PROPAGATION --mountpoint "$target" 2>/dev/null | head -n1)" = "$prop" ] \
      || mount --make-"$prop" "$target" 2>/dev/null || log "could not make $target $prop again"
  done <"$RUN/propagation.saved"
  rm -f "$RUN/propagation.saved"
}

prepare_host() {
  save_sysctls
  [ -f "$RUN/nft-tables.before" ] || nft list tables >"$RUN/nft-tables.before" 2>/dev/null || true
  # Directories the kubelet and CNI create on the host; `down` removes them if they were not there.
  [ -e /var/log/containers ] || [ -f "$RUN/made-var-log-containers" ] || touch "$RUN/made-var-log-containers"
  [ -e /var/lib/cni ] || [ -f "$RUN/made-var-lib-cni" ] || touch "$RUN/made-var-lib-cni"
  # The kubelet's volume mounts must propagate into containers. What each
  # mount had before is restored by `down`.
  if [ "$(findmnt -no PROPAGATION / 2>/dev/null)" != shared ]; then
    [ -f "$RUN/propagation.saved" ] || findmnt -rno TARGET,PROPAGATION >"$RUN/propagation.saved"
    mount --make-rshared /
  fi
  # Bridged pod traffic must pass the IP hooks (Services, hairpin).
  [ -d /proc/sys/net/bridge ] || modprobe br_netfilter 2>/dev/null || true
  [ -f /proc/sys/net/bridge/bridge-nf-call-iptables ] \
    || die "phase 'host': no /proc/sys/net/bridge (br_netfilter) on this kernel"
  echo 1 >/proc/sys/net/bridge/bridge-nf-call-iptables
  make_cgroup_root
}

# The kubelet's cgroup root must exist in every hierarchy (cgroup v1; on v2 the
# one tree). A new cpuset cgroup starts with no CPUs or memory nodes: copy the parent's.
make_cgroup_root() {
  local h
  for h in $(cgroup_hierarchies); do
    [ -d "$h/$CG_ROOT" ] && continue
    mkdir "$h/$CG_ROOT"
    if [ -f "$h/cpuset.cpus" ] && [ -f "$h/$CG_ROOT/cpuset.cpus" ]; then
      cat "$h/cpuset.cpus" >"$h/$CG_ROOT/cpuset.cpus"
      cat "$h/cpuset.mems" >"$h/$CG_ROOT/cpuset.mems"
    fi
  done
}

# Mounted cgroup hierarchies: /sys/fs/cgroup itself on v2, each controller on v1.
cgroup_hierarchies() {
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then echo /sys/fs/cgroup; return; fi
  awk '$3 == "cgroup" || $3 == "cgroup2" { print $2 }' /proc/self/mounts
}

write_containerd_config() {
  local restrict=false
  # This sandbox may not lower oom_score_adj (the CRI asks -998 for the pause
  # container and runc fails with "can't get final child's PID from pipe").
  # containerd's own option raises every container's score to at least its own.
  if oom_restricted; then restrict=true; fi
  mkdir -p "$ETC/cni/net.d" "$CTRD_ROOT" "$CTRD_STATE"
  cat >"$ETC/containerd.toml" <<EOF
# Written by scripts/node.sh; rewritten on every up.
version = 2
root = "$CTRD_ROOT"
state = "$CTRD_STATE"
oom_score = 0

[grpc]
  address = "$SOCK"
[ttrpc]
  address = ""
[debug]
  address = ""
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$CTRD_ROOT/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$("$SCRIPT_DIR/image.sh" ref pause)"
  enable_unprivileged_ports = false
  enable_unprivileged_icmp = false
  restrict_oom_score_adj = $restrict
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$ETC/cni/net.d"
    max_conf_num = 1
EOF
  # The CRI adds the loopback interface itself (loopback plugin from bin_dir).
  cat >"$ETC/cni/net.d/10-$CNI_NET.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$CNI_NET",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$POD_CIDR"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "$RUN/cni/networks"
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
  echo "$restrict"
}

start_containerd() {
  if pid_alive containerd && ctr --address "$SOCK" version >/dev/null 2>&1; then
    log "containerd already running (pid $(cat "$RUN/containerd.pid"))"
    return 0
  fi
  local restrict t=$SECONDS
  restrict=$(write_containerd_config)
  [ "$restrict" = true ] && log "oom_score_adj cannot be lowered here: containerd restrict_oom_score_adj = true"
  start_daemon containerd "$LOGS/containerd.log" containerd --config "$ETC/containerd.toml"
  wait_for containerd "$LOGS/containerd.log" 30 "containerd answering on $SOCK" ctr --address "$SOCK" version
  # The CRI plugin must have loaded (it reports errors only in its log).
  ctr --address "$SOCK" plugins ls 2>/dev/null | grep -q 'io.containerd.grpc.v1 *cri *.*ok' \
    || die_phase containerd "$LOGS/containerd.log" "the CRI plugin did not load"
  log "containerd up in $((SECONDS - t))s (pid $(cat "$RUN/containerd.pid"), socket $SOCK)"
}

write_kubelet_config() { # restrict
  mkdir -p "$KUBELET_ROOT" "$POD_LOGS"
  cat >"$ETC/kubelet.yaml" <<EOF
# Written by scripts/node.sh; rewritten on every up.
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
# Local only: anyone who can reach 127.0.0.1:10250 may use the kubelet API.
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: unix://$SOCK
cgroupDriver: cgroupfs
# This machine has cgroup v1, which kubelet 1.36 refuses unless told otherwise.
failCgroupV1: false
cgroupRoot: /$CG_ROOT
failSwapOn: false
enforceNodeAllocatable: []
evictionHard: {}
# Images cannot be pulled again (no registry): never collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
podLogsDir: $POD_LOGS
volumePluginDir: $KUBELET_ROOT/volume-plugins
resolvConf: /etc/resolv.conf
rotateCertificates: false
serverTLSBootstrap: false
registerNode: true
maxPods: 110
$([ "$1" = true ] && echo "oomScoreAdj: 0  # this machine refuses negative oom_score_adj")
EOF
}

start_kubelet() {
  if pid_alive kubelet; then
    log "kubelet already running (pid $(cat "$RUN/kubelet.pid"))"
  else
    local restrict=false
    oom_restricted && restrict=true
    write_kubelet_config "$restrict"
    start_daemon kubelet "$LOGS/kubelet.log" kubelet \
      --config "$ETC/kubelet.yaml" --kubeconfig "$KUBECONFIG_PATH" \
      --root-dir "$KUBELET_ROOT" --hostname-override "$NODE_NAME" --node-ip 127.0.0.1 --v 1
  fi
  local t=$SECONDS
  wait_for kubelet "$LOGS/kubelet.log" "$TIMEOUT" "node $NODE_NAME registered" kc get node "$NODE_NAME"
  set_node_address
  wait_for kubelet "$LOGS/kubelet.log" "$TIMEOUT" "node $NODE_NAME Ready" node_ready
  log "node $NODE_NAME Ready in $((SECONDS - t))s"
}

# The kubelet refuses a loopback node IP ("nodeIP can't be loopback address",
# logged at every status update) and then reports no address at all, so the
# API server cannot reach it (logs, exec, port-forward) and kube-proxy finds no
# node IP. A non-loopback address would make it listen beyond this host.
# The node's address is set once from here; the kubelet keeps what it does
# not set itself.
set_node_address() {
  [ -z "$(kc get node "$NODE_NAME" -o jsonpath='{.status.addresses}' 2>/dev/null)" ] || return 0
  kc patch node "$NODE_NAME" --subresource=status --type=merge \
    -p '{"status":{"addresses":[{"type":"InternalIP","address":"127.0.0.1"}]}}' >/dev/null \
    || die_phase kubelet "" "could not set the address of node $NODE_NAME"
}

kube_proxy_healthy() { pid_alive kube-proxy && curl -fsS --max-time 2 http://127.0.0.1:10256/healthz; }

node_ready() {
  pid_alive kubelet || return 1
  [ "$(kc get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

start_kube_proxy() {
  if ! pid_alive kube-proxy; then
    local restrict=false
    oom_restricted && restrict=true
    cat >"$ETC/kube-proxy.yaml" <<EOF
# Written by scripts/node.sh; rewritten on every up.
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: nftables
hostnameOverride: $NODE_NAME
clientConnection:
  kubeconfig: $KUBECONFIG_PATH
clusterCIDR: $POD_CIDR
# The node's IP (not waiting for one in the Node object).
bindAddress: 127.0.0.1
# NodePorts only on the node IP (loopback; the nftables mode does not serve
# NodePorts there), never on the machine's other interfaces.
nodePortAddresses: [primary]
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# Leave the host's conntrack settings alone.
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
$([ "$restrict" = true ] && echo "oomScoreAdj: 0")
EOF
    start_daemon kube-proxy "$LOGS/kube-proxy.log" kube-proxy --config "$ETC/kube-proxy.yaml" --v 1
  fi
  local t=$SECONDS
  wait_for kube-proxy "$LOGS/kube-proxy.log" 60 "kube-proxy healthy (127.0.0.1:10256/healthz)" kube_proxy_healthy
  log "kube-proxy (nftables) healthy in $((SECONDS - t))s"
}

# ---------------------------------------------------------------- commands

owner_field() { [ ! -f "$OWNER_FILE" ] || sed -n "s/^$1=//p" "$OWNER_FILE" | head -n1; }

node_up() { pid_alive containerd || pid_alive kubelet || pid_alive kube-proxy; }

cmd_up() {
  KUBECONFIG_PATH="" NODE_NAME="torchserve-node" OWNER=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --kubeconfig) KUBECONFIG_PATH="$2"; shift 2 ;;
      --name) NODE_NAME="$2"; shift 2 ;;
      --owner) OWNER="$2"; shift 2 ;;
      *) die "up: unknown argument $1" ;;
    esac
  done
  [ -n "$KUBECONFIG_PATH" ] && [ -f "$KUBECONFIG_PATH" ] || die "up: --kubeconfig PATH (an existing file) is required"
  KUBECONFIG_PATH="$(cd "$(dirname "$KUBECONFIG_PATH")" && pwd)/$(basename "$KUBECONFIG_PATH")"
  [[ "$NODE_NAME" =~ ^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$ ]] || die "bad node name '$NODE_NAME'"
  OWNER="${OWNER:-$KUBECONFIG_PATH}"
  [ "$(id -u)" = 0 ] || die "scripts/node.sh needs root"
  local total=$SECONDS t
  mkdir -p "$RUN" "$LOGS"
  exec 9>"$RUN.lock"
  flock -w "$TIMEOUT" 9 || die "another scripts/node.sh holds $RUN.lock"

  if [ -f "$OWNER_FILE" ] && node_up; then
    if [ "$(owner_field owner)" != "$OWNER" ] || [ "$(owner_field kubeconfig)" != "$KUBECONFIG_PATH" ]; then
      die "the real node of this machine is held by '$(owner_field owner)' (node $(owner_field node), kubeconfig $(owner_field kubeconfig)); one per machine: stop it first (scripts/cluster.sh down $(owner_field owner), or scripts/node.sh down)"
    fi
    [ "$(owner_field node)" = "$NODE_NAME" ] || die "the real node is up as '$(owner_field node)', not '$NODE_NAME'"
  elif [ -f "$OWNER_FILE" ] || [ -d "$CTRD_STATE" ]; then
    log "cleaning up after a node that is no longer running"
    do_down
  fi
  printf 'owner=%s\nnode=%s\nkubeconfig=%s\ncache=%s\n' "$OWNER" "$NODE_NAME" "$KUBECONFIG_PATH" "$CACHE" >"$OWNER_FILE"

  t=$SECONDS; ensure_packages; log "packages ok in $((SECONDS - t))s"
  ensure_tools
  kc get --raw /readyz >/dev/null 2>&1 || die "phase 'api': the API server of $KUBECONFIG_PATH does not answer"
  prepare_host
  start_containerd
  t=$SECONDS
  "$SCRIPT_DIR/image.sh" import "$SOCK" || die "phase 'images': scripts/image.sh import failed (see above)"
  log "images ready in $((SECONDS - t))s"
  start_kubelet
  start_kube_proxy
  log "node $NODE_NAME up in $((SECONDS - total))s (owner $OWNER)"
  echo "$NODE_NAME"
}

# Stop everything; safe to run twice and after a crash.
do_down() {
  local pid id m n pids p
  # kube-proxy (its --cleanup) and kubectl, when built; down works without them.
  p="$("$SCRIPT_DIR/tools.sh" --path kubenode kube 2>/dev/null || true)"
  PATH="${p:+$p:}$PATH"

  # The kubelet first (else it restarts what is stopped next), with kube-proxy.
  stop_daemons 15 kubelet kube-proxy
  if command -v kube-proxy >/dev/null; then
    kube-proxy --cleanup >"$LOGS/kube-proxy-cleanup.log" 2>&1 || log "kube-proxy --cleanup failed (log: $LOGS/kube-proxy-cleanup.log)"
  fi
  # Its nftables tables, should --cleanup have missed them.
  nft delete table ip kube-proxy 2>/dev/null || true
  nft delete table ip6 kube-proxy 2>/dev/null || true

  # Take the node out of its cluster (its pods are then collected there).
  local kcfg node
  kcfg="$(owner_field kubeconfig)" node="$(owner_field node)"
  if [ -n "$kcfg" ] && [ -f "$kcfg" ] && [ -n "$node" ] && command -v kubectl >/dev/null; then
    kubectl --kubeconfig "$kcfg" --request-timeout=5s delete node "$node" --wait=false >/dev/null 2>&1 || true
  fi

  # Every container and pod sandbox: kill, delete (the shims exit with them).
  local ids=""
  if pid_alive containerd && ctr --address "$SOCK" version >/dev/null 2>&1; then
    ids=$(ctr_ containers ls -q 2>/dev/null || true)
    for id in $(ctr_ tasks ls -q 2>/dev/null); do
      ctr_ tasks kill -a -s SIGKILL "$id" >/dev/null 2>&1 || true
    done
    for id in $(ctr_ tasks ls -q 2>/dev/null); do
      ctr_ tasks delete -f "$id" >/dev/null 2>&1 || true
    done
    for id in $(ctr_ containers ls -q 2>/dev/null); do
      ctr_ containers delete "$id" >/dev/null 2>&1 || true
    done
  fi
  stop_daemons 15 containerd

  # Shims of our containerd (found by its socket) and container processes
  # left in the kubelet's cgroups: started by this node, so stopped here.
  for pid in $(pgrep -f -- "-address $SOCK" || true); do
    log "killing leftover shim $pid"
    kill -9 "$pid" 2>/dev/null || true
  done
  for n in $(seq 1 10); do
    pids=$(find $(cgroup_hierarchies | sed "s|\$|/$CG_ROOT|") -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u || true)
    [ -z "$pids" ] && break
    log "killing leftover container processes: $(echo $pids)"
    kill -9 $pids 2>/dev/null || true
    sleep 0.5
  done

  # Mounts of the kubelet (volumes), containerd (rootfs, shm, netns).
  for m in "$KUBELET_ROOT" "$CTRD_STATE" "$CTRD_ROOT" "$RUN"; do unmount_below "$m"; done

  # Network: the bridge (pod veths went with their netns), IPAM, CNI's result cache.
  ip link show "$BRIDGE" >/dev/null 2>&1 && ip link delete "$BRIDGE" 2>/dev/null || true
  rm -f /var/lib/cni/results/"$CNI_NET"-* 2>/dev/null || true
  for id in $ids; do rm -f /var/lib/cni/results/cni-loopback-"$id"-* 2>/dev/null || true; done
  if [ -f "$RUN/made-var-lib-cni" ]; then
    rmdir /var/lib/cni/results /var/lib/cni 2>/dev/null || true
  fi
  # Chains the kubelet adds to the host's tables (canaries and KUBE-FIREWALL).
  cleanup_kubelet_rules

  # The kubelet's cgroups (cgroup v1: one tree per hierarchy), deepest first.
  for m in $(cgroup_hierarchies); do
    [ -d "$m/$CG_ROOT" ] || continue
    find "$m/$CG_ROOT" -depth -type d -exec rmdir {} \; 2>/dev/null || log "could not remove cgroup $m/$CG_ROOT"
  done
  # The kubelet's symlinks to our pod logs, and its directory if it made it.
  find /var/log/containers -maxdepth 1 -type l -lname "$POD_LOGS/*" -delete 2>/dev/null || true
  [ ! -f "$RUN/made-var-log-containers" ] || rmdir /var/log/containers 2>/dev/null || true

  restore_sysctls
  restore_propagation
  for m in "$KUBELET_ROOT" "$CTRD_STATE" "$RUN"; do
    [ -z "$(mounts_below "$m")" ] || die "phase 'down': still mounted below $m: $(mounts_below "$m" | tr '\n' ' ')"
  done
  rm -rf "$KUBELET_ROOT" "$POD_LOGS" "$RUN"
}

# The iptables (nf_tables backend) chains the kubelet creates: canaries,
# KUBE-IPTABLES-HINT and KUBE-FIREWALL (with its jumps from INPUT/OUTPUT); then
# the tables it created, if they are empty now (recorded by `up`).
cleanup_kubelet_rules() {
  local t c ipt rule fam rules
  for ipt in iptables ip6tables; do
    command -v "$ipt" >/dev/null || continue
    for t in mangle nat filter; do
      for c in KUBE-KUBELET-CANARY KUBE-IPTABLES-HINT KUBE-FIREWALL KUBE-PROXY-CANARY; do
        "$ipt" -t "$t" -S "$c" >/dev/null 2>&1 || continue
        "$ipt" -t "$t" -S 2>/dev/null | { grep -- "-j $c\$" || true; } | sed 's/^-A /-D /' | while read -r rule; do
          eval "$ipt -t $t $rule" 2>/dev/null || true
        done
        "$ipt" -t "$t" -F "$c" 2>/dev/null || true
        "$ipt" -t "$t" -X "$c" 2>/dev/null || true
      done
    done
  done
  [ -f "$RUN/nft-tables.before" ] || return 0
  for fam in ip ip6; do
    for t in mangle nat filter; do
      grep -qx "table $fam $t" "$RUN/nft-tables.before" && continue
      nft list table "$fam" "$t" >/dev/null 2>&1 || continue
      # Empty: nothing but (base) chain headers.
      rules=$(nft list table "$fam" "$t" 2>/dev/null | grep -v -e '^table ' -e 'chain .* {$' -e 'type .* hook ' \
        -e '^[[:space:]]*}[[:space:]]*$' -e '^[[:space:]]*$' || true)
      [ -n "$rules" ] || nft delete table "$fam" "$t" 2>/dev/null || true
    done
  done
}

cmd_down() {
  [ "$(id -u)" = 0 ] || die "scripts/node.sh needs root"
  mkdir -p "$LOGS"
  if [ ! -d "$RUN" ] && ! pgrep -f -- "-address $SOCK" >/dev/null; then
    log "node is not up"
    return 0
  fi
  exec 9>"$RUN.lock"
  flock -w "$TIMEOUT" 9 || die "another scripts/node.sh holds $RUN.lock"
  local who t=$SECONDS
  who="$(owner_field owner)"
  do_down
  local left
  left=$(pgrep -f -- "$NODE_DIR/|-address $SOCK" || true)
  [ -z "$left" ] || die "phase 'down': processes still running: $(echo $left)"
  log "node down in $((SECONDS - t))s${who:+ (was owned by $who)}; images kept in $CTRD_ROOT"
}

cmd_status() {
  if [ -f "$OWNER_FILE" ] && node_up; then
    local p
    for p in containerd kubelet kube-proxy; do
      pid_alive "$p" || die "node of '$(owner_field owner)' is degraded: $p is not running (log: $LOGS/$p.log)"
    done
    echo "owner=$(owner_field owner) node=$(owner_field node) kubeconfig=$(owner_field kubeconfig) containerd=$SOCK"
    return 0
  fi
  echo "no real node is up" >&2
  return 1
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  owner) [ -f "$OWNER_FILE" ] && node_up && owner_field owner || exit 1 ;;
  -h|--help) sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) die "usage: scripts/node.sh up --kubeconfig PATH [--name NODE] [--owner LABEL] | down | status | owner (--help)" ;;
esac
