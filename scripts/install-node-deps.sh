#!/bin/sh
# Installs the npm packages of the browser test (tests/browser) from its lock file.
# Idempotent: runs `npm ci` only when node_modules is missing or older than
# package-lock.json. Playwright never downloads a browser: the test drives Debian's
# /usr/bin/chromium.
set -eu

dir="$(cd "$(dirname "$0")/../tests/browser" && pwd)"
cd "$dir"

if [ -d node_modules ] && [ node_modules -nt package-lock.json ]; then
    echo "install-node-deps: tests/browser/node_modules up to date"
    exit 0
fi

echo "install-node-deps: npm ci in tests/browser"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
npm ci --no-audit --no-fund
# npm ci rewrites node_modules; mark it newer than the lock file for the next run.
touch node_modules
