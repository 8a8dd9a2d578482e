#!/usr/bin/env bash
# Rollout benchmark: the wall time of `mlci rollout advance` with two
# analysis queries (a rate and a value) against a local Prometheus, the step's
# push to a local bare remote included; and the Go routing package's cost per
# key. Goals: advance <= 1 s, resolve <= 1 µs.
#
# Prometheus scrapes a static exposition file served by Python's http.server,
# so the numbers do not move between runs. Each hyperfine run advances one
# step of a 100-step rollout (min_interval 0).
#
# Usage: bench/rollout.sh [RUNS]     (work in $BENCH_DIR, default /tmp/mlci-bench-rollout)
# Needs hyperfine and prometheus; installs them with apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
runs=${1:-20}
dir=${BENCH_DIR:-/tmp/mlci-bench-rollout}
need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v prometheus >/dev/null || need+=(prometheus)
if ((${#need[@]})); then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
rm -rf "$dir" && mkdir -p "$dir/exporter" "$dir/p/model"
CGO_ENABLED=0 go build -trimpath -o "$dir/mlci" ./cmd/mlci
mlci="$dir/mlci"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
eport=$(free_port)
pport=$(free_port)
cat >"$dir/exporter/metrics" <<'M'
# TYPE model_requests_total counter
model_requests_total{model_version="v0.0.1"} 100000
model_requests_total{model_version="v0.1.0"} 10000
# TYPE model_errors_total counter
model_errors_total{model_version="v0.0.1"} 100
model_errors_total{model_version="v0.1.0"} 9
# TYPE model_latency_seconds gauge
model_latency_seconds{model_version="v0.0.1"} 0.120
model_latency_seconds{model_version="v0.1.0"} 0.118
M
(cd "$dir/exporter" && exec python3 -m http.server "$eport" --bind 127.0.0.1 >/dev/null 2>&1) &
exporter=$!
cat >"$dir/prometheus.yml" <<Y
global: {scrape_interval: 1s}
scrape_configs:
  - job_name: bench
    metrics_path: /metrics
    static_configs: [{targets: ["127.0.0.1:$eport"]}]
Y
prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/tsdb" \
  --web.listen-address="127.0.0.1:$pport" >"$dir/prometheus.log" 2>&1 &
prom=$!
trap 'kill $exporter $prom 2>/dev/null || true' EXIT
for _ in $(seq 120); do
  curl -fs "http://127.0.0.1:$pport/api/v1/query?query=model_requests_total" | grep -q v0.1.0 && break
  sleep 0.5
done

cd "$dir/p"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
steps=$(seq -s, 1 100)
cat >mlci.yaml <<Y
models:
  - name: digits
    artifact: model/knn.bin
    stages:
      - name: production
        rollout:
          steps: [$steps]
          prometheus: http://127.0.0.1:$pport
          analysis:
            - name: errors
              success: sum(model_requests_total{model_version="{{version}}"}) - sum(model_errors_total{model_version="{{version}}"})
              total: sum(model_requests_total{model_version="{{version}}"})
              max_drop: 0.5%
            - name: latency
              query: max(model_latency_seconds{model_version="{{version}}"})
              max: 0.25
Y
echo v1 >model/knn.bin
git init -q -b main && git add . && git commit -qm v1
git clone -q --bare . "$dir/remote.git" && git remote add origin "$dir/remote.git"
"$mlci" model register digits --version v0.0.1 >/dev/null
"$mlci" promote digits --to production >/dev/null
echo v2 >model/knn.bin && git commit -qam v2
"$mlci" model register digits --version v0.1.0 >/dev/null
"$mlci" rollout start digits --to production >/dev/null
"$mlci" rollout advance digits --stage production   # once, shown
hyperfine --warmup 1 --runs "$runs" --export-json "$dir/hyperfine.json" -n advance "$mlci rollout advance digits --stage production"
python3 - "$dir/hyperfine.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"rollout advance: mean {r['mean']*1000:.0f} ms, max {r['max']*1000:.0f} ms (goal <= 1000 ms)")
PY
cd "$repo"
go test -run '^$' -bench 'BenchmarkResolve$' -benchmem ./route/ | grep Benchmark
