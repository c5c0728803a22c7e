#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian 12 machine (root; only Node 20, npm and
# apt to start with), then runs every test: unit, root integration (npm package and single
# executable), single-executable checks, and end-to-end tests in a real Docker engine.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[run-all] %s\n' "$*" >&2; }

# Debian packages: the references we compare against and the tools the tests drive
pkgs=()
for pair in gosu:gosu busybox:busybox-static script:bsdutils setpriv:util-linux unshare:util-linux docker-compose:docker-compose hyperfine:hyperfine; do
  command -v "${pair%%:*}" >/dev/null || pkgs+=("${pair#*:}")
done
if [ ${#pkgs[@]} -gt 0 ]; then
  log "installing ${pkgs[*]}"
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi
[ -x test/sea/setup-arm64.sh ] && sh test/sea/setup-arm64.sh >&2

log 'npm ci (brings Node 24.21.0 as node_modules/.bin/node)'
npm ci --no-audit --no-fund --loglevel=error >&2
npm run -s build
npm run -s build:bin

if [ "${STEPDOWN_SKIP_E2E:-0}" != 1 ] && [ -f test/e2e/engine.sh ]; then
  log 'starting the private Docker engine'
  eval "$(bash test/e2e/engine.sh up)"
  trap 'bash test/e2e/engine.sh down >&2 || true' EXIT
  export STEPDOWN_E2E=1
fi

export STEPDOWN_TEST_SEA=1
npm test
