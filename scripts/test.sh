#!/usr/bin/env bash
# The README's test command (`npm test`): typecheck, lint, the whole suite on SQLite on the newest Node LTS line,
# then every API test again with every server on PostgreSQL on the machine's Node.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
# Node 26 and its better-sqlite3 build (minutes on a fresh machine) are made ready while the checks run.
bash scripts/node-lts.sh node --version >/dev/null &
node_lts=$!
npm run typecheck
npm run lint
wait "$node_lts"
npm run test:sqlite
npm run test:postgres
