#!/usr/bin/env bash
# Print the runner labels of this machine's GPUs, comma-separated, from what nvidia-smi reports:
#   gpu                 any NVIDIA GPU
#   gpu-<model>         each model, lower case (gpu-a100-sxm4-80gb, gpu-rtx-4090, gpu-h100-80gb-hbm3)
#   gpu-count-<n>       how many GPUs
#   gpu-mem-<n>g        memory of the smallest GPU, in GiB rounded down (gpu-mem-80g)
#   cuda-<major>        the CUDA version the driver supports (cuda-12)
#   sm-<major><minor>   compute capability of the oldest GPU (sm-80), when nvidia-smi reports it
# Prints nothing and exits 1 when nvidia-smi is missing or lists no GPU.
# Usage: labels.sh [--extra LABELS]
set -euo pipefail

extra=''
while [ $# -gt 0 ]; do
  case "$1" in
    --extra) extra="${2:-}"; shift 2 ;;
    *) echo "labels.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

command -v nvidia-smi >/dev/null 2>&1 || { echo "labels.sh: nvidia-smi not found: no NVIDIA driver" >&2; exit 1; }
gpus="$(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits 2>/dev/null || true)"
[ -n "$gpus" ] || { echo "labels.sh: nvidia-smi lists no GPU" >&2; exit 1; }

labels=(gpu)
count=0
min_mem=''
while IFS=, read -r name mem; do
  [ -n "$name" ] || continue
  count=$((count + 1))
  slug="$(printf '%s' "$name" | tr '[:upper:]' '[:lower:]' | sed -e 's/^nvidia //' -e 's/[^a-z0-9]\+/-/g' -e 's/^-//' -e 's/-$//')"
  labels+=("gpu-$slug")
  mem="${mem//[^0-9]/}"
  if [ -n "$mem" ] && { [ -z "$min_mem" ] || [ "$mem" -lt "$min_mem" ]; }; then min_mem="$mem"; fi
done <<<"$gpus"
labels+=("gpu-count-$count")
[ -z "$min_mem" ] || labels+=("gpu-mem-$((min_mem / 1024))g")

cuda="$(nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: *\([0-9]\+\)\..*/\1/p' | head -n1 || true)"
[ -z "$cuda" ] || labels+=("cuda-$cuda")

cc="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | tr -d ' .' | grep -E '^[0-9]+$' | sort -n | head -n1 || true)"
[ -z "$cc" ] || labels+=("sm-$cc")

if [ -n "$extra" ]; then
  IFS=',' read -r -a more <<<"$extra"
  labels+=("${more[@]}")
fi

# Unique, in order.
printf '%s\n' "${labels[@]}" | awk 'NF && !seen[$0]++' | paste -sd, -
