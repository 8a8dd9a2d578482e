package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rolloutProject is registryProject with a production stage that rolls
// out in three steps, and v0.0.1 holding it; v0.1.0 is registered next.
func rolloutProject(t *testing.T, rolloutYAML string) (dir, remote string, mlci func(args ...string) result) {
	t.Helper()
	dir, remote = registryProject(t)
	cfg, err := os.ReadFile(filepath.Join(dir, "mlci.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "mlci.yaml"), string(cfg)+"    stages:\n      - name: dev\n      - name: production\n        requires: [\"stage:dev\"]\n        rollout: "+rolloutYAML+"\n")
	git(t, dir, "commit", "-q", "-am", "rollout config")
	env := map[string]string{"GITHUB_ACTOR": "alice"}
	mlci = func(args ...string) result {
		t.Helper()
		return run(t, env, append([]string{"-C", dir}, args...)...)
	}
	must := func(args ...string) {
		t.Helper()
		if r := mlci(args...); r.code != ExitOK {
			t.Fatalf("mlci %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
	}
	must("model", "register", "digits", "--baseline", "baseline/metrics.json")
	must("promote", "digits", "--to", "dev")
	must("promote", "digits", "--to", "production")
	writeFile(t, filepath.Join(dir, "model", "knn.bin"), "weights v2")
	git(t, dir, "commit", "-q", "-am", "model v2")
	must("model", "register", "digits", "--bump", "minor", "--baseline", "baseline/metrics.json")
	must("promote", "digits", "--to", "dev")
	return dir, remote, mlci
}

func TestRolloutThroughSteps(t *testing.T) {
	dir, remote, mlci := rolloutProject(t, "{steps: [10, 50, 100], emit: {kinds: [httproute, argo-rollouts], gateway: web}}")
	r := mlci("rollout", "start", "digits", "--to", "production", "--emit", "deploy")
	if r.code != ExitOK || !strings.Contains(r.stdout, "digits production: v0.1.0 at 10% (step 1/3): started at 10%") {
		t.Fatalf("start: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, f := range []string{"deploy/digits-production.httproute.yaml", "deploy/digits-production.argo-rollouts.yaml"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || !strings.Contains(r.stdout, "wrote "+f) {
			t.Errorf("--emit wrote no %s (%v):\n%s", f, err, r.stdout)
		}
		if !strings.Contains(string(data), "v0.1.0") {
			t.Errorf("%s does not name the canary:\n%s", f, data)
		}
	}
	if r := mlci("rollout", "abort", "digits", "--stage", "production", "--emit", "deploy", "--emit-kind", "kserve"); r.code != ExitUsage || !strings.Contains(r.stderr, "nothing recorded") {
		t.Errorf("a KServe split without a model format: exit %d %s", r.code, r.stderr)
	}
	if tags := remoteTags(t, remote); strings.Contains(tags, "digits#production#") && strings.Count(tags, "digits#production#") != 1 {
		t.Errorf("starting a rollout wrote a stage tag GTO reads:\n%s", tags)
	}
	if r := mlci("rollout", "start", "digits", "--to", "production"); r.code != ExitUsage || !strings.Contains(r.stderr, "a rollout is running") {
		t.Errorf("second start: exit %d %s", r.code, r.stderr)
	}
	if r := mlci("promote", "digits", "--to", "production"); r.code != ExitUsage || !strings.Contains(r.stderr, "digits v0.1.0 is rolling out to production (10%)") {
		t.Errorf("promote under a rollout: exit %d %s", r.code, r.stderr)
	}
	if r := mlci("model", "show", "digits"); !strings.Contains(r.stdout, "v0.0.1 (90%) ← v0.1.0 (10%, step 1/3)") {
		t.Errorf("model show:\n%s%s", r.stdout, r.stderr)
	}

	// Routing: about a tenth of keys get the canary, and a key on the
	// canary at 10% stays on it at 50%.
	onCanary := func() map[string]bool {
		t.Helper()
		got := map[string]bool{}
		for _, key := range []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9", "k10"} {
			r := mlci("--json", "model", "resolve", "digits#production", "--key", key)
			var out struct {
				Version string `json:"version"`
				Canary  bool   `json:"canary"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || r.code != ExitOK {
				t.Fatalf("resolve %s: exit %d %v\n%s%s", key, r.code, err, r.stdout, r.stderr)
			}
			if out.Canary != (out.Version == "v0.1.0") {
				t.Fatalf("resolve %s: %+v", key, out)
			}
			got[key] = out.Canary
		}
		return got
	}
	at10 := onCanary()

	r = mlci("rollout", "advance", "digits", "--stage", "production")
	if r.code != ExitOK || !strings.Contains(r.stdout, "v0.1.0 at 50% (step 2/3)") {
		t.Fatalf("advance to 50%%: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	at50 := onCanary()
	n := 0
	for key, c := range at10 {
		if c && !at50[key] {
			t.Errorf("key %s was on the canary at 10%% and is not at 50%%", key)
		}
		if at50[key] {
			n++
		}
	}
	if n == 0 || n == len(at50) {
		t.Errorf("%d of %d keys on the canary at 50%%", n, len(at50))
	}

	// Until 100%, GTO's reading keeps the stable version in the stage.
	if r := mlci("--json", "model", "show", "digits"); !strings.Contains(r.stdout, `"rollouts"`) {
		t.Errorf("model show --json has no rollouts:\n%s", r.stdout)
	}
	r = mlci("rollout", "advance", "digits", "--stage", "production")
	if r.code != ExitOK || !strings.Contains(r.stdout, "digits v0.1.0 now holds production (100%, tag digits#production#") {
		t.Fatalf("advance to 100%%: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	show := mlci("--json", "model", "show", "digits")
	var rows []struct {
		Stages map[string]struct {
			Version string `json:"version"`
		} `json:"stages"`
		Rollouts map[string]any `json:"rollouts"`
	}
	if err := json.Unmarshal([]byte(show.stdout), &rows); err != nil || len(rows) != 1 {
		t.Fatalf("model show --json: %v\n%s", err, show.stdout)
	}
	if v := rows[0].Stages["production"].Version; v != "v0.1.0" || len(rows[0].Rollouts) != 0 {
		t.Errorf("after 100%%: production = %s, rollouts %v", v, rows[0].Rollouts)
	}
	if r := mlci("rollout", "advance", "digits", "--stage", "production"); r.code != ExitUsage || !strings.Contains(r.stderr, "no rollout of digits to production is running") {
		t.Errorf("advance after completion: exit %d %s", r.code, r.stderr)
	}
	st := mlci("rollout", "status", "digits", "--stage", "production")
	for _, want := range []string{"holder v0.1.0", "start", "advance", "complete", "alice"} {
		if !strings.Contains(st.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, st.stdout)
		}
	}
}

func TestRolloutAbort(t *testing.T) {
	dir, _, mlci := rolloutProject(t, "{steps: [25, 100], min_interval: 1h}")
	if r := mlci("rollout", "abort", "digits", "--stage", "production"); r.code != ExitUsage || !strings.Contains(r.stderr, "no rollout of digits to production is running") {
		t.Errorf("abort with none running: exit %d %s", r.code, r.stderr)
	}
	if r := mlci("rollout", "start", "digits", "--to", "production"); r.code != ExitOK {
		t.Fatalf("start: exit %d %s", r.code, r.stderr)
	}
	// min_interval has not passed: the step waits and records nothing.
	r := mlci("--json", "rollout", "advance", "digits", "--stage", "production")
	if r.code != ExitOK || !strings.Contains(r.stdout, `"action": "wait"`) || !strings.Contains(r.stdout, "min_interval 1h0m0s") {
		t.Fatalf("advance too soon: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = mlci("rollout", "abort", "digits", "--stage", "production", "--reason", "support tickets")
	if r.code != ExitOK || !strings.Contains(r.stdout, "v0.1.0 aborted (0%); v0.0.1 keeps production: aborted at 25%: support tickets") {
		t.Fatalf("abort: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := mlci("model", "resolve", "digits#production", "--key", "alice"); r.code != ExitOK || !strings.HasPrefix(r.stdout, "v0.0.1 ") {
		t.Errorf("resolve after abort: exit %d %q %s", r.code, r.stdout, r.stderr)
	}
	if r := mlci("model", "resolve", "digits#production", "--key", ""); r.code != ExitUsage || !strings.Contains(r.stderr, "--key is empty") {
		t.Errorf("empty key: exit %d %s", r.code, r.stderr)
	}
	if r := mlci("rollout", "start", "digits", "--to", "nope"); r.code != ExitUsage || !strings.Contains(r.stderr, `no stage "nope"`) {
		t.Errorf("unknown stage: exit %d %s", r.code, r.stderr)
	}
	// A version that does not meet the stage's requirements does not start.
	writeFile(t, filepath.Join(dir, "model", "knn.bin"), "weights v3")
	git(t, dir, "commit", "-q", "-am", "model v3")
	if r := mlci("model", "register", "digits", "--bump", "minor", "--baseline", "baseline/metrics.json"); r.code != ExitOK {
		t.Fatalf("register v0.2.0: exit %d %s", r.code, r.stderr)
	}
	if r := mlci("rollout", "start", "digits", "--to", "production"); r.code != ExitFailed || !strings.Contains(r.stderr, "must hold dev first") {
		t.Errorf("start without dev: exit %d %s", r.code, r.stderr)
	}
}
