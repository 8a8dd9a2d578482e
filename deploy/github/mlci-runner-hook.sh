#!/bin/bash
# Container hook shim for the official GitHub Actions runner. The runner
# only runs hooks ending in .js, .sh or .ps1, so this script hands its stdin
# (the runner's JSON) and exit code straight to mlci-runner.
#
#   ACTIONS_RUNNER_CONTAINER_HOOKS=/opt/mlci/mlci-runner-hook.sh ./run.sh
#
# MLCI_RUNNER (default: mlci-runner beside this script, else on PATH) and
# MLCI_RUNNER_CONFIG (default /etc/mlci-runner/config.yaml) may be set in the
# runner's .env file.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
runner="${MLCI_RUNNER:-$here/mlci-runner}"
[ -x "$runner" ] || runner=mlci-runner
exec "$runner" hook
