#!/usr/bin/env bash
# Builds the Debian package target/debian/liaison_VERSION-1_ARCH.deb: the binary, the hardened
# systemd unit (packaging/liaison.service), the example configs, the man page and the shell
# completions (made by the binary itself from its clap definitions).
#
#   packaging/build-deb.sh               a release build (what ships)
#   PROFILE=dev packaging/build-deb.sh   from the test build (CI: checks the package, not speed)
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${PROFILE:-release}
if ! cargo deb --version >/dev/null 2>&1; then
  cargo install --locked cargo-deb --version 3.8.0
fi
cargo build --profile "$profile" --bin liaison
case "$profile" in dev) out=debug ;; *) out=$profile ;; esac
bin=target/$out/liaison
mkdir -p target/packaging
"$bin" man | gzip -9n > target/packaging/liaison.1.gz
"$bin" completions bash > target/packaging/liaison.bash
"$bin" completions zsh > target/packaging/_liaison
"$bin" completions fish > target/packaging/liaison.fish
# cargo-deb reads the binary from the profile's own target dir; it strips debug info.
cargo deb --no-build --profile "$profile" --strip
ls -l target/debian/*.deb
