#!/usr/bin/env bash
# Plays the part of Ignition and of the sysext inside the testbed, to
# check by hand what contrib/butane/berth.bu gives a host (README.md):
#   butane --strict berth.bu > /var/tmp/berth.ign
#   bin/testbed run NAME -- contrib/butane/apply-in-testbed.sh /var/tmp/berth.ign
# It writes the config's inline files and units, puts bin/berth where the
# sysext would (/usr/bin, the generator link) and bin/images/busybox.tar
# where the config fetches it, starts multi-user.target, fetches the
# app's page and removes the app. It writes into /usr and /etc, so it
# refuses to run outside the testbed (whose root is a throw-away overlay).
set -euo pipefail
ign=${1:?usage: apply-in-testbed.sh CONFIG.ign}
[ -n "${BERTH_TESTBED:-}" ] || { echo "apply-in-testbed.sh: only inside the testbed (bin/testbed run NAME -- ...)" >&2; exit 2; }
cd "$(dirname "$0")/../.."
install -m 0755 bin/berth /usr/bin/berth
mkdir -p /usr/lib/systemd/system-generators /var/lib/berth-images
ln -sf /usr/bin/berth /usr/lib/systemd/system-generators/berth-generator
cp bin/images/busybox.tar /var/lib/berth-images/busybox.tar
python3 - "$ign" <<'PY'
import base64, gzip, json, os, sys
ign = json.load(open(sys.argv[1]))
for f in ign["storage"]["files"]:
    src = f["contents"]["source"]
    if not src.startswith("data:"):
        continue  # fetched from a URL: laid out above
    data = base64.b64decode(src.split(",", 1)[1]) if ";base64," in src else src.split(",", 1)[1].encode()
    if f["contents"].get("compression") == "gzip":
        data = gzip.decompress(data)
    os.makedirs(os.path.dirname(f["path"]), exist_ok=True)
    open(f["path"], "wb").write(data)
for u in ign["systemd"]["units"]:
    if "contents" in u:
        open("/etc/systemd/system/" + u["name"], "w").write(u["contents"])
PY
systemctl enable berth-images.service
systemctl daemon-reload
systemctl start multi-user.target
for _ in $(seq 50); do
  page=$(busybox wget -qO- http://127.0.0.1:80/ 2>/dev/null) && break
  sleep 0.1
done
systemctl status --no-pager --lines=0 berth-images.service hello-web.service || true
echo "page: ${page:-}"
systemctl restart berth-images.service   # imports only once
berth images
systemctl stop hello-web.service
berth rm hello-web >/dev/null
berth network rm hello_default >/dev/null
case ${page:-} in "Hello from berth on hello") echo "apply-in-testbed.sh: ok" ;; *) echo "apply-in-testbed.sh: no page" >&2; exit 1 ;; esac
