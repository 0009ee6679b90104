#!/usr/bin/env bash
# Drafting in two equally authentic languages, from proposal to executed originals, on two
# nodes (CICA Secretariat and SCO RATS) on loopback:
#   1. a working group's draft with three articles in English and Russian;
#   2. an English edit that makes the Russian stale;   3. the alignment;
#   4. the approvals;   5. the signing;   6. verify;   7. an export.
#
#   scripts/demo-drafting.sh            KEEP=1 scripts/demo-drafting.sh  (keep the temporary dir)
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib/demo.sh drafting
same() { # same JSONFIELD: the field of `draft show --json` is equal on both nodes
  [ "$("$BIN" draft show --data-dir "$A" "$D" --json | grep -o "\"$1\": \"[^\"]*\"")" = \
    "$("$BIN" draft show --data-dir "$B" "$D" --json | grep -o "\"$1\": \"[^\"]*\"")" ]
}

A="$WORK/cica"; B="$WORK/sco-rats"
"$BIN" init --data-dir "$A" --party-id cica --party-name "CICA Secretariat" --listen /ip4/127.0.0.1/tcp/0 --api 127.0.0.1:0 >/dev/null
"$BIN" init --data-dir "$B" --party-id sco-rats --party-name "SCO RATS Executive Committee" --listen /ip4/127.0.0.1/tcp/0 --api 127.0.0.1:0 >/dev/null
"$BIN" serve --data-dir "$A" 2>"$WORK/cica.log" & PIDS+=($!)
"$BIN" serve --data-dir "$B" 2>"$WORK/sco-rats.log" & PIDS+=($!)
wait_for "nodes" test -s "$A/run.json"; wait_for "nodes" test -s "$B/run.json"
"$BIN" id --data-dir "$A" --json > "$WORK/a.json"; "$BIN" id --data-dir "$B" --json > "$WORK/b.json"
"$BIN" peer add --data-dir "$A" --from-id "$WORK/b.json" >/dev/null
"$BIN" peer add --data-dir "$B" --from-id "$WORK/a.json" >/dev/null
wait_for "the nodes to connect" sh -c "'$BIN' status --data-dir '$A' --json | grep -q '\"connected\": true'"
echo "two nodes up and pinned to each other"

say "1. A working group's draft with three articles, in English and Russian"
export LIAISON_OFFICER="A. Karimov"
G=$(run "$BIN" group create --data-dir "$A" --name "Joint working group on CFT" --mandate "Joint proposals on countering the financing of terrorism")
printf '%s\n\n%s\n\n%s' \
  "Article 1. The Parties shall exchange information on the financing of terrorism." \
  "Article 2. The Parties shall hold joint consultations at least once a year." \
  "Article 3. Information received shall not be transmitted to third parties without the prior consent of the providing Party." > "$WORK/en.txt"
D=$(run "$BIN" draft create --data-dir "$A" --group "$G" --title "Joint proposals on CFT" --lang en --text-file "$WORK/en.txt")
export LIAISON_OFFICER="I. Petrov"
wait_for "the draft on SCO RATS" "$BIN" draft show --data-dir "$B" "$D"
printf 'Статья 1. Стороны обмениваются информацией о финансировании терроризма.' > "$WORK/ru1.txt"
printf 'Статья 2. Стороны проводят совместные консультации не реже одного раза в год.' > "$WORK/ru2.txt"
printf 'Статья 3. Полученная информация не передаётся третьим сторонам без предварительного согласия предоставившей её Стороны.' > "$WORK/ru3.txt"
for n in 1 2 3; do
  run "$BIN" draft text --data-dir "$B" "$D" --provision "a$n" --lang ru --text-file "$WORK/ru$n.txt" >/dev/null
  run "$BIN" draft align --data-dir "$B" "$D" --provision "a$n" >/dev/null
done
wait_for "both nodes to hold the same draft" same version
run "$BIN" draft version --data-dir "$B" "$D" --name "first reading" >/dev/null
wait_for "both nodes to hold the same draft" same version
run "$BIN" draft show --data-dir "$A" "$D"

say "2. An English edit on CICA's node makes the Russian text of Article 2 stale"
export LIAISON_OFFICER="A. Karimov"
printf 'Article 2. The Parties shall hold joint consultations at least twice a year.' > "$WORK/en2.txt"
run "$BIN" draft text --data-dir "$A" "$D" --provision a2 --lang en --text-file "$WORK/en2.txt" >/dev/null
wait_for "the edit on SCO RATS" same version
run "$BIN" draft status --data-dir "$B" "$D"

say "3. A Russian officer brings Article 2 in line and aligns it"
export LIAISON_OFFICER="I. Petrov"
printf 'Статья 2. Стороны проводят совместные консультации не реже двух раз в год.' > "$WORK/ru2.txt"
run "$BIN" draft text --data-dir "$B" "$D" --provision a2 --lang ru --text-file "$WORK/ru2.txt" >/dev/null
run "$BIN" draft align --data-dir "$B" "$D" --provision a2 >/dev/null
run "$BIN" draft version --data-dir "$B" "$D" --name "second reading" >/dev/null
wait_for "alignment on CICA" same version
run "$BIN" draft status --data-dir "$A" "$D"

say "4. Review, and an approval from each Party (bound to the hash of both texts)"
run "$BIN" draft review --data-dir "$A" "$D" >/dev/null
wait_for "review on SCO RATS" same version
export LIAISON_OFFICER="A. Karimov"; run "$BIN" draft approve --data-dir "$A" "$D"
wait_for "CICA's approval on SCO RATS" same version
export LIAISON_OFFICER="I. Petrov"; run "$BIN" draft approve --data-dir "$B" "$D"
wait_for "both approvals on both nodes" same version
run "$BIN" draft status --data-dir "$A" "$D"

say "5. Each Party signs the canonical hash with its Party key; the draft is executed and frozen"
export LIAISON_OFFICER="A. Karimov"; run "$BIN" draft sign --data-dir "$A" "$D"
export LIAISON_OFFICER="I. Petrov";  run "$BIN" draft sign --data-dir "$B" "$D"
wait_for "execution on both nodes" sh -c "'$BIN' draft show --data-dir '$A' '$D' --json | grep -q '\"state\": \"executed\"' && '$BIN' draft show --data-dir '$B' '$D' --json | grep -q '\"state\": \"executed\"'"
if run "$BIN" draft text --data-dir "$A" "$D" --provision a1 --lang en --text-file "$WORK/en2.txt" 2>"$WORK/err.txt"; then
  echo "an executed draft accepted an edit" >&2; exit 1
fi
echo "refused, as it must be: $(cat "$WORK/err.txt")"

say "6. Each node verifies both signatures and its own original"
wait_for "originals kept" "$BIN" draft verify --data-dir "$A" "$D"
run "$BIN" draft verify --data-dir "$A" "$D"
wait_for "originals kept" "$BIN" draft verify --data-dir "$B" "$D"
run "$BIN" draft verify --data-dir "$B" "$D"
run "$BIN" draft diff --data-dir "$A" "$D" --lang ru --from "first reading"

say "7. Export: both languages side by side, with approvals and the signature block"
run "$BIN" draft export --data-dir "$A" "$D" --format html --output "$WORK/joint-proposals.html"
run "$BIN" draft export --data-dir "$A" "$D" --format md

for p in "${PIDS[@]}"; do kill -TERM "$p"; done
for p in "${PIDS[@]}"; do wait "$p"; done
PIDS=()
say "Demo complete"
