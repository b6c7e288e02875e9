#!/usr/bin/env bash
# Prepare the machine for the training benchmark and run it (npm run bench:train).
#
#   bash bench/run-train.sh [bench/train.ts options, default: --seconds 6 --rounds 2]
#
# Needs Debian's PyTorch on OpenBLAS and the Fashion-MNIST data set:
#   apt-get install python3-torch libopenblas0-pthread dataset-fashion-mnist
# Missing packages are installed when running as root with apt-get available;
# otherwise the script says what is missing and stops. It then checks that
# torch really maps OpenBLAS (Debian's alternatives switch libblas.so.3 to it
# when libopenblas0-pthread is installed; a manual alternative pointing at the
# reference BLAS would keep torch slow) and runs bench/train.ts with
# --require-openblas.
set -euo pipefail

cd "$(dirname "$0")/.."

PACKAGES=(python3-torch libopenblas0-pthread dataset-fashion-mnist)
PY=/usr/bin/python3

missing=()
for p in "${PACKAGES[@]}"; do
  # Any OpenBLAS flavour (pthread, openmp, serial) gives torch an optimized BLAS.
  if [[ $p == libopenblas0-pthread ]] && dpkg-query -W -f='${Status}\n' libopenblas0-pthread libopenblas0-openmp libopenblas0-serial 2>/dev/null | grep -q '^install ok installed'; then
    continue
  fi
  if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "bench: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "bench: missing Debian packages: ${missing[*]}" >&2
    echo "bench: run as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

# The libblas.so.3 alternative must point at OpenBLAS (auto mode picks it; a manual setting may not).
if command -v update-alternatives >/dev/null; then
  current=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 || true)
  if [[ $current != *openblas* ]]; then
    echo "bench: libblas.so.3 points at $current, not OpenBLAS" >&2
    if [[ $(id -u) -eq 0 ]]; then
      update-alternatives --auto libblas.so.3-x86_64-linux-gnu
      update-alternatives --auto liblapack.so.3-x86_64-linux-gnu
    else
      echo "bench: as root: update-alternatives --auto libblas.so.3-x86_64-linux-gnu" >&2
      exit 1
    fi
  fi
fi

# torch must map OpenBLAS (train_torch.py --info reads this process's own memory maps).
info=$("$PY" bench/train_torch.py --info)
echo "bench: torch BLAS check: $info"
if ! grep -q '"kind": "openblas"' <<<"$info"; then
  echo "bench: PyTorch does not use OpenBLAS; see bench/README.md" >&2
  exit 1
fi

if (($#)); then
  args=("$@")
else
  args=(--seconds 6 --rounds 2)
fi
exec npx tsx bench/train.ts --require-openblas "${args[@]}"
