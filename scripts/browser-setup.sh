#!/usr/bin/env bash
# Installs what the browser tests need on a fresh machine: Debian's Chromium (Playwright drives
# it at /usr/bin/chromium; no browser download) and the tests' npm packages (playwright-core,
# exactly as package-lock.json pins it).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "== installing Debian's chromium for the browser tests"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq chromium >/dev/null
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "npm is needed for the browser tests (Node.js 20 or later)" >&2
  exit 1
fi
# `npm ci` only when the lock changed since the last install.
lock=tests/browser/package-lock.json
stamp=tests/browser/node_modules/.liaison-lock
if [ ! -f "$stamp" ] || ! cmp -s "$lock" "$stamp"; then
  echo "== npm ci (tests/browser)"
  (cd tests/browser && npm ci --no-audit --no-fund --ignore-scripts)
  cp "$lock" "$stamp"
fi
