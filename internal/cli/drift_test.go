package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/artifact"
	"github.com/mlci/mlci/internal/forge/githubfake"
	"github.com/mlci/mlci/internal/forge/gitlabfake"
	"github.com/mlci/mlci/internal/registry"
)

// writeTable writes n rows of a churn-like table: age (normal, mean
// shifted by shift standard deviations), plan (categorical, "pro" taking
// proShare) and churned (the target).
func writeTable(t *testing.T, file string, seed uint64, n int, shift, proShare float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	var b strings.Builder
	b.WriteString("id,age,plan,churned\n")
	for i := range n {
		plan := "basic"
		switch u := rng.Float64(); {
		case u < proShare:
			plan = "pro"
		case u < proShare+0.2:
			plan = "team"
		}
		fmt.Fprintf(&b, "%d,%.2f,%s,%d\n", i, 40+10*(rng.NormFloat64()+shift), plan, rng.IntN(2))
	}
	writeFile(t, file, b.String())
}

// loopForge is a fake forge the nightly loop runs against.
type loopForge struct {
	env map[string]string
	// issues returns the drift issues' count, whether the first is open,
	// and its body; changes the pull/merge requests' count.
	issues  func() (n int, open bool, body string)
	changes func() int
}

func githubLoop(t *testing.T) loopForge {
	api := githubfake.New(t)
	api.AddToken("tok", "mlci-app[bot]", true, true)
	api.AddRepo("o", "r")
	env := githubEnv(t, api, "tok")
	writeFile(t, env["GITHUB_EVENT_PATH"], `{"repository": {"default_branch": "main"}}`)
	env["GITHUB_EVENT_NAME"] = "schedule"
	return loopForge{env: env,
		issues: func() (int, bool, string) {
			is := api.Issues("o", "r")
			if len(is) == 0 {
				return 0, false, ""
			}
			return len(is), is[0].State == "open", is[0].Body
		},
		changes: func() int { return len(api.PullRequests("o", "r")) },
	}
}

func gitlabLoop(t *testing.T) loopForge {
	api := gitlabfake.New(t)
	api.AddToken("gltok", "mlci-bot", true)
	api.AddProject("group/project")
	env := map[string]string{
		"GITLAB_CI":          "true",
		"CI_API_V4_URL":      api.URL(),
		"CI_PROJECT_PATH":    "group/project",
		"CI_PROJECT_URL":     api.ServerURL() + "/group/project",
		"CI_PIPELINE_SOURCE": "schedule",
		"CI_DEFAULT_BRANCH":  "main",
		"CI_COMMIT_BRANCH":   "main",
		"CI_COMMIT_SHA":      "headsha",
		"CI_PIPELINE_URL":    api.ServerURL() + "/group/project/-/pipelines/9",
		"GITLAB_TOKEN":       "gltok",
	}
	return loopForge{env: env,
		issues: func() (int, bool, string) {
			is := api.Issues("group/project")
			if len(is) == 0 {
				return 0, false, ""
			}
			return len(is), is[0].State == "opened", is[0].Description
		},
		changes: func() int { return len(api.MergeRequests("group/project")) },
	}
}

// TestDriftScheduledLoop is the nightly loop on a scheduled run against
// each fake forge: drift against the production model's registered
// profile opens the model's issue; the retrain's refit opens one pull
// request; a second drifted night updates both and creates nothing; a
// night without drift closes the issue.
func TestDriftScheduledLoop(t *testing.T) {
	for name, setup := range map[string]func(*testing.T) loopForge{"github": githubLoop, "gitlab": gitlabLoop} {
		t.Run(name, func(t *testing.T) { driftLoop(t, setup(t)) })
	}
}

