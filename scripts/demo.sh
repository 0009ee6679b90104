#!/usr/bin/env bash
# The two-node demo: CICA Secretariat and SCO RATS on loopback, each with its own embedded store,
# pinned to each other; a meeting and a draft made on one node appear on the other; the draft is
# edited on both nodes at once and both keep both edits; each node gets an officer's account for
# the web app; then both stop cleanly.
#
#   scripts/demo.sh            build (debug) and run; everything lives in a temporary dir
#   KEEP=1 scripts/demo.sh     keep the temporary dir (data dirs and logs) for a look afterwards
#   WEB=1 scripts/demo.sh      keep both nodes running at the end, to try the web app in a browser
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib/demo.sh demo

A="$WORK/cica"; B="$WORK/sco-rats"
say "Each secretariat's sysadmin initialises a node (keys 0600, TLS certificate, API token, node.toml)"
run "$BIN" init --data-dir "$A" --party-id cica --party-name "CICA Secretariat" --listen /ip4/127.0.0.1/tcp/0 --api 127.0.0.1:0
run "$BIN" init --data-dir "$B" --party-id sco-rats --party-name "SCO RATS Executive Committee" --listen /ip4/127.0.0.1/tcp/0 --api 127.0.0.1:0

say "Both nodes start (logs in the temporary dir)"
"$BIN" serve --data-dir "$A" 2>"$WORK/cica.log" & PIDS+=($!)
"$BIN" serve --data-dir "$B" 2>"$WORK/sco-rats.log" & PIDS+=($!)
wait_for "CICA node" test -s "$A/run.json"
wait_for "SCO RATS node" test -s "$B/run.json"

say "They exchange identities and pin each other; nothing else may connect"
"$BIN" id --data-dir "$A" --json > "$WORK/cica.id.json"
"$BIN" id --data-dir "$B" --json > "$WORK/sco-rats.id.json"
run "$BIN" id --data-dir "$A"
run "$BIN" peer add --data-dir "$A" --from-id "$WORK/sco-rats.id.json"
run "$BIN" peer add --data-dir "$B" --from-id "$WORK/cica.id.json"
wait_for "the nodes to connect" sh -c "'$BIN' status --data-dir '$A' --json | grep -q '\"connected\": true'"
run "$BIN" peer list --data-dir "$A"

export LIAISON_OFFICER="A. Karimov"
say "A CICA officer proposes a consultation and sets up a working group with a draft"
M=$(run "$BIN" meeting create --data-dir "$A" --title "Consultations on countering the financing of terrorism" \
      --starts 2026-12-08T09:00:00Z --ends 2026-12-08T13:00:00Z --kind consultation --venue Astana \
      --sidelines-of "CICA Senior Officials Committee" | tail -1)
run "$BIN" meeting update --data-dir "$A" "$M" --add-agenda "Opening remarks" --add-agenda "Exchange of information" \
      --add-participant "A. Karimov:cica:liaison officer" >/dev/null
G=$(run "$BIN" group create --data-dir "$A" --name "Joint working group on CFT" --mandate "Proposals on countering the financing of terrorism" | tail -1)
# Paragraphs (separated by a blank line) become the draft's provisions; "Article ..." ones are
# articles. Each provision has an English and a Russian text.
cat > "$WORK/draft.txt" <<'TXT'
Article 1. The Parties shall exchange information on issues of mutual interest.

Article 2. The Parties may hold joint working meetings and consultations.

Article 3. Information received shall not be transmitted to third parties without consent.
TXT
D=$(run "$BIN" draft create --data-dir "$A" --group "$G" --title "Joint proposals" --text-file "$WORK/draft.txt" | tail -1)

say "The SCO RATS node has them, without anyone asking"
export LIAISON_OFFICER="I. Petrov"
wait_for "the draft on SCO RATS" "$BIN" draft show --data-dir "$B" "$D"
run "$BIN" meeting show --data-dir "$B" "$M"
run "$BIN" draft show --data-dir "$B" "$D"

say "Officers of both Parties edit the same draft at the same moment, in different articles,
    each from the version they were shown (draft show prints it)"
V=$("$BIN" draft show --data-dir "$B" "$D" --json | grep -o '"version": "[^"]*"' | cut -d'"' -f4)
sed 's/^Article 1\. The Parties shall exchange information/Article 1. The Parties shall promptly exchange information/' "$WORK/draft.txt" > "$WORK/edit-cica.txt"
sed 's/without consent\./without the prior consent of the providing Party./' "$WORK/draft.txt" > "$WORK/edit-rats.txt"
LIAISON_OFFICER="A. Karimov" "$BIN" draft edit --data-dir "$A" "$D" --text-file "$WORK/edit-cica.txt" --base "$V" >/dev/null & E1=$!
"$BIN" draft edit --data-dir "$B" "$D" --text-file "$WORK/edit-rats.txt" --base "$V" >/dev/null & E2=$!
wait $E1 $E2
echo "both edits acknowledged (each is durable on its own node)"
wait_for "both nodes to hold both edits" sh -c "[ \"\$('$BIN' draft show --data-dir '$A' '$D' --json | grep -o '\"text\": \"[^\"]*\"')\" = \"\$('$BIN' draft show --data-dir '$B' '$D' --json | grep -o '\"text\": \"[^\"]*\"')\" ] && '$BIN' draft show --data-dir '$A' '$D' | grep -q promptly && '$BIN' draft show --data-dir '$A' '$D' | grep -q 'providing Party'"
echo "--- on CICA:";     "$BIN" draft show --data-dir "$A" "$D" | grep -E '^  en' | sed 's/^  en: /  /'
echo "--- on SCO RATS:"; "$BIN" draft show --data-dir "$B" "$D" | grep -E '^  en' | sed 's/^  en: /  /'

say "Status of the SCO RATS node"
run "$BIN" status --data-dir "$B"

say "The officers' web app: each node serves it on its HTTPS API port, from inside the binary"
PA=$("$BIN" account add --data-dir "$A" --name "A. Karimov" --role liaison --json | grep -o '"password": "[^"]*"' | cut -d'"' -f4)
PB=$("$BIN" account add --data-dir "$B" --name "I. Petrov" --role liaison --json | grep -o '"password": "[^"]*"' | cut -d'"' -f4)
UA="https://$(grep -o '"api_addr": "[^"]*"' "$A/run.json" | cut -d'"' -f4)/#/drafts/$D"
UB="https://$(grep -o '"api_addr": "[^"]*"' "$B/run.json" | cut -d'"' -f4)/#/drafts/$D"
echo "  CICA:     $UA   log in as \"A. Karimov\", password $PA"
echo "  SCO RATS: $UB   log in as \"I. Petrov\", password $PB"
echo "  (each node has its own self-signed certificate: accept it in the browser)"
if [ "${WEB:-0}" = 1 ]; then
  echo "  WEB=1: the nodes keep running; open both links, type in the same article, Ctrl-C to stop"
  trap 'echo' INT
  wait "${PIDS[0]}" || true
fi

say "Both nodes stop cleanly (SIGTERM)"
for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${PIDS[@]}"; do wait "$p" || true; done
PIDS=()
grep -h "node stopped" "$WORK/cica.log" "$WORK/sco-rats.log" | sed 's/^/  /'
say "Demo complete"
