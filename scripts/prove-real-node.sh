#!/usr/bin/env bash
# End-to-end proof of the real node, with numbers (re-runnable):
#   1. scripts/cluster.sh up NAME --real-node            (timed: control plane, node, images)
#   2. the project's dev stack with `pulumi up` (2 TorchServe pods of the
#      locally built docker.io/pytorch/torchserve:0.12.0-cpu, the pod spec
#      unchanged), pods Ready through the kubelet's exec probes
#   3. predictions through the Service's ClusterIP from this host (kube-proxy)
#      and by pod IP; latency over TS_PROOF_REQUESTS requests each
#   4. a rolling update (new model version) under ClusterIP traffic: errors seen
#   5. the memory limit in each pod's memory cgroup, and a pod over its limit OOM-killed
#   6. scripts/cluster.sh down, then check nothing is left (processes, mounts,
#      bridge, kube-proxy's table, cgroups)
#   7. a warm `up` (timed) and `down` again, checked the same way
#
#   scripts/prove-real-node.sh [NAME]     default NAME: tsproof
#
# Needs root, scripts/tools.sh and scripts/python-env.sh done, npm registry
# access for `npm ci` (once). Pulumi state goes to a temporary directory.
# Results: a summary on stdout and in $CACHE/logs/real-node-proof.txt;
# progress on stderr. On failure the cluster is stopped (TS_PROOF_KEEP=1 keeps it).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NAME="${1:-tsproof}"
CACHE="${TS_STACK_CACHE:-$HOME/.cache/torchserve-stack}"
REQUESTS="${TS_PROOF_REQUESTS:-20}"
RESULTS="$CACHE/logs/real-node-proof.txt"
cd "$ROOT"

log() { printf '[proof %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[proof] FAILED: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
result() { printf '%-46s %s\n' "$1" "$2" | tee -a "$RESULTS"; }

mkdir -p "$CACHE/logs"
: >"$RESULTS"
STATE="$(mktemp -d /tmp/tsproof-state.XXXXXX)"
cleanup() {
  local rc=$?
  if [ $rc -ne 0 ] && [ "${TS_PROOF_KEEP:-0}" != 1 ]; then
    log "stopping cluster $NAME after the failure"
    scripts/cluster.sh down "$NAME" >&2 || true
  fi
  rm -rf "$STATE"
}
trap cleanup EXIT

# shellcheck disable=SC1091
source scripts/env.sh
command -v pulumi >/dev/null && command -v node >/dev/null && command -v kubectl >/dev/null \
  || die "tools missing: run scripts/tools.sh and scripts/python-env.sh"
export PULUMI_BACKEND_URL="file://$STATE" PULUMI_CONFIG_PASSPHRASE=dev

# Nothing of the node may be left: processes, mounts, bridge, rules, cgroups.
check_clean() { # label
  local bad=""
  local procs
  # The node's daemons and shims run with paths of the node; container
  # processes sit in the kubelet's cgroups (root /torchserve-stack-node).
  procs=$(pgrep -af -- "$CACHE/node/|/run/torchserve-stack-node" || true)
  procs="$procs$(grep -l ':/torchserve-stack-node/' /proc/[0-9]*/cgroup 2>/dev/null | cut -d/ -f3 | xargs -r ps -o pid=,args= -p || true)"
  [ -z "$procs" ] || bad="$bad processes:[$procs]"
  ! grep -qE " ($CACHE/node|/run/torchserve-stack-node)" /proc/self/mountinfo || bad="$bad mounts:[$(grep -E " ($CACHE/node|/run/torchserve-stack-node)" /proc/self/mountinfo | awk '{print $5}' | tr '\n' ' ')]"
  ! ip link show tsnode0 >/dev/null 2>&1 || bad="$bad bridge:tsnode0"
  ! ip -o link show type veth 2>/dev/null | grep -q . || bad="$bad veths:[$(ip -o link show type veth | awk -F': ' '{print $2}' | tr '\n' ' ')]"
  ! nft list tables 2>/dev/null | grep -q kube-proxy || bad="$bad nft:kube-proxy"
  ! ls -d /sys/fs/cgroup/*/torchserve-stack-node >/dev/null 2>&1 || bad="$bad cgroups:[$(ls -d /sys/fs/cgroup/*/torchserve-stack-node | tr '\n' ' ')]"
  [ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$IP_FORWARD_BEFORE" ] || bad="$bad ip_forward:$(cat /proc/sys/net/ipv4/ip_forward)"
  [ -z "$bad" ] || die "$1: left behind:$bad"
  result "$1: nothing left running" "ok (no kubelet/kube-proxy/containerd/shim/torchserve, mounts, bridge, veths, nft table, cgroups)"
}

