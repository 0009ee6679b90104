#!/usr/bin/env bash
# Provided information under the Protocol's rule: "information received under the present
# Protocol may not be transmitted to third parties without the prior consent of the providing
# Party". Three nodes on loopback: CICA Secretariat, SCO RATS, and a third party (a UN office).
#
#   1. CICA shares an item.           2. SCO RATS reads it.       3. The third party has nothing.
#   4. SCO RATS asks for consent, CICA grants it.                 5. The third party reads it.
#   6. With SCO RATS (the holder) down, CICA revokes the grant: the revocation goes straight to
#      the third party, whose node destroys the key and confirms.
#   7. A second item under a grant that expires: at the expiry the third party's node destroys
#      the key by itself and confirms.
#   8. audit verify passes on every node.
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

say "6. SCO RATS (the holder) goes down; CICA revokes the grant; the revocation goes straight"
say "   to the third party, which destroys the key and confirms"
kill -TERM "${PIDS[1]}"; wait "${PIDS[1]}" || true
echo "SCO RATS node stopped"
export LIAISON_OFFICER="A. Karimov"
run "$BIN" consent revoke --data-dir "$A" "$G" >/dev/null
wait_for "the confirmation on CICA" sh -c "'$BIN' consent list --data-dir '$A' --json | grep -q '\"key_destroyed\": true'"
run "$BIN" consent list --data-dir "$A"
run "$BIN" item list --data-dir "$T"
run "$BIN" audit show --data-dir "$T" --item "$I"
"$BIN" serve --data-dir "$B" 2>>"$WORK/sco-rats.log" & PIDS[1]=$!
wait_for "SCO RATS back" test -s "$B/run.json"
wait_for "SCO RATS to learn of the revocation" sh -c "'$BIN' consent list --data-dir '$B' --json | grep -q '\"revoked\"'"
run "$BIN" explain --data-dir "$B" "$I" --to un-oct

say "7. A second item, granted until 25 seconds from now: at the expiry the third party's node"
say "   destroys the key by itself, and CICA gets its signed confirmation"
printf 'Travel notice.\nSECRET-MARKER-BODY-7f3a\n' > "$WORK/notice.txt"
I2=$(run "$BIN" item share --data-dir "$A" --title "Travel notice SECRET-MARKER-TITLE-7f3a" --file "$WORK/notice.txt" --marking "RESTRICTED" --mandate "CICA-MS-2026/7")
wait_for "the second item on SCO RATS" sh -c "'$BIN' item list --data-dir '$B' --json | grep -q '$I2'"
export LIAISON_OFFICER="I. Petrov"
R2=$(run "$BIN" consent request --data-dir "$B" "$I2" --third-party un-oct --purpose "border check")
wait_for "the second request on CICA" sh -c "'$BIN' consent list --data-dir '$A' --json | grep -q '$R2'"
export LIAISON_OFFICER="A. Karimov"
UNTIL=$(date -u -d '+25 seconds' +%Y-%m-%dT%H:%M:%SZ)
G2=$(run "$BIN" consent grant --data-dir "$A" "$R2" --expires "$UNTIL")
echo "grant $G2 until $UNTIL"
export LIAISON_OFFICER="UN analyst"
wait_for "the second item on the third party" sh -c "'$BIN' item list --data-dir '$T' --json | grep -q '$I2'"
run "$BIN" item show --data-dir "$T" "$I2"
echo "waiting for the expiry at $UNTIL"
WAIT_SECS=60 wait_for "the third party to destroy the second item at the expiry" sh -c "! '$BIN' item list --data-dir '$T' --json | grep -q '$I2'"
run "$BIN" item list --data-dir "$T"
if "$BIN" item show --data-dir "$T" "$I2" >/dev/null 2>&1; then echo "the expired item still opens" >&2; exit 1; fi
echo "item show $I2 on the third party is refused"
run "$BIN" audit show --data-dir "$T" --item "$I2"
wait_for "CICA to get the confirmation of the expiry" sh -c "'$BIN' audit show --data-dir '$A' --item '$I2' --json | grep -q 'expiry-ack'"
run "$BIN" consent list --data-dir "$A"

say "8. The audit logs: every crossing recorded, hash-chained and signed; verify on every node"
run "$BIN" audit show --data-dir "$A" --item "$I"
for n in cica sco-rats un-oct; do run "$BIN" audit verify --data-dir "$WORK/$n"; done

say "The nodes stop cleanly"
for p in "${PIDS[@]}"; do kill -TERM "$p"; done
for p in "${PIDS[@]}"; do wait "$p"; done
PIDS=()
say "Demo complete"
