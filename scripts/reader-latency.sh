#!/usr/bin/env bash
# How long `/api/status`, a page read by the second reader, and a read that is still a job on
# the engine's thread (`/readyz`) take on a fresh node while it takes in workload A's documents
# from a peer. Uses the templates `liaison bench --workload A --work-dir W` leaves in W.
#   scripts/reader-latency.sh target/release/liaison /tmp/w
# Prints one line per probe kind: count, median and p99 in ms.
set -euo pipefail
exe=$(realpath "$1"); work=$(realpath "$2")
run=$work/reader-latency; rm -rf "$run"; mkdir -p "$run"
cp -r "$work/A-template-a" "$run/a"; cp -r "$work/A-template-b" "$run/b"
"$exe" --data-dir "$run/a" serve 2>"$run/a.log" & pa=$!
trap 'kill $pa ${pb:-} 2>/dev/null || true' EXIT
until [ -s "$run/a/run.json" ] && grep -q "\"pid\": *$pa" "$run/a/run.json"; do sleep 0.1; done
# B pins A at the address it bound (as the bench does).
"$exe" --data-dir "$run/a" id --json >"$run/a-id.json"
"$exe" --data-dir "$run/b" peer add --from-id "$run/a-id.json" >/dev/null
"$exe" --data-dir "$run/b" serve 2>"$run/b.log" & pb=$!
until [ -s "$run/b/run.json" ] && grep -q "\"pid\": *$pb" "$run/b/run.json"; do sleep 0.05; done
api=$(python3 -c "import json; print(json.load(open('$run/b/run.json'))['api_addr'])")
tok=$(cat "$run/b/keys/api.token")
c=(curl -s -o /dev/null -w '%{time_total}\n' --cacert "$run/b/tls/api-cert.pem" -H "Authorization: Bearer $tok" -H "x-liaison-officer: bench")
total() { curl -s --cacert "$run/b/tls/api-cert.pem" -H "Authorization: Bearer $tok" "https://$api/api/status" | python3 -c "import json,sys; print(json.load(sys.stdin)['documents_total'])"; }
start=$(total); : > "$run/status.txt"; : > "$run/ready.txt"; : > "$run/group.txt"
gid=$(curl -s --cacert "$run/b/tls/api-cert.pem" -H "Authorization: Bearer $tok" -H "x-liaison-officer: bench" -H 'content-type: application/json' \
  -d '{"name":"Probe group","mandate":"probe"}' "https://$api/api/groups" | python3 -c "import json,sys; print(json.load(sys.stdin)['id'])")
n=0
while :; do
  "${c[@]}" "https://$api/api/status" >>"$run/status.txt"
  "${c[@]}" "https://$api/api/groups/$gid" >>"$run/group.txt"
  "${c[@]}" "https://$api/readyz" >>"$run/ready.txt"
  n=$((n+1)); now=$(total)
  if [ "$now" -ge "$((start + ${DOCS:-1000} + 2))" ] || [ $n -ge 2000 ]; then break; fi
done
for k in status group ready; do
  python3 - "$run/$k.txt" "$k" <<'PY'
import sys,statistics
v=sorted(float(x)*1e3 for x in open(sys.argv[1]) if x.strip())
p99=v[min(len(v)-1,int(len(v)*0.99))]
print(f"{sys.argv[2]:>7}: n={len(v)} median={statistics.median(v):.1f} ms p99={p99:.1f} ms max={v[-1]:.1f} ms")
PY
done
