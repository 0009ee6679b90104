#!/usr/bin/env bash
# Provided information under the Protocol's rule: "information received under the present
# Protocol may not be transmitted to third parties without the prior consent of the providing
# Party". Three nodes on loopback: CICA Secretariat, SCO RATS, and a third party (a UN office).
#
#   1. CICA shares an item.           2. SCO RATS reads it.       3. The third party has nothing.
#   4. SCO RATS asks for consent, CICA grants it.                 5. The third party reads it.
#   6. CICA revokes the grant: the third party's node destroys the key and confirms.
#   7. audit verify passes on every node.
#
#   scripts/demo-consent.sh            KEEP=1 scripts/demo-consent.sh  (keep the temporary dir)
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib/demo.sh consent

A="$WORK/cica"; B="$WORK/sco-rats"; T="$WORK/un-oct"
say "Three nodes: the two Parties and a third party (same binary, its own party id)"
run "$BIN" init --data-dir "$A" --party-id cica --party-name "CICA Secretariat" --listen /ip4/127.0.0.1/tcp/0 --api 127.0.0.1:0 >/dev/null
run "$BIN" init --data-dir "$B" --party-id sco-rats --party-name "SCO RATS Executive Committee" --listen /ip4/127.0.0.1/tcp/0 --api 127.0.0.1:0 >/dev/null
run "$BIN" init --data-dir "$T" --party-id un-oct --party-name "UN Office of Counter-Terrorism" --listen /ip4/127.0.0.1/tcp/0 --api 127.0.0.1:0 >/dev/null
for n in cica sco-rats un-oct; do "$BIN" serve --data-dir "$WORK/$n" 2>"$WORK/$n.log" & PIDS+=($!); done
for n in cica sco-rats un-oct; do wait_for "$n node" test -s "$WORK/$n/run.json"; "$BIN" id --data-dir "$WORK/$n" --json > "$WORK/$n.id.json"; done

say "Pinning: the Parties pin each other as parties and the UN office as a third party;"
say "the UN office pins both Parties as providers (it will receive only what is granted)"
run "$BIN" peer add --data-dir "$A" --from-id "$WORK/sco-rats.id.json" >/dev/null
run "$BIN" peer add --data-dir "$B" --from-id "$WORK/cica.id.json" >/dev/null
run "$BIN" peer add --data-dir "$B" --from-id "$WORK/un-oct.id.json" --role third-party >/dev/null
run "$BIN" peer add --data-dir "$A" --from-id "$WORK/un-oct.id.json" --role third-party >/dev/null
run "$BIN" peer add --data-dir "$T" --from-id "$WORK/cica.id.json" --role provider >/dev/null
run "$BIN" peer add --data-dir "$T" --from-id "$WORK/sco-rats.id.json" --role provider >/dev/null
wait_for "the Parties to connect" sh -c "'$BIN' status --data-dir '$A' --json | grep -q '\"connected\": true'"

say "1. A CICA liaison officer records the Member-State mandate and shares an item"
export LIAISON_OFFICER="A. Karimov"
run "$BIN" mandate add --data-dir "$A" --ref "CICA-MS-2026/7" --date 2026-10-15 --scope "exchange of information with SCO RATS"
printf 'List of designated entities, annex 3.\nSECRET-MARKER-BODY-7f3a\n' > "$WORK/annex.txt"
I=$(run "$BIN" item share --data-dir "$A" --title "Designated entities SECRET-MARKER-TITLE-7f3a" --file "$WORK/annex.txt" --marking "RESTRICTED" --mandate "CICA-MS-2026/7")
echo "item $I"
run "$BIN" item list --data-dir "$A"

say "2. SCO RATS has it (sealed to its key) and reads it"
export LIAISON_OFFICER="I. Petrov"
wait_for "the item on SCO RATS" sh -c "'$BIN' item list --data-dir '$B' --json | grep -q '$I'"
run "$BIN" item show --data-dir "$B" "$I"

say "3. The third party has nothing: not the item, not even that it exists"
run "$BIN" item list --data-dir "$T"
run "$BIN" explain --data-dir "$B" "$I" --to un-oct
if grep -rqa "7f3a" "$T"; then echo "LEAK: the third party's data dir holds the marker" >&2; exit 1; fi
echo "no byte of the item in the third party's data dir"

say "4. SCO RATS asks CICA for consent; CICA grants it"
R=$(run "$BIN" consent request --data-dir "$B" "$I" --third-party un-oct --purpose "threat assessment for the Security Council")
wait_for "the request on CICA" sh -c "'$BIN' consent list --data-dir '$A' --json | grep -q '$R'"
export LIAISON_OFFICER="A. Karimov"
run "$BIN" consent list --data-dir "$A"
G=$(run "$BIN" consent grant --data-dir "$A" "$R" --expires 2027-12-31T00:00:00Z)
echo "grant $G"
export LIAISON_OFFICER="I. Petrov"
run "$BIN" explain --data-dir "$B" "$I" --to un-oct

say "5. The holder seals the key to the third party and sends item and grant; it reads it"
export LIAISON_OFFICER="UN analyst"
wait_for "the item on the third party" sh -c "'$BIN' item list --data-dir '$T' --json | grep -q '$I'"
run "$BIN" item show --data-dir "$T" "$I"
wait_for "CICA to learn of the transmission" sh -c "'$BIN' consent list --data-dir '$A' --json | grep -q '\"transmitted\": true'"
run "$BIN" consent list --data-dir "$A"

say "6. CICA revokes the grant: the third party destroys the key and confirms"
export LIAISON_OFFICER="A. Karimov"
run "$BIN" consent revoke --data-dir "$A" "$G" >/dev/null
wait_for "the confirmation on CICA" sh -c "'$BIN' consent list --data-dir '$A' --json | grep -q '\"key_destroyed\": true'"
run "$BIN" consent list --data-dir "$A"
run "$BIN" item list --data-dir "$T"
run "$BIN" explain --data-dir "$B" "$I" --to un-oct

say "7. The audit logs: every crossing recorded, hash-chained and signed; verify on every node"
run "$BIN" audit show --data-dir "$A" --item "$I"
for n in cica sco-rats un-oct; do run "$BIN" audit verify --data-dir "$WORK/$n"; done

say "The nodes stop cleanly"
for p in "${PIDS[@]}"; do kill -TERM "$p"; done
for p in "${PIDS[@]}"; do wait "$p"; done
PIDS=()
say "Demo complete"
