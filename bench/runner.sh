#!/usr/bin/env bash
# mlci-runner overhead benchmark, side by side in one run on the same image:
#
#   1. job start as the goal defines it (allocate + create + start + first
#      command: prepare_job then run_script_step `true`) against a plain
#      `docker run IMAGE true`; and the whole job (with cleanup_job) against
#      `docker run --rm` and the runner's own docker-CLI path.
#   2. hook invocation: `mlci-runner hook` run_script_step `true` in a
#      running container against `docker exec CONTAINER true`.
#
# Usage: bench/runner.sh [RUNS]    (work files in $BENCH_DIR, default /tmp/mlci-bench-runner)
# Needs the Docker Engine, hyperfine and busybox-static (installed with
# apt-get when missing). No GPU is used: on a host without the NVIDIA
# runtime a GPU container cannot start, so the job asks for none; the lease
# path itself is measured by the lease package's tests (50 processes).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
dir=${BENCH_DIR:-/tmp/mlci-bench-runner}
rm -rf "$dir" && mkdir -p "$dir/ctx" "$dir/state" "$dir/work/_temp/_github_workflow" "$dir/results"

need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v busybox >/dev/null || need+=(busybox-static)
if ((${#need[@]})); then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

export CGO_CFLAGS="${CGO_CFLAGS:--O2 -g -Wno-deprecated-declarations}"
go build -trimpath -o "$dir/mlci-runner" ./cmd/mlci-runner

# A FROM-scratch busybox image: nothing can be pulled here.
cp "$(command -v busybox)" "$dir/ctx/busybox"
cat > "$dir/ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
ENV PATH=/bin
DOCKERFILE
for a in sh tail true cat env sleep; do
  printf 'COPY busybox /bin/%s\n' "$a" >> "$dir/ctx/Dockerfile"
done
image=mlci-bench-runner:latest
docker build -q -t "$image" "$dir/ctx" >/dev/null
trap 'docker rm -f $(docker ps -aq --filter label=mlci.job) >/dev/null 2>&1 || true; docker rmi -f "$image" >/dev/null 2>&1 || true' EXIT

export MLCI_RUNNER_STATE_DIR="$dir/state" MLCI_RUNNER_CONFIG="$dir/config.yaml"
echo "state_dir: $dir/state" > "$dir/config.yaml"

prepare() {
  cat <<JSON
{"command":"prepare_job","responseFile":"$dir/response.json","state":{},"args":{"container":{"image":"$image","workingDirectory":"/__w","environmentVariables":{},"userMountVolumes":[],"systemMountVolumes":[{"sourceVolumePath":"$dir/work","targetVolumePath":"/__w","readOnly":false},{"sourceVolumePath":"$dir/work/_temp/_github_workflow","targetVolumePath":"/github/workflow","readOnly":false}],"portMappings":[]},"services":[]}}
JSON
}
prepare > "$dir/prepare.json"
# One job: prepare, first command, cleanup; the runner passes the state
# from the prepare response to later calls.
cat > "$dir/job.sh" <<SCRIPT
#!/usr/bin/env bash
set -euo pipefail
: > "$dir/response.json"
"$dir/mlci-runner" hook < "$dir/prepare.json" >/dev/null
state=\$(sed -e 's/^{"state":\(.*\),"context".*/\1/' "$dir/response.json")
printf '{"command":"run_script_step","state":%s,"args":{"entryPoint":"true","entryPointArgs":[],"environmentVariables":{},"workingDirectory":"/__w"}}' "\$state" | "$dir/mlci-runner" hook
printf '{"command":"cleanup_job","state":%s,"args":{}}' "\$state" | "$dir/mlci-runner" hook 2>/dev/null
SCRIPT
chmod +x "$dir/job.sh"
"$dir/job.sh"   # fails loudly if the hook path is broken

# The runner's own container path without hooks does the same steps with
# the docker CLI: a long-lived job container, each step a docker exec.
cat > "$dir/cli-job.sh" <<SCRIPT
#!/usr/bin/env bash
set -euo pipefail
id=\$(docker create -v "$dir/work:/__w" -w /__w $image tail -f /dev/null)
docker start "\$id" >/dev/null
docker exec "\$id" true
docker rm -f "\$id" >/dev/null
SCRIPT
chmod +x "$dir/cli-job.sh"

hyperfine --style basic --warmup 2 --runs "$runs" --export-json "$dir/results/start.json" \
  -n "docker run --rm" "docker run --rm $image true" \
  -n "mlci-runner job (prepare+step+cleanup)" "$dir/job.sh" \
  -n "docker CLI job (create+start+exec+rm -f)" "$dir/cli-job.sh"

# The issue's definition of job start: allocate, create, start and the
# first command, without tearing down, against `docker run` without --rm.
cat > "$dir/start-only.sh" <<SCRIPT
#!/usr/bin/env bash
set -euo pipefail
: > "$dir/response.json"
"$dir/mlci-runner" hook < "$dir/prepare.json" >/dev/null
state=\$(sed -e 's/^{"state":\(.*\),"context".*/\1/' "$dir/response.json")
printf '{"command":"run_script_step","state":%s,"args":{"entryPoint":"true","entryPointArgs":[],"environmentVariables":{},"workingDirectory":"/__w"}}' "\$state" | "$dir/mlci-runner" hook
SCRIPT
chmod +x "$dir/start-only.sh"
clean="docker rm -f \$(docker ps -aq --filter label=mlci.job --filter ancestor=$image) >/dev/null 2>&1 || true; rm -rf $dir/state/jobs"
hyperfine --style basic --warmup 2 --runs "$runs" --export-json "$dir/results/start-only.json" \
  --cleanup "$clean" \
  -n "docker run (no --rm)" "docker run --label mlci.job=bench $image true" \
  -n "mlci-runner start (prepare+first step)" "$dir/start-only.sh"
eval "$clean"

# Hook invocation: one running container, the same command both ways.
: > "$dir/response.json"
"$dir/mlci-runner" hook < "$dir/prepare.json" >/dev/null
state=$(sed -e 's/^{"state":\(.*\),"context".*/\1/' "$dir/response.json")
ctr=$(printf '%s' "$state" | sed -e 's/.*"container":"\([0-9a-f]*\)".*/\1/')
printf '{"command":"run_script_step","state":%s,"args":{"entryPoint":"true","entryPointArgs":[],"environmentVariables":{},"workingDirectory":"/__w"}}' "$state" > "$dir/step.json"
hyperfine --style basic --warmup 3 --runs "$runs" --export-json "$dir/results/hook.json" \
  -n "docker exec" "docker exec $ctr true" \
  -n "mlci-runner hook run_script_step" "$dir/mlci-runner hook < $dir/step.json"
printf '{"command":"cleanup_job","state":%s,"args":{}}' "$state" | "$dir/mlci-runner" hook 2>/dev/null

python3 - "$dir/results" <<'PY'
import json, sys, os
d = sys.argv[1]
def means(f):
    r = json.load(open(os.path.join(d, f)))["results"]
    return [(x["command"], x["mean"], x["stddev"]) for x in r]
(a, ta, sa), (b, tb, sb), (c, tc, sc) = means("start.json")
print(f"whole job: {b} {tb*1000:.0f}±{sb*1000:.0f} ms vs {a} {ta*1000:.0f}±{sa*1000:.0f} ms: ratio {tb/ta:.2f}x")
print(f"whole job: {b} vs {c} {tc*1000:.0f}±{sc*1000:.0f} ms: ratio {tb/tc:.2f}x")
(a, ta, sa), (b, tb, sb) = means("start-only.json")
print(f"job start (allocate+create+start+first command): {b} {tb*1000:.0f}±{sb*1000:.0f} ms vs {a} {ta*1000:.0f}±{sa*1000:.0f} ms: ratio {tb/ta:.2f}x (goal <= 1.2x)")
(a, ta, sa), (b, tb, sb) = means("hook.json")
print(f"hook invocation: {b} {tb*1000:.1f} ms vs {a} {ta*1000:.1f} ms: overhead {(tb-ta)*1000:.1f} ms (goal <= 50 ms)")
PY
