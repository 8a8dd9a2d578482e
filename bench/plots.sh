#!/usr/bin/env bash
# Plots benchmark: what a plots: section adds to `mlci report`, and how big
# the SVGs get. Ten line plots of 100,000 points each, head against a
# baseline given with --baseline; the same project is timed with and
# without plots: (hyperfine, warm page cache).
#
# Goals: at most 200 ms added, at most 200 KB per SVG. Other work on the
# machine shows in the first number, so the CPU count and load are printed
# with it, and the in-process benchmarks of the same shape after it.
# DVC is not installable on the machines this runs on, so there is no
# `dvc plots diff` column to compare with.
#
# Usage: bench/plots.sh [RUNS]     (project in $BENCH_DIR, default /tmp/mlci-bench-plots)
# Needs hyperfine; installs it with apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
runs=${1:-10}
dir=${BENCH_DIR:-/tmp/mlci-bench-plots}
command -v hyperfine >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
}
go build -o "$dir/mlci" ./cmd/mlci
rm -rf "$dir/p" && mkdir -p "$dir/p/plots" "$dir/p/base/plots"
cd "$dir/p"

# A decaying loss with a deterministic wiggle, so downsampling has shape to
# keep; the baseline is the same curve shifted.
gen() { # FILE SHIFT
  awk -v s="$2" 'BEGIN { print "step,loss,val_loss"
    for (i = 0; i < 100000; i++) printf "%d,%.6f,%.6f\n", i, exp(-i/20000)+0.05*sin(i/97+s)+s/10, exp(-i/25000)+0.07*sin(i/131+s)+s/10 }' >"$1"
}
echo '{"loss": 0.1}' >metrics.json
echo '{"loss": 0.2}' >base/metrics.json
base=(--baseline base/metrics.json)
{
  echo "metrics: [metrics.json]"
  echo "report: {dir: plots-out}"
} >mlci-noplots.yaml
cp mlci-noplots.yaml mlci-plots.yaml
echo "plots:" >>mlci-plots.yaml
for i in $(seq 0 9); do
  gen "plots/run$i.csv" 0 && gen "base/plots/run$i.csv" 1
  printf '  - plots/run%d.csv:\n      x: step\n      y: [loss, val_loss]\n' "$i" >>mlci-plots.yaml
  base+=(--baseline "base/plots/run$i.csv")
done

# Without plots: the plot files' baselines stand for nothing and are left out.
report() { echo "cp mlci-$1.yaml mlci.yaml && $dir/mlci report --forge local $2 >/dev/null"; }
hyperfine --warmup 2 --runs "$runs" --export-json "$dir/hyperfine.json" \
  -n without "$(report noplots "--baseline base/metrics.json")" -n with "$(report plots "${base[*]}")"
python3 - "$dir/hyperfine.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
d = (r["with"]["mean"] - r["without"]["mean"]) * 1000
print(f"plots add {d:.0f} ms (goal <= 200 ms): without {r['without']['mean']*1000:.0f} ms, with {r['with']['mean']*1000:.0f} ms")
PY
echo "SVG sizes (goal <= 200 KB each):"
ls -l plots-out/*.svg | awk '{ printf "  %-28s %7.1f KB%s\n", $NF, $5/1000, ($5 > 200000 ? "  OVER" : "") }'
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
cd "$root"
go test -run '^$' -bench '^(BenchmarkBuild|BenchmarkWriteDir)$' -benchtime 5x ./internal/plots/ ./internal/plots/render/ |
  awk '/^Benchmark/ { sub(/-[0-9]+$/, "", $1); sub(/^Benchmark/, "", $1); printf "in-process %s: %.0f ms\n", $1, $3 / 1e6 }'
