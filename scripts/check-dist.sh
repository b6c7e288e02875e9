#!/usr/bin/env bash
# check-dist: GitHub runs each action from its committed bundle (actions/<name>/dist), so the bundles
# must match their sources. Rebuild them in place, then fail if git sees any difference (changed,
# deleted or new files). Run it on a clean checkout; `npm run check-dist` does the same locally.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "check-dist: $(pwd) is not a git work tree; it compares the rebuilt bundles with the committed ones" >&2
  exit 1
fi

echo "check-dist: rebuilding actions/*/dist"
start=$SECONDS
node scripts/build-actions.mjs
changed=$(git status --porcelain --untracked-files=all -- 'actions/*/dist')
if [ -n "$changed" ]; then
  echo "$changed" | head -40 >&2
  echo "check-dist: the committed bundles above do not match their sources." >&2
  echo "check-dist: to fix, run 'npm run build' and commit actions/*/dist with the change to the sources." >&2
  exit 1
fi
echo "check-dist: the committed bundles match their sources ($((SECONDS - start)) s)"
