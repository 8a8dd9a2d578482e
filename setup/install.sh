#!/usr/bin/env bash
# Installs mlci's release binary for this runner (Linux, macOS, or Windows
# under Git Bash) into the runner's tool cache, verified against the
# release's checksums.txt, and reuses it on the next job of a self-hosted
# host. Both actions (action.yml, setup/action.yml) run it; it writes the
# outputs dir, bin and version.
#
# Environment: MLCI_VERSION (v1.2.3; a v1 or v1.2 tag, "latest" or anything
# else, e.g. a branch, asks the releases API for the newest match),
# MLCI_DOWNLOAD_URL (default https://github.com/mlci/mlci/releases/download),
# MLCI_API_URL (default https://api.github.com), MLCI_TOKEN (for the API's
# rate limit), and the runner's RUNNER_OS, RUNNER_ARCH, RUNNER_TOOL_CACHE,
# RUNNER_TEMP and GITHUB_OUTPUT.
set -euo pipefail

fail() {
  echo "::error::mlci setup: $*" >&2
  exit 1
}

case "${RUNNER_OS:-}" in
  Linux) os=linux ;;
  macOS) os=darwin ;;
  Windows) os=windows ;;
  *) fail "no mlci release for runner OS '${RUNNER_OS:-}' (there are for Linux, macOS and Windows)" ;;
esac
case "${RUNNER_ARCH:-}" in
  X64) arch=amd64 ;;
  ARM64) arch=arm64 ;;
  *) fail "no mlci release for runner architecture '${RUNNER_ARCH:-}' (there are for X64 and ARM64)" ;;
esac

tmp=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/mlci.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# get URL FILE downloads, or fails with curl's reason on the same line.
get() {
  local msg
  msg=$(curl -fsSL --retry 3 ${auth[@]+"${auth[@]}"} -o "$2" "$1" 2>&1) || fail "cannot download $1: ${msg#curl: }"
}

auth=()
version=${MLCI_VERSION:-latest}
case "$version" in
  v[0-9]*.[0-9]*.[0-9]*) ;;
  *)
    # A major or minor tag (the action's own ref, @v1) names no archive:
    # the newest release under it does. The API lists releases newest
    # first; pre-releases (v1.2.3-rc.1) never match.
    prefix=v
    case "$version" in v[0-9]*) prefix="$version." ;; esac
    if [ -n "${MLCI_TOKEN:-}" ]; then auth=(-H "Authorization: Bearer $MLCI_TOKEN"); fi
    get "${MLCI_API_URL:-https://api.github.com}/repos/mlci/mlci/releases?per_page=100" "$tmp/releases.json"
    auth=()
    resolved=$(grep -o '"tag_name": *"[^"]*"' "$tmp/releases.json" | sed 's/.*"\([^"]*\)"$/\1/' |
      grep -E "^${prefix//./\\.}[0-9]+(\.[0-9]+)*$" | head -n 1) || true
    [ -n "$resolved" ] || fail "no mlci release matches version '$version'"
    version=$resolved
    ;;
esac
v=${version#v}

ext=tar.gz exe=mlci
if [ "$os" = windows ]; then ext=zip exe=mlci.exe; fi
archive="mlci_${v}_${os}_${arch}.${ext}"
# The tool cache's layout (<tool>/<version>/<arch> and a .complete marker)
# is @actions/tool-cache's.
dir="${RUNNER_TOOL_CACHE:?RUNNER_TOOL_CACHE is not set}/mlci/$v/$arch"

if [ -f "$dir.complete" ] && [ -x "$dir/$exe" ]; then
  echo "mlci $version from the tool cache ($dir)"
else
  base="${MLCI_DOWNLOAD_URL:-https://github.com/mlci/mlci/releases/download}/v$v"
  # The token is the API's only: a download URL may be anyone's mirror.
  get "$base/$archive" "$tmp/$archive"
  get "$base/checksums.txt" "$tmp/checksums.txt"
  want=$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1 }' "$tmp/checksums.txt")
  [ -n "$want" ] || fail "checksums.txt of $version has no line for $archive"
  if command -v sha256sum >/dev/null; then
    got=$(sha256sum "$tmp/$archive" | cut -d ' ' -f 1)
  else
    got=$(shasum -a 256 "$tmp/$archive" | cut -d ' ' -f 1) # macOS
  fi
  [ "$got" = "$want" ] || fail "checksum mismatch for $archive: got sha256 $got, checksums.txt says $want"
  mkdir -p "$tmp/x"
  if [ "$ext" = zip ]; then
    unzip -q "$tmp/$archive" -d "$tmp/x"
  else
    tar -xzf "$tmp/$archive" -C "$tmp/x"
  fi
  [ -f "$tmp/x/$exe" ] || fail "$archive has no $exe"
  rm -rf "$dir" "$dir.complete"
  mkdir -p "$dir"
  mv "$tmp/x/$exe" "$dir/$exe"
  chmod +x "$dir/$exe"
  touch "$dir.complete"
  echo "mlci $version installed in $dir"
fi

if [ -n "${GITHUB_OUTPUT:-}" ]; then
  {
    echo "dir=$dir"
    echo "bin=$dir/$exe"
    echo "version=$version"
  } >>"$GITHUB_OUTPUT"
fi
