#!/usr/bin/env bash
# `npm test`: brings the local stack up when it is not running, then lints,
# type-checks and runs every test file (or only test/<folder> if given, e.g.
# `npm test -- chaos`). Every step runs; the exit code is non-zero if any fails.
set -euo pipefail
cd "$(dirname "$0")/.."

folder="${1:-}"
dir="test${folder:+/$folder}"
if [[ ! -d "$dir" ]]; then
  echo "test.sh: no such test folder: $dir" >&2
  exit 2
fi

export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true

# Idempotent and quick when the stack is already up; installs what is missing.
npm run --silent stack -- up

failed=()
npm run --silent lint || failed+=(lint)
npm run --silent typecheck || failed+=(typecheck)

mapfile -t files < <(find "$dir" -name '*.test.ts' | sort)
if (( ${#files[@]} == 0 )); then
  echo "test.sh: no *.test.ts files under $dir" >&2
  failed+=(tests)
else
  # --test-force-exit: a test file whose tests are done but which still holds
  # a socket or timer (a hung connection is itself reported as a failure) must
  # not stall the whole run until CI's time limit.
  node --import tsx --test --test-force-exit --test-concurrency=1 "${files[@]}" || failed+=(tests)
fi

if (( ${#failed[@]} > 0 )); then
  echo "test.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "test.sh: lint, typecheck and ${#files[@]} test files passed"
