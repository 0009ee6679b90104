#!/bin/bash
# A/B of a draft's page right after a keystroke, on a copy of the years workspace's node A, nothing
# else running: each binary in turn serves it; 10 warm-up rounds, then 60 rounds of (splice one
# character; GET the draft and its history at once, timed until both answered). Prints the p50,
# the p95 and the slowest, in microseconds. The draft is the bench's first (`d` 0).
# Usage: PAGE_AB_DIR=COPY scripts/page-ab.sh BIN [BIN ...] (it types into COPY: use a copy)
d=${PAGE_AB_DIR:?set PAGE_AB_DIR to a copy of a years node A (liaison bench --workload years --work-dir DIR: DIR/years-run1/a)}
tok=$(cat $d/keys/api.token)
D=62656e63682d79656172736400000000
for bin in "$@"; do
  log=$(mktemp)
  LIAISON_LOG=info $bin serve --data-dir $d > $log 2>&1 &
  pid=$!
  url=
  for _ in $(seq 1 200); do url=$(grep -o 'api=https://[0-9.:]*' $log | head -1 | cut -d= -f2); [ -n "$url" ] && $bin status --data-dir $d --json >/dev/null 2>&1 && break; sleep 0.5; done
  sleep 15
  h=(-sk -H "authorization: Bearer $tok" -H "x-liaison-officer: bench")
  round() {
    curl "${h[@]}" -o /dev/null -X POST -H 'content-type: application/json' -d '{"pos":0,"insert":"·"}' "$url/api/drafts/$D/splice"
    local t0=$(date +%s%N)
    curl "${h[@]}" -o /dev/null "$url/api/drafts/$D" & local c=$!
    curl "${h[@]}" -o /dev/null "$url/api/drafts/$D/history?limit=50"; wait $c
    echo $(( ($(date +%s%N) - t0) / 1000 ))
  }
  for _ in $(seq 1 10); do round > /dev/null; done
  ts=$(for _ in $(seq 1 60); do round; done | sort -n)
  echo "$(basename $bin): page after a keystroke p50 $(echo "$ts" | sed -n 30p) us, p95 $(echo "$ts" | sed -n 57p) us, max $(echo "$ts" | tail -1) us"
  kill -TERM $pid; wait $pid
  rm -f $log
done