func driftLoop(t *testing.T, f loopForge) {
	dir, _ := registryProject(t)
	cfg, err := os.ReadFile(filepath.Join(dir, "mlci.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeTable(t, filepath.Join(dir, "data", "train.csv"), 1, 3000, 0, 0.3)
	writeFile(t, filepath.Join(dir, "mlci.yaml"), string(cfg)+"    profile: {data: [data/train.csv], target: churned, exclude: [id]}\n    stages: [{name: production}]\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "profile")
	local := func(args ...string) result {
		t.Helper()
		return run(t, nil, append([]string{"-C", dir}, args...)...)
	}
	for _, args := range [][]string{{"model", "register", "digits", "--baseline", "baseline/metrics.json"}, {"promote", "digits", "--to", "production"}} {
		if r := local(args...); r.code != ExitOK {
			t.Fatalf("%v: exit %d %s", args, r.code, r.stderr)
		}
	}
	mlci := func(args ...string) result {
		t.Helper()
		return run(t, f.env, append([]string{"-C", dir}, args...)...)
	}
	night := t.TempDir()
	drifted := filepath.Join(night, "drifted.csv")
	writeTable(t, drifted, 2, 3000, 0.8, 0.6)

	// Night 1: drift → one issue; retrain → one refit request.
	r := mlci("drift", drifted, "--against", "digits#production", "--post")
	if r.code != ExitFailed || !strings.Contains(r.stdout, "age") {
		t.Fatalf("drift: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if n, open, body := f.issues(); n != 1 || !open || !strings.Contains(body, "| age |") {
		t.Fatalf("after night 1: %d issues, open %v, body:\n%s", n, open, body)
	}
	writeFile(t, filepath.Join(dir, "metrics.json"), `{"eval": {"val": {"accuracy": 0.97}}}`)
	if r := mlci("refit", "digits"); r.code != ExitOK || !strings.Contains(r.stdout, "created") {
		t.Fatalf("refit: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Night 2: still drifted; the same issue and request are updated.
	if r := mlci("drift", drifted, "--against", "digits#production", "--post"); r.code != ExitFailed {
		t.Fatalf("drift night 2: exit %d %s", r.code, r.stderr)
	}
	writeFile(t, filepath.Join(dir, "metrics.json"), `{"eval": {"val": {"accuracy": 0.98}}}`)
	if r := mlci("refit", "digits"); r.code != ExitOK || !strings.Contains(r.stdout, "updated") {
		t.Fatalf("refit night 2: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if n, _, _ := f.issues(); n != 1 || f.changes() != 1 {
		t.Errorf("after night 2: %d issues and %d requests, want 1 and 1", n, f.changes())
	}

	// Night 3: data like the training data; the issue is closed.
	calm := filepath.Join(night, "calm.csv")
	writeTable(t, calm, 3, 3000, 0, 0.3)
	r = mlci("--json", "drift", calm, "--against", "digits#production", "--post")
	var out struct {
		Drift bool `json:"drift"`
	}
	if err := json.NewDecoder(strings.NewReader(r.stdout)).Decode(&out); err != nil || r.code != ExitOK || out.Drift {
		t.Fatalf("drift night 3: exit %d %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if n, open, _ := f.issues(); n != 1 || open {
		t.Errorf("after night 3: %d issues, open %v; want the one issue closed", n, open)
	}
}

func TestDriftBadInput(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "mlci.yaml"), "metrics: []\n")
	ref := filepath.Join(dir, "ref.csv")
	writeTable(t, ref, 1, 200, 0, 0.3)
	mlci := func(args ...string) result {
		t.Helper()
		return run(t, nil, append([]string{"-C", dir}, args...)...)
	}
	writeFile(t, filepath.Join(dir, "ragged.csv"), "a,b\n1,2\n3\n")
	writeFile(t, filepath.Join(dir, "empty.csv"), "")
	writeFile(t, filepath.Join(dir, "newer.json"), `{"format_version": 99, "rows": 0, "columns": []}`)
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "link.csv")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no reference", []string{"drift", "ref.csv"}, "name the reference"},
		{"ragged rows", []string{"drift", "ragged.csv", "--reference", "ref.csv"}, "ragged.csv"},
		{"empty file", []string{"drift", "empty.csv", "--reference", "ref.csv"}, "empty.csv"},
		{"newer profile", []string{"drift", "ref.csv", "--reference", "newer.json"}, "newer"},
		{"a link", []string{"profile", "link.csv"}, "not a regular file"},
		{"registry outside git", []string{"drift", "ref.csv", "--against", "digits#production"}, "the model registry lives in git tags"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mlci(tt.args...)
			if r.code != ExitUsage || !strings.Contains(r.stderr, tt.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
				t.Errorf("exit %d, stderr %q; want exit 2 and one line with %q", r.code, r.stderr, tt.want)
			}
		})
	}
	// A column missing now is a finding, not a crash.
	writeFile(t, filepath.Join(dir, "fewer.csv"), "id,age,plan\n1,40,pro\n2,41,basic\n")
	if r := mlci("drift", "fewer.csv", "--reference", "ref.csv"); r.code == ExitUsage || !strings.Contains(r.stdout, "churned") {
		t.Errorf("a column gone: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestDriftExample runs the README's commands on testdata/drift.
func TestDriftExample(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "drift")
	r := run(t, nil, "-C", dir, "drift", "current.csv", "--reference", "train.csv")
	if r.code != ExitFailed {
		t.Fatalf("current.csv: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, col := range []string{"age", "plan", "income"} {
		if !tableRow(r.stdout, col, "drift") {
			t.Errorf("%s does not drift:\n%s", col, r.stdout)
		}
	}
	if r := run(t, nil, "-C", dir, "drift", "calm.csv", "--reference", "train.csv"); r.code != ExitOK {
		t.Errorf("calm.csv: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// tableRow reports whether a line of the table starts with col and ends
// with status.
func tableRow(table, col, status string) bool {
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && f[0] == col && f[len(f)-1] == status {
			return true
		}
	}
	return false
}

// TestProfileDataStaysInTheRepository: models[].profile.data is the pull
// request author's to choose, and the profile's categories are pushed with
// the registration. A folder committed as a link to a runner folder must
// not get a runner file profiled.
func TestProfileDataStaysInTheRepository(t *testing.T) {
	dir, remote := registryProject(t)
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "secret.csv"), "token\nghp_runner_secret_1\nghp_runner_secret_2\n")
	if err := os.Symlink(outside, filepath.Join(dir, "shared")); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(dir, "mlci.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "mlci.yaml"), string(cfg)+"    profile: {data: [shared/secret.csv]}\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "profile through a link")
	r := run(t, nil, "-C", dir, "model", "register", "digits", "--baseline", "baseline/metrics.json")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "leads outside the repository") {
		t.Errorf("register with profile data behind a link: exit %d %s", r.code, r.stderr)
	}
	if tags := remoteTags(t, remote); tags != "" {
		t.Errorf("a version was registered:\n%s", tags)
	}
}

// TestDriftProfileInArtifactStore: with an artifact store, a version's
// profile is kept there beside the model, not in git, and drift reads it
// back from there.
func TestDriftProfileInArtifactStore(t *testing.T) {
	dir, remote := registryProject(t)
	cfg, err := os.ReadFile(filepath.Join(dir, "mlci.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeTable(t, filepath.Join(dir, "data", "train.csv"), 1, 2000, 0, 0.3)
	withStore := string(cfg) + "    profile: {data: [data/train.csv], target: churned, exclude: [id]}\n    stages: [{name: production}]\nartifact_store: oci-layout:store\n"
	writeFile(t, filepath.Join(dir, "mlci.yaml"), withStore)
	writeFile(t, filepath.Join(dir, ".gitignore"), "store/\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "profile in the store")
	mlci := func(args ...string) result {
		t.Helper()
		return run(t, nil, append([]string{"-C", dir}, args...)...)
	}
	for _, args := range [][]string{{"model", "register", "digits", "--baseline", "baseline/metrics.json"}, {"promote", "digits", "--to", "production"}} {
		if r := mlci(args...); r.code != ExitOK {
			t.Fatalf("%v: exit %d %s", args, r.code, r.stderr)
		}
	}
	hist := mlci("--json", "model", "history", "digits")
	if !strings.Contains(hist.stdout, `"profile": "artifact:sha256:`) {
		t.Fatalf("the record does not name a profile in the store:\n%s", hist.stdout)
	}
	if refs, err := exec.Command("git", "-C", remote, "for-each-ref", "refs/mlci/profiles/").Output(); err != nil || len(refs) != 0 {
		t.Errorf("the profile went to git as well (%v):\n%s", err, refs)
	}
	drifted := filepath.Join(t.TempDir(), "drifted.csv")
	writeTable(t, drifted, 2, 2000, 0.8, 0.6)
	if r := mlci("drift", drifted, "--against", "digits#production"); r.code != ExitFailed || !strings.Contains(r.stdout, "age") {
		t.Fatalf("drift: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	calm := filepath.Join(t.TempDir(), "calm.csv")
	writeTable(t, calm, 3, 2000, 0, 0.3)
	if r := mlci("drift", calm, "--against", "digits#production"); r.code != ExitOK {
		t.Fatalf("drift of calm data: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Without the store in the config, drift says where the profile is.
	writeFile(t, filepath.Join(dir, "mlci.yaml"), strings.Replace(withStore, "artifact_store: oci-layout:store\n", "", 1))
	if r := mlci("drift", calm, "--against", "digits#production"); r.code != ExitUsage || !strings.Contains(r.stderr, "artifact_store") {
		t.Fatalf("drift without the store: exit %d\n%s", r.code, r.stderr)
	}
}

// TestDriftRefusesAForgedProfileArtifact: whoever can push a registration
// tag chooses the artifact its record names. One whose profile.json is a
// link, or which holds no profile.json, is refused in one line; the file
// behind the link is not read. (Links out of the artifact are refused by
// the unpacking itself; artifact's tests try those.)
func TestDriftRefusesAForgedProfileArtifact(t *testing.T) {
	dir, _ := registryProject(t)
	cfg, err := os.ReadFile(filepath.Join(dir, "mlci.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "mlci.yaml"), string(cfg)+"artifact_store: oci-layout:store\n")
	writeFile(t, filepath.Join(dir, ".gitignore"), "store/\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "store")
	store, err := artifact.Open(context.Background(), "oci-layout:store", dir, artifact.Options{})
	if err != nil {
		t.Fatal(err)
	}
	linked := t.TempDir()
	writeFile(t, filepath.Join(linked, "real.json"), `{"format_version": 1, "rows": 0, "sample_size": 1, "top_k": 1, "seed": 1, "columns": []}`)
	if err := os.Symlink("real.json", filepath.Join(linked, "profile.json")); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	writeFile(t, filepath.Join(other, "notes.txt"), "not a profile")
	current := filepath.Join(t.TempDir(), "current.csv")
	writeTable(t, current, 2, 500, 0, 0.3)
	for i, forged := range []string{linked, other} {
		git(t, dir, "commit", "-q", "--allow-empty", "-m", "forged")
		out, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
		if err != nil {
			t.Fatal(err)
		}
		head := strings.TrimSpace(string(out))
		pushed, err := store.Push(context.Background(), "digits", forged, nil)
		if err != nil {
			t.Fatal(err)
		}
		version := fmt.Sprintf("v0.0.%d", i+1)
		if _, err := registry.Register(context.Background(), dir, "origin", "digits", version, head, registry.Record{Path: "model/knn.bin", Profile: "artifact:" + pushed.Digest}); err != nil {
			t.Fatal(err)
		}
		r := run(t, nil, "-C", dir, "drift", current, "--against", "digits@"+version)
		if r.code != ExitUsage || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || strings.Contains(r.stdout+r.stderr, "format_version") {
			t.Errorf("%s: exit %d\n%s%s", version, r.code, r.stdout, r.stderr)
		}
	}
}
