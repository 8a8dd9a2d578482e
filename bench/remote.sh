#!/usr/bin/env bash
# Data remote benchmark: push and pull of FILES small files (1-16 KiB, in
# 100 folders) through the CLI - mlci data lock, data push, data pull into a
# fresh clone (mlci.yaml, mlci.lock and mlci.lock.d only) and data check
# --remote - to a local Versity S3 gateway and to distribution's registry
# (served in-process by bench/remote, in memory), side by side in the same
# run with the peers on the same gateway: minio-go alone (WORKERS
# goroutines, no existence checks, no digests) and rclone copy. Every row is
# the wall time of the whole command, start-up and listing included. One
# table: tool, operation, files, seconds, files/s, MB/s.
#
# Usage: bench/remote.sh [FILES] [WORKERS]   (default 100000 files, 8
#        workers; data in $BENCH_DIR/FILES, default /tmp/mlci-bench-remote,
#        generated once)
# Needs versitygw (go install github.com/versity/versitygw/cmd/versitygw@v1.8.0,
# done here when missing), rclone (apt-get install rclone, tried here when
# missing), curl and bc. 100,000 files take about 1 GB of disk per copy and
# six copies are made.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
workers=${2:-8}
dir=${BENCH_DIR:-/tmp/mlci-bench-remote}/$n
export PATH="$PATH:$(go env GOPATH)/bin"
command -v versitygw >/dev/null || go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
command -v rclone >/dev/null || apt-get install -y -qq rclone >/dev/null
mkdir -p "$dir"
load_start=$(uptime | sed 's/.*load/load/')

# The commit measured: the binaries are built now, whatever HEAD is later.
rev=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
git diff --quiet HEAD -- cmd internal bench/remote 2>/dev/null || rev+="+changes"
CGO_ENABLED=0 go build -trimpath -o "$dir/mlci" ./cmd/mlci
go build -o "$dir/remote" ./bench/remote
mlci="$dir/mlci"
bin="$dir/remote"
src="$dir/proj/data/ds"
if [ ! -e "$dir/generated" ]; then
  echo "generating $n files in $src..." >&2
  rm -rf "$dir/proj"
  "$bin" gen -n "$n" -dir "$src"
  touch "$dir/generated"
fi
rm -rf "$dir/gw" "$dir/clone-"* "$dir/out-"* "$dir/proj/mlci.lock" "$dir/proj/mlci.lock.d" "$dir/proj/.mlci"
mkdir -p "$dir/gw"
# The files' bytes, not du's: a folder's own size depends on the order its
# entries were made in, which differs between the source and a pull.
filebytes() { find "$1" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }
bytes=$(filebytes "$src")

port() { echo $((20000 + RANDOM % 20000)); }
gwport=$(port)
regport=$(port)
export ROOT_ACCESS_KEY=bench$RANDOM ROOT_SECRET_KEY=secret$RANDOM$RANDOM
versitygw --port "127.0.0.1:$gwport" posix "$dir/gw" >"$dir/versitygw.log" 2>&1 &
gw=$!
"$bin" registry -addr "127.0.0.1:$regport" >"$dir/registry.log" 2>&1 &
reg=$!
trap 'kill $gw $reg 2>/dev/null' EXIT
export AWS_ENDPOINT_URL="http://127.0.0.1:$gwport" AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=$ROOT_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$ROOT_SECRET_KEY
for _ in $(seq 100); do
  curl -s -o /dev/null "$AWS_ENDPOINT_URL" && curl -s -o /dev/null "http://127.0.0.1:$regport/v2/" && break
  sleep 0.1
done
"$bin" mkbucket -remote s3://mlci

cat >"$dir/proj/mlci.yaml" <<EOF
hash: sha256
data:
  - name: ds
    path: data/ds
remotes:
  - name: s3
    url: s3://mlci/datasets
    endpoint: $AWS_ENDPOINT_URL
    path_style: true
  - name: registry
    url: oci://127.0.0.1:$regport/mlci/ds
