#!/usr/bin/env bash
# Register this machine as a self-hosted GitHub Actions runner for one job, then run that job.
# GitHub recommends runners that take one job and go away: a job cannot leave anything behind for
# the next one (files, processes, credentials). Two ways, both one job per registration:
#   --jit        (default) a just-in-time configuration from the REST API; no registration token
#                ever reaches the machine's disk;
#   --ephemeral  config.sh --ephemeral with a short-lived registration token.
# Under systemd (cdl-runner.service, Restart=always) each exit registers a fresh runner.
#
# Labels: self-hosted, linux, x64 (or arm64), then those of labels.sh (gpu, gpu-<model>,
# gpu-count-<n>, gpu-mem-<n>g, cuda-<major>, sm-<cc>, and gpu-index-<i> when pinned) and --labels.
#
# Several runners on one host: each is pinned to one GPU (or one group of GPUS_PER_RUNNER GPUs)
# by --slot N (slots.sh says which GPUs slot N has) or --gpus LIST. Its jobs see only those GPUs:
# CUDA_VISIBLE_DEVICES goes into the runner's .env and environment, and its labels count only
# them. cdl-runner@.service runs one such runner per slot, each in its own --runner-dir.
#
# Usage: register.sh --repo OWNER/REPO | --org ORG [--jit | --ephemeral] [options]
#   --runner-dir DIR     where the runner is (downloaded when missing; default /opt/actions-runner)
#   --runner-version V   actions/runner release to download (default 2.329.0)
#   --name NAME          runner name (default <hostname>-<random>)
#   --labels L1,L2       more labels
#   --group ID           runner group id (JIT, default 1: Default)
#   --runtime-dir DIR    CDL_RUNTIME_DIR for the jobs (default /opt/cdl-runtime, see prepare.sh)
#   --api URL            REST API (default $GITHUB_API_URL or https://api.github.com)
#   --slot N             pin to the GPUs of slot N (slots.sh; GPUS_PER_RUNNER per slot, default 1)
#   --gpus LIST          pin to these GPU indices (0 or 0,1)
#   --plan               print the runners this host would have, one per slot, change nothing
#   --dry-run            print the labels and the request, change nothing
# The token (a fine-grained token with "Administration: write" on the repository, or "Self-hosted
# runners: write" on the organization) comes from $GITHUB_TOKEN, or from the systemd credential
# github-token ($CREDENTIALS_DIRECTORY/github-token).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mode=jit
scope=''
runner_dir=/opt/actions-runner
runner_version=2.329.0
name="$(hostname -s 2>/dev/null || hostname)-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
name_given=false
extra=''
group=1
runtime_dir=/opt/cdl-runtime
api="${GITHUB_API_URL:-https://api.github.com}"
dry_run=false
plan=false
slot=''
pin=''

die() { echo "register.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --repo) [ -n "${2:-}" ] || die "--repo needs OWNER/REPO"; scope="repos/$2"; url_path="$2"; shift 2 ;;
    --org) [ -n "${2:-}" ] || die "--org needs ORG"; scope="orgs/$2"; url_path="$2"; shift 2 ;;
    --jit) mode=jit; shift ;;
    --ephemeral) mode=ephemeral; shift ;;
    --runner-dir) runner_dir="$2"; shift 2 ;;
    --runner-version) runner_version="$2"; shift 2 ;;
    --name) name="$2"; name_given=true; shift 2 ;;
    --labels) extra="$2"; shift 2 ;;
    --group) group="$2"; shift 2 ;;
    --runtime-dir) runtime_dir="$2"; shift 2 ;;
    --api) api="$2"; shift 2 ;;
    --dry-run) dry_run=true; shift ;;
    --plan) plan=true; shift ;;
    --slot) slot="${2:-}"; shift 2 ;;
    --gpus) pin="${2:-}"; shift 2 ;;
    -h|--help) sed -n '2,36p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (--help)" ;;
  esac
done
if $plan; then
  slots="$("$here/slots.sh")" || die "no GPU slots on this host (slots.sh)"
  while read -r s gpus; do
    echo "cdl-runner@$s CUDA_VISIBLE_DEVICES=$gpus labels=$("$here/labels.sh" --gpus "$gpus")"
  done <<<"$slots"
  exit 0
