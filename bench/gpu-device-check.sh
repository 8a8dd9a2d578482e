#!/usr/bin/env bash
# mlci-runner on a real NVIDIA GPU, in one short run: the inventory, the
# fingerprint's stability, the labels, and the allocation and cleanup path.
# For a session lent a GPU machine: build here, carry the binary, run this
# there, e.g. with the device tool:
#
#   CGO_CFLAGS=-Wno-deprecated-declarations go build -o .devbin/mlci-runner ./cmd/mlci-runner
#   run(command="bash bench/gpu-device-check.sh .devbin/mlci-runner", carry=[".devbin"])
#
# Writes everything it prints to $OUT/gpu-check.log when OUT is set.
set -uo pipefail
bin=${1:-mlci-runner}
log=${OUT:-/tmp}/gpu-check.log
state=$(mktemp -d)
export MLCI_RUNNER_STATE_DIR="$state" MLCI_RUNNER_CONFIG=/dev/null
step() { echo; echo "### $*"; "$@"; echo "exit $?"; }
{
  nvidia-smi -L 2>&1 || echo "nvidia-smi not available"
  step "$bin" version
  step "$bin" check
  step "$bin" gpus
  step "$bin" gpus --json
  step "$bin" gpus labels
  a=$("$bin" gpus fingerprint | sha256sum); b=$("$bin" gpus fingerprint | sha256sum)
  echo; echo "### fingerprint stable across two reads: $([ "$a" = "$b" ] && echo yes || echo NO)"
  step "$bin" gpus fingerprint
  n=$("$bin" gpus --json | grep -c '"uuid": "GPU-')
  step "$bin" leases try --gpus 1
  step "$bin" leases try --gpus "$n"
  step "$bin" leases try --gpus $((n + 1))
  step "$bin" leases
} 2>&1 | tee "$log"
rm -rf "$state"
