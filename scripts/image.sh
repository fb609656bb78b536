#!/usr/bin/env bash
# The real node's images, without a registry: build each image's root
# filesystem from its recipe (scripts/image/<name>.sh), pack it as an OCI image
# archive (one uncompressed layer) and import it into containerd (namespace
# k8s.io, the CRI's), under the name the pods use.
#
#   scripts/image.sh build [NAME...]             build (or reuse) the cached root filesystems
#   scripts/image.sh import ADDRESS [NAME...]    build if needed, then import into the containerd
#                                                at socket ADDRESS unless it already holds this build
#   scripts/image.sh status ADDRESS [NAME...]    exit 0 when that containerd holds the current build of each
#   scripts/image.sh ref NAME                    print the image reference (e.g. docker.io/pytorch/torchserve:0.12.0-cpu)
#   scripts/image.sh build-id NAME               print NAME-<hash> of the current recipe
#
# NAME: torchserve (docker.io/pytorch/torchserve:0.12.0-cpu, ~4 GB) and pause
# (the CRI sandbox image); default both. A build is cached under
#   ${TS_STACK_CACHE:-$HOME/.cache/torchserve-stack}/images/<name>-<hash>/rootfs
# where <hash> covers the recipe, the files it lists as inputs (the torchserve
# image: scripts/requirements-serve.txt) and the packing format below, so a
# changed recipe or pin rebuilds it and an unchanged one is reused; older builds
# of the same image are removed once a new one is complete. An imported image
# carries the label torchserve-stack.build=<name>-<hash>; `import` skips
# images whose label matches (seconds), so a node's containerd root keeps its
# images across `scripts/node.sh down`/`up`. The archive is streamed into
# `ctr import` and its layer file removed afterwards.
#
# Needs root (debootstrap, chroot, mount). Installs nothing itself:
# scripts/node.sh installs debootstrap, containerd (ctr); the torchserve image
# takes its wheels from the cache scripts/python-env.sh fills (run first).
# Progress goes to stderr with timestamps.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${TS_STACK_CACHE:-$HOME/.cache/torchserve-stack}"
IMAGES="$CACHE/images"
# Changing how images are packed changes every build id.
FORMAT="oci-archive/v1 one uncompressed layer, numeric owners"
ALL_IMAGES="torchserve pause"

log() { printf '[image %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[image] ERROR: %s\n' "$*" >&2; exit 1; }

recipe() {
  case "$1" in
    torchserve|pause) echo "$HERE/image/$1.sh" ;;
    *) die "unknown image '$1' (known: $ALL_IMAGES)" ;;
  esac
}

build_id() { # name
  local r; r="$(recipe "$1")"
  local h
  h="$( { echo "$FORMAT"; cat "$r"; "$r" inputs | while read -r f; do echo "== $(basename "$f")"; cat "$f"; done; } \
        | sha256sum | cut -c1-12)"
  echo "$1-$h"
}

ref() { "$(recipe "$1")" ref; }

