#!/usr/bin/env bash
# Installs the Debian packages only `make bench` needs: the peers berth is
# measured against (podman with crun, buildah) and nothing else. Kept out of
# contrib/install-deps.sh so that `make test` and CI never need podman.
# Idempotent; needs root (a no-op when all is there).
set -euo pipefail
pkgs=(
  podman  # podman run --rm, Debian 12: 4.3.1 (with conmon)
  crun    # the OCI runtime podman is told to use, and crun run on a bundle
  buildah # buildah bud, the builder under podman build (Debian 12: 1.28)
  podman-compose # podman-compose up, against berth up (Debian 12: 1.0.3)
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bench: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # No recommends: slirp4netns, fuse-overlayfs and uidmap are for
  # rootless or networked use; every peer here runs as root with no network.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
