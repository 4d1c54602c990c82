#!/usr/bin/env bash
# Installs the Debian packages berth's build, tests and demo need, when
# they are missing. Idempotent; needs root (it is a no-op when all is there).
set -euo pipefail
pkgs=(
  systemd-container  # systemd-nspawn: the testbed
  busybox-static     # the offline test images (contrib/images)
  dbus               # the system bus inside the testbed
  util-linux         # nsenter, mount
  docker-registry    # a registry on 127.0.0.1 for the pull tests (test/integration)
  skopeo             # interoperability tests: images pushed by berth read by skopeo, and the other way
  umoci              # interoperability tests: berth's unpacked layers against umoci unpack
  git make
  squashfs-tools     # mksquashfs: make sysext (packaging/)
  help2man           # berth(1) from berth --help: make install (packaging/)
  nftables           # nft, to read rule sets back in the netsetup root test
  iproute2 curl      # another host as a network namespace, and its client (TestNetworkRemoteHost)
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian enables a registry on :5000 for every address; the tests start
  # their own on 127.0.0.1 inside the testbed, so the host's stays off.
  if [[ " ${missing[*]} " == *" docker-registry "* ]] && [ -d /run/systemd/system ]; then
    systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
  fi
fi
if ! command -v go >/dev/null; then
  if [ -x /usr/local/go/bin/go ]; then
    echo "install-deps: Go is in /usr/local/go/bin; add it to PATH" >&2
  else
    echo "install-deps: Go 1.26 is needed (go.mod)" >&2
  fi
  exit 1
fi
