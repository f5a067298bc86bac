#!/usr/bin/env bash
# End-to-end benchmark of a rule-scored challenge (BENCHMARKS.md): 100,000 participants and
# 1,000,000 lines ingested through the API, then the cold standings of a challenge whose
# objective is a Rhai rule, next to the generated built-in challenge. Needs curl and python3.
# Usage: benches/rule_standings.sh [WORK_DIR] (default /tmp/podium-rule-bench)
set -euo pipefail
WORK="${1:-/tmp/podium-rule-bench}"
mkdir -p "$WORK"
cd "$(dirname "$0")/.."
export DATABASE_URL="$WORK/podium.db"
export PODIUM_ADMIN_PASSWORD=bench-password-123 PODIUM_BIND=127.0.0.1:8090 PODIUM_LOG_LEVEL=warn
rm -rf $WORK/data $WORK/podium.db*
cargo build --release --quiet --example bench_ingest
cargo build --release --quiet
./target/release/podium generate --participants 100000 --sales 1000000 --out $WORK/data | tee $WORK/generate.txt
challenge=$(grep -o 'challenge [0-9a-f-]*' $WORK/generate.txt | awk '{print $2}')
./target/release/podium serve & server=$!
trap 'kill $server' EXIT
sleep 2
./target/release/examples/bench_ingest http://127.0.0.1:8090 $WORK/data admin@podium.local bench-password-123 "$challenge" 2
U=http://127.0.0.1:8090/api/v1
T=$(curl -s $U/auth/token -H 'content-type: application/json' -d '{"grant_type":"password","email":"admin@podium.local","password":"bench-password-123"}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["access_token"])')
H="authorization: Bearer $T"
rule=$(curl -s $U/rules -H "$H" -H 'content-type: application/json' -d '{"name":"Revenue over potential","kind":"objective"}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
curl -s $U/rules/$rule/versions -H "$H" -H 'content-type: application/json' -d '{"source":"fn score(participant, sales, ctx) { sales.amount().to_float() / participant.potential_index }"}' > /dev/null
starts=$(date -u -d '-90 days' +%Y-%m-%dT00:00:00Z); ends=$(date -u -d '+30 days' +%Y-%m-%dT00:00:00Z)
sc=$(curl -s $U/challenges -H "$H" -H 'content-type: application/json' -d "{\"name\":\"Scripted\",\"kind\":\"competition\",\"rules_text\":\"Revenue over potential, by a rule.\",\"starts_at\":\"$starts\",\"ends_at\":\"$ends\",\"objective\":{\"type\":\"script\",\"rule_id\":\"$rule\",\"version\":1}}" | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
curl -s -o /dev/null -X POST $U/challenges/$sc/schedule -H "$H"; curl -s -o /dev/null -X POST $U/challenges/$sc/start -H "$H"
for label in cold warm; do
  curl -s -o $WORK/page.json -w "script standings $label: %{time_total} s, HTTP %{http_code}\n" "$U/challenges/$sc/standings?limit=50" -H "$H"
done
python3 -c 'import json;p=json.load(open("$WORK/page.json"));print("lines", p["total"], "leader", p["items"][0]["score"])'
grep VmHWM /proc/$server/status
