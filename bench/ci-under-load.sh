#!/usr/bin/env bash
# How long CI takes on a busy machine: clones this repository's HEAD into a fresh folder and runs
# `CI=true bash .ci/run` there with two busy loops beside it the whole time, then prints the exit
# status, the wall time, the load average before and after, and the suite's closing line.
#   bash bench/ci-under-load.sh [RUNS]      (default 1; figures go to bench/results/ci-under-load.md by hand)
# Needs what .ci/run needs (root for apt-get, or the Debian packages already installed).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-1}
for n in $(seq 1 "$runs"); do
  dir=$(mktemp -d "${TMPDIR:-/tmp}/cdl-ci-XXXXXX")
  git clone -q "$root" "$dir/repo"
  ( while :; do :; done ) & b1=$!
  ( while :; do :; done ) & b2=$!
  start=$(date +%s); before=$(cut -d' ' -f1-3 /proc/loadavg)
  (cd "$dir/repo" && CI=true bash .ci/run > "$dir/ci.log" 2>&1); rc=$?
  end=$(date +%s); kill "$b1" "$b2"
  echo "run $n: $(git -C "$dir/repo" log --oneline -1 | cut -c1-7) rc=$rc $((end - start)) s," \
    "load average $before before, $(cut -d' ' -f1-3 /proc/loadavg) after; $(tail -n 1 "$dir/ci.log"); log: $dir/ci.log"
done
