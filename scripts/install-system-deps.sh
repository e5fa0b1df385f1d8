#!/usr/bin/env bash
# System tools the full test suite and the benchmark need, from Debian's packages:
# Chromium (the CORS browser test), podman and friends (the container smoke test),
# wrk (the benchmark). Idempotent; installs only what is missing. Needs root (or sudo).
set -euo pipefail

need=()
command -v chromium >/dev/null || need+=(chromium)
command -v podman >/dev/null || need+=(podman)
command -v buildah >/dev/null || need+=(buildah)
command -v runc >/dev/null || need+=(runc)
command -v fuse-overlayfs >/dev/null || need+=(fuse-overlayfs)
command -v slirp4netns >/dev/null || need+=(slirp4netns)
command -v newuidmap >/dev/null || need+=(uidmap)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v wrk >/dev/null || need+=(wrk)
[ ${#need[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "install-system-deps: run as root to install: ${need[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "install-system-deps: installing ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
