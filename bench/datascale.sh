#!/usr/bin/env bash
# Data at scale: wall time and peak RSS of mlci data hash, lock, check and
# diff on FILES tiny files (16-256 bytes, 1000 per folder), and the size of
# what lock puts in git (mlci.lock + mlci.lock.d).
#
# Usage: bench/datascale.sh [FILES]   (default 1000000; data in
#        $BENCH_DIR/FILES, default /tmp/mlci-scale/FILES; generated once)
# Needs GNU time (/usr/bin/time). A run at 10,000,000 files needs about
# 10M free inodes and 45 GB of disk (4 KiB blocks): check df -i first.
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-1000000}
dir=${BENCH_DIR:-/tmp/mlci-scale}/$files
proj="$dir/proj"
mkdir -p "$proj"

# The commit measured: the binary is built now, whatever HEAD is later.
rev=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
git diff --quiet HEAD -- cmd internal 2>/dev/null || rev+="+changes"
CGO_ENABLED=0 go build -trimpath -o "$dir/mlci" ./cmd/mlci
go build -o "$dir/gendata" ./bench/gendata
mlci="$dir/mlci"
if [ ! -e "$dir/generated" ]; then
  echo "generating $files files in $proj/ds..." >&2
  rm -rf "$proj/ds"
  (cd "$proj" && /usr/bin/time -f "generated in %e s" "$dir/gendata" C ds "$files")
  touch "$dir/generated"
fi

cd "$proj"
# A project of one dataset, in git so that data diff has a base. The state
# cache, the object store and the lock start empty on every run.
rm -rf .mlci mlci.lock mlci.lock.d .git
printf 'data: [ds]\n' >mlci.yaml
printf '/ds/\n/.mlci/\n' >.gitignore
git init -q . && git add mlci.yaml .gitignore && git -c user.name=bench -c user.email=bench@localhost commit -qm init

results="$dir/results.tsv"
: >"$results"
# measure NAME EXPECTED-EXIT CMD...: one timed run, appended to results.
measure() {
  local name=$1 want=$2 rc=0
  shift 2
  /usr/bin/time -f "%e %M" -o "$dir/time.txt" "$@" >"$dir/$name.out" 2>"$dir/$name.err" || rc=$?
  if [ "$rc" != "$want" ]; then
    echo "$name: exit $rc, want $want" >&2
    cat "$dir/$name.err" >&2
    exit 1
  fi
  read -r wall rss < <(tail -1 "$dir/time.txt")
  printf '%s\t%s\t%s\t%s\n' "$name" "$wall" "$((rss / 1024))" "$(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$results" >&2
}

# Page cache: the VM drops pages untouched for about a minute; read the
# metadata back in so the first timed run is not a cold disk walk.
find ds -type f -printf '' 2>/dev/null

measure "hash (no state cache)" 0 "$mlci" data hash -q ds
sleep 3 # past the racy-clean window, so the next run trusts every file
measure "hash (warm state cache)" 0 "$mlci" data hash -q ds
measure "lock (fresh)" 0 "$mlci" data lock -q
git add mlci.lock && { [ ! -d mlci.lock.d ] || git add mlci.lock.d; }
git -c user.name=bench -c user.email=bench@localhost commit -qm lock
lockbytes=$(du -cb mlci.lock $( [ -d mlci.lock.d ] && echo mlci.lock.d) | tail -1 | cut -f1)
objbytes=$(du -sb .mlci/objects 2>/dev/null | cut -f1 || echo 0)
measure "check (unchanged)" 0 "$mlci" data check -q

# Change 3 files, in three different folders.
for f in ds/t000/s00/f000.bin ds/t000/s01/f500.bin "$(find ds -name f999.bin | sort | tail -1)"; do
  printf 'changed by datascale.sh\n' >>"$f"
done
sleep 3
measure "check (3 changed)" 1 "$mlci" data check -q
measure "lock (3 changed)" 0 "$mlci" data lock -q
measure "diff (3 changed)" 0 "$mlci" data diff --base HEAD

{
  echo "files: $files, $(nproc) CPUs, mlci built at $rev"
  echo "lock in git (mlci.lock + mlci.lock.d): $lockbytes bytes; .mlci/objects: ${objbytes:-0} bytes"
  echo
  echo "| command | wall s | peak RSS MiB | load avg (1 5 15) |"
  echo "|---|---|---|---|"
  while IFS=$'\t' read -r name wall rss load; do
    echo "| $name | $wall | $rss | $load |"
  done <"$results"
} | tee "$dir/results.md"
