#!/usr/bin/env bash
# How this host's GPUs are shared among its runners: one runner per GPU, or per group of
# GPUS_PER_RUNNER consecutive GPUs (e.g. 2 on an 8-GPU box: 4 runners with GPUs 0,1 2,3 4,5 6,7).
# GPUs left over when the count does not divide evenly get no runner (named on stderr).
# Prints one line per slot, "<slot> <gpu indices, comma-separated>", or with --slot N the indices
# of slot N only (exit 1 when this host has no such slot).
# Usage: slots.sh [--gpus-per-runner K] [--slot N]      (K defaults to $GPUS_PER_RUNNER, else 1)
set -euo pipefail

per="${GPUS_PER_RUNNER:-1}"
slot=''
while [ $# -gt 0 ]; do
  case "$1" in
    --gpus-per-runner) per="${2:-}"; shift 2 ;;
    --slot) slot="${2:-}"; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "slots.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ "$per" =~ ^[1-9][0-9]*$ ]] || { echo "slots.sh: GPUS_PER_RUNNER: expected a positive number, got '$per'" >&2; exit 2; }
[ -z "$slot" ] || [[ "$slot" =~ ^[0-9]+$ ]] || { echo "slots.sh: --slot: expected a number, got '$slot'" >&2; exit 2; }

command -v nvidia-smi >/dev/null 2>&1 || { echo "slots.sh: nvidia-smi not found: no NVIDIA driver" >&2; exit 1; }
mapfile -t gpus < <(nvidia-smi --query-gpu=index --format=csv,noheader 2>/dev/null | tr -d ' ' | grep -E '^[0-9]+$' || true)
[ "${#gpus[@]}" -gt 0 ] || { echo "slots.sh: nvidia-smi lists no GPU" >&2; exit 1; }

slots=$((${#gpus[@]} / per))
[ "$slots" -gt 0 ] || { echo "slots.sh: ${#gpus[@]} GPUs, fewer than GPUS_PER_RUNNER=$per" >&2; exit 1; }
left=$((${#gpus[@]} - slots * per))
[ "$left" -eq 0 ] || echo "slots.sh: GPUs ${gpus[*]:$((slots * per))} get no runner (${#gpus[@]} GPUs, $per per runner)" >&2

group() { local IFS=,; echo "${gpus[*]:$(($1 * per)):$per}"; }
if [ -n "$slot" ]; then
  [ "$slot" -lt "$slots" ] || { echo "slots.sh: no slot $slot: this host has $slots (0-$((slots - 1)))" >&2; exit 1; }
  group "$slot"
else
  for ((s = 0; s < slots; s++)); do echo "$s $(group "$s")"; done
fi
