#!/usr/bin/env bash
# Browser tests need Debian's chromium and npm's playwright-core (whose own browser
# download cannot reach the network). Installs what is missing when it can; the tests
# themselves say what is missing (and fail under CI=true).
set -uo pipefail
cd "$(dirname "$0")/.."
if ! [ -x /usr/bin/chromium ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing chromium (apt)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 \
           && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; } \
      || echo "could not install chromium; browser tests will report it" >&2
  else
    echo "chromium is missing and cannot be installed here (needs root and apt)" >&2
  fi
fi
if [ -f package.json ] && [ ! -d node_modules/playwright-core ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "==> installing playwright-core (npm)"
    if [ -f package-lock.json ]; then
      npm ci --no-audit --no-fund --silent
    else
      npm install --no-audit --no-fund --silent
    fi || echo "could not install playwright-core; browser tests will report it" >&2
  else
    echo "npm is missing: install Node.js 20+ to run the browser tests" >&2
  fi
fi
exit 0
