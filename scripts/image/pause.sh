#!/usr/bin/env bash
# Recipe of the pod sandbox ("pause") image that scripts/image.sh builds and
# imports, and that containerd's CRI uses as sandbox_image: one static binary
# (pause/pause.go, built with the Go toolchain scripts/tools.sh also needs).
# scripts/image.sh caches it by a hash of this file and pause/pause.go.
#
#   pause.sh ref | inputs | config | build ROOTFS   (as scripts/image/torchserve.sh)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
die() { printf '[image pause] ERROR: %s\n' "$*" >&2; exit 1; }

build() {
  local root="$1"
  [ ! -e "$root" ] || die "$root exists"
  command -v go >/dev/null || die "go is not on PATH (needed to build the pause binary)"
  mkdir -p "$root"
  (cd "$HERE/pause" && GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS= GO111MODULE=off \
    go build -trimpath -ldflags '-s -w' -o "$root/pause" pause.go) || die "go build of pause failed"
}

case "${1:-}" in
  ref) echo "localhost/torchserve-stack/pause:latest" ;;
  inputs) echo "$HERE/pause/pause.go" ;;
  # 65535: the user of the official pause image.
  config) echo '{"User":"65535:65535","Entrypoint":["/pause"],"WorkingDir":"/"}' ;;
  build) [ $# -eq 2 ] || die "usage: pause.sh build ROOTFS"; build "$2" ;;
  *) die "usage: pause.sh ref|inputs|config|build ROOTFS" ;;
esac
