package runnercli_test

import (
	"encoding/json"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/buildinfo"
	"github.com/mlci/mlci/runner/gpu/gputest"
	"github.com/mlci/mlci/runner/lease"
	"github.com/mlci/mlci/runner/runnercli"
)

func TestUsageErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	tests := []struct {
		name string
		args []string
		env  map[string]string // added to the host's
		errs []string
	}{
		{"unknown command", []string{"frobnicate"}, nil, []string{`unknown command "frobnicate"`}},
		{"unknown subcommand", []string{"gpus", "frobnicate"}, nil, []string{"frobnicate"}},
		{"bad flag", []string{"gpus", "--frobnicate"}, nil, []string{"--frobnicate", "mlci-runner gpus --help"}},
		{"bad flag value", []string{"register", "github", "--repo", "o/r", "--gpus", "many"}, nil, []string{"many"}},
		{"extra argument", []string{"version", "now"}, nil, []string{"now"}},
		{"quarantine without a reason", []string{"gpus", "quarantine", gputest.UUID(1)}, nil, []string{"--reason"}},
		{"quarantine without a UUID", []string{"gpus", "quarantine", "--reason", "flaky"}, nil, []string{"arg"}},
		{"monitor without --job", []string{"monitor"}, nil, []string{"--job"}},
		{"--config names a missing file", []string{"--config", missing, "leases"}, nil, []string{missing}},
		{"MLCI_RUNNER_CONFIG names a missing file", []string{"leases"}, map[string]string{"MLCI_RUNNER_CONFIG": missing}, []string{missing}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := healthyHost(t)
			for k, v := range tt.env {
				h.env[k] = v
			}
			r := h.run(tt.args...)
			if r.code != runnercli.ExitUsage {
				t.Errorf("exit %d, want %d", r.code, runnercli.ExitUsage)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want empty", r.stdout)
			}
			oneErrorLine(t, r.stderr, tt.errs...)
		})
	}
}

func TestConfigFile(t *testing.T) {
	tests := []struct {
		name    string
		content string
		code    int
		errs    []string
	}{
		{"empty file takes the defaults", "", runnercli.ExitOK, nil},
		{"known keys", "gpu_wait: 5m\nstop_grace: 3s\nallow_fork_jobs: false\n", runnercli.ExitOK, nil},
		{"unknown key", "gpu_wait: 5m\ngpu_waitt: 5m\n", runnercli.ExitUsage, []string{"gpu_waitt"}},
		{"bad duration", "gpu_wait: soon\n", runnercli.ExitUsage, []string{"soon"}},
		{"not YAML", "gpu_wait: [\n", runnercli.ExitUsage, []string{"config.yaml"}},
	}
	for _, tt := range tests {
		for _, via := range []string{"flag", "env"} {
			t.Run(tt.name+" via "+via, func(t *testing.T) {
				h, _ := healthyHost(t)
				cfg := filepath.Join(t.TempDir(), "config.yaml")
				writeFile(t, cfg, tt.content)
				args := []string{"leases"}
				if via == "flag" {
					args = append([]string{"--config", cfg}, args...)
					h.env["MLCI_RUNNER_CONFIG"] = filepath.Join(t.TempDir(), "not-this-one.yaml")
				} else {
					h.env["MLCI_RUNNER_CONFIG"] = cfg
				}
				r := h.run(args...)
				if r.code != tt.code {
					t.Errorf("exit %d, want %d; stderr %q", r.code, tt.code, r.stderr)
				}
				if tt.code == runnercli.ExitOK {
					if r.stdout != "no leases\n" || r.stderr != "" {
						t.Errorf("stdout %q stderr %q, want \"no leases\\n\" and nothing", r.stdout, r.stderr)
					}
					return
				}
				oneErrorLine(t, r.stderr, tt.errs...)
			})
		}
	}
}

