#!/usr/bin/env bash
# Recipe of the TorchServe image that scripts/image.sh builds and imports
# (no registry): what the official pytorch/torchserve:0.12.0-cpu gives a pod,
# rebuilt from Debian packages and the project's pinned wheels. scripts/image.sh
# caches the image by a hash of this file and of the files `inputs` lists, so
# editing either rebuilds it; it is the only place the image's content is defined.
#
#   torchserve.sh ref               the image name the pods use
#   torchserve.sh inputs            files (besides this one) whose content the image depends on
#   torchserve.sh config            the OCI image config's "config" object (JSON)
#   torchserve.sh build ROOTFS      build the root filesystem into ROOTFS (must not exist; root only)
#
# Layout, as in the official image (docker/Dockerfile of pytorch/serve, production-image):
# user model-server (uid/gid 1000, home /home/model-server), venv /home/venv
# owned by model-server and first on PATH, /home/model-server/{tmp,model-store},
# a default /home/model-server/config.properties, TEMP=/home/model-server/tmp,
# WORKDIR /home/model-server, USER model-server, an entrypoint that serves with
# that file (pods override the command). Differences: Debian bookworm instead of
# Ubuntu, Python 3.11, openjdk-17-jre-headless instead of the JDK, and the
# project's pins (torch 1.13.1 from PyPI instead of 2.4.0+cpu).
#
# Env: TS_IMAGE_MIRROR (Debian mirror, default http://deb.debian.org/debian),
# TS_IMAGE_WHEELS (directory of cached wheels, required by build).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REQ="$HERE/../requirements-serve.txt"
SUITE=bookworm
MIRROR="${TS_IMAGE_MIRROR:-http://deb.debian.org/debian}"
# Debian packages installed on top of the minbase system.
PACKAGES="openjdk-17-jre-headless python3 python3-venv"
UID_GID=1000

log() { printf '[image torchserve %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[image torchserve] ERROR: %s\n' "$*" >&2; exit 1; }

config() {
  cat <<'JSON'
{"User":"model-server","WorkingDir":"/home/model-server","Env":["PATH=/home/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","PYTHONUNBUFFERED=TRUE","TEMP=/home/model-server/tmp"],"Entrypoint":["/usr/local/bin/dockerd-entrypoint.sh"],"Cmd":["serve"],"ExposedPorts":{"8080/tcp":{},"8081/tcp":{},"8082/tcp":{},"7070/tcp":{},"7071/tcp":{}}}
JSON
}

# Unmount everything mounted below $1 (deepest first).
umount_below() {
  local m
  for m in $(awk -v r="$1/" 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
    umount "$m" || umount -l "$m"
  done
}

build() {
  local root="$1" t
  [ ! -e "$root" ] || die "$root exists"
  [ -n "${TS_IMAGE_WHEELS:-}" ] && [ -d "$TS_IMAGE_WHEELS" ] || die "TS_IMAGE_WHEELS must name the wheel directory"
  trap 'umount_below "'"$root"'"' EXIT

  t=$SECONDS
  log "debootstrap --variant=minbase $SUITE from $MIRROR"
  debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" >&2 || die "debootstrap failed (its log: $root/debootstrap/debootstrap.log)"
  log "debootstrap took $((SECONDS - t))s"

  t=$SECONDS
  # The same suites as a Debian host: the release, its updates and security fixes.
  cat >"$root/etc/apt/sources.list" <<SRC
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb ${MIRROR%/debian}/debian-security $SUITE-security main
SRC
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  # No service starts inside the chroot.
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  # The JDK's postinst needs /proc (mounted until the end of the build).
  mount -t proc proc "$root/proc"
  log "apt-get install $PACKAGES"
  chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive LC_ALL=C sh -ec "
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $PACKAGES
    apt-get clean
  " >&2 || die "apt-get install in the chroot failed"
  rm -rf "$root/var/lib/apt/lists/"* "$root/usr/sbin/policy-rc.d"
  # (java needs /proc too: the loader finds libjli.so through /proc/self/exe)
  chroot "$root" java -version >&2 || die "java does not run in the image"
  log "packages took $((SECONDS - t))s"

  t=$SECONDS
  chroot "$root" groupadd --gid "$UID_GID" model-server
  chroot "$root" useradd --create-home --uid "$UID_GID" --gid "$UID_GID" --shell /bin/bash model-server
  mkdir -p "$root/home/model-server/tmp" "$root/home/model-server/model-store"
  # The official image's default config (used by its entrypoint only).
  cat >"$root/home/model-server/config.properties" <<'PROPS'
inference_address=http://0.0.0.0:8080
management_address=http://0.0.0.0:8081
metrics_address=http://0.0.0.0:8082
number_of_netty_threads=32
job_queue_size=1000
model_store=/home/model-server/model-store
PROPS
  cat >"$root/usr/local/bin/dockerd-entrypoint.sh" <<'SH'
#!/bin/bash
# As the official image: `serve` starts TorchServe in the background with the
# default config and keeps the container alive; anything else is run as given.
set -e
if [[ "$1" = "serve" ]]; then
    shift 1
    torchserve --start --ts-config /home/model-server/config.properties
else
    eval "$@"
fi
tail -f /dev/null
SH
  chmod 755 "$root/usr/local/bin/dockerd-entrypoint.sh"

  log "venv /home/venv from $(basename "$REQ") (wheels: $TS_IMAGE_WHEELS)"
  chroot "$root" python3 -m venv /home/venv
  mkdir -p "$root/tmp/wheels"
  mount --bind -o ro "$TS_IMAGE_WHEELS" "$root/tmp/wheels"
  cp "$REQ" "$root/tmp/requirements.txt"
  chroot "$root" /usr/bin/env PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
    /home/venv/bin/pip install --quiet --no-cache-dir --no-index --find-links /tmp/wheels \
    --only-binary=:all: --requirement /tmp/requirements.txt >&2 \
    || die "pip install from $TS_IMAGE_WHEELS failed (missing wheels? run scripts/python-env.sh)"
  umount "$root/tmp/wheels"
  rm -rf "$root/tmp/wheels" "$root/tmp/requirements.txt"
  chroot "$root" /home/venv/bin/python -c 'import torch, ts.version, model_archiver, yaml; print("torch", torch.__version__, "torchserve", ts.version.__version__)' >&2
  chown -R "$UID_GID:$UID_GID" "$root/home/model-server" "$root/home/venv"
  log "venv took $((SECONDS - t))s"

  umount "$root/proc"
  # Pods get resolv.conf, hosts and hostname from the runtime.
  rm -f "$root/etc/resolv.conf"
  rm -rf "$root/debootstrap" "$root/var/cache/apt/"*.bin "$root/var/log/"*.log "$root/var/log/apt/"* "$root/tmp/"*
  trap - EXIT
  umount_below "$root"
}

case "${1:-}" in
  ref) echo "docker.io/pytorch/torchserve:0.12.0-cpu" ;;
  inputs) echo "$REQ" ;;
  config) config ;;
  build) [ $# -eq 2 ] || die "usage: torchserve.sh build ROOTFS"; build "$2" ;;
  *) die "usage: torchserve.sh ref|inputs|config|build ROOTFS" ;;
esac
