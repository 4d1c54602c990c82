#!/usr/bin/env bash
# The demo (make demo): boots the testbed (this host's systemd in
# systemd-nspawn), imports the offline busybox image, runs one container
# in the foreground, then the app contrib/demo/shop.toml with `berth up`:
# three containers, each a systemd unit, on the app's own network where
# they find each other by name; the web container publishes port 8080
# and its page shows what it asked the api container by name. The demo
# shows them with systemctl, machinectl and berth ps, fetches the page
# from the published port on 127.0.0.1, stops one with systemctl, and
# removes everything with `berth down`.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$PWD/bin
app=$PWD/contrib/demo/shop.toml
name=${BERTH_DEMO_TESTBED:-berth-demo}   # make demo-test names its own
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

step "berth up -f contrib/demo/shop.toml: an app of three containers (api, web on port 8080, worker)"
sed -n '/^\[service/,$p' "$app" | grep -E '^\[service|^ports|^depends_on' || true
tb "$bin/berth" up -f "$app"

step "berth ps"
tb "$bin/berth" ps

step "systemctl status shop-web (its unit; berth up wrote it as the generator does for /etc/berth/*.toml)"
tb systemctl status --no-pager --lines=0 shop-web.service || true

step "machinectl list"
tb machinectl list --no-pager

step "berth network ls: the app's network, with a DNS responder systemd starts on demand"
tb "$bin/berth" network ls

step "the page, from the published port: wget http://127.0.0.1:8080/cgi-bin/shop"
page=""
for _ in $(seq 50); do
  page=$(tb busybox wget -qO- http://127.0.0.1:8080/cgi-bin/shop 2>/dev/null || true)
  case $page in *'"stock": 42'*) break ;; esac
  sleep 0.1
done
printf '%s\n' "$page"
case $page in
  *'"stock": 42'*) ;;
  *) echo "demo: the page did not come, or lacks the api's answer" >&2; tb "$bin/berth" logs shop-web >&2 || true; exit 1 ;;
esac

step "berth logs --tail 3 shop-worker, and the same lines in the journal"
tb "$bin/berth" logs --tail 3 shop-worker
tb journalctl --no-pager -o cat -n 2 CONTAINER_NAME=shop-worker

step "systemctl stop shop-worker: the stop signal, a clean exit, and berth sees it"
tb systemctl stop shop-worker.service
tb "$bin/berth" ps -a --format 'table {{.Names}}\t{{.Status}}'

step "berth down: units, containers and the app's network go; berth rmi busybox"
tb "$bin/berth" down -f "$app"
tb "$bin/berth" rmi busybox
tb "$bin/berth" ps -a
tb "$bin/berth" network ls
