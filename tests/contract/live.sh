#!/usr/bin/env bash
# The live part of the contract gate, for one database; run.sh calls it (inside a
# network namespace of its own when it can, ISOLATED=1).
#
#   live.sh BACKEND DATABASE_URL PODIUM_BIN OUT_DIR RESULTS ISOLATED
#
# Loads the demo into the (empty) database, starts the server on a free loopback port,
# signs in the admin, the demo's manager and participant, and a partner API client
# (client credentials), then runs schemathesis once per token and py/smoke.py. Appends
# one summary line per gate to RESULTS.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
backend="$1" database_url="$2" bin="$3" out="$4" results="$5" isolated="$6"
mkdir -p "$out"
doc="${CONTRACT_OPENAPI:-$root/openapi/openapi.json}"
py="$here/.venv/bin/python"

# Examples per operation and the seed: bounded and reproducible. Both can be raised for
# a deeper run (CONTRACT_MAX_EXAMPLES=100 tests/contract/run.sh sqlite).
max_examples="${CONTRACT_MAX_EXAMPLES:-10}"
seed="${CONTRACT_SEED:-20261111}"
# One worker: with more, the order of requests (and so what the server holds when a
# case runs) changes from run to run, and CPython 3.11's `ast` is not thread-safe, which
# hypothesis trips over ("AST constructor recursion depth mismatch", seen with 2).
workers="${CONTRACT_WORKERS:-1}"

record() {
  printf '%-34s %-4s %4ss  %s\n' "$backend: $1" "$2" "$3" "$4" | tee -a "$results"
}

if [ "$isolated" = 1 ]; then
  ip link set lo up || { record setup FAIL 0 "cannot bring up loopback in the namespace"; exit 1; }
fi

server_pid=""
stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
}
trap stop_server EXIT

start=$SECONDS
admin_password="contract-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
port="$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
export DATABASE_URL="$database_url"
export PODIUM_CONFIG=/nonexistent/podium.toml
export PODIUM_BIND="127.0.0.1:$port"
export PODIUM_ADMIN_PASSWORD="$admin_password"
export PODIUM_JWT_SECRET="contract-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export PODIUM_WORKERS=2
export PODIUM_LOG_LEVEL=warn
# Deliveries to generated webhook URLs cannot reach anything from here, and must not
# retry for long.
export PODIUM_WEBHOOK_TIMEOUT_SECONDS=2 PODIUM_WEBHOOK_MAX_ATTEMPTS=1
# Every sign-in of the gate comes from 127.0.0.1; sign-in throttling (429, tested in
# tests/api/sessions.rs) would otherwise decide which of schemathesis' requests pass.
export PODIUM_SIGN_IN_ADDRESS_BURST=100000 PODIUM_SIGN_IN_ACCOUNT_BURST=100000

# `podium demo` applies the migrations, creates the first admin with
# PODIUM_ADMIN_PASSWORD, and loads the demo (people with the password below).
demo_password="podium-demo-2026"
if ! timeout 120 "$bin" demo >"$out/demo.txt" 2>&1; then
  tail -n 20 "$out/demo.txt"
  record setup FAIL $((SECONDS - start)) "podium demo failed ($out/demo.txt)"
  exit 1
fi
timeout 1200 "$bin" serve >"$out/server.log" 2>&1 &
server_pid=$!
ready=0
for _ in $(seq 1 300); do
  if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
  if curl -fsS -m 2 "$base/readyz" >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.1
done
if [ $ready != 1 ]; then
  tail -n 30 "$out/server.log"
  record setup FAIL $((SECONDS - start)) "the server did not become ready on $base within 30 s"
  exit 1
fi

