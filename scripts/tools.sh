#!/usr/bin/env bash
# Provides the real tools the end-to-end tests need, on a machine whose only
# network is the package registries (npm, the Go module proxy, ...):
#
#   Node 22, the Pulumi CLI + Node language host, the kubernetes and command
#   resource providers, a throwaway Kubernetes control plane (etcd,
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok,
#   kwokctl), a real node's kubelet and kube-proxy, and actionlint.
#
# The two resource providers are installed the official way, with
# `pulumi plugin install resource NAME VERSION --file ...`, into the plugin
# cache (${PULUMI_HOME:-~/.pulumi}/plugins), where the engine picks them by
# version; they are never put on PATH. The kubernetes provider is built from
# the Go module proxy; the Command provider is served by no registry this kind
# of machine reaches, so it is installed from the release tarball named by
# TS_COMMAND_PROVIDER_FILE (its binary's sha256 is checked). On a machine with
# internet access, `pulumi plugin install resource command 1.2.1` (or the
# engine's automatic plugin download) does the same.
#
# Everything is built or installed once per machine into a cache outside the
# repo, one directory per tool and version:
#   ${TS_STACK_CACHE:-$HOME/.cache/torchserve-stack}/tools/<tool>-<version>/bin
# A tool already on PATH with an acceptable version (e.g. from the official
# installers) is used as is and nothing is built for it.
#
# Usage:
#   scripts/tools.sh            ensure every tool (builds what is missing)
#   scripts/tools.sh --path [tool...]
#                               print the PATH prefix (colon-separated bin dirs)
#                               for all tools or the named ones (node pulumi
#                               etcd kube kubenode kwok actionlint); builds
#                               nothing, fails if a tool is missing
#   scripts/tools.sh --list     print each tool, where it comes from, its version
#   source scripts/env.sh       PATH + Pulumi env vars for this shell
#
# Env: TS_STACK_CACHE (cache root), TS_TOOLS_JOBS (builds at a time, default 1:
# measured faster than 2 on 2 cores, see scripts/TOOLS_TIMINGS.md),
# TS_COMMAND_PROVIDER_FILE (the Command provider's release tarball or binary,
# installed when the plugin cache lacks it), PULUMI_HOME (plugin cache root).
#
# Why Go builds and not downloads: release binaries live on GitHub/dl.k8s.io/
# get.pulumi.com, which this kind of machine cannot reach. Only the Go module
# proxy is reachable, and it serves just some versions of some modules: every
# tool is built from modules it serves, except the Command provider, which it
# does not serve at any version (see install_cmdprov).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The Pulumi CLI finds its home from the passwd entry, not $HOME; name it, so
# the plugins go where this script (and the tests, and a run with another
# HOME, e.g. CI's fresh one) look: $HOME/.pulumi unless PULUMI_HOME is set.
export PULUMI_HOME="${PULUMI_HOME:-$HOME/.pulumi}"
CACHE="${TS_STACK_CACHE:-$HOME/.cache/torchserve-stack}"
TOOLS="$CACHE/tools"
LOGS="$CACHE/logs"
JOBS="${TS_TOOLS_JOBS:-1}"

# ---- versions (change here; the cache is keyed by them) --------------------
NODE_MAJOR=22
PULUMI_VERSION=v3.259.0
# The Node language host is a separate module since v3.7x, which the proxy does
# not serve; v3.68.0 still has it inside sdk/v3 (served), and it works with this
# CLI, @pulumi/pulumi 3.259 and Node 22 (checked: program, components, outputs).
LANGUAGE_HOST_SDK_VERSION=v3.68.0
# The only pulumi-kubernetes provider version the proxy serves (= v4.25.0);
# package.json pins @pulumi/kubernetes to the same version.
K8S_PROVIDER_VERSION=4.25.0
K8S_PROVIDER_BASE=v4.0.0-20260115033456-f47bc2d6f199
COMMAND_PROVIDER_VERSION=1.2.1
# sha256 of pulumi-resource-command 1.2.1 linux-amd64 as built from its public
# source at tag v1.2.1 (the tarball's provenance: ../shared/tools/README.md).
COMMAND_PROVIDER_SHA256=63e0a09c34f9b53f349623909fd5eb6626ce400abd111be507e2935736a6b357
ETCD_VERSION=v3.6.14
KUBE_VERSION=v1.36.1 # kwok v0.8.0's default Kubernetes version
KWOK_VERSION=v0.8.0
ACTIONLINT_VERSION=v1.7.12