IP_FORWARD_BEFORE="$(cat /proc/sys/net/ipv4/ip_forward)"
scripts/cluster.sh down "$NAME" >/dev/null 2>&1 || true

# ------------------------------------------------------------ 1. up
log "1. scripts/cluster.sh up $NAME --real-node"
# up_timed LABEL: scripts/cluster.sh up with its phase timings in the results.
up_timed() {
  local t ulog="$CACHE/logs/real-node-proof.up.log"
  t=$(now)
  KUBECONFIG="$(scripts/cluster.sh up "$NAME" --real-node 2>"$ulog" | tail -n1)" || { cat "$ulog" >&2; die "scripts/cluster.sh up failed"; }
  export KUBECONFIG
  cat "$ulog" >&2
  result "$1" "$(since "$t") s"
  grep -o -e "cluster '$NAME' ready in [0-9]*s" -e 'packages ok in [0-9]*s' -e 'containerd up in [0-9]*s' \
    -e 'imported .* in [0-9]*s' -e 'built .* in [0-9]*s' -e 'images ready in [0-9]*s' -e 'Ready in [0-9]*s' \
    -e 'kube-proxy (nftables) healthy in [0-9]*s' -e 'node [a-z0-9-]* up in [0-9]*s' "$ulog" \
    | sed 's/^/  /' | tee -a "$RESULTS"
}
up_timed "up (control plane + real node)"
NODE="$NAME-node"
kubectl get nodes -o wide >&2
[ "$(kubectl get node "$NODE" -o jsonpath='{.status.nodeInfo.containerRuntimeVersion}')" = "containerd://1.6.20~ds1" ] \
  || log "note: runtime $(kubectl get node "$NODE" -o jsonpath='{.status.nodeInfo.containerRuntimeVersion}')"
# The kwok controller manages only the annotated fake nodes.
kwok_args=$(pgrep -af "clusters/$NAME/bin/kwok-controller" || true)
grep -q -- "--manage-all-nodes=false" <<<"$kwok_args" && grep -q -- "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake" <<<"$kwok_args" \
  || die "kwok is not limited to fake nodes: ${kwok_args:-no kwok-controller process}"
result "kwok manages" "only nodes annotated kwok.x-k8s.io/node=fake"

# ------------------------------------------------------------ 2. the dev stack
log "2. the dev stack: npm ci/build, dev model, pulumi up"
[ -d node_modules ] || npm ci --no-audit --no-fund >&2
npm run build >&2
scripts/dev-model.sh >&2
mkdir -p /tmp/torchserve-stack-dev/model-store
pulumi stack select --create dev >&2
t=$(now)
pulumi up --yes --skip-preview --non-interactive >"$CACHE/logs/real-node-proof.pulumi.log" 2>&1 \
  || { tail -n 40 "$CACHE/logs/real-node-proof.pulumi.log" >&2; die "pulumi up failed (log: $CACHE/logs/real-node-proof.pulumi.log)"; }
result "pulumi up (2 pods Ready, Deployment Available)" "$(since "$t") s"
NS="$(pulumi stack output namespace)"
SVC="$(pulumi stack output serviceName)"
DEPLOY="$(pulumi stack output deploymentName)"
MODEL="$(pulumi stack output modelName)"
kubectl -n "$NS" get pods -o wide >&2

pods=$(kubectl -n "$NS" get pods -l app.kubernetes.io/name=torchserve -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}')
[ "$(echo "$pods" | wc -l)" = 2 ] || die "expected 2 pods, got: $pods"
for p in $pods; do
  node=$(kubectl -n "$NS" get pod "$p" -o jsonpath='{.spec.nodeName}')
  [ "$node" = "$NODE" ] || die "pod $p is on $node, not the real node"
  img=$(kubectl -n "$NS" get pod "$p" -o jsonpath='{.status.containerStatuses[0].image} {.status.containerStatuses[0].imageID}')
  started=$(kubectl -n "$NS" get pod "$p" -o jsonpath='{.status.containerStatuses[0].state.running.startedAt}')
  ready=$(kubectl -n "$NS" get pod "$p" -o jsonpath='{.status.conditions[?(@.type=="Ready")].lastTransitionTime}')
  created=$(kubectl -n "$NS" get pod "$p" -o jsonpath='{.metadata.creationTimestamp}')
  result "pod $p" "image $img"
  result "  created -> container started -> Ready" "$(( $(date -d "$started" +%s) - $(date -d "$created" +%s) )) s -> $(( $(date -d "$ready" +%s) - $(date -d "$started" +%s) )) s (exec probes by the kubelet)"
