#!/bin/sh
# Entry point of the GitHub Action's container: runs mlci with the action's
# inputs, which the runner passes as INPUT_* variables. The command input is
# split into words on purpose ("data check" -> data check); globbing is off.
set -eu
set -f
dir="${INPUT_WORKING_DIRECTORY:-.}"
config="${INPUT_CONFIG:-}"
if [ -n "$config" ]; then
  # shellcheck disable=SC2086
  exec mlci -C "$dir" --config "$config" ${INPUT_COMMAND:-ci}
fi
# shellcheck disable=SC2086
exec mlci -C "$dir" ${INPUT_COMMAND:-ci}
