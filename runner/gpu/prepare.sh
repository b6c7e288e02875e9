#!/usr/bin/env bash
# Prepare a machine with NVIDIA GPUs to run cdl jobs, before register.sh:
#   1. the driver answers (nvidia-smi) and the CUDA runtime libraries TensorFlow and onnxruntime
#      need are there (libcudart 12, cuBLAS, cuDNN 9 for onnxruntime, cuDNN 8 for TensorFlow 2.x);
#   2. Node.js 20 or later;
#   3. $CDL_RUNTIME_DIR (default /opt/cdl-runtime) holding @tensorflow/tfjs-node-gpu (its install
#      downloads libtensorflow with GPU support) and onnxruntime-node with its CUDA execution
#      provider (ONNXRUNTIME_NODE_INSTALL_CUDA=v12), found by every cdl action through
#      CDL_RUNTIME_DIR; and the cdl command line in $CDL_RUNTIME_DIR/bin (for use by hand: no
#      workflow step needs it), from a checkout of cdl (--cdl DIR) or a git URL (--cdl URL);
#   4. a system user for the runner (cdl-runner) owning the runner and runtime directories;
#   5. a check that both runtimes see the GPU (health-check.sh).
# Run as root. Needs internet access (npm, the libtensorflow download).
# Usage: prepare.sh [--runtime-dir DIR] [--cdl DIR|URL] [--user NAME] [--check-only]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
runtime_dir=/opt/cdl-runtime
cdl_source="$(cd "$here/../.." && pwd)"
user=cdl-runner
check_only=false
TFJS_VERSION=4.22.0
ORT_VERSION=1.30.0

die() { echo "prepare.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --runtime-dir) runtime_dir="$2"; shift 2 ;;
    --cdl) cdl_source="$2"; shift 2 ;;
    --user) user="$2"; shift 2 ;;
    --check-only) check_only=true; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "prepare.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

echo "== GPU and driver"
command -v nvidia-smi >/dev/null || die "nvidia-smi not found: install the NVIDIA driver (Debian: nvidia-driver, Ubuntu: ubuntu-drivers install)"
nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader || die "nvidia-smi cannot talk to the driver"
cuda="$(nvidia-smi | sed -n 's/.*CUDA Version: *\([0-9.]\+\).*/\1/p' | head -n1)"
echo "the driver supports CUDA $cuda"
[ "${cuda%%.*}" -ge 12 ] 2>/dev/null || die "onnxruntime-node $ORT_VERSION needs CUDA 12; the driver supports $cuda: upgrade the driver"
"$here/labels.sh"

echo "== CUDA libraries"
missing=()
for lib in libcudart.so.12 libcublas.so.12 libcublasLt.so.12 libcufft.so.11 libcurand.so.10 libcudnn.so.9; do
  ldconfig -p | grep -q "$lib" || missing+=("$lib")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "missing: ${missing[*]}"
  echo "  install the CUDA 12 runtime and cuDNN 9 (NVIDIA's repository: cuda-libraries-12-x, libcudnn9-cuda-12),"
  echo "  or pip install nvidia-cudnn-cu12 nvidia-cublas-cu12 and add their lib folders to /etc/ld.so.conf.d/"
  $check_only || die "CUDA libraries missing"
fi
ldconfig -p | grep -q 'libcudnn.so.8' || echo "note: no cuDNN 8: @tensorflow/tfjs-node-gpu (TensorFlow 2.9) trains on the CPU without it; onnxruntime still uses the GPU"

echo "== Node.js"
command -v node >/dev/null || die "Node.js 20 or later is needed (https://nodejs.org or NodeSource)"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || die "Node.js $(node --version) is too old: 20 or later"
node --version

if $check_only; then
  exec "$here/health-check.sh" --runtime-dir "$runtime_dir"
fi
[ "$(id -u)" -eq 0 ] || die "run as root (it creates $runtime_dir and the user $user)"

echo "== runner user"
id "$user" >/dev/null 2>&1 || useradd --system --create-home --shell /usr/sbin/nologin "$user"
# The runner user may use the GPUs: /dev/nvidia* belong to the video group on most distributions.
getent group video >/dev/null && usermod -aG video "$user"

echo "== runtimes in $runtime_dir"
mkdir -p "$runtime_dir/bin"
cd "$runtime_dir"
[ -f package.json ] || printf '{ "name": "cdl-runtime", "private": true }\n' >package.json
ONNXRUNTIME_NODE_INSTALL_CUDA=v12 npm install --no-audit --no-fund --save-exact \
  "@tensorflow/tfjs-node-gpu@$TFJS_VERSION" "onnxruntime-node@$ORT_VERSION"

echo "== the cdl command line"
if [ -d "$cdl_source" ]; then
  src="$(cd "$cdl_source" && pwd)"
else
  src="$runtime_dir/cdl"
  if [ -d "$src/.git" ]; then git -C "$src" pull --ff-only; else git clone --depth 1 "$cdl_source" "$src"; fi
fi
(cd "$src" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund)
printf '#!/bin/sh\nexec node "%s/bin/cdl.js" "$@"\n' "$src" >"$runtime_dir/bin/cdl"
chmod 755 "$runtime_dir/bin/cdl"
"$runtime_dir/bin/cdl" --help | head -n1
chown -R "$user:" "$runtime_dir"
mkdir -p /opt/actions-runner && chown "$user:" /opt/actions-runner

echo "== check"
runuser -u "$user" -- "$here/health-check.sh" --runtime-dir "$runtime_dir"
echo "ready: install cdl-runner.service (see docs/gpu-runners.md) to register the runner"
