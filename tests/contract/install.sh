#!/usr/bin/env bash
# Installs the pinned tooling of the OpenAPI contract gate (tests/contract/run.sh):
# the npm packages of package-lock.json into tests/contract/node_modules (npm ci) and the
# Python packages of requirements.txt into tests/contract/.venv. Idempotent: each part is
# reinstalled only when its lock file changed since the last install, so a second run
# takes a moment. Needs Node.js 20.19+ with npm, and CPython 3.11 with venv (both on the
# project's machines); the packages come from the npm registry and PyPI.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "install.sh: $1 is missing; the contract gate needs $2" >&2
    exit 1
  fi
}
need node "Node.js 20.19 or later"
need npm "npm (comes with Node.js)"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' || {
  echo "install.sh: Node.js $(node --version) is too old; @redocly/cli needs 20.19 or later" >&2
  exit 1
}
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
need "$PYTHON" "CPython 3.11"

stamp_of() { sha256sum "$@" | sha256sum | cut -c1-64; }

# npm: `npm ci` installs exactly package-lock.json, from scratch.
npm_stamp="$(stamp_of package.json package-lock.json)-node$(node --version)"
if [ "$(cat node_modules/.podium-stamp 2>/dev/null || true)" != "$npm_stamp" ]; then
  echo "install.sh: npm ci (tests/contract/node_modules)"
  timeout 600 npm ci --no-audit --no-fund --loglevel=error
  echo "$npm_stamp" >node_modules/.podium-stamp
fi

# Python: a venv of its own, rebuilt when requirements.txt or the interpreter changes.
py_version="$("$PYTHON" -c 'import sys; print(".".join(map(str, sys.version_info[:3])))')"
py_stamp="$(stamp_of requirements.txt)-py$py_version"
if [ "$(cat .venv/.podium-stamp 2>/dev/null || true)" != "$py_stamp" ]; then
  echo "install.sh: pip install -r requirements.txt (tests/contract/.venv, Python $py_version)"
  rm -rf .venv
  "$PYTHON" -m venv .venv
  timeout 600 .venv/bin/python -m pip install --quiet --disable-pip-version-check \
    --no-input -r requirements.txt
  echo "$py_stamp" >.venv/.podium-stamp
fi

echo "install.sh: contract tooling ready: redocly $(node_modules/.bin/redocly --version)," \
  "openapi-typescript $(node -p 'require("openapi-typescript/package.json").version')," \
  "tsc $(node_modules/.bin/tsc --version | cut -d' ' -f2)," \
  "schemathesis $(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("schemathesis"))')," \
  "openapi-python-client $(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("openapi-python-client"))')"
