#!/usr/bin/env bash
# Browser tests need Debian's chromium and npm's playwright-core (its own browser
# download cannot reach the network). Installs what is missing when it can.
set -uo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing chromium (apt)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; } \
      || echo "could not install chromium; browser tests will report it" >&2
  else
    echo "chromium is missing and cannot be installed here (needs root and apt)" >&2
  fi
fi
if [ -f tests/browser/package.json ] && command -v npm >/dev/null 2>&1; then
  if [ ! -d tests/browser/node_modules/playwright-core ]; then
    echo "==> installing playwright-core (npm)"
    (cd tests/browser && npm install --no-audit --no-fund --silent) \
      || echo "could not install playwright-core; browser tests will report it" >&2
  fi
fi
exit 0
