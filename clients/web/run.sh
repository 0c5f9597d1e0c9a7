#!/usr/bin/env bash
# A real browser calls petition: installs the pinned toolchain (npm ci),
# generates the TypeScript client from proto/ (buf + protoc-gen-es),
# type-checks and bundles the page (tsc, esbuild), and runs it in headless
# Chromium (Debian's, through playwright-core) against a running server.
#
#   clients/web/run.sh [server host:port]     # default 127.0.0.1:50051
#
# The server must allow the page's origin, http://127.0.0.1:$PETITION_WEB_PORT
# (default 50098): --cors-allowed-origins. See run.mjs for the environment.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
target="${1:-127.0.0.1:50051}"
cd "$here"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

t0="$(now)"
npm ci --no-audit --no-fund --loglevel=error
rm -rf src/gen dist
npx buf generate ../../proto --template buf.gen.yaml
npx buf generate proto --template buf.gen.yaml
npx tsc --noEmit
npx esbuild src/page.ts --bundle --format=esm --target=es2022 --log-level=warning --outfile=dist/page.js
echo "run.sh: client generated and page bundled ($(elapsed "$t0"))"

t1="$(now)"
status=0
node run.mjs "$target" || status=$?
echo "run.sh: browser finished with exit $status ($(elapsed "$t1"); total $(elapsed "$t0"))"
exit "$status"
