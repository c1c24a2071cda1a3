#!/usr/bin/env bash
# npm run test:one -- FILE [FILE...]: builds dist/ (the tests spawn bin/chatserver, which runs
# it), then runs only those files with tap. Coverage is off: a few files never reach the
# thresholds that the whole suite (npm test) must meet, and tap would exit 1 for that alone.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then
  echo "usage: npm run test:one -- test/dir/name.test.ts [more files] [tap options]" >&2
  exit 2
fi
npx tsc -p tsconfig.build.json
exec npx tap --disable-coverage --allow-incomplete-coverage "$@"
