# Shared by the demo scripts (sourced, not run): builds liaison, makes a temporary work dir that
# is removed at exit (kept with KEEP=1), stops every node started into PIDS, and gives `say`,
# `run` (echoes the command, shortened) and `wait_for`.
#
#   source scripts/lib/demo.sh NAME      # NAME: the work dir's prefix
say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*" | sed "s#$BIN#liaison#; s#$WORK/##g" >&2; "$@"; }

say "Building liaison (first build takes a few minutes)"
cargo build --quiet --bin liaison
BIN="$PWD/target/debug/liaison"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/liaison-$1.XXXXXX")"
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# wait_for DESCRIPTION COMMAND...: retries for up to WAIT_SECS (default 30) s; on time-out shows
# every node's log.
wait_for() {
  local what="$1"; shift
  for _ in $(seq 1 $(( ${WAIT_SECS:-30} * 10 ))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "timed out waiting for: $what" >&2
  for log in "$WORK"/*.log; do echo "--- $log" >&2; tail -15 "$log" >&2; done
  return 1
}
