#!/usr/bin/env bash
# The demo (make demo): boots the testbed, imports the offline busybox
# image with berth, and runs a transient systemd unit from inside the
# image's root filesystem. Later issues replace it with a multi-container
# app served on a published port.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$PWD/bin
name=berth-demo
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "boot the testbed: this host's systemd in systemd-nspawn"
"$bin/testbed" up "$name"
trap '"$bin/testbed" down "$name"' EXIT
tb() { "$bin/testbed" exec "$name" "$@"; }

step "berth image import bin/images/busybox.tar busybox"
tb "$bin/berth" image import -m "demo import" "$bin/images/busybox.tar" busybox
tb "$bin/berth" images

step "a transient unit whose root directory is the image's unpacked layer"
root=$(tb "$bin/berth" image inspect -f '{{.GraphDriver.Data.LowerDir}}' busybox)
echo "RootDirectory=$root"
tb systemd-run -P -q --unit=berth-demo-hello -p RootDirectory="$root" \
  /bin/sh -c '. /etc/os-release; echo "hello from $PRETTY_NAME, as $(id -un), in a unit of its own"; cat /var/www/index.html'

step "berth rmi busybox"
tb "$bin/berth" rmi busybox
