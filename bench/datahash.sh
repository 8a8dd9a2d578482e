#!/usr/bin/env bash
# Dataset hashing benchmark: mlci against b3sum, sha256sum and md5sum (DVC's
# hash) on the same data in the same run, warm page cache.
#
#   A = 2 GiB in 16 files, B = 100,000 files of 1-16 KiB.
#
# Usage: bench/datahash.sh [RUNS]     (data in $BENCH_DIR, default /tmp/mlci-bench)
# Needs hyperfine, b3sum and GNU time; installs them with apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
dir=${BENCH_DIR:-/tmp/mlci-bench}
mkdir -p "$dir"

need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v b3sum >/dev/null || need+=(b3sum)
[ -x /usr/bin/time ] || need+=(time)
if ((${#need[@]})); then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

CGO_ENABLED=0 go build -trimpath -o "$dir/mlci" ./cmd/mlci
go build -o "$dir/gendata" ./bench/gendata
[ -d "$dir/A" ] || "$dir/gendata" A "$dir/A"
[ -d "$dir/B" ] || "$dir/gendata" B "$dir/B"
mlci="$dir/mlci"
export XDG_CACHE_HOME="$dir/cache"   # mlci's state cache outside any project

# This VM drops page cache that is untouched for about a minute, so every
# timed run first reads the dataset back in.
warmA="cat $dir/A/* > /dev/null"
warmB="$mlci data hash -q --no-cache $dir/B > /dev/null"

results="$dir/results"
mkdir -p "$results"
bench() { # name prepare command...
  local name=$1 prep=$2
  shift 2
  hyperfine --style basic --warmup 1 --runs "$runs" --prepare "$prep" \
    --export-json "$results/$name.json" "$@" >/dev/null
}

echo "warming caches and the state cache of B..."
"$mlci" data hash -q "$dir/B" >/dev/null
sleep 3   # past the racy-clean window, so the next run caches every file
"$mlci" data hash -q "$dir/B" >/dev/null

bench A-mlci "$warmA" "$mlci data hash -q --no-cache $dir/A"
bench A-b3sum "$warmA" "b3sum $dir/A/* > /dev/null"
bench A-b3sum-P2 "$warmA" "find $dir/A -type f -print0 | xargs -0 -n1 -P2 b3sum --num-threads 1 > /dev/null"
bench A-sha256sum-P2 "$warmA" "find $dir/A -type f -print0 | xargs -0 -n1 -P2 sha256sum > /dev/null"
bench A-md5sum-P2 "$warmA" "find $dir/A -type f -print0 | xargs -0 -n1 -P2 md5sum > /dev/null"
bench A-mlci-sha256 "$warmA" "$mlci data hash -q --no-cache --algo sha256 $dir/A"
bench B-mlci "$warmB" "$mlci data hash -q --no-cache $dir/B"
bench B-b3sum-P2 "$warmB" "find $dir/B -type f -print0 | xargs -0 -P2 b3sum > /dev/null"
bench B-sha256sum-P2 "$warmB" "find $dir/B -type f -print0 | xargs -0 -P2 sha256sum > /dev/null"
bench B-md5sum-P2 "$warmB" "find $dir/B -type f -print0 | xargs -0 -P2 md5sum > /dev/null"
bench B-mlci-recheck "$warmB; $mlci data hash -q $dir/B > /dev/null" "$mlci data hash -q $dir/B"

# Peak memory (max RSS) of a full hash of B.
/usr/bin/time -f "%M" -o "$results/B-mlci-maxrss.txt" "$mlci" data hash -q --no-cache "$dir/B" >/dev/null

python3 - "$results" <<'PY'
import json, sys, os
d = sys.argv[1]
def med(n):
    r = json.load(open(os.path.join(d, n + ".json")))["results"][0]
    return r["median"], r["min"], r["max"], r["user"] + r["system"]
rows = ["A-mlci", "A-b3sum", "A-b3sum-P2", "A-sha256sum-P2", "A-md5sum-P2", "A-mlci-sha256",
        "B-mlci", "B-b3sum-P2", "B-sha256sum-P2", "B-md5sum-P2", "B-mlci-recheck"]
# CPU seconds move far less than wall time when other work shares the
# machine; compare them when the load average is above the core count.
print(f"load average: {' '.join(open('/proc/loadavg').read().split()[:3])}, {os.cpu_count()} CPUs")
print("| benchmark | median s | min s | max s | CPU s (user+sys, mean) |")
print("|---|---|---|---|---|")
for n in rows:
    m, lo, hi, cpu = med(n)
    print(f"| {n} | {m:.3f} | {lo:.3f} | {hi:.3f} | {cpu:.3f} |")
rss = int(open(os.path.join(d, "B-mlci-maxrss.txt")).read().split()[-1]) / 1024
a, b3, md5 = med("A-mlci")[0], med("A-b3sum")[0], med("A-md5sum-P2")[0]
b, bb3, rc = med("B-mlci")[0], med("B-b3sum-P2")[0], med("B-mlci-recheck")[0]
goals = [
    ("A: mlci / b3sum", a / b3, "<= 0.80", a / b3 <= 0.80),
    ("A: md5sum -P2 / mlci", md5 / a, ">= 4", md5 / a >= 4),
    ("B: mlci / (xargs -P2 b3sum)", b / bb3, "<= 0.90", b / bb3 <= 0.90),
    ("B: unchanged re-check / full hash", rc / b, "<= 0.35", rc / b <= 0.35),
    ("B: peak memory MiB", rss, "<= 100", rss <= 100),
]
print()
print("| goal | measured | target | met |")
print("|---|---|---|---|")
for g, v, t, ok in goals:
    print(f"| {g} | {v:.2f} | {t} | {'yes' if ok else 'NO'} |")
PY
