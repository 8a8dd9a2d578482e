#!/usr/bin/env bash
# Drift benchmark: profile and compare a current table against a reference
# profile, as `mlci drift` will, against pandas + SciPy doing the same
# tests (ks_2samp on 10,000-value samples, chi2_contingency, PSI, JS,
# Benjamini-Hochberg) in the same run. ROWS rows x 20 columns (12 numeric,
# 8 categorical of 3 to 1,000 values), the current table shifting 2
# columns for real and 2 trivially; as CSV and as Parquet (pandas reads
# the CSV only: Debian has no pyarrow for it).
#
# Goals: <= 2 s at 1M rows, >= 10x faster than pandas + SciPy, peak RSS
# <= 200 MiB at 1M and 10M rows. Wall times are hyperfine means with a
# warm page cache; peak RSS is /usr/bin/time's. Other work on the machine
# shows in the numbers, so its CPU count and load are printed with them.
#
# Usage: bench/drift.sh [ROWS] [RUNS]   (tables in $BENCH_DIR, default /tmp/mlci-bench-drift)
# Needs hyperfine, /usr/bin/time and python3-pandas python3-scipy; installs
# them with apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
rows=${1:-1000000}
runs=${2:-5}
dir=${BENCH_DIR:-/tmp/mlci-bench-drift}/$rows
py=/usr/bin/python3
if ! command -v hyperfine >/dev/null || [ ! -x /usr/bin/time ] || ! $py -c 'import pandas, scipy' 2>/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends hyperfine time python3-pandas python3-scipy >/dev/null
fi
mkdir -p "$dir"
go build -o "$dir/drift" ./bench/drift
# floor: read the CSV on every core, split every field and parse every
# number, nothing else: the least any pass over this file costs here.
go build -o "$dir/floor" ./bench/drift/floor
cd "$dir"
if [ ! -s cur.parquet ] || [ "$(cat rows 2>/dev/null)" != "$rows" ]; then
  echo "generating $rows rows x 20 columns (CSV and Parquet)..."
  ./drift gen -rows "$rows" -dir .
  echo "$rows" >rows
fi
./drift profile -o ref.json ref.csv
$py "$root/bench/drift/pandas_drift.py" prepare ref.csv ref.pkl
ls -l ref.json cur.csv cur.parquet | awk '{ printf "  %-12s %8.1f MB\n", $NF, $5/1e6 }'

echo "--- verdicts"
./drift compare -ref ref.json cur.csv | tail -1
$py "$root/bench/drift/pandas_drift.py" compare ref.pkl cur.csv | tail -1

hyperfine --warmup 1 --runs "$runs" --export-json hyperfine.json \
  -n go-csv "./drift compare -ref ref.json cur.csv" \
  -n go-parquet "./drift compare -ref ref.json cur.parquet" \
  -n pandas-csv "$py $root/bench/drift/pandas_drift.py compare ref.pkl cur.csv" \
  -n floor-csv "./floor cur.csv"

rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
go_csv_rss=$(rss ./drift compare -ref ref.json cur.csv)
go_pq_rss=$(rss ./drift compare -ref ref.json cur.parquet)
pd_rss=$(rss $py "$root/bench/drift/pandas_drift.py" compare ref.pkl cur.csv)
$py - hyperfine.json "$rows" "$go_csv_rss" "$go_pq_rss" "$pd_rss" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
rows = int(sys.argv[2])
rss = dict(zip(["go-csv", "go-parquet", "pandas-csv"], (int(v) / 1024 for v in sys.argv[3:6])))
print(f"{rows:,} rows x 20 columns: profile + compare of the current table")
for k in ["go-csv", "go-parquet", "pandas-csv"]:
    print(f"  {k:11} {r[k]:6.2f} s   peak RSS {rss[k]:6.0f} MiB")
print(f"  floor-csv   {r['floor-csv']:6.2f} s   (split and parse only; 10x needs Go CSV <= {r['pandas-csv'] / 10:.2f} s)")
print(f"  pandas + SciPy / Go on CSV: {r['pandas-csv'] / r['go-csv']:.1f}x (goal >= 10x); Go time goal <= 2 s at 1M rows; RSS goal <= 200 MiB")
PY
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
