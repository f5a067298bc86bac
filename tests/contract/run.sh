#!/usr/bin/env bash
# The OpenAPI contract gate: checks openapi/openapi.json and a live server against it.
#
#   tests/contract/run.sh DATABASE_URL...
#
# Each DATABASE_URL selects a backend: a `postgres://…` URL names a PostgreSQL server on
# which a fresh database is created for the run and dropped after it; anything else
# (say `sqlite`) means a fresh SQLite file in a temporary folder. The server binary is
# $PODIUM_BIN (default target/debug/podium); the tooling comes from install.sh.
#
# Gates, once: `lint` (Redocly, recommended rules, redocly.yaml), `typescript`
# (openapi-typescript types, then `tsc --strict --noEmit` of ts/client.ts) and
# `python-client` (openapi-python-client, failing on any warning). Per database, against
# a server started on a free port with the demo data: `schemathesis-ROLE` for the admin,
# manager, participant and partner (client credentials) tokens, and `python-smoke`
# (py/smoke.py through the generated client). Logs and reports go to
# tests/contract/out/. Exits non-zero when any gate fails; a summary line per gate.
#
# Knobs: PODIUM_BIN; CONTRACT_OPENAPI (the document, default openapi/openapi.json);
# CONTRACT_MAX_EXAMPLES (10), CONTRACT_SEED, CONTRACT_WORKERS (1) and CONTRACT_ROLES
# (`admin manager participant partner`) for schemathesis (see live.sh).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

if [ $# -lt 1 ]; then
  echo "usage: $0 DATABASE_URL..." >&2
  exit 2
fi

PODIUM_BIN="${PODIUM_BIN:-target/debug/podium}"
case "$PODIUM_BIN" in /*) ;; *) PODIUM_BIN="$root/$PODIUM_BIN" ;; esac
if [ ! -x "$PODIUM_BIN" ]; then
  echo "run.sh: no server binary at $PODIUM_BIN (cargo build, or set PODIUM_BIN)" >&2
  exit 2
fi
for tool in "$here/node_modules/.bin/redocly" "$here/.venv/bin/schemathesis"; do
  if [ ! -x "$tool" ]; then
    echo "run.sh: $tool is missing: run tests/contract/install.sh first" >&2
    exit 2
  fi
done

# Redocly: no telemetry, no update notices (only traffic to 127.0.0.1).
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true REDOCLY_SUPPRESS_NOTIFICATIONS=true
export NO_COLOR=1

out="$here/out"
rm -rf "$out"
mkdir -p "$out"
results="$out/results.txt"
: >"$results"
# The document under test: the committed one, or CONTRACT_OPENAPI (say, the output of
# `podium openapi` from a build under way).
doc="${CONTRACT_OPENAPI:-$root/openapi/openapi.json}"
case "$doc" in /*) ;; *) doc="$root/$doc" ;; esac
export CONTRACT_OPENAPI="$doc"

# record GATE STATUS SECONDS DETAIL: one summary line, printed now and again at the end.
record() {
  printf '%-34s %-4s %4ss  %s\n' "$1" "$2" "$3" "$4" | tee -a "$results"
}

# --- lint -------------------------------------------------------------------------
gate_lint() {
  local log="$out/lint.txt" start=$SECONDS
  timeout 180 "$here/node_modules/.bin/redocly" lint --config "$here/redocly.yaml" \
    --format=stylish "$doc" >"$log" 2>&1
  local rc=$?
  local tally
  tally="$(grep -Eo '(Validation failed with|Woohoo|You have) .*' "$log" | tail -n 1)"
  grep -E '^ +[0-9]+:[0-9]+ +(error|warning)' "$log" | sed 's/^ */  /'
  if [ $rc -eq 0 ]; then
    record lint PASS $((SECONDS - start)) "${tally:-no problems} ($log)"
  else
    record lint FAIL $((SECONDS - start)) "${tally:-redocly exited $rc} ($log)"
  fi
}

# --- typescript -------------------------------------------------------------------
gate_typescript() {
  local log="$out/typescript.txt" start=$SECONDS
  rm -rf "$here/ts/generated"
  mkdir -p "$here/ts/generated"
  if ! timeout 180 "$here/node_modules/.bin/openapi-typescript" "$doc" \
    --redocly "$here/ts/redocly.yaml" -o "$here/ts/generated/podium.d.ts" >"$log" 2>&1; then
    grep -v '^    at ' "$log" | tail -n 20
    record typescript FAIL $((SECONDS - start)) "openapi-typescript could not generate the types ($log)"
    return
  fi
  if timeout 180 "$here/node_modules/.bin/tsc" --strict --noEmit -p "$here/ts/tsconfig.json" \
    >>"$log" 2>&1; then
    record typescript PASS $((SECONDS - start)) "ts/client.ts type-checks against the generated types"
  else
    grep -E 'error TS' "$log" | sed 's/^/  /'
    record typescript FAIL $((SECONDS - start)) "$(grep -c 'error TS' "$log") tsc error(s) ($log)"
  fi
}

