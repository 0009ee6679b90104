#!/usr/bin/env bash
# Runs every test: unit tests, the convergence property test, in-process multi-node tests, the
# end-to-end tests that run the real `liaison` binary as separate processes, and the browser tests
# (Playwright driving headless Chromium against real nodes). One shared debug build;
# cargo-nextest runs the test binaries in parallel.
#
#   scripts/test.sh                 everything
#   scripts/test.sh FILTER...       only the Rust tests matching (no browser tests)
#   SKIP_BROWSER=1 scripts/test.sh  no browser tests
set -euo pipefail
cd "$(dirname "$0")/.."
# The two-site test makes network namespaces with iproute2's `ip` (as root); elsewhere it skips.
if [ "$(id -u)" = 0 ] && ! command -v ip >/dev/null 2>&1; then
  echo "== installing iproute2 for the two-site test"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null; }
fi
# The originals' tests read the PDFs back with poppler-utils' `pdftotext`.
if [ "$(id -u)" = 0 ] && ! command -v pdftotext >/dev/null 2>&1; then
  echo "== installing poppler-utils (pdftotext) for the originals' tests"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null; }
fi
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --no-tests=pass "$@"
else
  echo "cargo-nextest not found; falling back to cargo test" >&2
  cargo test "$@"
fi
# The web app's pure code (web/collab_text.js), with node's test runner and no browser.
if [ $# -eq 0 ]; then
  echo "== web app unit tests"
  node --test tests/web_unit/
fi
if [ $# -gt 0 ] || [ "${SKIP_BROWSER:-0}" = 1 ]; then
  exit 0
fi
echo "== browser tests"
scripts/browser-setup.sh
cargo build --quiet --bin liaison
(cd tests/browser && LIAISON_BIN="$PWD/../../target/debug/liaison" npm test)
