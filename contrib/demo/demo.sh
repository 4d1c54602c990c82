#!/usr/bin/env bash
# The demo (make demo): boots the testbed (this host's systemd in
# systemd-nspawn), imports the offline busybox image, and runs an app of
# three containers with berth: a web server, a worker that writes to the
# journal, and a one-shot job in the foreground. Each container is a
# systemd unit: the demo shows them with systemctl, machinectl and
# berth ps, fetches the page the web container serves, stops one with
# systemctl, and removes everything. Published ports and TOML apps come
# with the networking and services issues; until then the page is
# fetched inside the web container's own network namespace.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$PWD/bin
name=berth-demo
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "boot the testbed: this host's systemd in systemd-nspawn"
"$bin/testbed" up "$name"
trap '"$bin/testbed" down "$name"' EXIT
tb() { "$bin/testbed" exec "$name" "$@"; }

step "berth import bin/images/busybox.tar busybox"
tb "$bin/berth" import "$bin/images/busybox.tar" busybox
tb "$bin/berth" images

step "berth run --rm busybox …: a container in the foreground, its output and exit code"
set +e
tb "$bin/berth" run --rm --hostname demo busybox sh -c \
  '. /etc/os-release; echo "hello from $PRETTY_NAME on $(hostname), PID $$ of $(ps | wc -l) lines of ps"; exit 3'
echo "exit code: $?"
set -e

step "two detached containers: a web server and a worker, with limits"
tb "$bin/berth" run -d --name web -m 64m --cpus 0.5 --pids-limit 50 --restart on-failure:3 \
  busybox httpd -f -v -p 8080 -h /var/www
tb "$bin/berth" run -d --name worker busybox sh -c \
  'trap "echo worker: stopping; exit 0" TERM; i=0; while true; do i=$((i+1)); echo "worker: job $i done"; sleep 0.2; done'
sleep 1

step "berth ps"
tb "$bin/berth" ps

step "systemctl status berth-web (a transient unit in machine.slice)"
tb systemctl status --no-pager --lines=0 berth-web.service || true

step "machinectl list"
tb machinectl list --no-pager

step "the page the web container serves (fetched inside its network namespace)"
pid=$(tb "$bin/berth" inspect -f '{{.State.Pid}}' web)
tb nsenter -t "$pid" -n busybox wget -qO- http://127.0.0.1:8080/

step "berth logs --tail 3 worker, and the same lines in the journal"
tb "$bin/berth" logs --tail 3 worker
tb journalctl --no-pager -o cat -n 2 CONTAINER_NAME=worker

step "systemctl stop berth-worker: the stop signal, a clean exit, and berth sees it"
tb systemctl stop berth-worker.service
tb "$bin/berth" ps -a --format 'table {{.Names}}\t{{.Status}}'

step "berth rm -f web worker; berth rmi busybox"
tb "$bin/berth" rm -f web worker
tb "$bin/berth" rmi busybox
tb "$bin/berth" ps -a
