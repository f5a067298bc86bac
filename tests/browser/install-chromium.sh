#!/usr/bin/env bash
# Installs Debian's Chromium for the share page's browser test (tests/api/share.rs), when
# it is not there yet. The test runs it itself on first use; CI runs it before the suites.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
command -v chromium
