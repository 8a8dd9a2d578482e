//go:build integration

package cli

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/forge/githubfake"
	"github.com/mlci/mlci/internal/rollout/analysis/promtest"
)

// TestRolloutWithPrometheus runs rollouts end to end through the CLI
// against a real Prometheus scraping per-version request and error
// counters: a good canary advances to 100%, a bad one is rolled back, one
// with too little traffic waits, and an unreachable Prometheus records
// nothing. Each step is a GitHub deployment with its share.
func TestRolloutWithPrometheus(t *testing.T) {
	counters := &promtest.Counters{}
	set := func(version string, requests, errors float64) {
		counters.Set("mlci_requests_total", version, requests)
		counters.Set("mlci_request_errors_total", version, errors)
	}
	set("v0.0.1", 100000, 100) // stable: 0.1% errors
	set("v0.1.0", 20000, 22)   // good canary: 0.11%
	prom := promtest.Start(t, counters)
	promtest.WaitValue(t, prom, `sum(mlci_requests_total{version="v0.1.0"})`, 20000)

	rule := fmt.Sprintf(`{steps: [10, 50, 100], prometheus: %q, analysis: [
      {name: errors, success: 'sum(mlci_requests_total{version="{{version}}"}) - sum(mlci_request_errors_total{version="{{version}}"})',
       total: 'sum(mlci_requests_total{version="{{version}}"})', max_drop: 0.5%%, min_total: 1000},
      {name: volume, query: 'sum(mlci_requests_total{version="{{version}}"})', min: 1}]}`, prom)
	dir, remote, local := rolloutProject(t, strings.ReplaceAll(rule, "\n", " "))

	api := githubfake.New(t)
	api.AddToken("tok", "github-actions", true, false)
	api.AddRepo("o", "r")
	env := githubEnv(t, api, "tok")
	writeFile(t, env["GITHUB_EVENT_PATH"], `{"repository": {"default_branch": "main"}}`)
	env["GITHUB_EVENT_NAME"] = "schedule"
	env["GITHUB_ACTOR"] = "scheduler"
	mlci := func(args ...string) result {
		t.Helper()
		return run(t, env, append([]string{"-C", dir}, args...)...)
	}
	steps := func() int {
		t.Helper()
		out, err := exec.Command("git", "-C", remote, "for-each-ref", "refs/mlci/rollouts/").Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(string(out), "\n")
	}

	// A good canary: 10% → 50% → 100%.
	if r := mlci("rollout", "start", "digits", "--to", "production"); r.code != ExitOK {
		t.Fatalf("start: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r := mlci("rollout", "advance", "digits", "--stage", "production")
	if r.code != ExitOK || !strings.Contains(r.stdout, "v0.1.0 at 50% (step 2/3): analysis passed at 10%") || !strings.Contains(r.stdout, "errors") {
		t.Fatalf("advance a good canary: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = mlci("rollout", "advance", "digits", "--stage", "production")
	if r.code != ExitOK || !strings.Contains(r.stdout, "digits v0.1.0 now holds production (100%") {
		t.Fatalf("complete a good canary: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if tags := remoteTags(t, remote); !strings.Contains(tags, "digits#production#") {
		t.Errorf("no assignment tag after 100%%:\n%s", tags)
	}
	deps := api.Deployments("o", "r")
	if len(deps) != 3 {
		t.Fatalf("deployments = %d, want one per step (3)", len(deps))
	}
	for i, share := range []float64{10, 50, 100} {
		if d := deps[i]; d.Environment != "production" || d.Payload["share"] != share || !strings.Contains(d.Description, fmt.Sprint(share, "%")) {
			t.Errorf("deployment %d: environment %s, payload %v, %q", i, d.Environment, d.Payload, d.Description)
		}
	}

	// A bad canary: ten times the stable error rate is rolled back at the
	// first advance, exit 1, and the stable version keeps the stage.
	writeFile(t, filepath.Join(dir, "model", "knn.bin"), "weights v3")
	git(t, dir, "commit", "-q", "-am", "model v3")
	for _, args := range [][]string{
		{"model", "register", "digits", "--bump", "minor", "--baseline", "baseline/metrics.json"},
		{"promote", "digits", "--to", "dev"},
	} {
		if r := local(args...); r.code != ExitOK {
			t.Fatalf("%v: exit %d %s", args, r.code, r.stderr)
		}
	}
	set("v0.1.0", 100000, 100)
	set("v0.2.0", 20000, 200) // 1% errors
	promtest.WaitValue(t, prom, `sum(mlci_request_errors_total{version="v0.2.0"})`, 200)
	if r := mlci("rollout", "start", "digits", "--to", "production"); r.code != ExitOK {
		t.Fatalf("start v0.2.0: exit %d %s", r.code, r.stderr)
	}
	r = mlci("rollout", "advance", "digits", "--stage", "production")
	if r.code != ExitFailed || !strings.Contains(r.stdout, "v0.2.0 rolled back (0%); v0.1.0 keeps production: analysis failed at 10%") {
		t.Fatalf("advance a bad canary: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := mlci("model", "resolve", "digits#production", "--key", "anyone"); !strings.HasPrefix(r.stdout, "v0.1.0 ") {
		t.Errorf("resolve after the rollback: %q %s", r.stdout, r.stderr)
	}

	// Too little traffic: inconclusive, nothing recorded.
	if r := mlci("rollout", "start", "digits", "--to", "production", "--version", "v0.2.0"); r.code != ExitOK {
		t.Fatalf("restart v0.2.0: exit %d %s", r.code, r.stderr)
	}
	set("v0.2.0", 0, 0)
	counters.Set("mlci_requests_total", "v0.2.0", 5)
	promtest.WaitValue(t, prom, `sum(mlci_requests_total{version="v0.2.0"})`, 5)
	before := steps()
	r = mlci("rollout", "advance", "digits", "--stage", "production")
	if r.code != ExitOK || !strings.Contains(r.stdout, "stays at 10%: analysis inconclusive") || steps() != before {
		t.Errorf("advance with too little traffic: exit %d, steps %d → %d\n%s%s", r.code, before, steps(), r.stdout, r.stderr)
	}

	// Prometheus unreachable: exit 3, nothing recorded.
	r = mlci("rollout", "advance", "digits", "--stage", "production", "--prometheus", "http://127.0.0.1:1")
	if r.code != ExitService || !strings.Contains(r.stderr, "nothing recorded") || steps() != before {
		t.Errorf("advance with Prometheus down: exit %d, steps %d → %d\n%s", r.code, before, steps(), r.stderr)
	}
	if st := mlci("rollout", "status", "digits", "--stage", "production"); !strings.Contains(st.stdout, "v0.1.0 (90%) ← v0.2.0 (10%, step 1/3)") {
		t.Errorf("status:\n%s", st.stdout)
	}
}