KUBE_MINOR="${KUBE_VERSION#v1.}"
KUBE_MINOR="${KUBE_MINOR%%.*}"

# Go builds: local toolchain only, static, small, reproducible paths.
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"
GO_BUILD=(go build -trimpath)
# `pulumi plugin install` must not ask the internet for a newer CLI.
export PULUMI_SKIP_UPDATE_CHECK=true

log() { printf '[tools %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[tools] ERROR: %s\n' "$*" >&2; exit 1; }

# ---- where each tool's bin dir lives in the cache --------------------------
dir_node() { echo "$TOOLS/node-$NODE_MAJOR/bin"; }
dir_pulumi() { echo "$TOOLS/pulumi-$PULUMI_VERSION/bin"; }
dir_k8sprov() { echo "$TOOLS/pulumi-resource-kubernetes-v$K8S_PROVIDER_VERSION/bin"; }
dir_etcd() { echo "$TOOLS/etcd-$ETCD_VERSION/bin"; }
dir_kube() { echo "$TOOLS/kubernetes-$KUBE_VERSION/bin"; }
dir_kubenode() { echo "$TOOLS/kubernetes-node-$KUBE_VERSION/bin"; }
dir_kwok() { echo "$TOOLS/kwok-$KWOK_VERSION/bin"; }
dir_actionlint() { echo "$TOOLS/actionlint-$ACTIONLINT_VERSION/bin"; }

# Binaries each tool must provide (all must exist for the tool to count).
bins_node="node"
bins_pulumi="pulumi pulumi-language-nodejs"
bins_k8sprov="pulumi-resource-kubernetes"
bins_etcd="etcd"
bins_kube="kube-apiserver kube-controller-manager kube-scheduler kubectl"
bins_kubenode="kubelet kube-proxy"
bins_kwok="kwok kwokctl"
bins_actionlint="actionlint"

# Order = build order: CLI first, then the kubernetes provider (reuses the
# CLI's compiled Pulumi SDK), then the control plane and the node.
ALL_TOOLS="node pulumi k8sprov etcd kube kubenode kwok actionlint"
# Tools whose bin dir goes on PATH; the provider is installed as a plugin instead.
PATH_TOOLS="node pulumi etcd kube kubenode kwok actionlint"