func TestVersion(t *testing.T) {
	for _, tt := range []struct {
		name    string
		version buildinfo.Info
		want    string
	}{
		{"unset: the test binary's own build information", buildinfo.Info{}, "mlci-runner devel (" + runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"},
		{"release", buildinfo.Info{Version: "v1.2.3", Commit: "0123456789abcdef", Date: "2026-05-01T10:00:00Z", Go: "go1.26.8", Platform: "linux/arm64"},
			"mlci-runner v1.2.3 (commit 0123456789ab, committed 2026-05-01T10:00:00Z, go1.26.8, linux/arm64)\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHost(t, nil) // needs no GPU
			h.version = tt.version
			if r := h.mustRun("version"); r.stdout != tt.want {
				t.Errorf("stdout = %q, want %q", r.stdout, tt.want)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	h := newHost(t, nil)
	for _, args := range [][]string{nil, {"--help"}, {"gpus", "--help"}, {"register"}, {"gitlab"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := h.mustRun(args...)
			if !strings.Contains(r.stdout, "Usage:") {
				t.Errorf("stdout has no usage:\n%s", r.stdout)
			}
		})
	}
}

func TestQuarantine(t *testing.T) {
	h, _ := healthyHost(t)
	uuid := gputest.UUID(3)
	if r := h.mustRun("leases"); r.stdout != "no leases\n" {
		t.Fatalf("leases on a fresh host: %q, want \"no leases\\n\"", r.stdout)
	}
	if r := h.mustRun("gpus", "quarantine", uuid, "--reason", "ECC errors during job 42"); r.stdout != "" {
		t.Errorf("quarantine printed %q, want nothing", r.stdout)
	}
	// Twice is fine; the second reason replaces the first.
	h.mustRun("gpus", "quarantine", uuid, "--reason", "ECC errors in job 42")
	h.mustRun("gpus", "quarantine", gputest.UUID(0), "--reason", "fan")

	want := "no leases\nquarantined\t" + gputest.UUID(0) + "\tfan\nquarantined\t" + uuid + "\tECC errors in job 42\n"
	if r := h.mustRun("leases"); r.stdout != want {
		t.Errorf("leases:\n%q\nwant\n%q", r.stdout, want)
	}

	var doc struct {
		Leases      []lease.Lease     `json:"leases"`
		Quarantined map[string]string `json:"quarantined"`
	}
	r := h.mustRun("--json", "leases")
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("--json leases is not JSON: %v\n%s", err, r.stdout)
	}
	if len(doc.Leases) != 0 || len(doc.Quarantined) != 2 || doc.Quarantined[uuid] != "ECC errors in job 42" {
		t.Errorf("--json leases = %+v", doc)
	}

	h.mustRun("gpus", "unquarantine", uuid)
	h.mustRun("gpus", "unquarantine", uuid) // a no-op the second time
	want = "no leases\nquarantined\t" + gputest.UUID(0) + "\tfan\n"
	if r := h.mustRun("leases"); r.stdout != want {
		t.Errorf("leases after unquarantine:\n%q\nwant\n%q", r.stdout, want)
	}
	r = h.mustRun("leases", "--json")
	doc.Quarantined = nil
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc.Quarantined[uuid]; ok || len(doc.Quarantined) != 1 {
		t.Errorf("after unquarantine, --json leases quarantined = %v", doc.Quarantined)
	}
}

// Quarantine needs no NVML: an operator can fence off a GPU whose driver is
// wedged.
func TestQuarantineWithoutDriver(t *testing.T) {
	h := newHost(t, nil)
	h.mustRun("gpus", "quarantine", gputest.UUID(1), "--reason", "driver hangs")
	if r := h.mustRun("leases"); !strings.Contains(r.stdout, "quarantined\t"+gputest.UUID(1)+"\tdriver hangs\n") {
		t.Errorf("leases:\n%s", r.stdout)
	}
}

func TestLeasesRelease(t *testing.T) {
	h, _ := healthyHost(t)
	r := h.mustRun("leases", "release", "github:1:2:build")
	if r.stdout != "job github:1:2:build holds no lease\n" {
		t.Errorf("stdout = %q", r.stdout)
	}
}

func TestJSONLeasesEmpty(t *testing.T) {
	h := newHost(t, nil)
	r := h.mustRun("--json", "leases")
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	if _, ok := doc["leases"]; !ok {
		t.Errorf("no leases key in %s", r.stdout)
	}
}

func TestGitLabConfig(t *testing.T) {
	h := newHost(t, nil) // config_exec needs neither GPUs nor Docker
	h.version = buildinfo.Info{Version: "v9.8.7"}
	r := h.mustRun("gitlab", "config")
	var out struct {
		Driver struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"driver"`
		BuildsDir string            `json:"builds_dir"`
		CacheDir  string            `json:"cache_dir"`
		JobEnv    map[string]string `json:"job_env"`
		Shell     string            `json:"shell"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("gitlab config is not JSON: %v\n%s", err, r.stdout)
	}
	if out.Driver.Name != "mlci-runner" || out.Driver.Version != "v9.8.7" {
		t.Errorf("driver %+v, want mlci-runner v9.8.7", out.Driver)
	}
	if !strings.HasPrefix(out.BuildsDir, "/") || !strings.HasPrefix(out.CacheDir, "/") {
		t.Errorf("builds_dir %q cache_dir %q, want absolute paths", out.BuildsDir, out.CacheDir)
	}
	if out.Shell != "bash" || len(out.JobEnv) == 0 {
		t.Errorf("shell %q job_env %v", out.Shell, out.JobEnv)
	}
}