EOF
# clone NAME: a fresh clone of the project, as git would give it (the data
# folder is not in git).
clone() {
  local c="$dir/clone-$1"
  mkdir -p "$c"
  cp -r "$dir/proj/mlci.yaml" "$dir/proj/mlci.lock" "$c/"
  [ ! -d "$dir/proj/mlci.lock.d" ] || cp -r "$dir/proj/mlci.lock.d" "$c/"
  echo "$c"
}

rows="$dir/rows.tsv"
: >"$rows"
# timed TOOL OPERATION command...: one row of the table.
timed() {
  local tool=$1 op=$2 t0 t1
  shift 2
  t0=$(date +%s.%N)
  "$@" >>"$dir/commands.log" 2>&1 || { echo "failed: $*; see $dir/commands.log" >&2; exit 1; }
  t1=$(date +%s.%N)
  printf '%s\t%s\t%s\n' "$tool" "$op" "$(echo "$t1 - $t0" | bc)" >>"$rows"
}
: >"$dir/commands.log"
rclone_flags=(-q --transfers "$workers" --checkers "$workers")
export RCLONE_CONFIG_VGW_TYPE=s3 RCLONE_CONFIG_VGW_PROVIDER=Other RCLONE_CONFIG_VGW_ENDPOINT=$AWS_ENDPOINT_URL \
  RCLONE_CONFIG_VGW_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID RCLONE_CONFIG_VGW_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
# rclone's S3 client cannot load a CA bundle into its transport, and the
# gateway is plain HTTP anyway.
unset AWS_CA_BUNDLE

timed mlci "data lock (hash, no remote)" "$mlci" -q -C "$dir/proj" data lock
timed mlci "data push s3" "$mlci" -q -C "$dir/proj" data push --remote s3
timed mlci "data push s3 again (all there)" "$mlci" -q -C "$dir/proj" data push --remote s3
timed mlci "data check --remote s3" "$mlci" -q -C "$dir/proj" data check --remote s3
c=$(clone s3)
timed mlci "data pull s3 (fresh clone)" "$mlci" -q -C "$c" data pull --remote s3
timed mlci "data pull s3 again (all there)" "$mlci" -q -C "$c" data pull --remote s3
timed mlci "data push registry" "$mlci" -q -C "$dir/proj" data push --remote registry
timed mlci "data check --remote registry" "$mlci" -q -C "$dir/proj" data check --remote registry
c=$(clone registry)
timed mlci "data pull registry (fresh clone)" "$mlci" -q -C "$c" data pull --remote registry
timed minio-go "put s3 (no checks)" "$bin" peer-put -bucket peer -dir "$src" -workers "$workers"
timed minio-go "get s3 (no checks)" "$bin" peer-get -bucket peer -dir "$src" -out "$dir/out-peer" -workers "$workers"
timed "rclone $(rclone version | awk 'NR==1{print $2}')" "copy up s3" rclone copy "${rclone_flags[@]}" "$src" vgw:rclone
timed rclone "copy up s3 again (all there)" rclone copy "${rclone_flags[@]}" "$src" vgw:rclone
timed rclone "copy down s3" rclone copy "${rclone_flags[@]}" vgw:rclone "$dir/out-rclone"

# Every pull must have brought back the same bytes.
for out in "$dir/clone-s3/data/ds" "$dir/clone-registry/data/ds" "$dir/out-rclone"; do
  got=$(filebytes "$out")
  [ "$got" = "$bytes" ] || { echo "$out holds $got bytes, want $bytes" >&2; exit 1; }
done

echo "== $n files of 1-16 KiB ($((bytes / 1000000)) MB), $workers workers, $(nproc) CPUs, mlci $rev;" \
  "versitygw $(go version -m "$(command -v versitygw)" | awk '$1=="mod"{print $3}') and distribution's registry (in memory) on 127.0.0.1"
echo "== $load_start at the start, $(uptime | sed 's/.*load/load/') at the end"
awk -F'\t' -v n="$n" -v b="$bytes" '
  BEGIN { printf "%-18s %-34s %7s %8s %9s %7s\n", "tool", "operation", "files", "seconds", "files/s", "MB/s" }
  { printf "%-18s %-34s %7d %8.2f %9.0f %7.1f\n", $1, $2, n, $3, n/$3, b/1e6/$3 }' "$rows"