# PATH without our own cache dirs, so "already on PATH" means installed by
# someone else (sourcing env.sh twice must not count as an outside install).
outside_path() {
  local p out="" IFS=:
  for p in $PATH; do
    case "$p" in "$TOOLS"/*) ;; *) out="${out:+$out:}$p" ;; esac
  done
  echo "$out"
}
OUTSIDE_PATH="$(outside_path)"
on_path() { PATH="$OUTSIDE_PATH" command -v "$1" 2>/dev/null; }

# "1.2.3" >= "1.2.0" ?
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

# ---- acceptable versions of binaries found on PATH --------------------------
# Each prints why it accepts; returns non-zero when the PATH copy won't do.
path_ok_node() {
  local b v; b=$(on_path node) || return 1
  v=$("$b" --version 2>/dev/null) || return 1 # v22.23.3
  v=${v#v}; [ "${v%%.*}" -ge "$NODE_MAJOR" ] 2>/dev/null || return 1
  echo "$b ($v)"
}
path_ok_pulumi() {
  local b v; b=$(on_path pulumi) || return 1
  # The language host must sit next to the CLI (that is where the CLI looks,
  # and where the official installer puts it).
  [ -x "$(dirname "$b")/pulumi-language-nodejs" ] || on_path pulumi-language-nodejs >/dev/null || return 1
  v=$("$b" version 2>/dev/null) || return 1 # v3.259.0
  case "$v" in v3.*) ;; *) return 1 ;; esac
  version_ge "${v#v}" "${PULUMI_VERSION#v}" || return 1
  echo "$b ($v)"
}
# Providers: the Pulumi CLI uses a pulumi-resource-* binary on PATH whatever
# its version (and warns "using pulumi-resource-NAME from $PATH" on every run),
# and providers have no --version. So a provider on PATH is never trusted; the
# official way, `pulumi plugin install`, puts it in
# $PULUMI_HOME/plugins/resource-NAME-vVERSION, where the CLI finds it by
# version. The kubernetes provider is only ever built here and then installed
# there (install_plugins), so "on PATH" never applies to it.
plugins_dir() { echo "${PULUMI_HOME:-$HOME/.pulumi}/plugins"; }
plugin_installed() { # name version -> prints the plugin dir when installed
  local d; d="$(plugins_dir)/resource-$1-v$2"
  [ -x "$d/pulumi-resource-$1" ] || return 1
  echo "$d"
}
path_ok_k8sprov() {
  local d; d=$(plugin_installed kubernetes "$K8S_PROVIDER_VERSION") || return 1
  echo "$d (pulumi plugin install)"
}
path_ok_etcd() {
  local b v; b=$(on_path etcd) || return 1
  v=$("$b" --version 2>/dev/null | sed -n 's/^etcd Version: //p') || return 1
  case "$v" in 3.6.*) echo "$b ($v)" ;; *) return 1 ;; esac
}
kube_minor_of() { # binary -> "36" from "Kubernetes v1.36.1" / "Client Version: v1.36.1"
  timeout 10 "$1" --version 2>/dev/null </dev/null | sed -n 's/.*v1\.\([0-9]*\)\..*/\1/p' | head -n1
}
path_ok_kube() {
  local b m out=""
  for b in kube-apiserver kube-controller-manager kube-scheduler; do
    b=$(on_path "$b") || return 1
    m=$(kube_minor_of "$b"); [ "$m" = "$KUBE_MINOR" ] || return 1
    out="$out $b"
  done
  # kubectl: same minor (the client skew policy allows +-1, but keep it simple)
  b=$(on_path kubectl) || return 1
  m=$("$b" version --client 2>/dev/null | sed -n 's/^Client Version: v1\.\([0-9]*\)\..*/\1/p')
  [ "$m" = "$KUBE_MINOR" ] || return 1
  echo "${out# } $b (1.$KUBE_MINOR)"
}
path_ok_kwok() {
  local b v
  for b in kwok kwokctl; do
    b=$(on_path "$b") || return 1
    v=$("$b" --version 2>/dev/null) || return 1 # "kwokctl version v0.8.0 go..."
    case "$v" in *" ${KWOK_VERSION%.*}."*) ;; *) return 1 ;; esac
  done
  echo "kwok, kwokctl on PATH (${KWOK_VERSION%.*}.x)"
}
path_ok_kubenode() {
  local b m out=""
  for b in kubelet kube-proxy; do
    b=$(on_path "$b") || return 1
    m=$(kube_minor_of "$b"); [ "$m" = "$KUBE_MINOR" ] || return 1
    out="$out $b"
  done
  echo "${out# } (1.$KUBE_MINOR)"
}
path_ok_actionlint() {
  local b v; b=$(on_path actionlint) || return 1
  v=$("$b" -version 2>/dev/null | head -n1) || return 1
  [ "$v" = "${ACTIONLINT_VERSION#v}" ] || [ "$v" = "$ACTIONLINT_VERSION" ] || return 1
  echo "$b ($v)"
}

# Cached build complete? (all binaries present; dirs are only ever created
# whole, by rename, so presence means complete)
cached_ok() {
  local t=$1 d b bins
  d=$("dir_$t"); bins="bins_$t"
  for b in ${!bins}; do [ -x "$d/$b" ] || return 1; done
}

# ---- builders ---------------------------------------------------------------
# Each builder gets a fresh empty directory $1 (on the cache's filesystem) and
# must leave the binaries in $1/bin; the caller renames $1 into place.

build_node() {
  local out=$1 arch
  case "$(uname -m)" in x86_64) arch=x64 ;; aarch64 | arm64) arch=arm64 ;; *) die "node: unsupported arch $(uname -m)" ;; esac
  # node-linux-<arch> is the package the `node` meta-package installs from its
  # preinstall script; installing it directly needs no install script (npm 11
  # does not run unapproved ones) and ships bin/node.
  mkdir -p "$out/npm"
  npm install --prefix "$out/npm" --no-save --no-package-lock --ignore-scripts \
    --no-audit --no-fund --loglevel=error "node-linux-$arch@$NODE_MAJOR"
  mv "$out/npm/node_modules/node-linux-$arch" "$out/node"
  rm -rf "$out/npm"
  mkdir -p "$out/bin"
  ln -s ../node/bin/node "$out/bin/node"
  local v; v=$("$out/bin/node" --version)
  case "$v" in "v$NODE_MAJOR."*) log "node: $v" ;; *) die "node: installed $v, expected v$NODE_MAJOR" ;; esac
  "$out/bin/node" -e 'require("fs/promises").glob || process.exit(1)' || die "node: no fs/promises.glob"
}