# Unmount everything mounted below a directory (a crashed chroot build).
umount_below() {
  local m
  for m in $(awk -v r="$1/" 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
    umount "$m" || umount -l "$m"
  done
  ! awk -v r="$1/" 'index($5, r) == 1 { found=1 } END { exit !found }' /proc/self/mountinfo \
    || die "mounts left below $1; not removing it"
}

safe_rm() { umount_below "$1"; rm -rf "$1"; }

# Build (or reuse) the root filesystem of one image; prints its directory.
build_one() {
  local name="$1" id dir t
  id="$(build_id "$name")"
  dir="$IMAGES/$id"
  if [ -f "$dir/complete" ]; then
    echo "$dir"
    return 0
  fi
  [ "$(id -u)" = 0 ] || die "building images needs root"
  mkdir -p "$IMAGES"
  exec 8>"$IMAGES/$name.lock"
  if ! flock -n 8; then
    log "$name: another build is running; waiting for it"
    flock 8
  fi
  if [ -f "$dir/complete" ]; then exec 8>&-; echo "$dir"; return 0; fi
  [ ! -e "$dir" ] || { log "$name: removing incomplete build $dir"; safe_rm "$dir"; }
  mkdir -p "$dir"
  t=$SECONDS
  log "$name: building $id (recipe $(recipe "$name"))"
  local wheels="$CACHE/pip/wheels"
  if [ "$name" = torchserve ]; then
    # The venv's wheels come from the cache python-env.sh fills (a no-op when warm).
    "$HERE/python-env.sh" >/dev/null || die "scripts/python-env.sh failed (the image's wheels)"
  fi
  # Everything into build.log; the recipe's own progress lines also to stderr.
  local rc
  set +e
  TS_IMAGE_WHEELS="$wheels" "$(recipe "$name")" build "$dir/rootfs" 2>&1 \
    | tee "$dir/build.log" | { grep --line-buffered '^\[image' >&2 || true; }
  rc=${PIPESTATUS[0]}
  set -e
  if [ "$rc" != 0 ]; then
    tail -n 30 "$dir/build.log" >&2
    umount_below "$dir"
    die "$name: build failed (log: $dir/build.log)"
  fi
  echo "built_s=$((SECONDS - t)) size=$(du -sh "$dir/rootfs" | cut -f1) at=$(date -u +%FT%TZ)" >"$dir/complete"
  log "$name: built $id in $((SECONDS - t))s ($(du -sh "$dir/rootfs" | cut -f1))"
  # Older builds of this image are no longer used.
  local old
  for old in "$IMAGES/$name"-*; do
    [ -d "$old" ] && [ "$old" != "$dir" ] || continue
    log "$name: removing old build $(basename "$old")"
    safe_rm "$old"
  done
  exec 8>&-
  echo "$dir"
}

ctr_() { ctr --address "$ADDRESS" --namespace k8s.io "$@"; }

# The build label of an imported image, or nothing.
imported_id() { # ref
  ctr_ images ls "name==$1" 2>/dev/null | awk 'NR > 1' \
    | grep -o 'torchserve-stack.build=[^ ,]*' | head -n1 | cut -d= -f2 || true
}

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# Pack a root filesystem as an OCI archive and stream it into ctr import.
import_one() {
  local name="$1" id dir r tmp t layer_digest layer_size cfg_digest man_digest
  id="$(build_id "$name")"
  r="$(ref "$name")"
  if [ "$(imported_id "$r")" = "$id" ]; then
    log "$name: $r already imported ($id)"
    return 0
  fi
  dir="$(build_one "$name")"
  tmp="$IMAGES/.pack-$name"
  rm -rf "$tmp"
  mkdir -p "$tmp/blobs/sha256"
  t=$SECONDS
  log "$name: packing $(basename "$dir") as one uncompressed layer"
  layer_digest="$(tar --numeric-owner --one-file-system -C "$dir/rootfs" -cf - . | tee "$tmp/layer.tar" | sha256sum | cut -d' ' -f1)"
  layer_size=$(stat -c %s "$tmp/layer.tar")
  mv "$tmp/layer.tar" "$tmp/blobs/sha256/$layer_digest"
  printf '{"architecture":"amd64","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"scripts/image.sh %s"}]}' \
    "$("$(recipe "$name")" config)" "$layer_digest" "$id" >"$tmp/config.json"
  cfg_digest=$(sha_of "$tmp/config.json")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$cfg_digest" "$(stat -c %s "$tmp/config.json")" "$layer_digest" "$layer_size" >"$tmp/manifest.json"
  man_digest=$(sha_of "$tmp/manifest.json")
  mv "$tmp/config.json" "$tmp/blobs/sha256/$cfg_digest"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$man_digest" "$(stat -c %s "$tmp/manifest.json")" "$r" "${r##*:}" >"$tmp/index.json"
  mv "$tmp/manifest.json" "$tmp/blobs/sha256/$man_digest"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$tmp/oci-layout"
  log "$name: packed in $((SECONDS - t))s (layer $((layer_size / 1048576)) MiB); importing as $r"
  t=$SECONDS
  if ! tar -C "$tmp" -cf - oci-layout index.json blobs | ctr_ images import - >"$IMAGES/.import-$name.log" 2>&1; then
    cat "$IMAGES/.import-$name.log" >&2
    rm -rf "$tmp"
    die "$name: ctr images import failed (containerd at $ADDRESS; log above)"
  fi
  rm -rf "$tmp" "$IMAGES/.import-$name.log"
  ctr_ images label "$r" "torchserve-stack.build=$id" >/dev/null
  [ "$(imported_id "$r")" = "$id" ] || die "$name: $r not found in containerd after import"
  log "$name: imported $r in $((SECONDS - t))s"
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
  build)
    for n in ${*:-$ALL_IMAGES}; do build_one "$n" >/dev/null; done
    ;;
  import|status)
    [ $# -ge 1 ] || die "usage: scripts/image.sh $cmd ADDRESS [NAME...]"
    ADDRESS="$1"; shift
    [ -S "$ADDRESS" ] || die "no containerd socket at $ADDRESS (start the node: scripts/node.sh up)"
    command -v ctr >/dev/null || die "ctr not found (apt-get install containerd; scripts/node.sh does it)"
    for n in ${*:-$ALL_IMAGES}; do
      if [ "$cmd" = import ]; then
        import_one "$n"
      else
        got="$(imported_id "$(ref "$n")")"
        [ "$got" = "$(build_id "$n")" ] || die "$n: containerd has '${got:-nothing}', current build is $(build_id "$n")"
        echo "$n: $(ref "$n") imported ($got)"
      fi
    done
    ;;
  ref) [ $# -eq 1 ] || die "usage: scripts/image.sh ref NAME"; ref "$1" ;;
  build-id) [ $# -eq 1 ] || die "usage: scripts/image.sh build-id NAME"; build_id "$1" ;;
  -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) die "usage: scripts/image.sh build|import|status|ref|build-id ... (--help)" ;;
esac
