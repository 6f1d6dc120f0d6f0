#!/usr/bin/env bash
# Type-checks and compiles src/ to dist/, then makes the CLI's one-file build and its code cache
# (scripts/bundle.mjs; bin/eyrie.js runs it, and falls back to the sources when dist/ is older than
# any of them). The stamp is written only after a clean build.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -f dist/.built dist/cli/eyrie.cjs dist/cli/eyrie.cjs.v8cache
if [ ! -x node_modules/.bin/tsc ]; then echo "build: no typescript (dev dependencies omitted); the CLI runs from the sources"; exit 0; fi
npx --no-install tsc -p tsconfig.build.json
node scripts/bundle.mjs
touch dist/.built
