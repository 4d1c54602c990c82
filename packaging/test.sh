#!/bin/bash
# The packaging test (make packaging-test): runs INSIDE the testbed, as
# root. It refuses to run anywhere else: it merges a sysext into /usr and
# installs a deb. The image's content is merged as a directory extension
# (unsquashfs): loop devices, which a raw image needs, come and go on the
# host, and binding them into the testbed was not reliable.
#
#   packaging/test.sh BERTH.RAW BERTH.DEB VERSION DEB_VERSION BUSYBOX.TAR
#
# (a) the sysext merges: /usr/bin/berth and the generator appear, the
#     generator makes a unit from /etc/berth/*.toml; unmerge removes it all;
# (b) the deb installs: berth runs from /usr/bin, its postinst made the
#     directories of tmpfiles.d/berth.conf, completions and berth(1) are
#     there, berth-gc.timer and .service pass systemd-analyze verify and
#     run, a container starts through /usr/libexec/berth/berth-nsinit,
#     berth.socket and berth.service (the Engine API) pass it and answer
#     /_ping on the socket; dpkg -r removes every file dpkg -L listed;
#     dpkg -P purges.
# Every check prints "ok" or "FAIL"; the script exits 1 if any failed.
set -uo pipefail
raw=$1 deb=$2 version=$3 debversion=$4 busybox=$5
if [ -z "${BERTH_TESTBED:-}" ] || [ "$(cat /proc/1/comm)" != systemd ] || [ "$(id -u)" != 0 ]; then
  echo "packaging/test.sh: runs only inside the testbed (make packaging-test)" >&2
  exit 2
fi
fails=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
check() { # check DESCRIPTION CMD…
  local what=$1; shift
  if "$@" >"$out" 2>&1; then
    echo "ok   $what"
  else
    echo "FAIL $what"; sed 's/^/     | /' "$out"
    fails=$((fails + 1))
  fi
}
absent() { ! [ -e "$1" ] && ! [ -L "$1" ]; }
mode_is() { local m; m=$(stat -c %a "$1") || return 1; [ "$m" = "$2" ] || { echo "$1 has mode $m"; return 1; }; }
prints() { # prints WANT CMD…: CMD's output is exactly WANT
  local want=$1 got; shift
  got=$("$@") || return 1
  [ "$got" = "$want" ] || { echo "got '$got', want '$want'"; return 1; }
}
gen=/usr/lib/systemd/system-generators/berth-generator
comps=(/usr/share/bash-completion/completions/berth /usr/share/zsh/vendor-completions/_berth
  /usr/share/fish/vendor_completions.d/berth.fish)
app=/etc/berth/pkgtest.toml unit=pkgtest-hello.service

echo "== testbed $BERTH_TESTBED, systemd $(systemctl --version | head -1 | cut -d' ' -f2), berth $version ($debversion)"
check "no berth in /usr before (else the test proves nothing)" absent /usr/bin/berth
check "no generator in /usr before" absent $gen
check "no tmpfiles.d/berth.conf in /usr before" absent /usr/lib/tmpfiles.d/berth.conf

golden=$(dirname "$0")/install.golden
echo "== (a) sysext: $raw"
check "the image holds exactly install.golden plus extension-release.berth" bash -c \
  "diff -u <(unsquashfs -l '$raw' | sed 's|^squashfs-root||' | grep -v '^\$' | LC_ALL=C sort) \
     <( (cat '$golden'; printf '%s\n' /usr/lib/extension-release.d /usr/lib/extension-release.d/extension-release.berth) | LC_ALL=C sort)"
mkdir -p /var/lib/extensions /etc/berth
check "the image unpacks as a directory extension" unsquashfs -q -d /var/lib/extensions/berth "$raw"
printf '[service.hello]\nimage = "busybox"\ncommand = ["sleep", "1"]\n' >$app
check "systemd-sysext merge" systemd-sysext merge
check "systemd-sysext lists berth as merged into /usr" sh -c "systemd-sysext status | grep -E '^/usr +berth '"
check "/usr/bin/berth version" prints "berth version $version" /usr/bin/berth version
check "berth is on PATH as /usr/bin/berth" prints /usr/bin/berth sh -c 'command -v berth'
check "the generator is a link to /usr/bin/berth" prints /usr/bin/berth readlink -f $gen
check "tmpfiles.d/berth.conf merged" test -f /usr/lib/tmpfiles.d/berth.conf
check "berth-gc.timer merged" test -f /usr/lib/systemd/system/berth-gc.timer
check "berth.socket merged" test -f /usr/lib/systemd/system/berth.socket
for c in "${comps[@]}"; do check "completion $c merged" test -s "$c"; done
check "berth(1) merged" sh -c 'zcat /usr/share/man/man1/berth.1.gz | grep -q "^\.TH BERTH"'
check "no os-release in the image (it would override the host's)" absent /usr/lib/os-release.berth
check "daemon-reload runs the generator" systemctl daemon-reload
check "the generator made $unit from $app" sh -c "systemctl cat $unit | grep -q '^# /run/systemd/generator'"
check "systemd-sysext unmerge" systemd-sysext unmerge
check "unmerged: /usr/bin/berth gone" absent /usr/bin/berth
check "unmerged: generator gone" absent $gen
check "unmerged: tmpfiles.d/berth.conf gone" absent /usr/lib/tmpfiles.d/berth.conf
check "unmerged: completions gone" absent "${comps[0]}"
check "unmerged: systemd-sysext status shows none" sh -c "systemd-sysext status | grep -E '^/usr +none '"
systemctl daemon-reload
check "unmerged: after daemon-reload $unit is gone" sh -c "! systemctl cat $unit"
rm -rf /var/lib/extensions/berth $app

