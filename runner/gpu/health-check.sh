#!/usr/bin/env bash
# Is this GPU runner fit to take a job? Exit 0 when it is, 1 with the reasons when not.
#   - the driver answers and every GPU is visible, none with uncorrectable ECC errors or fallen
#     off the bus; the GPU count still matches the gpu-count-<n> label the runner registered with;
#   - onnxruntime-node from $CDL_RUNTIME_DIR lists the CUDA execution provider, and
#     @tensorflow/tfjs-node-gpu loads (its backend is 'tensorflow') — each skipped with a note when
#     not installed (a CPU-only runtime is allowed with --allow-cpu);
#   - at least --min-disk-gb GiB free where jobs run, and the runner service is running.
# cdl-runner-health.timer runs it every 5 minutes and stops the runner while it fails, so a sick
# machine takes no jobs; run it by hand after driver updates.
# A runner pinned to some GPUs (--slot N or --gpus LIST, as register.sh) checks only those: one
# sick GPU stops only its own runner (cdl-runner-health@.service), the others keep taking jobs.
# Usage: health-check.sh [--slot N | --gpus LIST] [--runtime-dir DIR] [--runner-dir DIR] [--min-disk-gb N] [--allow-cpu] [--quiet]
set -uo pipefail

runtime_dir="${CDL_RUNTIME_DIR:-/opt/cdl-runtime}"
runner_dir=/opt/actions-runner
min_disk=20
allow_cpu=false
quiet=false
pin=''
slot=''
while [ $# -gt 0 ]; do
  case "$1" in
    --runtime-dir) runtime_dir="$2"; shift 2 ;;
    --runner-dir) runner_dir="$2"; shift 2 ;;
    --min-disk-gb) min_disk="$2"; shift 2 ;;
    --allow-cpu) allow_cpu=true; shift ;;
    --quiet) quiet=true; shift ;;
    --gpus) pin="${2:-}"; shift 2 ;;
    --slot) slot="${2:-}"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "health-check.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

problems=()
say() { $quiet || echo "$@"; }
ok() { say "ok    $*"; }
bad() { problems+=("$*"); say "FAIL  $*"; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -n "$slot" ] && command -v nvidia-smi >/dev/null 2>&1; then
  pin="$("$here/slots.sh" --slot "$slot" 2>&1)" || { bad "slot $slot: $pin"; pin=''; slot=lost; }
fi
if [ -n "$pin" ] && ! [[ "$pin" =~ ^[0-9]+(,[0-9]+)*$ ]]; then echo "health-check.sh: --gpus: expected indices such as 0 or 0,1, got $pin" >&2; exit 2; fi
[ -z "$pin" ] || export CUDA_VISIBLE_DEVICES="$pin" CUDA_DEVICE_ORDER=PCI_BUS_ID

if ! command -v nvidia-smi >/dev/null 2>&1; then
  bad "nvidia-smi not found"
elif [ "$slot" = lost ]; then
  :
elif ! gpus="$(nvidia-smi ${pin:+-i "$pin"} --query-gpu=index,name,ecc.errors.uncorrected.volatile.total,pstate --format=csv,noheader 2>&1)"; then
  bad "nvidia-smi fails: $(printf '%s' "$gpus" | head -n1)"
else
  n=0
  while IFS=, read -r index name ecc _pstate; do
    [ -n "$index" ] || continue
    n=$((n + 1))
    ecc="${ecc// /}"
    if [[ "$ecc" =~ ^[0-9]+$ ]] && [ "$ecc" -gt 0 ]; then bad "GPU $index ($name): $ecc uncorrectable ECC errors"; else ok "GPU $index:$name"; fi
  done <<<"$gpus"
  [ "$n" -gt 0 ] || bad "nvidia-smi lists no GPU"
  registered="$(sed -n 's/.*gpu-count-\([0-9]\+\).*/\1/p' "$runner_dir/.runner" 2>/dev/null | head -n1)"
  if [ -n "$registered" ] && [ "$registered" != "$n" ]; then bad "registered with $registered GPUs, $n visible now"; fi
fi

node_check() {
  CDL_RUNTIME_DIR="$runtime_dir" node --input-type=module -e "$1" 2>&1
}
if ! command -v node >/dev/null 2>&1; then
  bad "node not found"
else
  if [ -d "$runtime_dir/node_modules/onnxruntime-node" ]; then
    if out="$(node_check "
      import { createRequire } from 'node:module';
      const ort = createRequire(process.env.CDL_RUNTIME_DIR + '/package.json')('onnxruntime-node');
      const { existsSync, readdirSync } = await import('node:fs');
      const path = await import('node:path');
      // listSupportedBackends names what the binding was built with; the CUDA provider library
      // is only there when the install downloaded it.
      const bin = path.join(process.env.CDL_RUNTIME_DIR, 'node_modules/onnxruntime-node/bin/napi-v6/linux', process.arch);
      const cuda = existsSync(bin) && readdirSync(bin).some((f) => f.startsWith('libonnxruntime_providers_cuda'));
      const eps = ort.listSupportedBackends ? ort.listSupportedBackends().map((b) => b.name) : [];
      console.log(eps.join(',') + (cuda ? ' (CUDA provider library present)' : ' (no CUDA provider library)'));
      process.exit(cuda ? 0 : 3);")"; then ok "onnxruntime-node: $out"
    elif $allow_cpu; then ok "onnxruntime-node without CUDA ($out), allowed"
    else bad "onnxruntime-node has no CUDA execution provider ($out): reinstall with ONNXRUNTIME_NODE_INSTALL_CUDA=v12"
    fi
  else
    say "skip  onnxruntime-node is not in $runtime_dir (the actions install it into the tool cache, CPU only)"
  fi
  if [ -d "$runtime_dir/node_modules/@tensorflow/tfjs-node-gpu" ]; then
    if out="$(node_check "
      import { createRequire } from 'node:module';
      const tf = createRequire(process.env.CDL_RUNTIME_DIR + '/package.json')('@tensorflow/tfjs-node-gpu');
      await tf.ready();
      console.log(tf.getBackend());")"; then ok "@tensorflow/tfjs-node-gpu: backend $(printf '%s' "$out" | tail -n1)"
    else bad "@tensorflow/tfjs-node-gpu does not load: $(printf '%s' "$out" | tail -n1)"
    fi
  else
    say "skip  @tensorflow/tfjs-node-gpu is not in $runtime_dir (training falls back to wasm on the CPU)"
  fi
fi

work="$runner_dir"
[ -d "$work" ] || work=/
free_gb="$(df -Pk "$work" | awk 'NR == 2 { print int($4 / 1048576) }')"
if [ "${free_gb:-0}" -lt "$min_disk" ]; then bad "$free_gb GiB free under $work, below $min_disk"; else ok "$free_gb GiB free under $work"; fi

if command -v systemctl >/dev/null 2>&1 && systemctl list-unit-files cdl-runner.service >/dev/null 2>&1; then
  if systemctl is-active --quiet cdl-runner.service; then ok "cdl-runner.service active"; else say "note  cdl-runner.service is not active"; fi
fi

if [ ${#problems[@]} -gt 0 ]; then
  $quiet && printf '%s\n' "${problems[@]}" >&2
  exit 1
fi
exit 0