build_pulumi() {
  local out=$1 w=$1/src
  mkdir -p "$w/cli" "$w/host" "$out/bin"
  (
    cd "$w/cli"
    go mod init local/pulumi-build >/dev/null 2>&1
    # pulumi's own go.mod replaces atotto/clipboard; a wrapper must repeat it.
    go mod edit -replace github.com/atotto/clipboard=github.com/tgummerer/clipboard@v0.0.0-20241001131231-d02d263e614e
    go mod edit -require "github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION" -require "github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION"
    # tools.go: makes `go mod tidy` keep what the CLI's main package needs.
    printf '//go:build tools\npackage tools\nimport _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"\n' >tools.go
    go mod tidy
    "${GO_BUILD[@]}" -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
      -o "$out/bin/" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  )
  (
    # The language host goes next to the CLI, where the CLI looks for it.
    cd "$w/host"
    go mod init local/pulumi-host-build >/dev/null 2>&1
    go get "github.com/pulumi/pulumi/sdk/v3@$LANGUAGE_HOST_SDK_VERSION"
    "${GO_BUILD[@]}" -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$LANGUAGE_HOST_SDK_VERSION" \
      -o "$out/bin/" github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs
  )
  rm -rf "$w"
  "$out/bin/pulumi" version
}

build_k8sprov() {
  local out=$1 w=$1/src mod=github.com/pulumi/pulumi-kubernetes/provider/v4
  mkdir -p "$out/bin"
  local dir; dir=$(go mod download -json "$mod@$K8S_PROVIDER_BASE" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [ -d "$dir" ] || die "k8s provider: go mod download $mod@$K8S_PROVIDER_BASE failed"
  cp -r "$dir" "$w"; chmod -R u+w "$w"
  (
    cd "$w"
    # Tests are not built; they only drag test-only dependencies into go mod tidy.
    find . -name '*_test.go' -delete
    # Upstream builds against the repo's sdk dir; the Go SDK isn't needed here.
    go mod edit -dropreplace github.com/pulumi/pulumi-kubernetes/sdk/v4
    go mod tidy -e
    # generate.go writes the embedded schema the provider serves (git-ignored upstream).
    (cd cmd/pulumi-resource-kubernetes && VERSION="$K8S_PROVIDER_VERSION" go run ./generate.go)
    "${GO_BUILD[@]}" -ldflags "-s -w -X $mod/pkg/version.Version=$K8S_PROVIDER_VERSION" \
      -o "$out/bin/" ./cmd/pulumi-resource-kubernetes
  )
  rm -rf "$w"
}

build_etcd() {
  local out=$1 w=$1/src
  mkdir -p "$w" "$out/bin"
  (
    cd "$w"
    go mod init local/etcd-build >/dev/null 2>&1
    go mod edit -require "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    printf '//go:build tools\npackage tools\nimport _ "go.etcd.io/etcd/server/v3"\n' >tools.go
    go mod tidy
    "${GO_BUILD[@]}" -ldflags "-s -w" -o "$out/bin/etcd" go.etcd.io/etcd/server/v3
  )
  rm -rf "$w"
  # sed, not head: head exits after one line and etcd's next write would fail
  # the build with SIGPIPE under pipefail.
  "$out/bin/etcd" --version | sed -n 1p
}

# k8s.io/kubernetes commands, built the way upstream does, from the module
# proxy: a wrapper module that requires k8s.io/kubernetes and points each of its
# staging modules at the published v0.<minor>.<patch>.
build_kube_cmds() { # out cmd...
  local out=$1 w=$1/src kmod; shift
  local cmds=("$@")
  mkdir -p "$w" "$out/bin"
  (
    cd "$w"
    go mod init local/kube-build >/dev/null 2>&1
    kmod=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')
    [ -f "$kmod" ] || die "kube: go mod download k8s.io/kubernetes@$KUBE_VERSION failed"
    # Same language version / GODEBUG defaults as upstream's go.mod.
    go mod edit -go="$(sed -n 's/^go //p' "$kmod")"
    local gd; gd=$(sed -n 's/^godebug //p' "$kmod"); [ -z "$gd" ] || go mod edit -godebug "$gd"
    go mod edit -require "k8s.io/kubernetes@$KUBE_VERSION"
    # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces
    # them with ./staging/src/...; as a dependency those replaces are ignored,
    # so point each at its published v0.<minor>.<patch>.
    local m
    for m in $(awk '/=> \.\/staging\// {print $1}' "$kmod"); do
      go mod edit -replace "$m=$m@v0.${KUBE_VERSION#v1.}"
    done
    {
      printf '//go:build tools\n\npackage tools\n\nimport (\n'
      for m in "${cmds[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$m"; done
      printf ')\n'
    } >tools.go
    go mod tidy
    # Without these, /version and --version say v0.0.0-master.
    local ld="-s -w" v
    for v in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ld="$ld -X $v.gitVersion=$KUBE_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$KUBE_MINOR -X $v.gitTreeState=clean"
    done
    "${GO_BUILD[@]}" -ldflags "$ld" -o "$out/bin/" "${cmds[@]/#/k8s.io/kubernetes/cmd/}"
  )
  rm -rf "$w"
}

build_kube() {
  build_kube_cmds "$1" kube-apiserver kube-controller-manager kube-scheduler kubectl
  "$1/bin/kube-apiserver" --version
}

# A real node (scripts/node.sh): the kubelet runs pods with containerd, and
# kube-proxy routes Service traffic to them.
build_kubenode() {
  build_kube_cmds "$1" kubelet kube-proxy
  "$1/bin/kubelet" --version
}

build_kwok() {
  local out=$1
  mkdir -p "$out/bin"
  # `go install pkg@version` builds with kwok's own go.mod; -mod is not allowed.
  GOFLAGS= GOBIN="$out/bin" go install -trimpath -ldflags "-s -w" \
    "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION"
  "$out/bin/kwokctl" --version
}

build_actionlint() {
  local out=$1
  mkdir -p "$out/bin"
  GOFLAGS= GOBIN="$out/bin" go install -trimpath -ldflags "-s -w -X github.com/rhysd/actionlint.version=${ACTIONLINT_VERSION#v}" \
    "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
  "$out/bin/actionlint" -version
}

# Build one tool into a temp dir, then rename it into place: an interrupted
# build never leaves a half-written tool behind. Logs go to $LOGS/<tool>.log.
build_one() {
  local t=$1 final tmp start rc=0
  final=$(dirname "$("dir_$t")")
  tmp=$(mktemp -d "$TOOLS/.build-$t-XXXXXX")
  start=$SECONDS
  log "$t: building -> $final (log: $LOGS/$t.log)"
  # A separate bash process: `set -e` is ignored inside a function that runs
  # as part of `cmd || ...`, so calling build_$t directly here would carry on
  # past failed steps.
  bash "$SCRIPT_DIR/tools.sh" __build "$t" "$tmp" >"$LOGS/$t.log" 2>&1 || rc=$?
  # Every expected binary must be there and run (not just "no error").
  if [ $rc -eq 0 ]; then
    local b bins="bins_$t"
    for b in ${!bins}; do
      [ -x "$tmp/bin/$b" ] || { echo "missing after build: bin/$b" >>"$LOGS/$t.log"; rc=1; }
    done
  fi
  if [ $rc -ne 0 ]; then
    chmod -R u+w "$tmp" 2>/dev/null || true; rm -rf "$tmp"
    log "$t: FAILED after $((SECONDS - start))s; last lines of $LOGS/$t.log:"
    tail -n 25 "$LOGS/$t.log" | sed 's/^/    /' >&2
    return 1
  fi
  rm -rf "$final" # a stale partial dir can't exist (rename), but be safe
  mv "$tmp" "$final"
  log "$t: built in $((SECONDS - start))s"
  echo "$t $((SECONDS - start))" >>"$LOGS/timings"
}

# ---- commands ---------------------------------------------------------------
# For --path: one line per tool, "path|cache|missing <tool>" decisions
# (for the provider: "path" means installed as a plugin, "cache" built only).
resolve() { # tool -> prints "path <desc>" / "cache <dir>" / "missing"
  local t=$1 why
  if why=$("path_ok_$t"); then echo "path $why"
  elif cached_ok "$t"; then echo "cache $("dir_$t")"
  else echo "missing"; fi
}

# The pulumi binary that `pulumi plugin install` runs with.
pulumi_bin() {
  local b
  if b=$(on_path pulumi) && path_ok_pulumi >/dev/null; then echo "$b"; else echo "$(dir_pulumi)/pulumi"; fi
}

# Runs a provider binary the way the engine does (it prints its gRPC port and
# serves); true when it printed a port within 10 s.
provider_runs() { # binary
  local port
  port=$(timeout 10 "$1" 2>/dev/null </dev/null | head -n1) || true
  [[ "$port" =~ ^[0-9]+$ ]]
}

install_k8sprov() {
  plugin_installed kubernetes "$K8S_PROVIDER_VERSION" >/dev/null && return 0
  cached_ok k8sprov || die "pulumi-resource-kubernetes $K8S_PROVIDER_VERSION is neither installed nor built"
  log "k8sprov: pulumi plugin install resource kubernetes $K8S_PROVIDER_VERSION --file $(dir_k8sprov)/pulumi-resource-kubernetes"
  "$(pulumi_bin)" plugin install resource kubernetes "$K8S_PROVIDER_VERSION" \
    --file "$(dir_k8sprov)/pulumi-resource-kubernetes" --non-interactive >&2
  plugin_installed kubernetes "$K8S_PROVIDER_VERSION" >/dev/null \
    || die "pulumi plugin install did not put the kubernetes provider in $(plugins_dir)"
}

install_cmdprov() {
  local d f="${TS_COMMAND_PROVIDER_FILE:-}" want="${TS_COMMAND_PROVIDER_SHA256:-$COMMAND_PROVIDER_SHA256}" got
  if d=$(plugin_installed command "$COMMAND_PROVIDER_VERSION"); then
    log "cmdprov: ok ($d)"
    return 0
  fi
  if [ -z "$f" ]; then
    die "the Command provider (pulumi-resource-command $COMMAND_PROVIDER_VERSION) is not installed in $(plugins_dir), and no registry this machine reaches serves it (its releases are on GitHub only). Either:
  - where GitHub is reachable: pulumi plugin install resource command $COMMAND_PROVIDER_VERSION
  - offline, from its release tarball: TS_COMMAND_PROVIDER_FILE=/path/to/pulumi-resource-command-v$COMMAND_PROVIDER_VERSION-linux-amd64.tar.gz scripts/tools.sh
    (.ci/run uses ../shared/tools/ beside the clone when it is there)"
  fi
  [ -f "$f" ] || die "TS_COMMAND_PROVIDER_FILE=$f does not exist"
  log "cmdprov: pulumi plugin install resource command $COMMAND_PROVIDER_VERSION --file $f"
  "$(pulumi_bin)" plugin install resource command "$COMMAND_PROVIDER_VERSION" --file "$f" --non-interactive >&2 \
    || die "pulumi plugin install resource command $COMMAND_PROVIDER_VERSION --file $f failed"
  d=$(plugin_installed command "$COMMAND_PROVIDER_VERSION") \
    || die "pulumi plugin install did not put pulumi-resource-command in $(plugins_dir)/resource-command-v$COMMAND_PROVIDER_VERSION"
  got=$(sha256sum "$d/pulumi-resource-command" | cut -d' ' -f1)
  if [ "$got" != "$want" ]; then
    "$(pulumi_bin)" plugin rm resource command "$COMMAND_PROVIDER_VERSION" --yes --non-interactive >/dev/null 2>&1 || rm -rf "$d"
    die "the Command provider from $f has sha256 $got, expected $want (removed it again; set TS_COMMAND_PROVIDER_SHA256 to accept another build)"
  fi
  provider_runs "$d/pulumi-resource-command" || die "the installed $d/pulumi-resource-command does not start"
  log "cmdprov: installed and verified (sha256 $got)"
}

cmd_path() { # [tool...] (default: all on PATH, and the plugins must be installed)
  local t r dirs="" missing="" want="${*:-$PATH_TOOLS}"
  for t in $want; do
    case " $PATH_TOOLS " in *" $t "*) ;; *) die "unknown tool '$t' (tools: $PATH_TOOLS)" ;; esac
  done
  for t in $want; do
    r=$(resolve "$t")
    case "$r" in
      cache\ *) dirs="${dirs:+$dirs:}${r#cache }" ;;
      missing) missing="$missing $t($(eval echo "\$bins_$t"))" ;;
    esac
  done
  if [ $# -eq 0 ]; then
    plugin_installed kubernetes "$K8S_PROVIDER_VERSION" >/dev/null || missing="$missing plugin:kubernetes-v$K8S_PROVIDER_VERSION"
    plugin_installed command "$COMMAND_PROVIDER_VERSION" >/dev/null || missing="$missing plugin:command-v$COMMAND_PROVIDER_VERSION"
  fi
  [ -z "$missing" ] || die "tools missing:$missing -- run scripts/tools.sh (cache: $TOOLS, plugins: $(plugins_dir))"
  echo "$dirs"
}

