#!/usr/bin/env bash
# Idempotent set-up of a Debian 12 machine for Tsunagu: Debian packages, then npm
# packages. Safe to run again at any time; it only does what is missing.
#
#   scripts/setup.sh --run    what `npm start` needs
#   scripts/setup.sh --test   what `npm test` needs (includes --run)
#   scripts/setup.sh          same as --test: a developer machine runs both
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

usage() {
  printf 'usage: %s [--run|--test]\n' "$0" >&2
  exit 2
}

mode=test
case "${1:-}" in
  --run) mode=run ;;
  --test | "") mode=test ;;
  -h | --help) usage ;;
  *) printf 'setup: unknown argument: %s\n' "$1" >&2; usage ;;
esac
[[ $# -le 1 ]] || usage

# g++, make and python3 build better-sqlite3 from source: its prebuilt binaries
# come from GitHub, which this project cannot rely on reaching. kamailio-extra-modules
# holds jansson, which reads the backend's routing answers (pbx/kamailio.cfg). poppler-utils and
# libtiff-tools render fax PDFs and TIFFs to PNG pages (backend/src/mail/fax-pages.ts).
packages=(
  build-essential python3
  chromium fonts-noto-cjk
  kamailio kamailio-websocket-modules kamailio-utils-modules kamailio-autheph-modules
  kamailio-extra-modules
  rtpengine-daemon rtpengine-recording-daemon util-linux sox espeak-ng
  poppler-utils libtiff-tools
)
if [[ $mode == test ]]; then
  packages+=(postgresql sip-tester iproute2 file)
fi

command -v dpkg-query >/dev/null || die "dpkg-query not found: this script supports Debian 12 only"

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
  [[ $status == installed ]] || missing+=("$package")
done

# Shows the tail of a step's log when it fails, so the cause is on screen.
run_logged() {
  local what=$1; shift
  local log
  log=$(mktemp)
  if ! "$@" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    rm -f "$log"
    die "$what failed (command: $*)"
  fi
  rm -f "$log"
}

# Important: installing kamailio, rtpengine-daemon and postgresql starts their
# system services (SIP on port 5060, a PostgreSQL cluster on 5432). Tsunagu starts
# its own instances on loopback, so a policy-rc.d that denies service starts is in
# place during the install, unless the machine already has one.
policy_rc=/usr/sbin/policy-rc.d
remove_policy_rc=no
cleanup_policy_rc() {
  if [[ $remove_policy_rc == yes ]]; then
    rm -f "$policy_rc"
  fi
}

if ((${#missing[@]} == 0)); then
  say "Debian packages present (${#packages[@]})"
elif [[ $(id -u) -ne 0 ]]; then
  printf 'setup: missing Debian packages: %s\n' "${missing[*]}" >&2
  printf 'setup: run this, then run setup again:\n' >&2
  printf '  sudo apt-get update && sudo apt-get install -y %s\n' "${missing[*]}" >&2
  exit 1
else
  say "installing Debian packages: ${missing[*]}"
  if [[ ! -e $policy_rc ]]; then
    trap cleanup_policy_rc EXIT
    printf '#!/bin/sh\nexit 101\n' >"$policy_rc"
    chmod 755 "$policy_rc"
    remove_policy_rc=yes
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Waits for the dpkg lock instead of failing while unattended-upgrades holds it.
  apt_options=(-o DPkg::Lock::Timeout=300)
  run_logged "apt-get update" apt-get "${apt_options[@]}" update
  run_logged "apt-get install" apt-get "${apt_options[@]}" install -y "${missing[@]}"
  cleanup_policy_rc
  remove_policy_rc=no
fi

command -v node >/dev/null || die "node not found: install Node.js 20 or newer"
command -v npm >/dev/null || die "npm not found: install npm 11 (npm install -g npm@11)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 20)) || die "Node.js $(node -v) is too old: Tsunagu needs Node.js 20 or newer"

# `npm ci` deletes node_modules first, so it only runs when the lock file changed
# since the last install (npm writes node_modules/.package-lock.json on install).
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "installing npm packages (npm ci)"
  # The Electron binary cannot be downloaded here; the browser shell runs without it.
  run_logged "npm ci" env ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm ci --no-audit --no-fund
else
  say "npm packages up to date"
fi

# Both SQLite bindings are native: the backend's (better-sqlite3) and the app cache's encrypted
# one (better-sqlite3-multiple-ciphers). Each is rebuilt on its own when it does not load.
sqlite_module_works() {
  node -e "require('$1')(':memory:').close()" >/dev/null 2>&1
}
for module in better-sqlite3 better-sqlite3-multiple-ciphers; do
  if sqlite_module_works "$module"; then
    say "$module native module loads"
  else
    say "building $module native module (npm rebuild)"
    run_logged "npm rebuild $module" npm rebuild "$module"
    sqlite_module_works "$module" || die "$module still does not load after npm rebuild; run: node -e \"require('$module')(':memory:')\" to see why"
    say "$module native module loads"
  fi
done
