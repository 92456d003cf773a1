#!/usr/bin/env bash
# The whole test suite: typecheck, lint, unit and integration tests (vitest, on SQLite and
# PostgreSQL), the renderer build, and the end-to-end tests in Debian's Chromium.
# Set-up (Debian packages, npm ci) is done before this by scripts/setup.sh --test.
set -euo pipefail
cd "$(dirname "$0")/.."

# Important: tests talk to 127.0.0.1 only. As root we run them in a network namespace that
# has nothing but loopback, so no test can reach anything else even by mistake, and WebRTC
# finds its ICE candidates on loopback only.
if [ -z "${TSUNAGU_IN_NETNS:-}" ] && [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then
  exec unshare -n env TSUNAGU_IN_NETNS=1 bash -c 'ip link set lo up && exec bash scripts/test.sh "$@"' _ "$@"
fi

reports=test-reports
rm -rf "$reports"
mkdir -p "$reports"
step() { printf '\n== %s\n' "$*"; current="$*"; }
status=0
failed=()
# Records the step that failed, so that the last lines of the output (all a CI log may show) name it.
fail() { status=1; failed+=("${current%% (*}"); }

step "typecheck (every folder, the Electron shell included)"
npx tsc --noEmit -p tsconfig.json || fail

step "lint (folder boundaries included)"
npx eslint . || fail

step "electronegativity (Electron security checks; fails on HIGH/MEDIUM findings outside its allow list)"
node --import tsx scripts/electronegativity.ts "$reports" || fail

step "unit and integration tests (vitest)"
npx vitest run --reporter=default --reporter=json --outputFile.json="$reports/vitest.json" || fail

step "renderer build"
npx vite build --config vite.renderer.config.ts --logLevel warn || fail

step "customer portal build (served by the backend from dist/portal)"
npx vite build --config vite.portal.config.ts --logLevel warn || fail

step "end-to-end tests (Playwright, Debian's Chromium, browser shell)"
PLAYWRIGHT_JSON_OUTPUT_NAME="$reports/playwright.json" npx playwright test --reporter=list,json || fail

step "summary"
node --import tsx scripts/test-summary.ts "$reports" || fail
if [ ${#failed[@]} -gt 0 ]; then
  printf 'failed step: %s\n' "${failed[@]}"
fi
exit $status
