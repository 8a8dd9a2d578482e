package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/project"
	"github.com/mlci/mlci/internal/runrecord"
)

func TestRunRecord(t *testing.T) {
	dir := quickstart(t)
	writeFile(t, filepath.Join(dir, "model", "knn.bin"), "weights")
	hw := filepath.Join(t.TempDir(), "hardware")
	writeFile(t, hw, "gpu: NVIDIA H100 80GB HBM3 x1\ndriver: 550.54\n")
	env := map[string]string{"MLCI_HARDWARE_FILE": hw, "MLCI_IMAGE_DIGEST": "sha256:" + strings.Repeat("ab", 32)}
	record := func() (string, runrecord.Statement) {
		r := run(t, env, "-C", dir, "--json", "run", "record", "--subject", "model/knn.bin")
		if r.code != ExitOK {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		var out struct {
			Path     string
			Identity string `json:"run_identity"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatal(err)
		}
		st, err := runrecord.Read(out.Path)
		if err != nil {
			t.Fatalf("the record does not read back: %v", err)
		}
		return out.Identity, st
	}
	first, st := record()
	second, _ := record()
	if first != second || !strings.HasPrefix(first, "blake3:") {
		t.Errorf("same inputs, identities %s and %s", first, second)
	}
	m, err := st.Materials()
	if err != nil {
		t.Fatal(err)
	}
	if m.Data["digits"] == "" || !strings.Contains(m.Hardware, "H100") || m.Image == "" || m.Params == "" {
		t.Errorf("materials = %+v", m)
	}
	if len(st.Subject) != 1 || st.Subject[0].Name != "model/knn.bin" || st.Subject[0].Digest["sha256"] == "" {
		t.Errorf("subjects = %+v", st.Subject)
	}
	writeFile(t, filepath.Join(dir, "params.yaml"), "model:\n  kind: knn\n  k: 5\n")
	if third, _ := record(); third == first {
		t.Error("changing a params file kept the run identity")
	}
	// The report shows the record.
	rep := run(t, nil, "-C", dir, "report", "--baseline", "baseline/metrics.json")
	if !strings.Contains(rep.stdout, "### Run") || !strings.Contains(rep.stdout, "H100") {
		t.Errorf("report without the run record:\n%s", rep.stdout)
	}
	if r := run(t, nil, "-C", dir, "run", "record"); r.code != ExitUsage || !strings.Contains(r.stderr, "--subject PATH") {
		t.Errorf("no subjects: exit %d stderr %q", r.code, r.stderr)
	}
}

// A run record made at another commit says nothing about this one: the
// report leaves out its identity and digests and says why, and a
// registration does not cite it.
func TestStaleRunRecordIgnored(t *testing.T) {
	dir, _ := registryProject(t)
	if r := run(t, nil, "-C", dir, "run", "record", "--subject", "model/knn.bin"); r.code != ExitOK {
		t.Fatalf("run record: exit %d %s", r.code, r.stderr)
	}
	fresh := run(t, nil, "-C", dir, "report", "--baseline", "baseline/metrics.json")
	if !strings.Contains(fresh.stdout, "| identity | `blake3:") {
		t.Fatalf("the report lacks the current run record:\n%s", fresh.stdout)
	}
	writeFile(t, filepath.Join(dir, "model", "knn.bin"), "weights v2")
	git(t, dir, "commit", "-q", "-am", "model v2")

	stale := run(t, nil, "-C", dir, "report", "--baseline", "baseline/metrics.json")
	if stale.code != ExitOK {
		t.Fatalf("report: exit %d %s", stale.code, stale.stderr)
	}
	if strings.Contains(stale.stdout, "| identity |") || strings.Contains(stale.stdout, "model/knn.bin | `sha256:") {
		t.Errorf("the report shows a run record of another commit:\n%s", stale.stdout)
	}
	const note = "mlci-run.intoto.json was recorded at commit "
	if !strings.Contains(stale.stdout, note) || !strings.Contains(stale.stderr, note) || !strings.Contains(stale.stderr, "run mlci run record again") {
		t.Errorf("no note on the stale record; stdout:\n%s\nstderr: %s", stale.stdout, stale.stderr)
	}
	reg := run(t, nil, "-C", dir, "model", "register", "digits", "--remote", "", "--baseline", "baseline/metrics.json")
	if reg.code != ExitOK {
		t.Fatalf("register: exit %d %s", reg.code, reg.stderr)
	}
	if h := run(t, nil, "-C", dir, "--json", "model", "history", "digits", "--remote", ""); strings.Contains(h.stdout, "run_id") {
		t.Errorf("the registration cites a run record of another commit:\n%s", h.stdout)
	}
}

// TestRunRecordRepository: the record names the repository, from the CI's
// variables or else the origin remote without its credentials, and leaves
// the field out rather than write "" when nothing names one.
func TestRunRecordRepository(t *testing.T) {
	dir := quickstart(t)
	writeFile(t, filepath.Join(dir, "model", "knn.bin"), "weights")
	record := func(env map[string]string) (string, map[string]any) {
		t.Helper()
		r := run(t, env, "-C", dir, "run", "record", "--subject", "model/knn.bin")
		if r.code != ExitOK {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		data, err := os.ReadFile(filepath.Join(dir, project.RunRecordFile))
		if err != nil {
			t.Fatal(err)
		}
		var st struct {
			Predicate struct {
				BuildDefinition struct {
					ExternalParameters map[string]any `json:"externalParameters"`
				} `json:"buildDefinition"`
			} `json:"predicate"`
		}
		if err := json.Unmarshal(data, &st); err != nil {
			t.Fatal(err)
		}
		if _, err := runrecord.Read(filepath.Join(dir, project.RunRecordFile)); err != nil {
			t.Errorf("the record does not read back: %v", err)
		}
		return string(data), st.Predicate.BuildDefinition.ExternalParameters
	}

	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "quickstart")
	if _, params := record(nil); params["repository"] != nil {
		t.Errorf("no remote, no CI: repository = %v, want it left out", params["repository"])
	}

	git(t, dir, "remote", "add", "origin", "https://gitlab-ci-token:glcbt-64_SECRET@gitlab.example.com/g/p.git")
	data, params := record(nil)
	if params["repository"] != "https://gitlab.example.com/g/p" || strings.Contains(data, "SECRET") {
		t.Errorf("from origin: repository = %v; the record holds the token: %v", params["repository"], strings.Contains(data, "SECRET"))
	}
	if _, params := record(map[string]string{"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/digits"}); params["repository"] != "https://github.com/acme/digits" {
		t.Errorf("in GitHub Actions: repository = %v", params["repository"])
	}
}