echo "== (b) deb: $deb"
check "the deb's control" sh -c "dpkg-deb -f '$deb' Package Version Architecture | tr '\n' ' ' | grep -qx 'Package: berth Version: $debversion Architecture: amd64 '"
# The directories of tmpfiles.d/berth.conf: make them wrong first, so the
# checks below see what the postinst did.
chmod 0755 /var/lib/berth
rm -rf /run/berth
rmdir /etc/berth 2>/dev/null
check "dpkg -i" dpkg -i "$deb"
check "dpkg -s: installed, version $debversion" sh -c "dpkg-query -W -f='\${Status} \${Version}' berth | grep -qx 'install ok installed $debversion'"
check "berth version (from PATH)" prints "berth version $version" berth version
check "berth is /usr/bin/berth" prints /usr/bin/berth sh -c 'command -v berth'
check "the generator is a link to /usr/bin/berth" prints /usr/bin/berth readlink -f $gen
check "berth-gc.timer and .service installed" sh -c "systemctl cat berth-gc.timer berth-gc.service >/dev/null"
check "systemd-analyze verify berth-gc.timer berth-gc.service is clean" sh -c \
  'out=$(systemd-analyze verify /usr/lib/systemd/system/berth-gc.timer /usr/lib/systemd/system/berth-gc.service 2>&1) && [ -z "$out" ] || { echo "$out"; exit 1; }'
check "berth-gc.service runs /usr/bin/berth" sh -c "systemctl show -P ExecStart berth-gc.service | grep -q 'path=/usr/bin/berth'"
check "berth-gc.timer can be enabled and started" systemctl enable --now berth-gc.timer
mkdir -p /var/lib/berth/containers
check "berth-gc.service runs (gc, then check --repair) and succeeds" sh -c \
  "systemctl start berth-gc.service && [ \"\$(systemctl show -P Result berth-gc.service)\" = success ] && journalctl -b -u berth-gc.service | grep -q 'Finished berth-gc.service\\|Finished berth garbage'"
check "berth-gc.timer is in list-timers" sh -c "systemctl list-timers --no-legend berth-gc.timer | grep -q berth-gc.service"
systemctl disable --now berth-gc.timer >/dev/null 2>&1
check "berth.socket and berth.service installed" sh -c "systemctl cat berth.socket berth.service >/dev/null"
check "systemd-analyze verify berth.socket berth.service is clean" sh -c \
  'out=$(systemd-analyze verify /usr/lib/systemd/system/berth.socket /usr/lib/systemd/system/berth.service 2>&1) && [ -z "$out" ] || { echo "$out"; exit 1; }'
check "berth.service runs /usr/bin/berth system service" sh -c "systemctl show -P ExecStart berth.service | grep -q 'path=/usr/bin/berth ; argv\[\]=/usr/bin/berth system service '"
check "berth.socket can be enabled and started" systemctl enable --now berth.socket
check "/run/berth/berth.sock is a 0660 socket" sh -c 'test -S /run/berth/berth.sock && [ "$(stat -c %a /run/berth/berth.sock)" = 660 ]'
check "the API answers /_ping on the socket (berth.service started by it)" prints OK \
  curl -fsS --max-time 20 --unix-socket /run/berth/berth.sock http://berth/_ping
