#!/usr/bin/env bash
# `npm run demo`: set up everything on a fresh machine and run Coffer's main
# job once, as Temporal workflows on a real worker. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true

step() { printf '\n== %s\n' "$*"; }

if [[ ! -x node_modules/.bin/tsx ]]; then
  step "installing npm dependencies"
  # npm ci refuses a package-lock.json that lacks other platforms' optional
  # packages; then install from the lock without rewriting it.
  npm ci --no-audit --no-fund || {
    echo "npm ci failed (package-lock.json out of sync?): falling back to npm install --no-save" >&2
    npm install --no-audit --no-fund --no-save
  }
fi

step "building"
npm run --silent build

step "starting the local stack"
npm run --silent stack -- up

# The demo's job: backup -> restore -> byte-for-byte check -> verify, each a
# Temporal workflow on a real worker (scripts/demo-job.sh).
run_job() {
  bash scripts/demo-job.sh
}

step "running the demo job"
run_job

ui="$(sed -n 's/^COFFER_TEMPORAL_UI=//p' .data/stack.env)"
step "done"
echo "Temporal UI: ${ui}"
echo "Stack:       npm run stack -- status | down   (logs in .data/logs/)"