# api METHOD PATH [TOKEN] [JSON]: the answer's body; fails on a non-2xx answer.
api() {
  local method="$1" path="$2" token="${3:-}" body="${4:-}"
  local args=(-fsS -m 10 -X "$method" "$base$path" -H 'Accept: application/json')
  [ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data "$body")
  curl "${args[@]}"
}
json() { "$py" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
password_token() {
  api POST /api/v1/auth/token "" \
    "{\"grant_type\":\"password\",\"email\":\"$1\",\"password\":\"$2\"}" | json 'd["access_token"]'
}

set -e
admin="$(password_token admin@podium.local "$admin_password")"
manager="$(password_token manager.idf@podium.local "$demo_password")"
participant="$(password_token julie.moreau@podium.local "$demo_password")"
distributor="$(api GET '/api/v1/organisations?kind=distributor' "$admin" | json 'd["items"][0]["id"]')"
client="$(api POST /api/v1/api-clients "$admin" \
  "{\"name\":\"contract gate\",\"organisation_id\":\"$distributor\"}")"
client_id="$(echo "$client" | json 'd["client"]["id"]')"
client_secret="$(echo "$client" | json 'd["client_secret"]')"
partner="$(api POST /api/v1/auth/token "" \
  "{\"grant_type\":\"client_credentials\",\"client_id\":\"$client_id\",\"client_secret\":\"$client_secret\"}" |
  json 'd["access_token"]')"
set +e
for role in admin manager participant partner; do
  [ -n "${!role}" ] || { record setup FAIL $((SECONDS - start)) "no $role token"; exit 1; }
done
record setup PASS $((SECONDS - start)) "demo loaded, server on $base, 4 tokens (isolated network: $isolated)"

# The smoke test first: schemathesis then changes the demo's users and data at will.
start=$SECONDS
log="$out/python-smoke.txt"
if [ ! -d "$out/../py/podium_client" ]; then
  record python-smoke FAIL 0 "no generated client (the python-client gate failed to generate one)"
elif PYTHONPATH="$out/../py" timeout 120 "$py" "$here/py/smoke.py" "$base" "$admin_password" >"$log" 2>&1; then
  record python-smoke PASS $((SECONDS - start)) "$(tail -n 1 "$log")"
else
  tail -n 15 "$log" | sed 's/^/  /'
  record python-smoke FAIL $((SECONDS - start)) "$(tail -n 1 "$log" | cut -c1-160) ($log)"
fi

# What schemathesis leaves out, and why:
# - the live standings stream (text/event-stream) never ends by design; each request
#   would only time out. tests/api covers it.
# - signing out would end the session of the token the rest of the run uses; tests/api
#   covers it (sessions.rs).
excluded=(--exclude-operation-id stream_standings --exclude-operation-id sign_out)
if [ "$isolated" != 1 ]; then
  # - outside a network namespace, webhook URLs generated by schemathesis would make
  #   the server send deliveries off this machine: the operations that create or point
  #   a webhook somewhere, or send a delivery again, are left out.
  excluded+=(--exclude-operation-id create_webhook --exclude-operation-id update_webhook
    --exclude-operation-id replay_delivery)
fi

# CONTRACT_ROLES picks the schemathesis runs (all four by default; empty for none, to
# try the smoke test alone).
for role in ${CONTRACT_ROLES-admin manager participant partner}; do
  start=$SECONDS
  token="${!role}"
  log="$out/schemathesis-$role.txt"
  # A folder of its own per run: schemathesis keeps a cache of past failures in
  # .schemathesis/ under its working folder and replays them, which would make one
  # run depend on the runs before it.
  mkdir -p "$out/schemathesis-$role"
  (cd "$out/schemathesis-$role" && exec timeout 600 "$here/.venv/bin/schemathesis" --config-file "$here/schemathesis.toml" run "$doc" \
    --url "$base" \
    --checks all \
    --max-examples "$max_examples" \
    --seed "$seed" \
    --workers "$workers" \
    --request-timeout 10 \
    --generation-database none \
    --no-color \
    --header "Authorization: Bearer $token" \
    "${excluded[@]}" \
    --report junit --report-junit-path "$out/schemathesis-$role.xml" \
    >"$log" 2>&1)
  rc=$?
  summary="$("$py" - "$out/schemathesis-$role.xml" <<'PY' 2>/dev/null
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
cases = root.iter("testcase")
total = failed = errored = skipped = 0
for case in cases:
    total += 1
    if case.find("failure") is not None: failed += 1
    elif case.find("error") is not None: errored += 1
    elif case.find("skipped") is not None: skipped += 1
print(f"{total} operations: {total - failed - errored - skipped} passed, {failed} failed, {errored} errors, {skipped} skipped")
PY
)"
  if [ $rc -eq 0 ]; then
    record "schemathesis-$role" PASS $((SECONDS - start)) "${summary:-ok} ($log)"
  else
    [ $rc -eq 124 ] && summary="timed out after 600 s; $summary"
    record "schemathesis-$role" FAIL $((SECONDS - start)) "${summary:-exit $rc} ($log)"
  fi
done

