package runnercli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlci/mlci/runner/runnercli"
)

// writeScript writes an executable sh script standing in for the official
// runner: it records what it was given and exits with code.
func writeScript(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestRegisterGitHubEphemeral(t *testing.T) {
	for _, tc := range []struct {
		name string
		exit string
		code int
	}{
		{name: "job passed", exit: "0", code: runnercli.ExitOK},
		{name: "runner failed", exit: "7", code: 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, fake := githubHost(t)
			dir := t.TempDir()
			seen := filepath.Join(dir, "seen")
			writeScript(t, filepath.Join(dir, "runner", "run.sh"),
				`printf '%s\n%s\n%s\n' "$ACTIONS_RUNNER_INPUT_JITCONFIG" "$ACTIONS_RUNNER_CONTAINER_HOOKS" "$MLCI_GPUS" > `+seen+"\nexit "+tc.exit+"\n")
			secret := filepath.Join(dir, "jit")
			r := h.run("register", "github", "--repo", "o/r", "--ephemeral", "--gpus", "2",
				"--runner-dir", filepath.Join(dir, "runner"), "--secret-file", secret, "--hook-script", "/opt/hooks/mlci-runner-hook.sh")
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q", r.code, tc.code, r.stderr)
			}
			got, err := os.ReadFile(seen)
			if err != nil {
				t.Fatalf("the runner never ran: %v", err)
			}
			lines := strings.Split(strings.TrimSpace(string(got)), "\n")
			if len(lines) != 3 || lines[0] == "" || lines[1] != "/opt/hooks/mlci-runner-hook.sh" || lines[2] != "2" {
				t.Errorf("runner saw %q; want the JIT config, the hook script and MLCI_GPUS=2", lines)
			}
			if strings.Contains(r.stdout+r.stderr, lines[0]) {
				t.Error("the JIT config was printed")
			}
			if left := fake.Runners("repos/o/r"); len(left) != 0 {
				t.Errorf("runners left after the ephemeral run: %+v", left)
			}
			if _, err := os.Stat(secret); err == nil {
				t.Error("the JIT config file was left behind")
			}
		})
	}
}

func TestRegisterGitLabEphemeral(t *testing.T) {
	h, fake := gitlabHost(t)
	dir := t.TempDir()
	seen := filepath.Join(dir, "seen")
	bin := filepath.Join(dir, "gitlab-runner")
	// Record the arguments and the config file run-single was pointed at.
	writeScript(t, bin, `echo "$@" > `+seen+`
while [ $# -gt 0 ]; do [ "$1" = --config ] && cat "$2" >> `+seen+` && ls -l "$2" >> `+seen+`; shift; done
exit 0
`)
	r := h.run("register", "gitlab", "--project-id", "5", "--ephemeral", "--runner-bin", bin, "--wait-timeout", "60", "--description", "gpu-once")
	if r.code != runnercli.ExitOK {
		t.Fatalf("exit %d; stderr %q", r.code, r.stderr)
	}
	got, err := os.ReadFile(seen)
	if err != nil {
		t.Fatalf("gitlab-runner never ran: %v", err)
	}
	s := string(got)
	for _, want := range []string{
		"run-single --config ", "--runner gpu-once --max-builds 1 --wait-timeout 60",
		`name = "gpu-once"`, `token = "glrt-`, `executor = "custom"`,
		`prepare_exec = "/opt/mlci-runner/bin/mlci-runner"`, `run_args = ["gitlab", "run"]`, "-rw-------",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("run-single saw no %q:\n%s", want, s)
		}
	}
	if strings.Contains(r.stdout+r.stderr, "glrt-") {
		t.Error("the runner token was printed")
	}
	if ids := fake.Runners(); len(ids) != 0 {
		t.Errorf("runners %v left after the ephemeral run", ids)
	}
}
