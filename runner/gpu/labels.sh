#!/usr/bin/env bash
# Print the runner labels of this machine's GPUs, comma-separated, from what nvidia-smi reports:
#   gpu                 any NVIDIA GPU
#   gpu-<model>         each model, lower case (gpu-a100-sxm4-80gb, gpu-rtx-4090, gpu-h100-80gb-hbm3)
#   gpu-count-<n>       how many GPUs
#   gpu-mem-<n>g        memory of the smallest GPU, in GiB rounded down (gpu-mem-80g)
#   cuda-<major>        the CUDA version the driver supports (cuda-12)
#   sm-<major><minor>   compute capability of the oldest GPU (sm-80), when nvidia-smi reports it
#   gpu-index-<i>       with --gpus: each GPU the runner is pinned to (gpu-index-3)
# With --gpus LIST only those GPUs count (a runner pinned to them by CUDA_VISIBLE_DEVICES).
# Prints nothing and exits 1 when nvidia-smi is missing or lists no GPU (or not one of LIST).
# Usage: labels.sh [--gpus 0,1] [--extra LABELS]
set -euo pipefail

extra=''
only=''
while [ $# -gt 0 ]; do
  case "$1" in
    --extra) extra="${2:-}"; shift 2 ;;
    --gpus) only="${2:-}"; shift 2 ;;
    *) echo "labels.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

command -v nvidia-smi >/dev/null 2>&1 || { echo "labels.sh: nvidia-smi not found: no NVIDIA driver" >&2; exit 1; }
[ -z "$only" ] || [[ "$only" =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "labels.sh: --gpus: expected indices such as 0 or 0,1, got '$only'" >&2; exit 2; }
# The rows of the GPUs that count: all, or those of --gpus (each must exist).
pick() {
  if [ -z "$only" ]; then sed 's/^[^,]*, *//'; return; fi
  awk -F', *' -v want="$only" 'BEGIN { n = split(want, w, ","); for (i = 1; i <= n; i++) keep[w[i]] = 1 }
    ($1 in keep) { found[$1] = 1; sub(/^[^,]*, */, ""); print }
    END { for (k in keep) if (!(k in found)) exit 3 }'
}
gpus="$(nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader,nounits 2>/dev/null | pick)" ||
  { echo "labels.sh: nvidia-smi does not list GPU(s) $only" >&2; exit 1; }
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

cc="$(nvidia-smi --query-gpu=index,compute_cap --format=csv,noheader 2>/dev/null | pick | tr -d ' .' | grep -E '^[0-9]+$' | sort -n | head -n1 || true)"
[ -z "$cc" ] || labels+=("sm-$cc")

if [ -n "$only" ]; then
  IFS=',' read -r -a pinned <<<"$only"
  for i in "${pinned[@]}"; do labels+=("gpu-index-$i"); done
fi

if [ -n "$extra" ]; then
  IFS=',' read -r -a more <<<"$extra"
  labels+=("${more[@]}")
fi

# Unique, in order.
printf '%s\n' "${labels[@]}" | awk 'NF && !seen[$0]++' | paste -sd, -
