#!/usr/bin/env bash
# Installs the built package on this machine (as root) and checks it as a sysadmin would: the
# binary runs, the man page and completions are in place, the unit verifies, the service user
# exists, and a node can be initialised and checked as that user. CI runs it after the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
deb=$(ls target/debian/liaison_*.deb | head -1)
dpkg -i "$deb"
echo "== installed: $(liaison --version)"
test -f /usr/share/man/man1/liaison.1.gz
test -f /usr/share/bash-completion/completions/liaison
getent passwd liaison >/dev/null
test "$(stat -c %a /var/lib/liaison)" = 700
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify /usr/lib/systemd/system/liaison.service
fi
# The first steps of "Deploying two sites", as the service user, on the package's data dir.
if [ ! -e /var/lib/liaison/node.toml ]; then
  runuser -u liaison -- liaison init --data-dir /var/lib/liaison --party-id cica --party-name "CICA Secretariat" \
    --listen /ip4/127.0.0.1/tcp/0 --api 127.0.0.1:0
  fresh=1
fi
runuser -u liaison -- liaison config check --data-dir /var/lib/liaison
if [ "${fresh:-0}" = 1 ]; then
  rm -rf /var/lib/liaison/*
fi
echo "== the package installs and runs"
