#!/usr/bin/env bash
# The reboot test (make reboot-test, part of make test; root): an app in
# /etc/berth, installed the way an immutable host has it (berth as a
# systemd generator, the app's file in /etc/berth, wanted by the boot
# target), comes back by itself after the testbed is shut down and booted
# again with /etc/berth and /var/lib/berth kept, with its volume's data.
#
#   contrib/testbed/reboot-test.sh [TESTBED-NAME]
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$PWD/bin
name=${1:-berth-it}-reboot
state=$(mktemp -d /var/tmp/berth-reboot.XXXXXX)
cleanup() { "$bin/testbed" down "$name" || true; rm -rf "$state"; }
trap cleanup EXIT
mkdir -p "$state/etc-berth" "$state/var-lib-berth" "$state/generators"
chmod 0700 "$state/var-lib-berth"
ln -s "$bin/berth" "$state/generators/berth-generator"
# The testbed boots into berth-testbed.target, not multi-user.target.
cat > "$state/rb.toml" <<'TOML'
[install]
wanted_by = ["berth-testbed.target"]

[volume.data]

[service.web]
image = "busybox"
command = ["sh", "-c", "date >> /data/boots && exec httpd -f -p 80 -h /data"]
volumes = ["data:/data"]
ports = ["8081:80"]
stop_timeout = 1
TOML
boot() {
  "$bin/testbed" up --bind "$state/etc-berth:/etc/berth" --bind "$state/var-lib-berth:/var/lib/berth" \
    --bind "$state/generators:/etc/systemd/system-generators" "$name"
}
tb() { "$bin/testbed" exec "$name" "$@"; }
boots() { # the page: one line per boot of the container
  local page
  for _ in $(seq 100); do
    if page=$(tb busybox wget -qO- http://127.0.0.1:8081/boots 2>/dev/null) && [ -n "$page" ]; then
      printf '%s\n' "$page" | wc -l
      return
    fi
    sleep 0.2
  done
  echo "reboot-test: the app's page did not answer on 127.0.0.1:8081" >&2
  tb systemctl status --no-pager rb-web.service >&2 || true
  return 1
}

echo "== first boot: import the image, put the app in /etc/berth, daemon-reload (the generator makes its unit), start it"
boot
tb "$bin/berth" import "$bin/images/busybox.tar" busybox >/dev/null
cp "$state/rb.toml" "$state/etc-berth/rb.toml"
tb systemctl daemon-reload
tb systemctl start rb-web.service
n=$(boots)
[ "$n" = 1 ] || { echo "reboot-test: FAIL: first boot: the page has $n lines, want 1" >&2; exit 1; }
echo "ok   the app runs: 1 line in its volume"

echo "== shut down and boot again with /etc/berth and /var/lib/berth kept"
"$bin/testbed" down "$name"
boot
n=$(boots)
if [ "$n" != 2 ]; then
  echo "reboot-test: FAIL: after the reboot the page has $n lines, want 2 (the volume kept the first)" >&2
  exit 1
fi
echo "ok   after the reboot the app started by itself, and its volume kept the first boot's line"
state_ok=$(tb systemctl is-active rb-web.service)
[ "$state_ok" = active ] || { echo "reboot-test: FAIL: rb-web.service is $state_ok" >&2; exit 1; }
echo "ok   rb-web.service is active"
