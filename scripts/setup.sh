#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for eyrie: system packages, npm dependencies, the native addon.
# Idempotent and non-interactive. Never downloads virus signatures: tests ship their own.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential python3 git   # node-gyp for the native interceptor
  strace                        # the strace importer and its tests; peer in benchmarks
  clamav clamav-daemon          # clamd for on-access scanning (private instance, own signatures)
  sqlite3 p7zip-full x264       # real workloads in tests and benchmarks
  librdkafka-dev                # the Kafka-protocol mock cluster for journal tests
  xfsprogs                      # a reflink file system (XFS on a loop device) for the clone tests
)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${PACKAGES[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  # keep package scripts from starting daemons (freshclam would try to download signatures)
  policy=/usr/sbin/policy-rc.d
  had_policy=0; [ -e "$policy" ] && had_policy=1
  [ $had_policy -eq 1 ] || { printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null; as_root chmod +x "$policy"; }
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ $had_policy -eq 1 ] || as_root rm -f "$policy"
fi

# npm ci also builds the native addon (the package's install script runs node-gyp against /usr headers)
npm ci --no-audit --no-fund
echo "setup: done"