done
# The probes really ran in the pods: the kubelet's prober counts them.
probes=$(curl -sk https://127.0.0.1:10250/metrics/probes 2>/dev/null | grep "^prober_probe_total{.*namespace=\"$NS\"" \
  | awk '{ split($0, a, "probe_type=\""); split(a[2], b, "\""); split($0, c, "result=\""); split(c[2], d, "\""); n[b[1] " " d[1]] += $NF }
         END { for (k in n) printf "%s=%d ", k, n[k] }')
result "kubelet prober_probe_total (type result=count)" "${probes:-none}"

# ------------------------------------------------------------ 3. predictions
latency() { # url -> prints "min/median/max ms" over $REQUESTS requests, checks each answer
  local url="$1" i ts=()
  for i in $(seq 1 "$REQUESTS"); do
    out=$(curl -sS --max-time 10 -o "$STATE/answer" -w '%{http_code} %{time_total}' -X POST "$url" \
      -H 'Content-Type: application/json' -d '{"data":[1,2,3,4]}') || die "request to $url failed"
    [ "${out%% *}" = 200 ] || die "$url answered ${out%% *}: $(cat "$STATE/answer")"
    ts+=("${out#* }")
  done
  printf '%s\n' "${ts[@]}" | sort -n | awk '{ a[NR] = $1 * 1000 } END { printf "%.1f / %.1f / %.1f ms", a[1], a[int((NR + 1) / 2)], a[NR] }'
}
CIP=$(kubectl -n "$NS" get svc "$SVC" -o jsonpath='{.spec.clusterIP}')
PORT=$(kubectl -n "$NS" get svc "$SVC" -o jsonpath='{.spec.ports[0].port}')
log "3. predictions via ClusterIP $CIP:$PORT and pod IPs"
answer=$(curl -sS --max-time 10 -X POST "http://$CIP:$PORT/predictions/$MODEL" -H 'Content-Type: application/json' -d '{"data":[1,2,3,4]}' | tr -d ' \n') \
  || die "no answer from the ClusterIP $CIP:$PORT (kube-proxy)"
result "prediction via ClusterIP $CIP:$PORT" "$answer"
result "  latency min/median/max ($REQUESTS requests)" "$(latency "http://$CIP:$PORT/predictions/$MODEL")"
# Both endpoints served ClusterIP traffic: conntrack shows the DNAT replies.
backends=$(conntrack -L -p tcp --orig-dst "$CIP" 2>/dev/null | grep -o 'src=10\.88\.[0-9.]*' | sort -u | tr '\n' ' ')
result "  ClusterIP connections answered by (conntrack)" "${backends:-none seen}"
for p in $pods; do
  ip=$(kubectl -n "$NS" get pod "$p" -o jsonpath='{.status.podIP}')
  result "prediction via pod IP $ip" "$(curl -sS --max-time 10 -X POST "http://$ip:$PORT/predictions/$MODEL" -H 'Content-Type: application/json' -d '{"data":[1,2,3,4]}' | tr -d ' \n')"
  result "  latency min/median/max ($REQUESTS requests)" "$(latency "http://$ip:$PORT/predictions/$MODEL")"
done

# ------------------------------------------------------------ 4. rolling update
log "4. rolling update to a new model version under ClusterIP traffic"
scripts/dev-model.sh 2 >&2
( while :; do
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 3 -X POST "http://$CIP:$PORT/predictions/$MODEL" \
      -H 'Content-Type: application/json' -d '{"data":[1,2,3,4]}' || true
    sleep 0.1
  done >"$STATE/codes" ) &
LOOP=$!
t=$(now)
pulumi up --yes --skip-preview --non-interactive >>"$CACHE/logs/real-node-proof.pulumi.log" 2>&1 \
  || { kill $LOOP; die "pulumi up of the new version failed (log: $CACHE/logs/real-node-proof.pulumi.log)"; }
result "pulumi up of a new version (rolling update)" "$(since "$t") s"
sleep 7  # the old pods' preStop (sleep 5) and termination
kill $LOOP; wait $LOOP 2>/dev/null || true
result "  requests via ClusterIP during the rollout" "$(sort "$STATE/codes" | uniq -c | awk '{printf "%s x%s ", $2, $1}')"
new=$(curl -sS --max-time 10 -X POST "http://$CIP:$PORT/predictions/$MODEL" -H 'Content-Type: application/json' -d '{"data":[1,2,3,4]}' | tr -d ' \n')
result "  answer after the rollout" "$new"
[ "$(pulumi stack output modelVersion)" != "$(grep -o '"version":"[^"]*"' <<<"$answer" | cut -d'"' -f4)" ] || die "the version did not change"
grep -q "\"version\":\"$(pulumi stack output modelVersion)\"" <<<"$new" || die "the new version does not answer: $new"
pods=$(kubectl -n "$NS" get pods -l "app.kubernetes.io/name=torchserve,app.kubernetes.io/version=$(pulumi stack output modelVersion)" \
  -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}')
[ "$(echo "$pods" | wc -l)" = 2 ] || die "expected 2 pods of the new version, got: $pods"

# ------------------------------------------------------------ 5. memory cgroup
log "5. memory limits in the pods' cgroups"
for p in $pods; do
  uid=$(kubectl -n "$NS" get pod "$p" -o jsonpath='{.metadata.uid}')
  cid=$(kubectl -n "$NS" get pod "$p" -o jsonpath='{.status.containerStatuses[0].containerID}'); cid=${cid#containerd://}
  limit=$(kubectl -n "$NS" get pod "$p" -o jsonpath='{.spec.containers[0].resources.limits.memory}')
  cg=""
  for d in /sys/fs/cgroup/memory/torchserve-stack-node/kubepods/*/pod"$uid"/"$cid" /sys/fs/cgroup/memory/torchserve-stack-node/kubepods/pod"$uid"/"$cid"; do
    [ -d "$d" ] && cg="$d" && break
  done
  [ -n "$cg" ] || die "no memory cgroup for pod $p ($uid/$cid)"
  bytes=$(cat "$cg/memory.limit_in_bytes")
  result "pod $p memory cgroup" "${cg#/sys/fs/cgroup/memory/}"
  result "  memory.limit_in_bytes (spec limit $limit)" "$bytes ($((bytes / 1048576)) MiB), usage $(( $(cat "$cg/memory.usage_in_bytes") / 1048576 )) MiB"
  # The server's JVM and Python workers are in that cgroup.
  result "  processes in it" "$(ps -o comm= -p "$(tr '\n' ',' <"$cg/cgroup.procs" | sed 's/,$//')" | sort | uniq -c | awk '{printf "%s x%s ", $2, $1}')"
done
# A pod over its limit is killed by the kernel (the same image, 64Mi, allocates 256 MiB).
kubectl -n "$NS" delete pod oom-proof --ignore-not-found >/dev/null
kubectl -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: oom-proof}
spec:
  nodeName: $NODE
  restartPolicy: Never
  securityContext: {runAsNonRoot: true, runAsUser: 1000}
  containers:
  - name: hog
    image: docker.io/pytorch/torchserve:0.12.0-cpu
    imagePullPolicy: IfNotPresent
    command: ["python", "-c", "import time; b = bytearray(256 << 20); time.sleep(30)"]
    resources: {limits: {memory: 64Mi, cpu: 500m}}
EOF
reason=""
for i in $(seq 1 60); do
  reason=$(kubectl -n "$NS" get pod oom-proof -o jsonpath='{.status.containerStatuses[0].state.terminated.reason}' 2>/dev/null || true)
  [ -n "$reason" ] && break
  sleep 1
done
[ "$reason" = OOMKilled ] || die "the 64Mi pod was not OOM-killed (terminated reason: '${reason:-none}')"
result "pod with limit 64Mi allocating 256 MiB" "$reason (exit $(kubectl -n "$NS" get pod oom-proof -o jsonpath='{.status.containerStatuses[0].state.terminated.exitCode}'))"
kubectl -n "$NS" delete pod oom-proof --wait=false >/dev/null

# ------------------------------------------------------------ 6. down
log "6. scripts/cluster.sh down $NAME"
t=$(now)
scripts/cluster.sh down "$NAME" >&2
result "down" "$(since "$t") s"
check_clean "after down"

# ------------------------------------------------------------ 7. warm up
log "7. warm scripts/cluster.sh up $NAME --real-node"
up_timed "up again (warm: images cached)"
kubectl get node "$NODE" >&2
t=$(now)
scripts/cluster.sh down "$NAME" >&2
result "down again" "$(since "$t") s"
check_clean "after the second down"
trap - EXIT
rm -rf "$STATE"
log "all checks passed; summary in $RESULTS"