fi
[ -n "$scope" ] || die "name the repository (--repo OWNER/REPO) or the organization (--org ORG)"
[[ "$url_path" =~ ^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)?$ ]] || die "invalid repository or organization: $url_path"
[[ "$group" =~ ^[0-9]+$ ]] || die "--group: expected a number, got $group"

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) die "unsupported machine $(uname -m)" ;;
esac
[ -z "$slot" ] || [ -z "$pin" ] || die "--slot and --gpus: name one"
if [ -n "$slot" ]; then
  pin="$("$here/slots.sh" --slot "$slot")" || die "--slot $slot: no such GPU slot on this host (slots.sh)"
fi
[ -z "$pin" ] || [[ "$pin" =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--gpus: expected GPU indices such as 0 or 0,1, got $pin"
gpu_labels="$("$here/labels.sh" ${pin:+--gpus "$pin"})" || die "no GPU found (labels.sh${pin:+ --gpus $pin}); run prepare.sh first, or use a CPU runner"
if [ -n "$pin" ] && ! $name_given; then name="${name%-*}-gpu${pin//,/-}-${name##*-}"; fi
labels="self-hosted,linux,$arch,$gpu_labels${extra:+,$extra}"

json_list() { printf '%s' "$1" | awk -F, '{ for (i = 1; i <= NF; i++) printf "%s\"%s\"", (i > 1 ? "," : ""), $i }'; }
body="{\"name\":\"$name\",\"runner_group_id\":$group,\"labels\":[$(json_list "$labels")],\"work_folder\":\"_work\"}"

if $dry_run; then
  echo "labels: $labels"
  [ -z "$pin" ] || echo "CUDA_VISIBLE_DEVICES: $pin"
  if [ "$mode" = jit ]; then echo "POST $api/$scope/actions/runners/generate-jitconfig $body"; else echo "POST $api/$scope/actions/runners/registration-token"; fi
  exit 0
fi

token="${GITHUB_TOKEN:-}"
if [ -z "$token" ] && [ -n "${CREDENTIALS_DIRECTORY:-}" ] && [ -r "$CREDENTIALS_DIRECTORY/github-token" ]; then
  token="$(cat "$CREDENTIALS_DIRECTORY/github-token")"
fi
[ -n "$token" ] || die "no token: set GITHUB_TOKEN or the systemd credential github-token"
command -v curl >/dev/null || die "curl is needed"
command -v jq >/dev/null || die "jq is needed"

api_post() {
  curl -fsSL -X POST -H "Authorization: Bearer $token" -H 'Accept: application/vnd.github+json' \
    -H 'X-GitHub-Api-Version: 2022-11-28' "$api/$scope/actions/runners/$1" ${2:+-d "$2"}
}

if [ ! -x "$runner_dir/run.sh" ]; then
  echo "downloading actions/runner $runner_version to $runner_dir"
  mkdir -p "$runner_dir"
  curl -fsSL "https://github.com/actions/runner/releases/download/v$runner_version/actions-runner-linux-$arch-$runner_version.tar.gz" |
    tar -xz -C "$runner_dir"
fi
# Jobs find tfjs-node-gpu, onnxruntime-node (CUDA) and the cdl command line here (prepare.sh).
{
  echo "CDL_RUNTIME_DIR=$runtime_dir"
  echo "PATH=$runtime_dir/bin:/usr/local/cuda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  # Jobs of a pinned runner see only its GPUs (CUDA orders them by PCI bus, like nvidia-smi).
  [ -z "$pin" ] || printf 'CUDA_VISIBLE_DEVICES=%s\nCUDA_DEVICE_ORDER=PCI_BUS_ID\n' "$pin"
} >"$runner_dir/.env"
if [ -n "$pin" ]; then export CUDA_VISIBLE_DEVICES="$pin" CUDA_DEVICE_ORDER=PCI_BUS_ID; fi

cd "$runner_dir"
if [ "$mode" = jit ]; then
  jit="$(api_post generate-jitconfig "$body" | jq -er .encoded_jit_config)" || die "generate-jitconfig failed"
  echo "runner $name registered just in time with labels $labels"
  exec ./run.sh --jitconfig "$jit"
else
  reg="$(api_post registration-token | jq -er .token)" || die "registration-token failed"
  server="${GITHUB_SERVER_URL:-https://github.com}"
  ./config.sh --unattended --ephemeral --replace --disableupdate --url "$server/$url_path" --token "$reg" \
    --name "$name" --labels "$labels" --work _work
  echo "runner $name registered (ephemeral) with labels $labels"
  exec ./run.sh
fi