# --- python-client ----------------------------------------------------------------
gate_python_client() {
  local log="$out/python-client.txt" start=$SECONDS
  rm -rf "$out/py"
  mkdir -p "$out/py"
  timeout 180 "$here/.venv/bin/openapi-python-client" generate --path "$doc" --meta none \
    --config "$here/openapi-python-client.yaml" --output-path "$out/py/podium_client" \
    --fail-on-warning >"$log" 2>&1
  local rc=$?
  # Belt and braces: a warning printed without the exit code failing still fails.
  local warnings
  warnings="$(grep -cE '^(WARNING|Unable to|Attempted to|Could not|Unsupported)' "$log")"
  if [ $rc -eq 0 ] && [ "$warnings" -eq 0 ] && ! grep -q 'Warning(s) encountered' "$log"; then
    record python-client PASS $((SECONDS - start)) "generated with no warnings"
  else
    grep -E '^(WARNING|Unable to|Attempted to|Could not|Unsupported)' "$log" | sed 's/^/  /'
    record python-client FAIL $((SECONDS - start)) "$warnings warning line(s), exit $rc ($log)"
  fi
}

gate_lint
gate_typescript
gate_python_client

# --- live gates, per database -----------------------------------------------------
# The server and the tools that talk to it run in a network namespace of their own with
# only a loopback interface, where unshare allows it: schemathesis creates webhooks with
# generated URLs, and a server outside would try to deliver to them. PostgreSQL is then
# reached through its local socket. Without such a namespace, the webhook operations
# that lead to deliveries are left out (see live.sh).
pg_socket_dir="${CONTRACT_PG_SOCKET_DIR:-/var/run/postgresql}"
can_isolate=0
if command -v unshare >/dev/null 2>&1 && command -v ip >/dev/null 2>&1 &&
  timeout 10 unshare --net true 2>/dev/null; then
  can_isolate=1
fi

n=0
for url in "$@"; do
  n=$((n + 1))
  work="$(mktemp -d)"
  case "$url" in
    postgres://* | postgresql://*)
      backend=postgres
      db="podium_contract_$$_$n"
      if ! timeout 30 psql "$url" -qc "CREATE DATABASE $db" >/dev/null; then
        record "postgres: setup" FAIL 0 "cannot create database $db at $url"
        rm -rf "$work"
        continue
      fi
      server_url="$(python3 - "$url" "$db" <<'PY'
import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1])
print(u.urlunsplit((p.scheme, p.netloc, "/" + sys.argv[2], p.query, "")))
PY
)"
      isolated=0
      port="$(python3 -c 'import sys,urllib.parse as u; print(u.urlsplit(sys.argv[1]).port or 5432)' "$url")"
      if [ $can_isolate = 1 ] && [ -S "$pg_socket_dir/.s.PGSQL.$port" ]; then
        isolated=1
        server_url="$(python3 - "$url" "$db" "$pg_socket_dir" <<'PY'
import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1])
user = (u.quote(p.username) + (":" + u.quote(p.password) if p.password else "") + "@") if p.username else ""
print(f"postgresql://{user}/{sys.argv[2]}?host={u.quote(sys.argv[3], safe='')}&port={p.port or 5432}")
PY
)"
      fi
      ;;
    *)
      backend=sqlite
      db=""
      server_url="$work/contract.db"
      isolated=$can_isolate
      ;;
  esac
  if [ $isolated = 1 ]; then
    timeout 1500 unshare --net -- bash "$here/live.sh" "$backend" "$server_url" "$PODIUM_BIN" \
      "$out/$backend" "$results" 1
  else
    timeout 1500 bash "$here/live.sh" "$backend" "$server_url" "$PODIUM_BIN" \
      "$out/$backend" "$results" 0
  fi
  if [ -n "$db" ]; then
    timeout 30 psql "$url" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
done

if ls "$out"/*/schemathesis-*.xml >/dev/null 2>&1; then
  timeout 60 "$here/.venv/bin/python" "$here/summarize.py" "$out" >/dev/null ||
    echo "run.sh: summarize.py failed" >&2
  echo "schemathesis failures grouped by operation and check: $out/schemathesis-findings.md"
  # A clean clone's CI keeps only its log: a failure is printed there, not only filed.
  if grep -q 'schemathesis-[a-z]* *FAIL ' "$results"; then
    sed -n '1,200p' "$out/schemathesis-findings.md"
  fi
fi

passed="$(grep -c ' PASS ' "$results")"
failed="$(grep -c ' FAIL ' "$results")"
printf '\nContract gates (logs in %s):\n' "$out"
cat "$results"
printf 'contract: %s passed, %s failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
