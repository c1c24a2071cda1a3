#!/usr/bin/env bash
# The one test command (npm test / make test): runs tap over test/**/*.test.ts and ends with
# tap's closing counts as a plain "N passed, N failed, N skipped" line, keeping tap's exit status.
set -o pipefail
cd "$(dirname "$0")/.."
mkdir -p .tap
log=.tap/last-run.log
npx tap "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
awk '/^# \{ total: [0-9]+/ { l = $0 }
  function n(k) { return match(l, k ": [0-9]+") ? substr(l, RSTART + length(k) + 2, RLENGTH - length(k) - 2) + 0 : 0 }
  END { print n("pass") " passed, " n("fail") " failed, " n("skip") + n("todo") " skipped" }' "$log"
exit "$rc"
