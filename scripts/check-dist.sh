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

# The build does not follow symlinks and names modules relative to the repository, so a worktree whose
# node_modules is a symlink to a shared install gives the same bytes as a clone with its own.
echo "check-dist: rebuilding actions/*/dist"
start=$SECONDS
node scripts/build-actions.mjs
# (A quoted 'actions/*/dist' would match no file: git matches a wildcard pathspec against whole paths.)
changed=$(git status --porcelain --untracked-files=all -- ':(glob)actions/*/dist/**')
if [ -n "$changed" ]; then
  echo "$changed" | head -40 >&2
  echo "check-dist: the committed bundles above do not match their sources." >&2
  echo "check-dist: to fix, run 'npm run build' and commit actions/*/dist with the change to the sources." >&2
  exit 1
fi
echo "check-dist: the committed bundles match their sources ($((SECONDS - start)) s)"
