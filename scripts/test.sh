#!/usr/bin/env bash
# Runs every test: unit tests, the convergence property test, in-process multi-node tests and the
# end-to-end tests that run the real `liaison` binary as separate processes. One shared debug
# build; cargo-nextest runs the test binaries in parallel.
set -euo pipefail
cd "$(dirname "$0")/.."
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --no-tests=pass "$@"
else
  echo "cargo-nextest not found; falling back to cargo test" >&2
  cargo test "$@"
fi