cmd_list() {
  local t d
  for t in $ALL_TOOLS; do printf '%-10s %s\n' "$t" "$(resolve "$t")"; done
  if d=$(plugin_installed command "$COMMAND_PROVIDER_VERSION"); then
    printf '%-10s %s\n' cmdprov "plugin $d"
  else
    printf '%-10s %s\n' cmdprov "missing (TS_COMMAND_PROVIDER_FILE=... scripts/tools.sh)"
  fi
}

cmd_ensure() {
  local t todo="" total=$SECONDS failed=""
  mkdir -p "$TOOLS" "$LOGS"
  # One ensure at a time per cache (CI and a developer, two test suites...):
  # the second waits, then finds the tools built.
  exec 9>"$TOOLS/.lock"
  if ! flock -n 9; then
    log "another scripts/tools.sh is building into $TOOLS; waiting for it"
    flock 9
  fi
  # Leftovers of an interrupted run (safe: we hold the lock).
  rm -rf "$TOOLS"/.build-* 2>/dev/null || true
  # Before any build: a missing Command provider is the one thing no build
  # can fix, so say so now rather than after 20 minutes.
  if ! plugin_installed command "$COMMAND_PROVIDER_VERSION" >/dev/null && [ -z "${TS_COMMAND_PROVIDER_FILE:-}" ]; then
    install_cmdprov
  fi
  command -v go >/dev/null || die "go is not on PATH (needed to build the tools)"
  for t in $ALL_TOOLS; do
    r=$(resolve "$t")
    case "$r" in
      missing) todo="$todo $t" ;;
      *) log "$t: ok (${r})" ;;
    esac
  done
  if [ -n "$todo" ]; then
    case " $todo " in *" node "*) command -v npm >/dev/null || die "npm is not on PATH (needed to install Node $NODE_MAJOR)" ;; esac
    log "to build:$todo ($JOBS at a time; go: $(go version | awk '{print $3}'))"
    : >"$LOGS/timings"
    # Up to $JOBS builds at once. go build already uses every core; on 2
    # cores one at a time measured faster than two (TOOLS_TIMINGS.md).
    local -A pids=()
    for t in $todo; do
      while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
      build_one "$t" &
      pids[$t]=$!
    done
    for t in $todo; do wait "${pids[$t]}" || failed="$failed $t"; done
    [ -z "$failed" ] || die "build failed for:$failed (logs in $LOGS)"
    log "all built in $((SECONDS - total))s"
  fi
  install_k8sprov
  install_cmdprov
  # Final check: everything resolvable.
  cmd_path >/dev/null
  log "done in $((SECONDS - total))s; use: export PATH=\"\$(scripts/tools.sh --path):\$PATH\" (or: source scripts/env.sh)"
}

case "${1:-}" in
  "") cmd_ensure ;;
  --path) shift; cmd_path "$@" ;;
  --list) cmd_list ;;
  __build) "build_$2" "$3" ;; # internal: one builder, run by build_one
  -h | --help) sed -n '2,/^set -euo pipefail/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' ;;
  *) die "unknown argument: $1 (use --path, --list or no argument)" ;;
esac
# Never read past this point: a running bash reads its script as it goes, so
# editing this file while a long build runs must not feed it new lines.
exit