check "berth.service is active after the request" prints active systemctl show -P ActiveState berth.service
systemctl disable berth.socket >/dev/null 2>&1 # left running: the prerm stops it
check "postinst: /var/lib/berth is 0700" mode_is /var/lib/berth 700
check "postinst: /run/berth is 0700" mode_is /run/berth 700
check "postinst: /etc/berth is 0755" mode_is /etc/berth 755
chmod 0755 /var/lib/berth
rm -rf /run/berth
check "systemd-tmpfiles --create berth.conf" systemd-tmpfiles --create berth.conf
check "tmpfiles: /var/lib/berth is 0700 again" mode_is /var/lib/berth 700
check "tmpfiles: /run/berth is 0700 again" mode_is /run/berth 700
for c in "${comps[@]}"; do check "completion $c" test -s "$c"; done
check "bash completion is berth's" grep -q '__start_berth' "${comps[0]}"
check "berth(1)" sh -c 'man -l /usr/share/man/man1/berth.1.gz 2>/dev/null | grep -q "Containers built into systemd" || zcat /usr/share/man/man1/berth.1.gz | grep -q "^\.TH BERTH"'
# A container from the installed berth: its unit runs the installed
# berth-unit, and its PID 1 starts as the installed berth-nsinit (a command of /proc/self/exe runs that binary,
# which says so and exits 2). The store is on a tmpfs: an overlayfs
# upper cannot live on the testbed's overlay root.
check "a tmpfs for /var/lib/berth" mount -t tmpfs -o mode=0700 berth-pkgtest /var/lib/berth
check "berth image import (the installed berth)" berth image import "$busybox" busybox
refuses() { # refuses CMD…: CMD exits 2 with berth-nsinit's refusal
  local o; o=$("$@" 2>&1); local rc=$?
  echo "$o"; [ $rc = 2 ] && grep -q 'berth-nsinit: berth runs this program' <<<"$o"
}
check "a container's init is /usr/libexec/berth/berth-nsinit" \
  refuses berth run --rm --network none --entrypoint /proc/self/exe busybox
check "berth-nsinit refuses to be run by hand" refuses /usr/libexec/berth/berth-nsinit
# Its unit runs the installed berth-unit, told where the CLI is.
check "berth run -d (the installed berth)" berth run -d --name pkgunit --network none busybox sleep 60
check "a container's unit runs /usr/libexec/berth/berth-unit" sh -c \
  "systemctl show -p ExecStart berth-pkgunit.service | grep -q 'path=/usr/libexec/berth/berth-unit .*--cli /usr/bin/berth __init' && systemctl show -p ExecStopPost berth-pkgunit.service | grep -q 'path=/usr/libexec/berth/berth-unit .*__cleanup'"
check "berth rm -f pkgunit" berth rm -f pkgunit
check "berth-unit refuses to be run by hand" sh -c '/usr/libexec/berth/berth-unit; [ $? = 2 ]'
check "berth rmi busybox" berth rmi busybox
umount /var/lib/berth
mapfile -t listed < <(dpkg -L berth)
files=()
for f in "${listed[@]}"; do [ -d "$f" ] && ! [ -L "$f" ] || files+=("$f"); done
echo "     dpkg -L berth: ${#listed[@]} paths, ${#files[@]} of them files or links"
check "dpkg -L berth is exactly install.golden" bash -c "diff -u <(dpkg -L berth | grep -vx /. | LC_ALL=C sort) '$golden'"
check "the deb has a prerm (it stops the API)" sh -c "dpkg-deb -I '$deb' prerm | grep -q 'systemctl stop berth.socket berth.service'"
check "dpkg -L lists the binary, the generator, tmpfiles.d, the gc and API units, completions, berth(1)" sh -c \
  "dpkg -L berth | grep -xF -e /usr/bin/berth -e $gen -e /usr/lib/tmpfiles.d/berth.conf -e /usr/lib/systemd/system/berth-gc.service -e /usr/lib/systemd/system/berth-gc.timer -e /usr/lib/systemd/system/berth.socket -e /usr/lib/systemd/system/berth.service -e ${comps[0]} -e ${comps[1]} -e ${comps[2]} -e /usr/share/man/man1/berth.1.gz | wc -l | grep -qx 11"
check "every file dpkg -L lists exists" sh -c 'for f; do [ -e "$f" ] || [ -L "$f" ] || { echo "missing $f"; exit 1; }; done' _ "${files[@]}"
check "dpkg -r berth" dpkg -r berth
check "removed: no file dpkg -L listed is left" sh -c 'for f; do if [ -e "$f" ] || [ -L "$f" ]; then echo "left $f"; exit 1; fi; done' _ "${files[@]}"
check "removed: berth is not on PATH" sh -c '! command -v berth'
check "removed: the prerm stopped berth.socket and berth.service, the socket file is gone" sh -c \
  '! systemctl is-active -q berth.socket && ! systemctl is-active -q berth.service && ! [ -e /run/berth/berth.sock ]'
check "dpkg -P berth" dpkg -P berth
check "purged: dpkg knows no berth" sh -c '! dpkg-query -W berth'
check "purged: /etc/berth and /run/berth are gone" sh -c '! [ -e /etc/berth ] && ! [ -e /run/berth ]'

echo "== $fails failed"
[ "$fails" = 0 ]
