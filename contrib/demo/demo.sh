#!/usr/bin/env bash
# The demo (make demo): boots the testbed (this host's systemd in
# systemd-nspawn), imports the offline busybox image, and runs an app of
# three containers with berth: a web server on a published port, a worker
# that writes to the journal, and a one-shot job in the foreground. Each
# container is a systemd unit on berth's bridge network: the demo shows
# them with systemctl, machinectl and berth ps, fetches the page from the
# published port on 127.0.0.1, stops one with systemctl, and removes
# everything.
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

step "two detached containers: a web server on published port 8080, and a worker"
tb "$bin/berth" run -d --name web -p 8080:80 -m 64m --cpus 0.5 --pids-limit 50 --restart on-failure:3 \
  busybox httpd -f -v -p 80 -h /var/www
tb "$bin/berth" run -d --name worker busybox sh -c \
  'trap "echo worker: stopping; exit 0" TERM; i=0; while true; do i=$((i+1)); echo "worker: job $i done"; sleep 0.2; done'
sleep 1

step "berth ps"
tb "$bin/berth" ps

step "systemctl status berth-web (a transient unit in machine.slice)"
tb systemctl status --no-pager --lines=0 berth-web.service || true

step "machinectl list"
tb machinectl list --no-pager

step "the page, from the published port: wget http://127.0.0.1:8080/"
tb busybox wget -qO- http://127.0.0.1:8080/
step "and from the worker's network, by the web container's address"
ip=$(tb "$bin/berth" inspect -f '{{.NetworkSettings.IPAddress}}' web)
tb "$bin/berth" run --rm busybox sh -c "wget -qO- http://$ip/ | grep Hello"

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
