#!/usr/bin/env bash
# Remote store benchmark: push and pull N small files (1-16 KiB) through
# internal/remote to a local Versity S3 gateway and to a local directory,
# against minio-go alone (N goroutines, no existence checks: the peer
# baseline) and rclone, in the same run, on the same gateway.
#
# Usage: bench/remote.sh [FILES] [WORKERS]   (default 20000 files, 8 workers;
#        data in $BENCH_DIR, default /tmp/mlci-bench-remote)
# Needs versitygw (go install github.com/versity/versitygw/cmd/versitygw@v1.8.0);
# rclone is used when apt-get can install it.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20000}
workers=${2:-8}
dir=${BENCH_DIR:-/tmp/mlci-bench-remote}
export PATH="$PATH:$(go env GOPATH)/bin"
command -v versitygw >/dev/null || go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
command -v rclone >/dev/null || { apt-get install -y -qq rclone >/dev/null 2>&1 || echo "rclone not installable: skipped" >&2; }

rm -rf "$dir/gw" "$dir/local" "$dir/out-"*
mkdir -p "$dir/gw"
go build -o "$dir/remote" ./bench/remote
bin="$dir/remote"
[ -d "$dir/files-$n" ] || "$bin" gen -n "$n" -dir "$dir/files-$n"
src="$dir/files-$n"

port=$((20000 + RANDOM % 20000))
export ROOT_ACCESS_KEY=bench$RANDOM ROOT_SECRET_KEY=secret$RANDOM$RANDOM
versitygw --port "127.0.0.1:$port" posix "$dir/gw" >"$dir/versitygw.log" 2>&1 &
gw=$!
trap 'kill $gw 2>/dev/null' EXIT
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=$ROOT_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$ROOT_SECRET_KEY
for _ in $(seq 100); do curl -s -o /dev/null "$AWS_ENDPOINT_URL" && break; sleep 0.1; done

echo "== $n files of 1-16 KiB, $workers workers, $(nproc) CPUs; versitygw $(go version -m "$(command -v versitygw)" | awk '$1=="mod"{print $3}') on 127.0.0.1"
"$bin" mkbucket -remote s3://mlci
"$bin" push -remote s3://mlci/data -dir "$src" -workers "$workers"
"$bin" push -remote s3://mlci/data -dir "$src" -workers "$workers"   # again: existence checks only
"$bin" pull -remote s3://mlci/data -dir "$src" -out "$dir/out-s3" -workers "$workers"
"$bin" peer-put -bucket peer -dir "$src" -workers "$workers"
"$bin" peer-get -bucket peer -dir "$src" -out "$dir/out-peer" -workers "$workers"
"$bin" push -remote "local:$dir/local" -dir "$src" -workers "$workers"
"$bin" pull -remote "local:$dir/local" -dir "$src" -out "$dir/out-local" -workers "$workers"

if command -v rclone >/dev/null; then
  export RCLONE_CONFIG_VGW_TYPE=s3 RCLONE_CONFIG_VGW_PROVIDER=Other RCLONE_CONFIG_VGW_ENDPOINT=$AWS_ENDPOINT_URL \
    RCLONE_CONFIG_VGW_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID RCLONE_CONFIG_VGW_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
  bytes=$(du -sb --apparent-size "$src" | cut -f1)
  timed() { # label command...
    local label=$1 t0 t1
    shift
    t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N)
    awk -v l="$label" -v n="$n" -v b="$bytes" -v s="$(echo "$t1 - $t0" | bc)" \
      'BEGIN{printf "%-34s %7d files %8.1f MB %7.2fs %9.0f files/s %7.1f MB/s\n", l, n, b/1e6, s, n/s, b/1e6/s}'
  }
  # rclone's S3 client cannot load a CA bundle into its transport, and the
  # gateway is plain HTTP anyway.
  unset AWS_CA_BUNDLE
  timed "rclone $(rclone version | awk 'NR==1{print $2}') copy (checks on)" rclone copy -q --transfers "$workers" --checkers "$workers" "$src" vgw:rclone
  timed "rclone copy again (all there)" rclone copy -q --transfers "$workers" --checkers "$workers" "$src" vgw:rclone
  timed "rclone copy down" rclone copy -q --transfers "$workers" --checkers "$workers" vgw:rclone "$dir/out-rclone"
fi
