#!/bin/bash
# A/B of the inbox's header request on one node of a cached years workspace, nothing else
# running: each binary in turn serves DIR's node A, then 60 `GET /api/inbox?limit=20` one after
# another (curl), and the p50 is printed. Usage: scripts/inbox-ab.sh WORK_DIR BIN [BIN ...]
# (WORK_DIR as given to `liaison bench --workload years --work-dir`). It uses that cached node in
# place, as a start of the bench would. AB_PATH=/api/meetings?limit=100 times another read.
set -euo pipefail
d=$(ls -d "$1"/years-v1-*)/a
path=${AB_PATH:-/api/inbox?limit=20}
shift
tok=$(cat "$d/keys/api.token")
log=$(mktemp)
for bin in "$@"; do
  LIAISON_LOG=info "$bin" serve --data-dir "$d" > "$log" 2>&1 &
  pid=$!
  url=
  for _ in $(seq 1 200); do
    url=$(grep -o 'api=https://[0-9.:]*' "$log" | head -1 | cut -d= -f2 || true)
    [ -n "$url" ] && "$bin" status --data-dir "$d" --json > /dev/null 2>&1 && break
    sleep 0.5
  done
  get() { curl -sk -o /dev/null -w "%{time_total}\n" -H "authorization: Bearer $tok" "$url$path"; }
  for _ in 1 2 3; do get > /dev/null; done
  ts=$(for _ in $(seq 1 60); do get; done | sort -n)
  echo "$bin $path: p50 $(echo "$ts" | sed -n 30p) s [$(echo "$ts" | head -1) – $(echo "$ts" | tail -1)]"
  kill -TERM "$pid"
  wait "$pid" || true
done
rm -f "$log"
