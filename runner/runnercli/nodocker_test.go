package runnercli_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlci/mlci/runner/runnercli"
)

// withoutEngine points the Docker client at a socket nobody serves, so
// these tests see a host whose engine is down whether or not the machine
// running them has one. The Docker client reads DOCKER_HOST from the
// process environment, hence t.Setenv (and no t.Parallel).
func withoutEngine(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	t.Setenv("DOCKER_CONTEXT", "")
}

// GitLab's stages answer SYSTEM_FAILURE_EXIT_CODE when the engine is down,
// so GitLab may retry the job elsewhere; cleanup never fails.
func TestGitLabStagesWithoutEngine(t *testing.T) {
	withoutEngine(t)
	script := filepath.Join(t.TempDir(), "script.sh")
	writeFile(t, script, "true\n")
	tests := []struct {
		name string
		args []string
		env  map[string]string
		code int
		errs []string
	}{
		{"prepare, code from env", []string{"gitlab", "prepare"}, map[string]string{"SYSTEM_FAILURE_EXIT_CODE": "7", "CUSTOM_ENV_CI_JOB_ID": "42"}, 7, []string{"Docker Engine"}},
		{"prepare, default code", []string{"gitlab", "prepare"}, map[string]string{"CUSTOM_ENV_CI_JOB_ID": "42"}, 2, []string{"Docker Engine"}},
		{"prepare, code not a number", []string{"gitlab", "prepare"}, map[string]string{"SYSTEM_FAILURE_EXIT_CODE": "seven"}, 2, []string{"Docker Engine"}},
		{"run", []string{"gitlab", "run", script, "build_script"}, map[string]string{"SYSTEM_FAILURE_EXIT_CODE": "9", "BUILD_FAILURE_EXIT_CODE": "8"}, 9, []string{"Docker Engine"}},
		{"cleanup", []string{"gitlab", "cleanup"}, map[string]string{"SYSTEM_FAILURE_EXIT_CODE": "7"}, 0, []string{"cleanup", "Docker Engine"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := healthyHost(t)
			for k, v := range tt.env {
				h.env[k] = v
			}
			r := h.run(tt.args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d", r.code, tt.code)
			}
			oneErrorLine(t, r.stderr, tt.errs...)
		})
	}
}

func TestGitLabRunNeedsTwoArgs(t *testing.T) {
	h, _ := healthyHost(t)
	r := h.run("gitlab", "run", "script.sh")
	if r.code != runnercli.ExitUsage {
		t.Errorf("exit %d, want %d", r.code, runnercli.ExitUsage)
	}
	oneErrorLine(t, r.stderr, "2 arg")
}

func TestHookWithoutEngine(t *testing.T) {
	withoutEngine(t)
	h, _ := healthyHost(t)
	h.stdin = `{"command":"prepare_job"}`
	r := h.run("hook")
	if r.code != runnercli.ExitService {
		t.Errorf("exit %d, want %d", r.code, runnercli.ExitService)
	}
	line := oneErrorLine(t, r.stderr, "Docker Engine")
	if strings.Count(line, "mlci-runner:") != 1 {
		t.Errorf("error line repeats the prefix: %q", line)
	}
}

// check says the engine is down, and fails: no job could run.
func TestCheckWithoutEngine(t *testing.T) {
	withoutEngine(t)
	h, _ := healthyHost(t)
	r := h.run("check")
	if r.code != runnercli.ExitFailed {
		t.Errorf("exit %d, want %d", r.code, runnercli.ExitFailed)
	}
	if !strings.Contains(r.stdout, "fail  docker") || !strings.Contains(r.stdout, "ok    gpus        driver") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	oneErrorLine(t, r.stderr, "1 check(s) failed")
}
