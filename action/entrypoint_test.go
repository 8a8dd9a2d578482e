// Package action holds the GitHub Action's container entry point; this test
// runs it the way the runner does, with INPUT_* variables.
package action

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestEntrypoint(t *testing.T) {
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "mlci"), "../cmd/mlci")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build mlci: %v\n%s", err, out)
	}
	// A copy, so the state cache the run writes stays out of the source tree.
	work := t.TempDir()
	if err := os.CopyFS(filepath.Join(work, "quickstart"), os.DirFS("../testdata/quickstart")); err != nil {
		t.Fatal(err)
	}
	// As in a checked-out workspace: the default command reads its baseline
	// from git.
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "."}, {"commit", "-q", "-m", "quickstart"}} {
		git := exec.Command("git", args...)
		git.Dir = filepath.Join(work, "quickstart")
		git.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := git.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	entry, err := filepath.Abs("entrypoint.sh")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		env      []string
		wantCode int
		wantOut  string
	}{
		{"default command runs ci", []string{"INPUT_WORKING_DIRECTORY=quickstart"}, 0, "mlci: PASS"},
		{"data check", []string{"INPUT_WORKING_DIRECTORY=quickstart", "INPUT_COMMAND=data check"}, 0, "ok  digits"},
		{"command split into words", []string{"INPUT_WORKING_DIRECTORY=quickstart", "INPUT_COMMAND=data hash --algo sha256 data/digits"}, 0, "sha256:"},
		{"config input", []string{"INPUT_CONFIG=quickstart/mlci.yaml", "INPUT_COMMAND=--json data check -q"}, 0, `"ok": true`},
		{"failure exit code passes through", []string{"INPUT_WORKING_DIRECTORY=quickstart", "INPUT_COMMAND=data check nope"}, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command("sh", entry)
			cmd.Dir = work
			cmd.Env = append([]string{"PATH=" + bin + ":/usr/bin:/bin", "HOME=" + t.TempDir()}, tt.env...)
			out, err := cmd.Output()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode || !strings.Contains(string(out), tt.wantOut) {
				t.Errorf("exit %d stdout %q; want exit %d containing %q", code, out, tt.wantCode, tt.wantOut)
			}
		})
	}
}
